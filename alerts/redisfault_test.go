package alerts

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/mitmwatch/mitmwatch/internal/redistest"
)

// syncBuffer is a bytes.Buffer safe for a logger on the flusher goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startFaultRedis starts a Redis of the test's own that it may kill. It
// keeps an append-only file fsynced on every write: a Redis without
// persistence loses everything when killed, whatever the client does, so
// only a persistent one can show that the client side is exact.
func startFaultRedis(t *testing.T) (*redistest.Server, *redis.Client) {
	t.Helper()
	requireRedis(t)
	srv, err := redistest.Start(redistest.Options{Persistent: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	c := redis.NewClient(&redis.Options{
		Addr: srv.Addr,
		// Fail fast while Redis is down, so the recorder's own buffer and
		// retries are what the test exercises, not the client's.
		MaxRetries:         -1,
		DialerRetries:      1,
		DialerRetryTimeout: 10 * time.Millisecond,
		DialTimeout:        200 * time.Millisecond,
		ReadTimeout:        time.Second,
		WriteTimeout:       time.Second,
	})
	t.Cleanup(func() { _ = c.Close() })
	return srv, c
}

// TestRedisFaultKillDuringRecording kills redis-server (SIGKILL by PID)
// while 10 000 observations are recorded and flushed every 5 ms, restarts
// it on the same port, and checks that the counts in Redis are exact and
// nothing overflowed.
func TestRedisFaultKillDuringRecording(t *testing.T) {
	srv, c := startFaultRedis(t)
	store, err := NewRedisStore(c, RedisConfig{Prefix: "fault"})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	var logs syncBuffer
	r, err := NewRecorder(store, RecorderConfig{
		FlushInterval: 5 * time.Millisecond,
		FlushTimeout:  2 * time.Second,
		Registerer:    reg,
		Logger:        slog.New(slog.NewTextHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r.Start()

	const n = 10000
	obs := realisticMix(n)
	want := make(map[Network]Counts)
	wantProducts := make(map[string]uint64)
	var restarted sync.WaitGroup
	var restartErr error
	for i, o := range obs {
		switch i {
		case 2500:
			// Make sure Redis already holds counts that must survive.
			waitFor(t, func() bool { return r.Stats().Flushes > 0 }, "a flush before the kill")
			if err := srv.Kill(); err != nil {
				t.Fatal(err)
			}
		case 6000:
			// Restart only once flushes have failed, then keep recording
			// while Redis comes back.
			waitFor(t, func() bool { return r.Stats().FlushErrors >= 3 }, "failed flushes while Redis is down")
			restarted.Add(1)
			go func() { defer restarted.Done(); restartErr = srv.Restart() }()
		}
		r.Record(o)
		c := want[Network{o.Country, o.ASN}]
		c.add(o.Browser, o.Verdict)
		want[Network{o.Country, o.ASN}] = c
		if o.Browser && o.Verdict == VerdictIntercepted {
			wantProducts[o.Product]++
		}
		if i%50 == 0 {
			time.Sleep(time.Millisecond) // spread recording over many flushes
		}
	}
	restarted.Wait()
	if restartErr != nil {
		t.Fatal(restartErr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}

	st := r.Stats()
	t.Logf("stats %+v", st)
	if st.FlushErrors == 0 {
		t.Fatal("no flush failed: the kill did not hit the recorder, the test proves nothing")
	}
	if st.Recorded != n || st.Dropped != 0 {
		t.Fatalf("recorded %d dropped %d, want %d and 0", st.Recorded, st.Dropped, n)
	}
	if got := gathered(t, reg, "mitmwatch_alerts_dropped_total"); got != 0 {
		t.Fatalf("mitmwatch_alerts_dropped_total = %v, want 0", got)
	}
	if !strings.Contains(logs.String(), "store unavailable") || !strings.Contains(logs.String(), "store available again") {
		t.Errorf("outage not logged:\n%s", logs.String())
	}
	// Read back through a fresh client: go-redis's pool may still return
	// its cached dial error for a moment after an outage, and a second
	// client shows what Redis holds, not what the writer believes.
	rc := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rc.Close()
	reader, err := NewRedisStore(rc, RedisConfig{Prefix: "fault"})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := reader.Top(context.Background(), TopQuery{From: start.Add(-time.Minute), To: time.Now().Add(time.Minute), Limit: -1})
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[Network]Counts)
	gotProducts := make(map[string]uint64)
	var total uint64
	for _, row := range rows {
		got[Network{row.Country, row.ASN}] = row.Counts
		total += row.Connections
		for p, v := range row.Products {
			gotProducts[p] += v
		}
	}
	if total != n {
		t.Errorf("connections in Redis = %d, want %d", total, n)
	}
	for net, w := range want {
		if got[net] != w {
			t.Errorf("%v: Redis has %+v, want %+v", net, got[net], w)
		}
	}
	for p, w := range wantProducts {
		if gotProducts[p] != w {
			t.Errorf("product %s: Redis has %d, want %d", p, gotProducts[p], w)
		}
	}
}

// TestRedisFaultTinyBufferDropsAreCounted keeps Redis down for more
// flushes than BufferLimit: the oldest batches are dropped, and every
// dropped observation shows in the metric and the log; the rest is stored.
func TestRedisFaultTinyBufferDropsAreCounted(t *testing.T) {
	ctx := context.Background()
	srv, c := startFaultRedis(t)
	store, _ := NewRedisStore(c, RedisConfig{Prefix: "tiny"})
	reg := prometheus.NewRegistry()
	var logs syncBuffer
	clk := newTestClock(t0)
	r, _ := NewRecorder(store, RecorderConfig{
		Clock: clk.now, BufferLimit: 2, Registerer: reg,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	record := func(k int) {
		for range k {
			r.Record(Observation{Country: "KZ", ASN: 9198, Browser: true, Verdict: VerdictIntercepted})
		}
		clk.add(10 * time.Second)
	}
	record(10)
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{20, 30, 40, 50} {
		record(k)
		if err := r.Flush(ctx); err == nil {
			t.Fatal("Flush with Redis killed: no error")
		}
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// Kept: 10 (stored before the kill) + 40 + 50; dropped: 20 + 30.
	rc := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rc.Close()
	reader, _ := NewRedisStore(rc, RedisConfig{Prefix: "tiny"})
	if got := total(t, reader); got.Intercepted != 100 {
		t.Fatalf("intercepted in Redis = %d, want 100", got.Intercepted)
	}
	if got := gathered(t, reg, "mitmwatch_alerts_dropped_total"); got != 50 {
		t.Fatalf("mitmwatch_alerts_dropped_total = %v, want 50", got)
	}
	if n := strings.Count(logs.String(), "pending buffer full"); n != 2 {
		t.Fatalf("%d overflow log lines, want 2:\n%s", n, logs.String())
	}
	if st := r.Stats(); st.Recorded != 150 || st.Dropped != 50 || st.Pending != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// waitFor polls cond (no timing assertion: the deadline only stops a hung
// test).
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
