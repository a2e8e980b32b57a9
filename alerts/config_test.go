package alerts

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The edge server's YAML from the issue, with a real secret in place of
// the placeholder, plus a section that belongs to the server.
const edgeYAML = `
listen: 0.0.0.0:443   # the server's, ignored here
alerts:
  evaluate_every: 15s
  rules: [{name: asn-share, scope: asn, window: 5m, min_connections: 50, min_share: 0.2}]
  webhooks: [{url: https://soc.example/hooks/mitm, format: standard, secret: ` + testSecret + `}]   # format: standard | slack | json
`

func TestLoadConfigDecodesTheEdgeServerYAML(t *testing.T) {
	c, err := LoadConfig(strings.NewReader(edgeYAML))
	if err != nil {
		t.Fatal(err)
	}
	if c.EvaluateEvery != 15*time.Second {
		t.Errorf("evaluate_every = %v", c.EvaluateEvery)
	}
	wantRule := RuleConfig{
		Name: "asn-share", Type: RuleShare, Scope: ScopeASN, Window: 5 * time.Minute,
		MinConnections: 50, MinShare: 0.2, ResolveBelow: 0.1, ResolveAfter: 5 * time.Minute, Reminder: time.Hour,
	}
	if len(c.Rules) != 1 || !reflect.DeepEqual(c.Rules[0], wantRule) {
		t.Errorf("rules = %+v\nwant [%+v]", c.Rules, wantRule)
	}
	wantHook := WebhookConfig{
		Name: "soc.example", URL: "https://soc.example/hooks/mitm", Format: FormatStandard, Secret: testSecret,
		Timeout: DefaultWebhookTimeout, MaxAttempts: DefaultMaxAttempts, Backoff: DefaultBackoff, MaxBackoff: DefaultMaxBackoff,
	}
	if len(c.Webhooks) != 1 || !reflect.DeepEqual(c.Webhooks[0], wantHook) {
		t.Errorf("webhooks = %+v\nwant [%+v]", c.Webhooks, wantHook)
	}
}

func TestZeroConfigMeansDefaultRulesAndNoWebhook(t *testing.T) {
	if err := (Config{}).Validate(); err != nil {
		t.Fatal(err)
	}
	c := Config{}.withDefaults()
	if c.EvaluateEvery != DefaultEvaluateEvery || c.RedeliverAfter != DefaultRedeliverAfter || c.DeliveryLogSize != DefaultDeliveryLogSize {
		t.Errorf("intervals %+v", c)
	}
	if len(c.Rules) != len(DefaultRules()) || len(c.Webhooks) != 0 {
		t.Fatalf("rules %d webhooks %d", len(c.Rules), len(c.Webhooks))
	}
	// Every default rule validates and names the documented numbers.
	if err := (Config{Rules: DefaultRules()}).Validate(); err != nil {
		t.Fatal(err)
	}
	got := map[string]RuleConfig{}
	for _, r := range c.Rules {
		got[r.Name] = r
	}
	if r := got["country-share"]; r.Scope != ScopeCountry || r.Window != 15*time.Minute || r.MinConnections != 200 || r.MinShare != 0.1 || r.ResolveBelow != 0.05 {
		t.Errorf("country-share %+v", r)
	}
	if r := got["asn-surge"]; r.Type != RuleSurge || r.SurgeFactor != 5 || r.Baseline != 24*time.Hour || r.MinConnections != 100 || r.MinBaselineConnections != 100 || r.ResolveBelow != 2.5 {
		t.Errorf("asn-surge %+v", r)
	}
	if r := got["new-fingerprint"]; r.Type != RuleNewFingerprint || r.Scope != ScopeNetwork || r.MinClients != 20 || r.Window != time.Hour || r.remindEvery() != 0 {
		t.Errorf("new-fingerprint %+v", r)
	}
}

func TestDefaultedConfigValidatesAgain(t *testing.T) {
	// LoadConfig returns a Config with its defaults filled in; handing it
	// to NewEvaluator validates it again, which must not fail.
	c, err := LoadConfig(strings.NewReader(edgeYAML))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("LoadConfig result: %v", err)
	}
	if err := (Config{}).withDefaults().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	if _, err := NewEvaluator(EvaluatorConfig{Config: Config{}.withDefaults(), Store: NewMemoryStore()}); err != nil {
		t.Errorf("NewEvaluator on defaults: %v", err)
	}
}

