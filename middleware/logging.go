package middleware

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mitmwatch/mitmwatch/alerts"
	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// emit reports a freshly computed verdict, once: the verdict counter, a log
// line when it is not clean, and an observation for the recorder. It runs
// after the connection's lock is released, since a log handler may write
// to a slow destination.
func (s *settings) emit(e *entry) {
	v := &e.v
	if o := int(v.Verdict.Verdict); o < len(s.metrics.verdicts) {
		s.metrics.verdicts[o].Add(1)
	}
	if v.Verdict.Verdict != fingerprints.OutcomeClean {
		s.logVerdict(e)
	}
	if s.notes != nil && (v.Verdict.Verdict == fingerprints.OutcomeIntercepted || v.Verdict.Verdict == fingerprints.OutcomeUnknown) {
		s.notes.Note(v.JA4, v.Grade, v.Reasons)
	}
	if s.recorder != nil {
		s.recorder.Record(alerts.Observation{
			Country: v.Country,
			ASN:     v.ASN,
			ASOrg:   v.ASOrg,
			Browser: v.Client.Browser,
			Verdict: alertsVerdict(v.Verdict.Verdict),
			Product: v.Product,
			JA4:     v.JA4,
			Grade:   v.Grade,
			Reasons: v.Reasons,
			Client:  e.client,
		})
	}
}

// logVerdict writes the one line of a non-clean verdict: intercepted at
// Warn (someone may be reading a user's traffic), spoofed and unknown at
// Info (bots and gaps in the signature database).
func (s *settings) logVerdict(e *entry) {
	v := &e.v
	level := slog.LevelInfo
	if v.Verdict.Verdict == fingerprints.OutcomeIntercepted {
		level = slog.LevelWarn
	}
	ctx := context.Background()
	if !s.logger.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("verdict", v.Verdict.Verdict.String()),
		slog.String("product", v.Product),
		slog.String("ja4", v.JA4),
		slog.String("country", v.Country),
		slog.Uint64("asn", uint64(v.ASN)),
		slog.Float64("confidence", v.Confidence),
		slog.String("source", string(v.Source)),
	}
	if e.client.IsValid() {
		if s.logIP {
			attrs = append(attrs, slog.String("ip", e.client.String()))
		} else {
			attrs = append(attrs, slog.String("ip_hash", ipHash(s.ipKey, e.client)))
		}
	}
	s.logger.LogAttrs(ctx, level, "middleware: "+v.Verdict.Verdict.String()+" connection", attrs...)
}

// ipHash is a keyed hash of a client address for logs: the first 8 bytes
// of HMAC-SHA256 under key, in hex. Without the key an address cannot be
// recovered by hashing all of IPv4; with the same key, the same client gets
// the same hash, so lines about one client can be grouped.
func ipHash(key []byte, a netip.Addr) string {
	m := hmac.New(sha256.New, key)
	b := a.Unmap().As16()
	m.Write(b[:])
	return hex.EncodeToString(m.Sum(nil)[:8])
}

// alertsVerdict maps a classifier outcome to the alerts package's.
func alertsVerdict(o fingerprints.Outcome) alerts.Verdict {
	switch o {
	case fingerprints.OutcomeClean:
		return alerts.VerdictClean
	case fingerprints.OutcomeIntercepted:
		return alerts.VerdictIntercepted
	case fingerprints.OutcomeSpoofed:
		return alerts.VerdictSpoofed
	}
	return alerts.VerdictUnknown
}

// metrics are the middleware's counters. They are atomics (read by tests
// and exported through CounterFuncs), bumped once per computed verdict,
// stripped request or blocked request: never on the fast path of a clean
// connection. No label carries an address, an ASN or a fingerprint.
type metrics struct {
	// verdicts is indexed by fingerprints.Outcome.
	verdicts [4]atomic.Uint64
	computed atomic.Uint64
	stripped atomic.Uint64
	blocked  atomic.Uint64
}

func newMetrics(reg prometheus.Registerer, cl *fingerprints.Classifier) (*metrics, error) {
	m := &metrics{}
	if reg == nil {
		return m, nil
	}
	var cs []prometheus.Collector
	for _, o := range []fingerprints.Outcome{fingerprints.OutcomeUnknown, fingerprints.OutcomeClean, fingerprints.OutcomeIntercepted, fingerprints.OutcomeSpoofed} {
		c := &m.verdicts[o]
		cs = append(cs, prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "mitmwatch_middleware_verdicts_total",
			Help:        "Verdicts computed (once per connection and User-Agent, or per request from a trusted proxy), by verdict.",
			ConstLabels: prometheus.Labels{"verdict": o.String()},
		}, func() float64 { return float64(c.Load()) }))
	}
	cs = append(cs,
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "mitmwatch_middleware_stripped_requests_total",
			Help: "Requests from untrusted peers whose upstream fingerprint headers were removed.",
		}, func() float64 { return float64(m.stripped.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "mitmwatch_middleware_blocked_requests_total",
			Help: "Requests to ProtectPaths answered with 403 because the connection is intercepted.",
		}, func() float64 { return float64(m.blocked.Load()) }),
	)
	// The classifier's cache of hello shapes (Classifier.CoreFingerprints):
	// a low hit share means many distinct client stacks, or someone
	// sending hellos of ever new shapes.
	for _, r := range []struct {
		result string
		get    func(fingerprints.CoreCacheStats) uint64
	}{
		{"hit", func(s fingerprints.CoreCacheStats) uint64 { return s.Hits }},
		{"reordered", func(s fingerprints.CoreCacheStats) uint64 { return s.Reordered }},
		{"miss", func(s fingerprints.CoreCacheStats) uint64 { return s.Misses }},
		{"uncacheable", func(s fingerprints.CoreCacheStats) uint64 { return s.Uncacheable }},
	} {
		cs = append(cs, prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "mitmwatch_middleware_fingerprint_cache_lookups_total",
			Help:        "Captured hellos looked up in the cache of JA3 and JA4 by hello shape, by result (reordered: JA4 from the cache, JA3 computed for a shuffled extension order).",
			ConstLabels: prometheus.Labels{"result": r.result},
		}, func() float64 { return float64(r.get(cl.CoreCacheStats())) }))
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("middleware: register metrics: %w", err)
		}
	}
	return m, nil
}
