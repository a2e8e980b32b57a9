package alerts

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mitmwatch/mitmwatch/internal/redistest"
)

// testRedis is the Redis the tests share, started once by TestMain: a
// standalone server, a 3-master cluster and a master behind a Sentinel,
// each its own redis-server processes on free loopback ports (never the
// machine's 6379).
type testRedisEnv struct {
	standalone *redistest.Server
	cluster    *redistest.Cluster
	sentinel   *redistest.Sentinel
	// unavailable is why Redis tests skip (only outside CI).
	unavailable string
	prefixes    atomic.Int64
}

var testRedis testRedisEnv

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	if err := redistest.Check(); err != nil {
		if redistest.InCI() {
			fmt.Fprintf(os.Stderr, "alerts tests: %v (CI=true: Redis tests must run)\n", err)
			return 1
		}
		testRedis.unavailable = err.Error()
		return m.Run()
	}
	s, err := redistest.Start(redistest.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "alerts tests:", err)
		return 1
	}
	defer s.Stop()
	c, err := redistest.StartCluster(3, redistest.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "alerts tests:", err)
		return 1
	}
	defer c.Stop()
	sn, err := redistest.StartSentinel(redistest.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "alerts tests:", err)
		return 1
	}
	defer sn.Stop()
	testRedis.standalone, testRedis.cluster, testRedis.sentinel = s, c, sn
	return m.Run()
}

// requireRedis skips (or, under CI=true, fails) a test when redis-server
// is not installed.
func requireRedis(tb testing.TB) {
	tb.Helper()
	if testRedis.unavailable != "" {
		redistest.Require(tb)
	}
}

// newPrefix returns a key prefix no other test uses, so tests share the
// servers without seeing each other's keys.
func newPrefix() string {
	return "t" + strconv.FormatInt(testRedis.prefixes.Add(1), 10)
}

func standaloneClient(tb testing.TB) *redis.Client {
	tb.Helper()
	requireRedis(tb)
	c := redis.NewClient(&redis.Options{Addr: testRedis.standalone.Addr})
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

func clusterClient(tb testing.TB) *redis.ClusterClient {
	tb.Helper()
	requireRedis(tb)
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: testRedis.cluster.Addrs()})
	tb.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		tb.Fatal(err)
	}
	return c
}

// sentinelClient finds the master through the Sentinel, as a deployment
// with failover would.
func sentinelClient(tb testing.TB) *redis.Client {
	tb.Helper()
	requireRedis(tb)
	c := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:    redistest.SentinelMaster,
		SentinelAddrs: []string{testRedis.sentinel.Sentinel.Addr},
	})
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// storeKind builds a fresh, empty store of one kind, and a client to
// inspect it (nil for memory).
type storeKind struct {
	name string
	new  func(tb testing.TB) (Store, redis.UniversalClient, string)
}

var storeKinds = []storeKind{
	{name: "memory", new: func(tb testing.TB) (Store, redis.UniversalClient, string) {
		return NewMemoryStore(), nil, ""
	}},
	{name: "redis_standalone", new: func(tb testing.TB) (Store, redis.UniversalClient, string) {
		c := standaloneClient(tb)
		p := newPrefix()
		s, err := NewRedisStore(c, RedisConfig{Prefix: p})
		if err != nil {
			tb.Fatal(err)
		}
		return s, c, p
	}},
	{name: "redis_sentinel", new: func(tb testing.TB) (Store, redis.UniversalClient, string) {
		c := sentinelClient(tb)
		p := newPrefix()
		s, err := NewRedisStore(c, RedisConfig{Prefix: p})
		if err != nil {
			tb.Fatal(err)
		}
		return s, c, p
	}},
	{name: "redis_cluster", new: func(tb testing.TB) (Store, redis.UniversalClient, string) {
		c := clusterClient(tb)
		p := newPrefix()
		s, err := NewRedisStore(c, RedisConfig{Prefix: p})
		if err != nil {
			tb.Fatal(err)
		}
		return s, c, p
	}},
}
