package alerts

import (
	"fmt"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// recorderMetrics are the recorder's counters. They live in atomics read by
// [Recorder.Stats]; the Prometheus collectors are functions over the same
// atomics, so they exist whether or not a Registerer is configured. None
// has a label: networks, ASNs and fingerprints are unbounded.
type recorderMetrics struct {
	recorded    atomic.Uint64
	flushes     atomic.Uint64
	flushErrors atomic.Uint64
	dropped     atomic.Uint64
	pending     atomic.Int64

	flushDuration prometheus.Histogram
}

// RecorderStats is a snapshot of a recorder's counters, the same values as
// its mitmwatch_alerts_… metrics.
type RecorderStats struct {
	// Recorded is the observations handed to the store's batches.
	Recorded uint64
	// Flushes is the batches the store applied.
	Flushes uint64
	// FlushErrors is the failed store calls (each is retried).
	FlushErrors uint64
	// Dropped is the observations lost: buffer overflow while the store
	// was down, a Close whose context ended first, or Record after Close.
	Dropped uint64
	// Pending is the batches waiting for the store.
	Pending int
}

func newRecorderMetrics(reg prometheus.Registerer) (*recorderMetrics, error) {
	m := &recorderMetrics{
		flushDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "mitmwatch_alerts_flush_duration_seconds",
			Help:    "Time one store call of a flush took, failed calls included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 8),
		}),
	}
	if reg == nil {
		return m, nil
	}
	counter := func(name, help string, v *atomic.Uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(v.Load()) })
	}
	cs := []prometheus.Collector{
		counter("mitmwatch_alerts_recorded_total", "Observations recorded and handed to the store in a batch.", &m.recorded),
		counter("mitmwatch_alerts_flushes_total", "Batches the store applied.", &m.flushes),
		counter("mitmwatch_alerts_flush_errors_total", "Store calls that failed; the batch stays pending and is retried.", &m.flushErrors),
		counter("mitmwatch_alerts_dropped_total", "Observations dropped: pending buffer overflow, Close deadline, or Record after Close.", &m.dropped),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "mitmwatch_alerts_pending_batches",
			Help: "Batches waiting for the store (bounded by BufferLimit).",
		}, func() float64 { return float64(m.pending.Load()) }),
		m.flushDuration,
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("alerts: register metrics: %w", err)
		}
	}
	return m, nil
}

func (m *recorderMetrics) stats() RecorderStats {
	return RecorderStats{
		Recorded:    m.recorded.Load(),
		Flushes:     m.flushes.Load(),
		FlushErrors: m.flushErrors.Load(),
		Dropped:     m.dropped.Load(),
		Pending:     int(m.pending.Load()),
	}
}
