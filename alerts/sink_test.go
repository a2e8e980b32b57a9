package alerts

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sampleAlertEvent is a realistic alert for format tests.
func sampleAlertEvent() *Event {
	first := time.Date(2026, 5, 1, 11, 2, 0, 0, time.UTC)
	ev := &Event{ID: "msg_0123456789abcdef01234567_alert", Type: EventAlert, Timestamp: time.Date(2026, 5, 1, 12, 4, 30, 0, time.UTC), Data: Alert{
		Incident: "0123456789abcdef01234567", Rule: "asn-share", RuleType: RuleShare, Scope: ScopeNetwork,
		Country: "KZ", ASN: 9198, ASOrg: "JSC Kazakhtelecom",
		Connections: 120, AllConnections: 140, Intercepted: 36, Unknown: 4, Share: 0.3, Threshold: 0.2, Clients: 41,
		WindowStart: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC), WindowEnd: time.Date(2026, 5, 1, 12, 4, 30, 0, time.UTC),
		TopProducts:     []ProductCount{{Name: "Qaznet Trust Network", Connections: 36}},
		TopFingerprints: []FingerprintCount{{JA4: "t12d130700_aaaaaaaaaaaa_bbbbbbbbbbbb", Verdict: "intercepted", Connections: 36, Grade: "C", FirstSeen: &first}},
		Reasons:         []string{"The hello offers no TLS 1.3, which the claimed browser always offers."},
		FirstSeen:       time.Date(2026, 5, 1, 12, 4, 30, 0, time.UTC),
		Node:            "edge-1",
	}}
	ev.Data.summarize(ev.Type)
	return ev
}

func oneSink(t *testing.T, w WebhookConfig) *sink {
	t.Helper()
	c := Config{Webhooks: []WebhookConfig{w}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	sinks, err := newSinks(c.withDefaults().Webhooks, nil)
	if err != nil {
		t.Fatal(err)
	}
	return sinks[0]
}

func TestStandardFormatIsSignedAndCarriesTheRequiredFields(t *testing.T) {
	rc := newReceiver(t)
	s := oneSink(t, WebhookConfig{URL: rc.URL, Format: FormatStandard, Secret: testSecret, Headers: map[string]string{"X-Tenant": "soc-7"}})
	ev := sampleAlertEvent()
	t1 := time.Now()
	for range 2 { // a retry: same id, the attempt's own timestamp
		if res := s.send(context.Background(), ev, t1); res.outcome != OutcomeDelivered {
			t.Fatalf("send: %+v", res)
		}
		t1 = t1.Add(90 * time.Second)
	}
	reqs := rc.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	verifier, _ := NewSigner(testSecret)
	for i, r := range reqs {
		if got := r.header.Get(HeaderWebhookID); got != ev.ID {
			t.Errorf("request %d: webhook-id %q, want %q on every attempt", i, got, ev.ID)
		}
		ts, _ := strconv.ParseInt(r.header.Get(HeaderWebhookTimestamp), 10, 64)
		if err := verifier.Verify(r.header, r.body, time.Unix(ts, 0), time.Minute); err != nil {
			t.Errorf("request %d: %v", i, err)
		}
		if r.header.Get("Content-Type") != "application/json" || r.header.Get("X-Tenant") != "soc-7" {
			t.Errorf("request %d headers %v", i, r.header)
		}
	}
	if reqs[0].header.Get(HeaderWebhookTimestamp) == reqs[1].header.Get(HeaderWebhookTimestamp) {
		t.Error("a retry reused the first attempt's webhook-timestamp")
	}
	// The body is {type, timestamp, data} with at least the fields.
	var body map[string]json.RawMessage
	if err := json.Unmarshal(reqs[0].body, &body); err != nil {
		t.Fatal(err)
	}
	if len(body) != 3 || string(body["type"]) != `"interception.alert"` || body["timestamp"] == nil {
		t.Errorf("envelope %s", reqs[0].body)
	}
	var data map[string]json.RawMessage
	if err := json.Unmarshal(body["data"], &data); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"rule", "scope", "country", "asn", "as_org", "connections", "intercepted", "share",
		"window_start", "window_end", "top_products", "top_fingerprints", "first_seen", "reasons", "summary"} {
		if _, ok := data[k]; !ok {
			t.Errorf("data lacks %q: %s", k, body["data"])
		}
	}
	if !strings.Contains(string(data["top_fingerprints"]), `"grade":"C"`) {
		t.Errorf("fingerprint grade missing: %s", data["top_fingerprints"])
	}
}

func TestJSONFormat(t *testing.T) {
	rc := newReceiver(t)
	ev := sampleAlertEvent()
	unsigned := oneSink(t, WebhookConfig{URL: rc.URL, Format: FormatJSON, Headers: map[string]string{"Authorization": "Bearer t0k"}})
	signed := oneSink(t, WebhookConfig{URL: rc.URL, Format: FormatJSON, Secret: testSecret})
	for _, s := range []*sink{unsigned, signed} {
		if res := s.send(context.Background(), ev, time.Now()); res.outcome != OutcomeDelivered {
			t.Fatalf("send: %+v", res)
		}
	}
	reqs := rc.requests()
	env := decodeBody(t, reqs[0].body)
	if env.ID != ev.ID || env.Type != EventAlert || env.Data == nil || env.Data.ASN != 9198 {
		t.Errorf("json body %s", reqs[0].body)
	}
	if reqs[0].header.Get(HeaderWebhookSignature) != "" || reqs[0].header.Get("Authorization") != "Bearer t0k" {
		t.Errorf("unsigned json sink headers %v", reqs[0].header)
	}
	if reqs[1].header.Get(HeaderWebhookSignature) == "" {
		t.Error("json sink with a secret did not sign")
	}
}

