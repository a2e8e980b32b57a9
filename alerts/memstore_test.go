package alerts

import (
	"context"
	"testing"
	"time"
)

func TestMemoryStoreRetentionPrunes(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore()
	batch := func(seq uint64, at time.Time, ja4 string) *Batch {
		return &Batch{Node: "n", Seq: seq, Time: at, Retention: time.Hour, Buckets: []Bucket{{
			Network: Network{"KZ", 9198}, Minute: minuteOf(at),
			Counts:     Counts{Connections: 1, Browser: 1, Unknown: 1},
			UnknownJA4: map[string]uint64{ja4: 1},
		}}}
	}
	if err := s.Apply(ctx, batch(1, t0, ja4X)); err != nil {
		t.Fatal(err)
	}
	// Two hours later with a one-hour retention: the first minute and
	// the fingerprint only it carried are gone.
	later := t0.Add(2 * time.Hour)
	if err := s.Apply(ctx, batch(2, later, ja4Y)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		from, to time.Time
		want     uint64
	}{
		{name: "expired_minute_is_gone", from: t0, to: t0.Add(time.Minute), want: 0},
		{name: "recent_minute_is_kept", from: later, to: later.Add(time.Minute), want: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pts, err := s.Series(ctx, SeriesQuery{Country: "KZ", ASN: 9198, From: tc.from, To: tc.to})
			if err != nil {
				t.Fatal(err)
			}
			if pts[0].Connections != tc.want {
				t.Fatalf("connections = %d, want %d", pts[0].Connections, tc.want)
			}
		})
	}
	fps, _ := s.NewFingerprints(ctx, FingerprintQuery{Since: t0.Add(-time.Hour)})
	if len(fps) != 1 || fps[0].JA4 != ja4Y {
		t.Fatalf("fingerprints = %+v, want only ja4Y", fps)
	}
}

func TestMemoryStoreErrors(t *testing.T) {
	s := NewMemoryStore()
	if err := s.Apply(context.Background(), nil); err == nil {
		t.Error("Apply(nil): no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Apply(ctx, &Batch{Node: "n", Seq: 1}); err == nil {
		t.Error("Apply with a cancelled context: no error")
	}
	if _, err := s.Top(ctx, TopQuery{From: t0, To: t0.Add(time.Minute)}); err == nil {
		t.Error("Top with a cancelled context: no error")
	}
}
