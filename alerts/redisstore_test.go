package alerts

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// redisKinds are the storeKinds backed by Redis.
func redisKinds() []storeKind {
	var out []storeKind
	for _, k := range storeKinds {
		if strings.HasPrefix(k.name, "redis") {
			out = append(out, k)
		}
	}
	return out
}

// allKeys lists every key under prefix, on every master of a cluster.
func allKeys(t *testing.T, c redis.UniversalClient, prefix string) []string {
	t.Helper()
	ctx := context.Background()
	var mu sync.Mutex // ForEachMaster scans the masters concurrently
	var keys []string
	scan := func(ctx context.Context, n *redis.Client) error {
		it := n.Scan(ctx, 0, prefix+":*", 1000).Iterator()
		for it.Next(ctx) {
			mu.Lock()
			keys = append(keys, it.Val())
			mu.Unlock()
		}
		return it.Err()
	}
	var err error
	switch cc := c.(type) {
	case *redis.ClusterClient:
		err = cc.ForEachMaster(ctx, scan)
	case *redis.Client:
		err = scan(ctx, cc)
	}
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func TestRedisRetentionTTL(t *testing.T) {
	for _, kind := range redisKinds() {
		t.Run(kind.name, func(t *testing.T) {
			ctx := context.Background()
			s, c, prefix := kind.new(t)
			now := time.Now()
			clk := newTestClock(now)
			const ret = 2 * time.Hour
			r, _ := NewRecorder(s, RecorderConfig{Clock: clk.now, Retention: ret})
			r.Record(Observation{Country: "KZ", ASN: 9198, ASOrg: "JSC Kazakhtelecom", Browser: true,
				Verdict: VerdictIntercepted, JA4: ja4X, Client: addrN(1),
				Grade: fingerprints.GradeC, Reasons: fingerprints.Reasons(0).Add(fingerprints.ReasonProductHello)})
			if err := r.Close(ctx); err != nil {
				t.Fatal(err)
			}
			k := redisKeys{prefix: prefix}
			n := Network{"KZ", 9198}
			m := minuteOf(now)
			want := time.Unix((m+1)*60, 0).Add(ret)
			tests := []struct {
				name, key string
			}{
				{name: "bucket_hash_expires_retention_after_its_minute", key: k.bucket(n, m)},
				{name: "clients_hll_expires_with_its_bucket", key: k.clients(n, m)},
				{name: "ja4_clients_hll_expires_with_its_bucket", key: k.ja4Clients(n, m, ja4X)},
				{name: "active_set_expires_with_the_minute", key: k.active(m)},
				{name: "fingerprint_first_seen_index", key: k.fpFirst()},
				{name: "fingerprint_last_seen_index", key: k.fpLast()},
				{name: "fingerprint_networks", key: k.fpNets(ja4X)},
				{name: "fingerprint_grades", key: k.fpGrade()},
				{name: "fingerprint_reasons", key: k.fpReasons()},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					got, err := c.ExpireTime(ctx, tc.key).Result()
					if err != nil {
						t.Fatal(err)
					}
					if got != time.Duration(want.Unix())*time.Second {
						t.Fatalf("EXPIRETIME %s = %v, want %v (%v)", tc.key, got, want.Unix(), want)
					}
				})
			}
			t.Run("as_names_and_acks_have_a_ttl", func(t *testing.T) {
				for key, max := range map[string]time.Duration{k.asOrgs(): ret, k.ack(n, r.Node()): DefaultAckTTL} {
					ttl, err := c.TTL(ctx, key).Result()
					if err != nil {
						t.Fatal(err)
					}
					if ttl <= 0 || ttl > max {
						t.Fatalf("TTL %s = %v, want in (0, %v]", key, ttl, max)
					}
				}
			})
			t.Run("every_key_has_a_ttl", func(t *testing.T) {
				for _, key := range allKeys(t, c, prefix) {
					if ttl, _ := c.TTL(ctx, key).Result(); ttl <= 0 {
						t.Errorf("key %s has TTL %v", key, ttl)
					}
				}
			})
		})
	}
}

