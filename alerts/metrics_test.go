package alerts

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// gathered returns the value of a label-less metric from reg.
func gathered(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		m := mf.GetMetric()[0]
		switch {
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

func TestRecorderMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	clk := newTestClock(t0)
	r, err := NewRecorder(NewMemoryStore(), RecorderConfig{Clock: clk.now, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	for range 7 {
		r.Record(Observation{Country: "KZ", Browser: true})
	}
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		want float64
	}{
		{"mitmwatch_alerts_recorded_total", 7},
		{"mitmwatch_alerts_flushes_total", 1},
		{"mitmwatch_alerts_flush_errors_total", 0},
		{"mitmwatch_alerts_dropped_total", 0},
		{"mitmwatch_alerts_pending_batches", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := gathered(t, reg, tc.name); got != tc.want {
				t.Fatalf("%s = %v, want %v", tc.name, got, tc.want)
			}
		})
	}
	if _, err := NewRecorder(NewMemoryStore(), RecorderConfig{Registerer: reg}); err == nil {
		t.Fatal("a second recorder on the same registry: no error")
	}
}
