package alerts

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// applyUnknownJA4 applies node "n"'s batch seq: one unknown browser
// connection with ja4 in KZ:9198 at minute, and note for ja4.
func applyUnknownJA4(t *testing.T, s Store, seq uint64, minute int64, retention time.Duration, ja4 string, note JA4Note) {
	t.Helper()
	b := &Batch{Node: "n", Seq: seq, Time: minuteTime(minute), Retention: retention, Buckets: []Bucket{{
		Network: Network{"KZ", 9198}, Minute: minute,
		Counts:     Counts{Connections: 1, Browser: 1, Unknown: 1},
		UnknownJA4: map[string]uint64{ja4: 1},
	}}, JA4Notes: map[string]JA4Note{ja4: note}}
	if err := s.Apply(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}

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
				applyUnknownJA4(t, s, seq, minute, time.Hour, ja4,
					JA4Note{Grade: fingerprints.GradeB, Reasons: 1 << fingerprints.ReasonCipherOrder})
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
			// Its grade and reasons go with it.
			for _, key := range []string{k.fpGrade(), k.fpReasons()} {
				if ok, _ := c.HExists(ctx, key, ja4X).Result(); ok {
					t.Errorf("%s still holds the stale ja4X", key)
				}
				if ok, _ := c.HExists(ctx, key, ja4Y).Result(); !ok {
					t.Errorf("%s lost ja4Y", key)
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
				}}, JA4Notes: map[string]JA4Note{ja4X: {Grade: fingerprints.GradeC, Reasons: 1}}}
				if err := s.Apply(ctx, b); err != nil {
					t.Fatal(err)
				}
			}
			want := time.Duration((m+1)*60+7200) * time.Second
			for _, key := range []string{k.fpFirst(), k.fpLast(), k.fpNets(ja4X), k.fpGrade(), k.fpReasons()} {
				if got, _ := c.ExpireTime(ctx, key).Result(); got != want {
					t.Errorf("EXPIRETIME %s = %v, want %v (the later batch's)", key, got, want)
				}
			}
		})
	}
}

// TestFingerprintReasonsKeepEveryBit: fingerprintLua ORs reasons with
// Lua's bit.bor, which returns a signed 32-bit number, so a set with bit
// 31 is stored negative; the store must read back exactly the bits
// written, by every node, whatever their order.
func TestFingerprintReasonsKeepEveryBit(t *testing.T) {
	tests := []struct {
		name   string
		writes []fingerprints.Reasons
		want   fingerprints.Reasons
		// negative says the stored number is negative (bit 31).
		negative bool
	}{
		{name: "bit_31_alone", writes: []fingerprints.Reasons{1 << 31}, want: 1 << 31, negative: true},
		{name: "bit_31_ored_with_low_bits_of_another_node",
			writes: []fingerprints.Reasons{1<<31 | 1, 1 << 30, 1 << fingerprints.ReasonNoALPN},
			want:   1<<31 | 1<<30 | 1<<fingerprints.ReasonNoALPN | 1, negative: true},
		{name: "all_bits", writes: []fingerprints.Reasons{0xffff0000, 0x0000ffff}, want: 0xffffffff, negative: true},
		{name: "low_bits_stay_positive", writes: []fingerprints.Reasons{1 << 3, 1 << 5}, want: 1<<3 | 1<<5},
	}
	for _, kind := range redisKinds() {
		t.Run(kind.name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					ctx := context.Background()
					s, c, prefix := kind.new(t)
					k := redisKeys{prefix: prefix}
					for i, r := range tc.writes {
						b := &Batch{Node: "n" + strconv.Itoa(i), Seq: 1, Time: t0, Retention: DefaultRetention, Buckets: []Bucket{{
							Network: Network{"KZ", 9198}, Minute: minuteOf(t0),
							Counts:     Counts{Connections: 1, Browser: 1, Unknown: 1},
							UnknownJA4: map[string]uint64{ja4X: 1},
						}}, JA4Notes: map[string]JA4Note{ja4X: {Reasons: r}}}
						for range 2 { // a retry changes nothing
							if err := s.Apply(ctx, b); err != nil {
								t.Fatal(err)
							}
						}
					}
					raw, err := c.HGet(ctx, k.fpReasons(), ja4X).Result()
					if err != nil {
						t.Fatal(err)
					}
					if strings.HasPrefix(raw, "-") != tc.negative {
						t.Errorf("stored %q; negative want %v", raw, tc.negative)
					}
					vals, err := c.HMGet(ctx, k.fpReasons(), ja4X).Result()
					if err != nil {
						t.Fatal(err)
					}
					if got := decodeReasons(vals, 0); got != tc.want {
						t.Fatalf("reasons read back %#x (stored %q), want %#x", uint32(got), raw, uint32(tc.want))
					}
				})
			}
		})
	}
}