func TestRedisNoRawClientIP(t *testing.T) {
	clients := []netip.Addr{netip.MustParseAddr("203.0.113.77"), netip.MustParseAddr("2001:db8::77")}
	for _, kind := range redisKinds() {
		t.Run(kind.name, func(t *testing.T) {
			ctx := context.Background()
			s, c, prefix := kind.new(t)
			r, _ := NewRecorder(s, RecorderConfig{})
			for _, a := range clients {
				for _, v := range []Verdict{VerdictClean, VerdictIntercepted, VerdictUnknown} {
					r.Record(Observation{Country: "KZ", ASN: 9198, ASOrg: "JSC Kazakhtelecom", Browser: true, Verdict: v, JA4: ja4X, Product: "Qaznet", Client: a})
				}
			}
			if err := r.Close(ctx); err != nil {
				t.Fatal(err)
			}
			keys := allKeys(t, c, prefix)
			if len(keys) < 5 {
				t.Fatalf("only %d keys: %v", len(keys), keys)
			}
			var needles [][]byte
			for _, a := range clients {
				raw := a.AsSlice()
				needles = append(needles, []byte(a.String()), raw)
				if a.Is4() {
					b16 := netip.AddrFrom16(a.As16()).AsSlice()
					needles = append(needles, b16)
				}
			}
			for _, key := range keys {
				dump, err := c.Dump(ctx, key).Result()
				if err != nil {
					t.Fatal(err)
				}
				for _, hay := range [][]byte{[]byte(key), []byte(dump)} {
					for _, nd := range needles {
						if bytes.Contains(hay, nd) {
							t.Errorf("key %s holds a raw client address (%q)", key, nd)
						}
					}
				}
			}
		})
	}
}

func TestRedisClusterKeysOfANetworkShareASlot(t *testing.T) {
	ctx := context.Background()
	var cluster storeKind
	for _, k := range storeKinds {
		if k.name == "redis_cluster" {
			cluster = k
		}
	}
	s, c, prefix := cluster.new(t)
	r, _ := NewRecorder(s, RecorderConfig{})
	nets := []Network{{"KZ", 9198}, {"KZ", 29555}, {"DE", 3320}, {"US", 7922}, {"ZZ", 0}}
	for _, n := range nets {
		r.Record(Observation{Country: n.Country, ASN: n.ASN, Browser: true, Verdict: VerdictIntercepted, JA4: ja4X, Client: addrN(int(n.ASN))})
	}
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	slots := make(map[string]map[int64]bool) // hash tag → slots seen
	for _, key := range allKeys(t, c, prefix) {
		i, j := strings.IndexByte(key, '{'), strings.IndexByte(key, '}')
		if i < 0 || j < i {
			continue // per-minute active sets and AS names are single keys
		}
		slot, err := c.ClusterKeySlot(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		tag := key[i+1 : j]
		if slots[tag] == nil {
			slots[tag] = make(map[int64]bool)
		}
		slots[tag][slot] = true
	}
	if len(slots) != len(nets)+1 { // the networks and {fp}
		t.Fatalf("hash tags %v, want one per network and fp", slots)
	}
	distinct := make(map[int64]bool)
	for tag, ss := range slots {
		if len(ss) != 1 {
			t.Errorf("keys tagged {%s} span slots %v", tag, ss)
		}
		for s := range ss {
			distinct[s] = true
		}
	}
	if len(distinct) < 2 {
		t.Fatalf("all networks in one slot: the test would not catch CROSSSLOT errors")
	}
}

func TestRedisScriptCacheFlushedIsReloaded(t *testing.T) {
	for _, kind := range redisKinds() {
		t.Run(kind.name, func(t *testing.T) {
			ctx := context.Background()
			s, c, _ := kind.new(t)
			clk := newTestClock(t0)
			r, _ := NewRecorder(s, RecorderConfig{Clock: clk.now})
			r.Record(Observation{Country: "KZ", ASN: 9198, Browser: true, Verdict: VerdictIntercepted})
			if err := r.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			// A restarted Redis has an empty script cache: EVALSHA fails
			// with NOSCRIPT and the store must fall back to EVAL.
			var err error
			switch cc := c.(type) {
			case *redis.ClusterClient:
				err = cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return n.ScriptFlush(ctx).Err() })
			default:
				err = c.ScriptFlush(ctx).Err()
			}
			if err != nil {
				t.Fatal(err)
			}
			r.Record(Observation{Country: "KZ", ASN: 9198, Browser: true, Verdict: VerdictIntercepted})
			if err := r.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if got := total(t, s); got.Intercepted != 2 {
				t.Fatalf("intercepted = %d, want 2", got.Intercepted)
			}
		})
	}
}