func TestSlackFormatIsReadableAndEscaped(t *testing.T) {
	rc := newReceiver(t)
	s := oneSink(t, WebhookConfig{URL: rc.URL, Format: FormatSlack})
	ev := sampleAlertEvent()
	// An AS name or product from outside must not ping the channel or
	// forge a link.
	ev.Data.ASOrg = "Evil <!channel> & <https://phish.example|Click>"
	ev.Data.TopProducts[0].Name = "<@U123>"
	ev.Data.summarize(ev.Type)
	if res := s.send(context.Background(), ev, time.Now()); res.outcome != OutcomeDelivered {
		t.Fatalf("send: %+v", res)
	}
	r := rc.requests()[0]
	if r.header.Get(HeaderWebhookSignature) != "" {
		t.Error("slack request signed")
	}
	var msg map[string]string
	if err := json.Unmarshal(r.body, &msg); err != nil || len(msg) != 1 {
		t.Fatalf("slack body %s: %v", r.body, err)
	}
	text := msg["text"]
	for _, want := range []string{
		":rotating_light: *HTTPS interception in KZ AS9198",
		"30.0% of 120 browser connections intercepted over 5 min (rule asn-share)",
		"36 of 120 browser connections intercepted (30.0%), 4 unknown, ~41 clients",
		"Products: &lt;@U123&gt; (36)",
		"Fingerprint `t12d130700_aaaaaaaaaaaa_bbbbbbbbbbbb` intercepted, 36 connections, TLS grade C, first seen 2026-05-01 11:02 UTC",
		"• The hello offers no TLS 1.3",
		"Evil &lt;!channel&gt; &amp; &lt;https://phish.example|Click&gt;",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("slack text lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "<!channel>") || strings.Contains(text, "<@U123>") {
		t.Errorf("unescaped control sequence:\n%s", text)
	}
}

func TestSummaries(t *testing.T) {
	ev := sampleAlertEvent()
	tests := []struct {
		name string
		edit func(a *Alert) string
		want string
	}{
		{"share", func(a *Alert) string { return EventAlert },
			"HTTPS interception in KZ AS9198 (JSC Kazakhtelecom): 30.0% of 120 browser connections intercepted over 5 min (rule asn-share)."},
		{"reminder", func(a *Alert) string { a.Reminder = 2; return EventAlert }, "Reminder 2, still open: HTTPS interception"},
		{"country", func(a *Alert) string { a.Scope = ScopeCountry; return EventAlert }, "HTTPS interception in KZ: 30.0%"},
		{"surge", func(a *Alert) string {
			a.RuleType, a.Baseline = RuleSurge, &Baseline{Share: 0.02, Factor: 5}
			return EventAlert
		}, "Interception surge in KZ AS9198 (JSC Kazakhtelecom): 30.0% of 120 browser connections intercepted over 5 min, 15.0× its baseline of 2.0%"},
		{"new_fingerprint", func(a *Alert) string { a.RuleType = RuleNewFingerprint; return EventAlert },
			"New TLS fingerprint t12d130700_aaaaaaaaaaaa_bbbbbbbbbbbb (intercepted) from 41 clients in KZ AS9198"},
		{"resolved", func(a *Alert) string { return EventResolved }, "Resolved: KZ AS9198 (JSC Kazakhtelecom) is back to 30.0%"},
		{"test", func(a *Alert) string { a.Test = true; return EventAlert }, "[TEST] HTTPS interception"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := ev.Data
			typ := tt.edit(&a)
			a.summarize(typ)
			if !strings.Contains(a.Summary, tt.want) {
				t.Errorf("summary %q\nwant it to contain %q", a.Summary, tt.want)
			}
		})
	}
}

func TestSinkSendsExtraHeadersButNotOverMitmwatchs(t *testing.T) {
	rc := newReceiver(t)
	rc.answer = func(r *http.Request, _ int) (int, http.Header) { return 200, nil }
	s := oneSink(t, WebhookConfig{URL: rc.URL, Format: FormatStandard, Secret: testSecret, Headers: map[string]string{"X-Api-Key": "k"}})
	s.send(context.Background(), sampleAlertEvent(), time.Now())
	h := rc.requests()[0].header
	if h.Get("X-Api-Key") != "k" || h.Get("User-Agent") != userAgent {
		t.Errorf("headers %v", h)
	}
}

// TestSlackTextSaysWhoseClients: a new_fingerprint alert's Clients are the
// new JA4's, not the network's, and the Slack text says so.
func TestSlackTextSaysWhoseClients(t *testing.T) {
	tests := []struct {
		name, ruleType, want string
	}{
		{name: "share_counts_the_networks_clients", ruleType: RuleShare, want: "4 unknown, ~41 clients.\n"},
		{name: "new_fingerprint_counts_the_ja4s_clients", ruleType: RuleNewFingerprint, want: "4 unknown, ~41 clients with the new fingerprint.\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := sampleAlertEvent()
			ev.Data.RuleType = tc.ruleType
			if text := slackText(ev); !strings.Contains(text, tc.want) {
				t.Errorf("slack text lacks %q:\n%s", tc.want, text)
			}
		})
	}
}