// TestSumScriptLeavesNoPermanentTmpKeyWhenItFails makes the sum script fail
// between its first PFMERGE into the tmp key and the DEL (the 1 001st HLL
// is not an HLL): Redis keeps a failed script's writes, so the tmp key must
// carry an expiry rather than stay for ever.
func TestSumScriptLeavesNoPermanentTmpKeyWhenItFails(t *testing.T) {
	for _, kind := range redisKinds() {
		t.Run(kind.name, func(t *testing.T) {
			ctx := context.Background()
			_, c, prefix := kind.new(t)
			const n = 1001 // over the 1 000 HLLs PFCOUNT takes at once
			tag := prefix + "{sumfail}:"
			keys := []string{tag + "tmp"}
			for i := range n {
				keys = append(keys, tag+"b:"+strconv.Itoa(i))
			}
			for i := range n {
				keys = append(keys, tag+"h:"+strconv.Itoa(i))
			}
			if err := c.PFAdd(ctx, keys[n+1], "a").Err(); err != nil {
				t.Fatal(err)
			}
			if err := c.Set(ctx, keys[2*n], "not an hll", time.Minute).Err(); err != nil {
				t.Fatal(err)
			}
			args := []any{n}
			err := newRedisScripts().sum.Run(ctx, c, keys, args...).Err()
			if err == nil || !strings.Contains(err.Error(), "WRONGTYPE") {
				t.Fatalf("sum script: err = %v, want WRONGTYPE from the second PFMERGE", err)
			}
			ttl, err := c.PTTL(ctx, keys[0]).Result()
			if err != nil {
				t.Fatal(err)
			}
			// -2: gone; > 0: going. -1 is a key that stays for ever.
			if ttl == -1 || ttl > time.Minute {
				t.Errorf("tmp key TTL %v after the failed script, want none or at most a minute", ttl)
			}
		})
	}
}

// TestFingerprintGradeKeepsItsMinute checks the stored form of a JA4's
// grade, "grade:minute", and that a bare grade left by an earlier version
// reads back and counts as older than any graded batch.
func TestFingerprintGradeKeepsItsMinute(t *testing.T) {
	for _, kind := range redisKinds() {
		t.Run(kind.name, func(t *testing.T) {
			ctx := context.Background()
			s, c, prefix := kind.new(t)
			k := redisKeys{prefix: prefix}
			m := minuteOf(t0)
			apply := func(seq uint64, minute int64, g fingerprints.Grade) {
				t.Helper()
				applyUnknownJA4(t, s, seq, minute, DefaultRetention, ja4X, JA4Note{Grade: g})
			}
			grade := func() string {
				t.Helper()
				fs, err := s.NewFingerprints(ctx, FingerprintQuery{Since: minuteTime(m - 60)})
				if err != nil || len(fs) != 1 {
					t.Fatalf("NewFingerprints = %+v, %v", fs, err)
				}
				return fs[0].Grade
			}
			apply(1, m, fingerprints.GradeB)
			if v, _ := c.HGet(ctx, k.fpGrade(), ja4X).Result(); v != strconv.Itoa(int(fingerprints.GradeB))+":"+strconv.FormatInt(m, 10) {
				t.Errorf("stored grade %q, want grade:minute", v)
			}
			// An earlier version's bare grade.
			if err := c.HSet(ctx, k.fpGrade(), ja4X, strconv.Itoa(int(fingerprints.GradeF))).Err(); err != nil {
				t.Fatal(err)
			}
			if g := grade(); g != "F" {
				t.Errorf("bare grade reads as %q, want F", g)
			}
			apply(2, m-10, fingerprints.GradeC) // older than the bare grade's unknown minute: still wins
			if g := grade(); g != "C" {
				t.Errorf("after a graded batch over a bare grade: %q, want C", g)
			}
		})
	}
}