// TestRedisPartialApplyRetryIsExact makes one network's script fail inside
// a pipeline whose other networks succeed, then retries the same batch:
// every network must be counted exactly once.
func TestRedisPartialApplyRetryIsExact(t *testing.T) {
	for _, kind := range redisKinds() {
		t.Run(kind.name, func(t *testing.T) {
			ctx := context.Background()
			s, c, prefix := kind.new(t)
			m := minuteOf(t0)
			b := &Batch{Node: "n1", Seq: 1, Time: t0, Retention: DefaultRetention}
			nets := []Network{{"DE", 3320}, {"KZ", 9198}, {"US", 7922}}
			for i, n := range nets {
				b.Buckets = append(b.Buckets, Bucket{Network: n, Minute: m, Counts: Counts{Connections: 5, Browser: 5, Intercepted: 5},
					InterceptedJA4: map[string]uint64{ja4X: 5}, JA4Clients: map[string][]uint64{ja4X: distinctHashes(10*i, 5)}})
			}
			// A foreign string on KZ's bucket key makes its HINCRBY fail
			// (WRONGTYPE) before the script writes anything.
			blocker := redisKeys{prefix: prefix}.bucket(Network{"KZ", 9198}, m)
			if err := c.Set(ctx, blocker, "x", time.Hour).Err(); err != nil {
				t.Fatal(err)
			}
			if err := s.Apply(ctx, b); err == nil || !strings.Contains(err.Error(), "WRONGTYPE") {
				t.Fatalf("Apply with a blocked network = %v, want a WRONGTYPE error", err)
			}
			if err := c.Del(ctx, blocker).Err(); err != nil {
				t.Fatal(err)
			}
			for range 2 { // the retry, and a retry of a fully applied batch
				if err := s.Apply(ctx, b); err != nil {
					t.Fatal(err)
				}
			}
			rows, err := s.Top(ctx, TopQuery{From: t0, To: t0.Add(time.Minute), JA4Clients: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 3 {
				t.Fatalf("rows = %+v", rows)
			}
			for _, row := range rows {
				if row.Intercepted != 5 || row.JA4Clients[ja4X] != 5 {
					t.Errorf("%s:%d intercepted = %d, ja4X clients = %d, want 5 and 5", row.Country, row.ASN, row.Intercepted, row.JA4Clients[ja4X])
				}
			}
		})
	}
}

func TestNewRedisStoreConfigErrors(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never contacted
	defer c.Close()
	tests := []struct {
		name   string
		client redis.UniversalClient
		cfg    RedisConfig
		field  string
	}{
		{name: "nil_client", field: "client"},
		{name: "prefix_with_hash_tag_brace", client: c, cfg: RedisConfig{Prefix: "a{b}"}, field: "Prefix"},
		{name: "negative_ack_ttl", client: c, cfg: RedisConfig{AckTTL: -1}, field: "AckTTL"},
		{name: "negative_max_window", client: c, cfg: RedisConfig{MaxWindow: -1}, field: "MaxWindow"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewRedisStore(tc.client, tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("err = %v, want one naming %s", err, tc.field)
			}
		})
	}
}

func TestRedisQueryWindowCapped(t *testing.T) {
	c := standaloneClient(t)
	s, _ := NewRedisStore(c, RedisConfig{Prefix: newPrefix(), MaxWindow: time.Hour})
	_, err := s.Top(context.Background(), TopQuery{From: t0, To: t0.Add(2 * time.Hour)})
	if err == nil || !strings.Contains(err.Error(), "MaxWindow") {
		t.Fatalf("Top over 2 h with MaxWindow 1 h = %v, want a MaxWindow error", err)
	}
}

// TestRedisClusterStaleSlotMapIsExact sends every network of a batch in
// one per-master call, as a store whose slot map is stale would: the call
// meets slots of other masters, fails there, and the store must finish
// the batch one network per call, counting each network exactly once.
func TestRedisClusterStaleSlotMapIsExact(t *testing.T) {
	ctx := context.Background()
	c := clusterClient(t)
	prefix := newPrefix()
	s, err := NewRedisStore(c, RedisConfig{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	s.nodeOf = func(context.Context, string) (string, error) { return "stale", nil }
	m := minuteOf(t0)
	b := &Batch{Node: "n1", Seq: 1, Time: t0, Retention: DefaultRetention}
	masters := make(map[string]bool)
	for i := range 12 {
		n := Network{"KZ", uint32(9000 + i)}
		b.Buckets = append(b.Buckets, Bucket{Network: n, Minute: m, Counts: Counts{Connections: 3, Browser: 3, Intercepted: 2, Clean: 1},
			InterceptedJA4: map[string]uint64{ja4X: 2}, JA4Clients: map[string][]uint64{ja4X: distinctHashes(10*i, 2)}})
		node, err := c.MasterForKey(ctx, s.k.ack(n, b.Node))
		if err != nil {
			t.Fatal(err)
		}
		masters[node.Options().Addr] = true
	}
	if len(masters) < 2 {
		t.Fatalf("the networks live on %d master(s); the test needs them spread", len(masters))
	}
	for range 2 { // the batch, then a retry of the applied batch
		if err := s.Apply(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := s.Top(ctx, TopQuery{From: t0, To: t0.Add(time.Minute), Limit: 100, JA4Clients: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 12 {
		t.Fatalf("%d networks in Top, want 12", len(rows))
	}
	for _, row := range rows {
		if row.Connections != 3 || row.Intercepted != 2 || row.Clean != 1 || row.JA4Clients[ja4X] != 2 {
			t.Errorf("%s:%d counts = %+v, ja4X clients %d, want 3 connections, 2 intercepted, 1 clean, 2 clients",
				row.Country, row.ASN, row.Counts, row.JA4Clients[ja4X])
		}
	}
	if !s.nodeCalls.Load() {
		t.Error("a stale slot map turned per-master calls off; only a Redis without script flags should")
	}
}

// distinctHashes returns n client hashes of clients from, from+1, ...
func distinctHashes(from, n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = splitmix64(uint64(from + i))
	}
	return out
}

// TestJA4ClientsKeptForJA4ClientRetention: with a 30-day retention, the
// per-JA4 client counts are kept a week (JA4ClientRetention), the counts
// the full 30 days. Redis: their keys' expiry times. Memory: a batch 8
// days later drops the old minute's JA4 clients and keeps its counts.
func TestJA4ClientsKeptForJA4ClientRetention(t *testing.T) {
	n := Network{"KZ", 9198}
	m := minuteOf(t0)
	batch := func(seq uint64, at time.Time, net Network) *Batch {
		return &Batch{Node: "n1", Seq: seq, Time: at, Retention: DefaultRetention, Buckets: []Bucket{{
			Network: net, Minute: minuteOf(at),
			Counts:         Counts{Connections: 3, Browser: 3, Intercepted: 3},
			InterceptedJA4: map[string]uint64{ja4X: 3},
			JA4Clients:     map[string][]uint64{ja4X: {1, 2, 3}},
		}}}
	}
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			ctx := context.Background()
			s, c, prefix := kind.new(t)
			if err := s.Apply(ctx, batch(1, t0, n)); err != nil {
				t.Fatal(err)
			}
			if c != nil {
				k := redisKeys{prefix: prefix}
				for _, tc := range []struct {
					name, key string
					keep      time.Duration
				}{
					{"bucket_keeps_the_retention", k.bucket(n, m), DefaultRetention},
					{"ja4_clients_kept_a_week", k.ja4Clients(n, m, ja4X), JA4ClientRetention},
				} {
					got, err := c.ExpireTime(ctx, tc.key).Result()
					if err != nil {
						t.Fatal(err)
					}
					if want := time.Duration((m+1)*60)*time.Second + tc.keep; got != want {
						t.Errorf("%s: EXPIRETIME %v, want %v", tc.name, got, want)
					}
				}
				return
			}
			later := t0.Add(JA4ClientRetention + 24*time.Hour)
			if err := s.Apply(ctx, batch(2, later, Network{"DE", 3320})); err != nil {
				t.Fatal(err)
			}
			rows, err := s.Top(ctx, TopQuery{From: t0, To: t0.Add(time.Minute), JA4Clients: true})
			if err != nil || len(rows) != 1 {
				t.Fatalf("Top = %+v, %v", rows, err)
			}
			if rows[0].Intercepted != 3 || rows[0].JA4Clients[ja4X] != 0 {
				t.Errorf("8 days on: intercepted %d (want 3 kept), JA4 clients %d (want 0, dropped)", rows[0].Intercepted, rows[0].JA4Clients[ja4X])
			}
		})
	}
}
