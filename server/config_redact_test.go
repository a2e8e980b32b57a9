package server

import (
	"reflect"

	"github.com/mitmwatch/mitmwatch/alerts"
	"strings"
	"testing"
)

// TestRedactedYAMLHidesSecrets sets every secret a config can hold, each
// to a recognisable value, and checks that none is printed while the
// non-secret parts are.
func TestRedactedYAMLHidesSecrets(t *testing.T) {
	c := DefaultConfig()
	c.Admin.Token = "SECRET-admin-token-0001"
	c.Store.ClientKey = "SECRET-client-key-0002"
	c.Store.Redis = &RedisSection{Addrs: []string{"10.0.0.1:6379"}, Username: "mw-user", Password: "SECRET-redis-0003", PasswordFile: "/etc/mitmwatch/redis-password"}
	c.Upstream = "https://proxyuser:SECRET-upstream-0004@app.internal:8443/base"
	hook := func(url, format, secret, file string) Webhook {
		return Webhook{WebhookConfig: alerts.WebhookConfig{URL: url, Format: format, Secret: secret}, SecretFile: file}
	}
	c.Alerts.Webhooks = []Webhook{
		hook("https://soc.example/hooks/mitm?token=SECRET-query-0005", "standard", "whsec_SECRET0006", ""),
		hook("https://hooks.slack.com/services/T0/B0/SECRET-slack-0007", "slack", "", ""),
		hook("https://user:SECRET-userinfo-0008@soc.example", "json", "", ""),
		hook("https://soc.example/", "json", "", "/etc/mitmwatch/webhook-secret"),
	}
	c.Alerts.Webhooks[2].Headers = map[string]string{"Authorization": "Bearer SECRET-header-0009"}
	out, err := c.RedactedYAML()
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	if strings.Contains(s, "SECRET") {
		t.Errorf("a secret is printed:\n%s", s)
	}
	for _, want := range []string{
		"token: " + Redacted,
		"client_key: " + Redacted,
		"password: " + Redacted,
		"password_file: /etc/mitmwatch/redis-password", // a path is not a secret
		"username: mw-user",
		"upstream: https://proxyuser:redacted@app.internal:8443/base", // only the password goes
		"url: https://soc.example/" + Redacted,
		"url: https://hooks.slack.com/" + Redacted,
		"url: https://soc.example\n", // nothing after the host: nothing hidden
		"secret: " + Redacted,
		"secret_file: /etc/mitmwatch/webhook-secret",
		"token_file: \"\"",           // empty values stay empty, not "<redacted>"
		"Authorization: " + Redacted, // header names stay, values go
	} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %q in\n%s", want, s)
		}
	}
	if c.Admin.Token != "SECRET-admin-token-0001" {
		t.Error("RedactedYAML changed the config")
	}
}

// TestEverySecretFieldIsRedacted walks the Config type: every string
// field whose name says it holds a secret must be one the redaction
// recognises by name, so a new secret key cannot be added under a name
// that slips through.
func TestEverySecretFieldIsRedacted(t *testing.T) {
	secretish := []string{"token", "password", "secret", "key"}
	notSecret := map[string]bool{"key_file": true, "key_prefix": true, "client_key_file": true, "token_file": true, "password_file": true, "secret_file": true}
	for _, p := range configKeyPaths(reflect.TypeFor[Config]()) {
		leaf := p[strings.LastIndexAny(p, ".]")+1:]
		for _, w := range secretish {
			if strings.Contains(leaf, w) && !notSecret[leaf] && !isSecretKey(leaf) {
				t.Errorf("%s looks secret but is not redacted by name", p)
			}
		}
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct {
		name, in string
		all      bool
		want     string
	}{
		{"no_password_unchanged", "https://app.internal/base", false, "https://app.internal/base"},
		{"password_hidden", "https://u:p@app.internal/", false, "https://u:redacted@app.internal/"},
		{"user_without_password_kept", "https://u@app.internal/", false, "https://u@app.internal/"},
		{"all_keeps_scheme_and_host", "https://hooks.slack.com/services/T/B/X", true, "https://hooks.slack.com/" + Redacted},
		{"all_hides_userinfo", "https://u:p@h.example", true, "https://h.example/" + Redacted},
		{"all_bare_host_unchanged", "https://h.example", true, "https://h.example"},
		{"all_unparseable_hidden_whole", "https://h.example/%zz", true, Redacted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redactURL(tt.in, tt.all); got != tt.want {
				t.Errorf("redactURL(%q, %v) = %q, want %q", tt.in, tt.all, got, tt.want)
			}
		})
	}
}