func TestWebhookNamesDefaultToTheHostAndNeverCollide(t *testing.T) {
	c := Config{Webhooks: []WebhookConfig{
		{URL: "https://hooks.slack.com/services/T0/B0/SECRETPATH", Format: FormatSlack},
		{URL: "https://hooks.slack.com/services/T1/B1/OTHER", Format: FormatSlack},
		{Name: "hooks.slack.com-2", URL: "https://x.example/", Format: FormatJSON},
		{URL: "https://[::1]:8443/h", Format: FormatJSON},
	}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, w := range c.withDefaults().Webhooks {
		names = append(names, w.Name)
	}
	want := []string{"hooks.slack.com", "hooks.slack.com-3", "hooks.slack.com-2", "webhook"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("names %q, want %q (the URL path, Slack's secret, must not appear)", names, want)
	}
}

func TestLoadConfigErrorsNameTheKey(t *testing.T) {
	rule := func(s string) string {
		return "alerts:\n  rules:\n    - " + s + "\n"
	}
	hook := func(s string) string {
		return "alerts:\n  webhooks:\n    - " + s + "\n"
	}
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"share_above_one", rule("{name: a, min_share: 1.5}"), "alerts.rules[0].min_share: must be in (0,1]"},
		{"negative_share", rule("{name: a, min_share: -0.1}"), "alerts.rules[0].min_share: must be in (0,1]"},
		{"typo_in_a_key_is_not_ignored", rule("{name: a, min_shar: 0.3}"), "alerts.rules[0].min_shar: unknown key"},
		{"typo_at_the_top", "alerts:\n  evaluate_evry: 15s\n", "alerts.evaluate_evry: unknown key"},
		{"bare_number_duration", "alerts:\n  evaluate_every: 15\n", "alerts.evaluate_every: \"15\" is not a duration"},
		{"evaluate_too_often", "alerts:\n  evaluate_every: 10ms\n", "alerts.evaluate_every: must be at least 1s"},
		{"missing_rule_name", rule("{scope: asn}"), "alerts.rules[0].name: required"},
		{"hash_tag_braces_in_rule_name", rule("{name: 'a}{b'}"), "alerts.rules[0].name: required"},
		{"duplicate_rule_name", "alerts:\n  rules: [{name: a}, {name: a}]\n", "alerts.rules[1].name: \"a\" is already the name of alerts.rules[0]"},
		{"unknown_type", rule("{name: a, type: ratio}"), "alerts.rules[0].type: must be share, surge or new_fingerprint"},
		{"unknown_scope", rule("{name: a, scope: city}"), "alerts.rules[0].scope: must be country, asn or network"},
		{"fingerprint_rule_per_country", rule("{name: a, type: new_fingerprint, scope: country}"), "alerts.rules[0].scope: new_fingerprint rules are per network"},
		{"window_not_whole_minutes", rule("{name: a, window: 90s}"), "alerts.rules[0].window: must be a whole number of minutes"},
		{"fingerprint_window_beyond_its_client_counts", rule("{name: a, type: new_fingerprint, window: 192h}"), "alerts.rules[0].window: a new_fingerprint window must be at most 168h0m0s"},
		{"surge_key_on_share_rule", rule("{name: a, surge_factor: 3}"), "alerts.rules[0].surge_factor: does not apply to a share rule"},
		{"clients_key_on_share_rule", rule("{name: a, min_clients: 3}"), "alerts.rules[0].min_clients: does not apply to a share rule"},
		{"resolve_line_above_firing_line", rule("{name: a, min_share: 0.2, resolve_below: 0.3}"), "alerts.rules[0].resolve_below: must be in [0, min_share)"},
		{"surge_factor_one", rule("{name: a, type: surge, surge_factor: 1}"), "alerts.rules[0].surge_factor: must be above 1"},
		{"surge_resolve_above_factor", rule("{name: a, type: surge, resolve_below: 6}"), "alerts.rules[0].resolve_below: must be a factor in [0, surge_factor)"},
		{"short_baseline", rule("{name: a, type: surge, baseline: 10m}"), "alerts.rules[0].baseline: must be a whole number of minutes, at least 1h"},
		{"reminder_faster_than_evaluation", rule("{name: a, reminder: 5s}"), "alerts.rules[0].reminder: must be at least alerts.evaluate_every"},
		{"missing_url", hook("{format: json}"), "alerts.webhooks[0].url: required"},
		{"file_url", hook("{url: 'file:///etc/passwd', format: json}"), "alerts.webhooks[0].url: must be an absolute http or https URL"},
		{"unknown_format", hook("{url: 'https://x.example/', format: teams}"), "alerts.webhooks[0].format: must be standard, slack or json"},
		{"standard_without_secret", hook("{url: 'https://x.example/'}"), "alerts.webhooks[0].secret: required for the standard format"},
		{"secret_without_prefix", hook("{url: 'https://x.example/', secret: abc}"), "alerts.webhooks[0].secret: secret must start with whsec_"},
		{"secret_too_short", hook("{url: 'https://x.example/', secret: whsec_AAAA}"), "alerts.webhooks[0].secret: secret key is 3 bytes, want 24 to 64"},
		{"secret_on_slack", hook("{url: 'https://x.example/', format: slack, secret: " + testSecret + "}"), "alerts.webhooks[0].secret: does not apply to the slack format"},
		{"header_overrides_the_signature", hook("{url: 'https://x.example/', format: json, headers: {webhook-signature: 'v1,forged'}}"), "alerts.webhooks[0].headers.webhook-signature: may not be set"},
		{"header_with_crlf", hook("{url: 'https://x.example/', format: json, headers: {\"X-A\\r\\nX-B\": v}}"), "is not a valid header name"},
		{"max_backoff_below_backoff", hook("{url: 'https://x.example/', format: json, backoff: 10s, max_backoff: 1s}"), "alerts.webhooks[0].max_backoff: must be at least backoff"},
		{"no_alerts_section", "listen: :443\n", "no top-level alerts: section"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadConfig(strings.NewReader(tt.yaml))
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !errors.Is(err, ErrConfig) {
				t.Errorf("error %v does not wrap ErrConfig", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	err := Config{
		Rules:    []RuleConfig{{Name: "a", MinShare: 2}, {Name: "b", Type: "x"}},
		Webhooks: []WebhookConfig{{URL: "https://x.example/"}},
	}.Validate()
	for _, want := range []string{"alerts.rules[0].min_share", "alerts.rules[1].type", "alerts.webhooks[0].secret"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %s", err, want)
		}
	}
}

func TestSlackURLIsNeverEchoedInErrors(t *testing.T) {
	// A Slack incoming-webhook URL is its own secret: a config error
	// about it must not print it.
	err := Config{Webhooks: []WebhookConfig{{URL: "hooks.slack.com/services/T0/B0/SECRETPATH", Format: FormatSlack}}}.Validate()
	if err == nil {
		t.Fatal("relative URL accepted")
	}
	if strings.Contains(err.Error(), "SECRETPATH") {
		t.Errorf("error leaks the URL: %v", err)
	}
}
