package alerts

import (
	"context"
	"testing"
	"time"
)

// TestFingerprintScriptTrimsStaleFingerprints checks that the fingerprint
// index forgets JA4s not seen within the retention, so "first seen" stays
// bounded, and keeps the earliest first-seen and latest last-seen minute
// whatever order batches arrive in.
func TestFingerprintScriptTrimsStaleFingerprints(t *testing.T) {
	for _, kind := range redisKinds() {
		t.Run(kind.name, func(t *testing.T) {
			ctx := context.Background()
			s, c, prefix := kind.new(t)
			k := redisKeys{prefix: prefix}
			m := minuteOf(t0)
			apply := func(seq uint64, minute int64, ja4 string) {
				t.Helper()
				b := &Batch{Node: "n", Seq: seq, Time: minuteTime(minute), Retention: time.Hour, Buckets: []Bucket{{
					Network: Network{"KZ", 9198}, Minute: minute,
					Counts:     Counts{Connections: 1, Browser: 1, Unknown: 1},
					UnknownJA4: map[string]uint64{ja4: 1},
				}}}
				if err := s.Apply(ctx, b); err != nil {
					t.Fatal(err)
				}
			}
			apply(1, m+10, ja4X)
			apply(2, m, ja4X) // an older minute arriving late
			apply(3, m+5, ja4X)
			first, _ := c.ZScore(ctx, k.fpFirst(), ja4X).Result()
			last, _ := c.ZScore(ctx, k.fpLast(), ja4X).Result()
			if int64(first) != m || int64(last) != m+10 {
				t.Fatalf("first/last = %v/%v, want %d/%d", first, last, m, m+10)
			}
			// Two hours on, with a one-hour retention, ja4X is stale.
			apply(4, m+120, ja4Y)
			for _, key := range []string{k.fpFirst(), k.fpLast()} {
				if err := c.ZScore(ctx, key, ja4X).Err(); err == nil {
					t.Errorf("%s still holds the stale ja4X", key)
				}
				if err := c.ZScore(ctx, key, ja4Y).Err(); err != nil {
					t.Errorf("%s lost ja4Y: %v", key, err)
				}
			}
		})
	}
}

// TestFingerprintIndexExpiryOnlyExtends applies a batch for a recent
// minute, then a late batch for a minute an hour older: the index keys
// must keep the later expiry.
func TestFingerprintIndexExpiryOnlyExtends(t *testing.T) {
	for _, kind := range redisKinds() {
		t.Run(kind.name, func(t *testing.T) {
			ctx := context.Background()
			s, c, prefix := kind.new(t)
			k := redisKeys{prefix: prefix}
			m := minuteOf(time.Now())
			for seq, minute := range []int64{m, m - 60} {
				b := &Batch{Node: "n", Seq: uint64(seq + 1), Time: minuteTime(minute), Retention: 2 * time.Hour, Buckets: []Bucket{{
					Network: Network{"KZ", 9198}, Minute: minute,
					Counts:     Counts{Connections: 1, Browser: 1, Unknown: 1},
					UnknownJA4: map[string]uint64{ja4X: 1},
				}}}
				if err := s.Apply(ctx, b); err != nil {
					t.Fatal(err)
				}
			}
			want := time.Duration((m+1)*60+7200) * time.Second
			for _, key := range []string{k.fpFirst(), k.fpLast(), k.fpNets(ja4X)} {
				if got, _ := c.ExpireTime(ctx, key).Result(); got != want {
					t.Errorf("EXPIRETIME %s = %v, want %v (the later batch's)", key, got, want)
				}
			}
		})
	}
}
