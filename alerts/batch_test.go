package alerts

import (
	"testing"
	"time"
)

func TestMinuteRange(t *testing.T) {
	m := minuteOf(t0)
	tests := []struct {
		name       string
		from, to   time.Time
		first, end int64
	}{
		{name: "whole_minutes", from: t0, to: t0.Add(2 * time.Minute), first: m, end: m + 2},
		{name: "end_mid_minute_includes_that_minute", from: t0, to: t0.Add(61 * time.Second), first: m, end: m + 2},
		{name: "start_mid_minute_includes_that_minute", from: t0.Add(59 * time.Second), to: t0.Add(time.Minute), first: m, end: m + 1},
		{name: "empty_window", from: t0, to: t0, first: m, end: m},
		{name: "one_nanosecond", from: t0, to: t0.Add(1), first: m, end: m + 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			first, end := minuteRange(tc.from, tc.to)
			if first != tc.first || end != tc.end {
				t.Fatalf("minuteRange = [%d, %d), want [%d, %d)", first, end, tc.first, tc.end)
			}
		})
	}
	if got := minuteOf(time.Unix(-1, 0)); got != -1 {
		t.Errorf("minuteOf(-1 s) = %d, want -1 (floor)", got)
	}
	if !minuteTime(m).Equal(t0) {
		t.Errorf("minuteTime(minuteOf(t0)) = %v, want %v", minuteTime(m), t0)
	}
}

func TestBatchObservations(t *testing.T) {
	b := Batch{Buckets: []Bucket{{Counts: Counts{Connections: 3}}, {Counts: Counts{Connections: 4, Browser: 4}}}}
	if got := b.Observations(); got != 7 {
		t.Fatalf("Observations() = %d, want 7", got)
	}
}
