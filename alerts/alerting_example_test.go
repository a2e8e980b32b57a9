package alerts_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/mitmwatch/mitmwatch/alerts"
	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// The example vector of the Standard Webhooks reference libraries
// (standard-webhooks/standard-webhooks, libraries/go/webhook_test.go).
func ExampleSigner_Sign() {
	s, err := alerts.NewSigner("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`)))
	// Output:
	// v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=
}

// The alerts section of the server's YAML; every omitted field takes its
// documented default.
func ExampleLoadConfig() {
	cfg, err := alerts.LoadConfig(strings.NewReader(`
alerts:
  evaluate_every: 15s
  rules:
    - {name: asn-share, scope: asn, window: 5m, min_connections: 50, min_share: 0.2}
    - {name: asn-surge, type: surge, scope: asn}
  webhooks:
    - {url: "https://soc.example/hooks/mitm", format: standard, secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
    - {url: "https://hooks.slack.com/services/T000/B000/XXXX", format: slack}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range cfg.Rules {
		fmt.Printf("%s: %s per %s over %v, >= %d connections, fires at %.2f, resolves below %.2f after %v\n",
			r.Name, r.Type, r.Scope, r.Window, r.MinConnections, max(r.MinShare, r.SurgeFactor), r.ResolveBelow, r.ResolveAfter)
	}
	for _, w := range cfg.Webhooks {
		fmt.Printf("%s (%s): %d attempts, backoff %v to %v\n", w.Name, w.Format, w.MaxAttempts, w.Backoff, w.MaxBackoff)
	}
	_, err = alerts.LoadConfig(strings.NewReader("alerts:\n  rules: [{name: x, min_share: 1.5}]\n"))
	fmt.Println(err)
	// Output:
	// asn-share: share per asn over 5m0s, >= 50 connections, fires at 0.20, resolves below 0.10 after 5m0s
	// asn-surge: surge per asn over 5m0s, >= 100 connections, fires at 5.00, resolves below 2.50 after 5m0s
	// soc.example (standard): 20 attempts, backoff 5s to 1h0m0s
	// hooks.slack.com (slack): 20 attempts, backoff 5s to 1h0m0s
	// alerts: invalid configuration: alerts.rules[0].min_share: must be in (0,1] (got 1.5)
}

// An embedded (single node) evaluator over a memory store: the middleware
// records verdicts and notes grades; the evaluator opens an incident.
func ExampleNewEvaluator() {
	ctx := context.Background()
	now := time.Date(2019, 7, 19, 18, 4, 30, 0, time.UTC)
	clock := func() time.Time { return now }
	store := alerts.NewMemoryStore()
	rec, _ := alerts.NewRecorder(store, alerts.RecorderConfig{Clock: clock, ClientKey: []byte("k")})
	notes := alerts.NewNoteBook(0)
	for i := range 100 {
		o := alerts.Observation{Country: "KZ", ASN: 9198, ASOrg: "JSC Kazakhtelecom", Browser: true,
			Verdict: alerts.VerdictClean, Client: netip.AddrFrom4([4]byte{10, 0, 0, byte(i)})}
		if i < 40 {
			o.Verdict, o.Product, o.JA4 = alerts.VerdictIntercepted, "Qaznet Trust Network", "t12d130700_aaaaaaaaaaaa_bbbbbbbbbbbb"
			notes.Note(o.JA4, fingerprints.GradeC, 0)
		}
		rec.Record(o)
	}
	_ = rec.Close(ctx)

	ev, err := alerts.NewEvaluator(alerts.EvaluatorConfig{
		Config:   alerts.Config{Rules: []alerts.RuleConfig{{Name: "asn-share", Scope: alerts.ScopeASN}}},
		Store:    store,
		Describe: notes.Describe,
		Clock:    clock,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Start runs Evaluate every evaluate_every and delivers to the
	// webhooks; here one evaluation is enough.
	if err := ev.Evaluate(ctx); err != nil {
		fmt.Println(err)
		return
	}
	incs, _ := ev.Incidents(ctx)
	for _, inc := range incs {
		fmt.Printf("%s: %s, peak %.0f%%, opened %s\n", inc.Rule, inc.Subject, 100*inc.PeakShare, inc.OpenedAt.Format(time.RFC3339))
	}
	_ = ev.Close(ctx)
	// Output:
	// asn-share: AS9198, peak 40%, opened 2019-07-19T18:04:30Z
}

func ExampleWriteTop() {
	ctx := context.Background()
	now := time.Date(2019, 7, 19, 18, 30, 0, 0, time.UTC)
	store := alerts.NewMemoryStore()
	rec, _ := alerts.NewRecorder(store, alerts.RecorderConfig{Clock: func() time.Time { return now.Add(-10 * time.Minute) }, ClientKey: []byte("k")})
	for i := range 60 {
		o := alerts.Observation{Country: "KZ", ASN: 9198, ASOrg: "JSC Kazakhtelecom", Browser: true, Verdict: alerts.VerdictClean}
		if i < 24 {
			o.Verdict, o.Product, o.JA4 = alerts.VerdictIntercepted, "Qaznet", "t12d130700_aaaaaaaaaaaa_bbbbbbbbbbbb"
		}
		rec.Record(o)
		rec.Record(alerts.Observation{Country: "DE", ASN: 3320, ASOrg: "Deutsche Telekom AG", Browser: true, Verdict: alerts.VerdictClean})
	}
	_ = rec.Close(ctx)
	q := alerts.TopQuery{From: now.Add(-time.Hour), To: now}
	rows, _ := store.Top(ctx, q)
	_ = alerts.WriteTop(os.Stdout, rows, q)
	// Output:
	// Intercepted share of browser connections by network, 2019-07-19 17:30 to 2019-07-19 18:30 UTC (1 h)
	//
	// COUNTRY  ASN     AS ORGANISATION      BROWSER  INTERCEPTED  SHARE  UNKNOWN  SPOOFED  CLIENTS  TOP PRODUCT  TOP FINGERPRINT
	// KZ       AS9198  JSC Kazakhtelecom    60       24           40.0%  0        0        0        Qaznet (24)  t12d130700_aaaaaaaaaaaa_bbbbbbbbbbbb (24)
	// DE       AS3320  Deutsche Telekom AG  60       0            0.0%   0        0        0        -            -
}
