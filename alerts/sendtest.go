package alerts

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"
)

// TestResult is the outcome of sending the sample event to one sink.
type TestResult struct {
	Sink   string
	Format string
	// Status is the HTTP status; 0 when no response came.
	Status   int
	Duration time.Duration
	// Err is nil when the sink answered 2xx.
	Err error
}

// SampleEvent returns the event `mitmwatch alerts test` sends: a complete
// interception.alert marked test: true, about the documentation ASN 64496
// (RFC 5398) in an unknown country, so nobody mistakes it for a real one.
func SampleEvent(now time.Time) Event {
	now = now.UTC().Truncate(time.Second)
	first := now.Add(-3 * 24 * time.Hour).Truncate(time.Minute)
	a := Alert{
		Incident: "test", Rule: "asn-share", RuleType: RuleShare, Scope: ScopeASN,
		ASN: 64496, ASOrg: "Documentation AS (RFC 5398)",
		Connections: 240, AllConnections: 310, Intercepted: 72, Unknown: 6, Share: 0.3, Threshold: 0.2,
		Clients:     58,
		WindowStart: now.Truncate(time.Minute).Add(-4 * time.Minute), WindowEnd: now,
		TopProducts: []ProductCount{{Name: "Sample TLS inspection proxy", Connections: 72}},
		TopFingerprints: []FingerprintCount{
			{JA4: "t12d1209h1_000000000000_000000000000", Verdict: "intercepted", Connections: 72, Grade: "C", FirstSeen: &first},
		},
		Reasons:   []string{"This is a test alert sent by `mitmwatch alerts test`; no interception was seen."},
		FirstSeen: now.Add(-4 * time.Minute),
		Test:      true,
	}
	a.summarize(EventAlert)
	return Event{ID: "msg_test_" + randomID(8), Type: EventAlert, Timestamp: now, Data: a}
}

// SendTest validates cfg and sends [SampleEvent] once to every webhook,
// concurrently, without retries: it answers "does each sink take our
// alerts?". The error is for a bad configuration; per-sink failures are in
// the results, in configuration order.
func SendTest(ctx context.Context, cfg Config, client *http.Client) ([]TestResult, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if len(cfg.Webhooks) == 0 {
		return nil, errors.New("alerts: no webhooks configured (alerts.webhooks)")
	}
	sinks, err := newSinks(cfg.Webhooks, client)
	if err != nil {
		return nil, err
	}
	ev := SampleEvent(time.Now())
	out := make([]TestResult, len(sinks))
	var wg sync.WaitGroup
	for i, s := range sinks {
		wg.Go(func() {
			res := s.send(ctx, &ev, time.Now())
			out[i] = TestResult{Sink: s.cfg.Name, Format: s.cfg.Format, Status: res.status, Duration: res.duration, Err: res.err}
		})
	}
	wg.Wait()
	return out, nil
}
