package server

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// registerCaptureMetrics exports a capture listener's counters
// ([fingerprints.ListenerStats]) to reg: how many connections it accepted
// and how each one's ClientHello capture ended. A rise in not_tls,
// malformed or too_large is scanners or broken clients; in timeout, slow
// or stalled clients. The counters are read when /metrics is scraped, so
// the accept path pays nothing more for them.
func registerCaptureMetrics(reg prometheus.Registerer, stats func() fingerprints.ListenerStats) error {
	cs := []prometheus.Collector{prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "mitmwatch_capture_connections_total",
		Help: "Connections accepted by the ClientHello capture listener.",
	}, func() float64 { return float64(stats().Conns) })}
	// Every accepted connection whose capture has ended is in exactly one
	// result.
	for _, r := range []struct {
		result string
		get    func(fingerprints.ListenerStats) uint64
	}{
		{"captured", func(s fingerprints.ListenerStats) uint64 { return s.Hellos }},
		{"not_tls", func(s fingerprints.ListenerStats) uint64 { return s.NotTLS }},
		{"truncated", func(s fingerprints.ListenerStats) uint64 { return s.Truncated }},
		{"too_large", func(s fingerprints.ListenerStats) uint64 { return s.TooLarge }},
		{"malformed", func(s fingerprints.ListenerStats) uint64 { return s.Malformed }},
		{"timeout", func(s fingerprints.ListenerStats) uint64 { return s.Timeout }},
	} {
		cs = append(cs, prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "mitmwatch_capture_hellos_total",
			Help:        "Connections whose ClientHello capture ended, by result: captured, not_tls (first bytes not a TLS handshake), truncated (closed inside the hello), too_large, malformed, timeout (hello not complete in time).",
			ConstLabels: prometheus.Labels{"result": r.result},
		}, func() float64 { return float64(r.get(stats())) }))
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("server: register capture metrics: %w", err)
		}
	}
	return nil
}
