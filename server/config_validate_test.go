package server

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

const testWebhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" // 24 bytes

// TestValidate: each case changes DefaultConfig and names the key that
// must be reported (wantKey "" means valid). Security cases are named
// after what an attacker would get if the config were accepted.
func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(c *Config)
		wantKey string
		wantMsg string
	}{
		{name: "defaults_are_valid", mutate: func(c *Config) {}},
		{name: "public_listen_with_cert_is_valid", mutate: func(c *Config) {
			c.Listen, c.TLS.CertFile, c.TLS.KeyFile = "0.0.0.0:443", "/c", "/k"
		}},
		{name: "public_listen_with_acme_is_valid", mutate: func(c *Config) {
			c.Listen, c.TLS.ACME = ":443", &ACMESection{Domains: []string{"edge.example.com"}}
		}},
		{name: "sni_certificates_alone_are_valid", mutate: func(c *Config) {
			c.Listen, c.TLS.Certificates = ":443", []CertificateFiles{{CertFile: "/c", KeyFile: "/k"}}
		}},
		{name: "admin_off_is_valid", mutate: func(c *Config) { c.Admin.Listen = "" }},
		{name: "admin_on_private_network_with_token_is_valid", mutate: func(c *Config) {
			c.Admin = AdminSection{Listen: "10.0.0.5:9090", TokenFile: "/t"}
		}},

		{name: "dashboard_open_to_the_internet", mutate: func(c *Config) { c.Admin.Listen = ":9090" },
			wantKey: "admin.listen", wantMsg: "not a loopback address"},
		{name: "dashboard_open_to_the_lan", mutate: func(c *Config) { c.Admin.Listen = "10.0.0.5:9090" },
			wantKey: "admin.listen", wantMsg: "set admin.token"},
		{name: "dashboard_behind_a_guessable_token", mutate: func(c *Config) { c.Admin.Token = "password" },
			wantKey: "admin.token", wantMsg: "too short"},
		{name: "token_breaking_the_authorization_header", mutate: func(c *Config) { c.Admin.Token = "0123456789 abcdef\n" },
			wantKey: "admin.token", wantMsg: "printable ASCII"},
		{name: "anyone_forges_client_address_with_proxy_protocol", mutate: func(c *Config) { c.ProxyProtocol.Enabled = true },
			wantKey: "proxy_protocol.trusted", wantMsg: "required when proxy_protocol.enabled"},
		{name: "anyone_forges_client_address_with_xff", mutate: func(c *Config) {
			c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}
		}, wantKey: "trusted_proxies[0]", wantMsg: "trusts every address"},
		{name: "anyone_forges_a_clean_fingerprint", mutate: func(c *Config) { c.Forwarded.JA4Header = "X-JA4" },
			wantKey: "forwarded.ja4_header", wantMsg: "needs trusted_proxies"},
		{name: "anyone_forges_a_clean_ja3", mutate: func(c *Config) { c.Forwarded.JA3Header = "cf-ja3-hash" },
			wantKey: "forwarded.ja3_header", wantMsg: "needs trusted_proxies"},
		{name: "self_signed_certificate_on_the_internet", mutate: func(c *Config) { c.Listen = "0.0.0.0:443" },
			wantKey: "tls", wantMsg: "tls.cert_file or tls.acme required"},
		{name: "unsigned_standard_webhook_lets_anyone_fake_incidents", mutate: func(c *Config) {
			c.Alerts.Webhooks = []Webhook{{URL: "https://soc.example/h"}}
		}, wantKey: "alerts.webhooks[0].secret", wantMsg: "required for format standard"},
		{name: "webhook_secret_too_short_to_resist_guessing", mutate: func(c *Config) {
			c.Alerts.Webhooks = []Webhook{{URL: "https://soc.example/h", Secret: "whsec_c2hvcnQ="}}
		}, wantKey: "alerts.webhooks[0].secret", wantMsg: "decodes to 5 bytes"},
		{name: "webhook_secret_not_base64", mutate: func(c *Config) {
			c.Alerts.Webhooks = []Webhook{{URL: "https://soc.example/h", Secret: "whsec_not base64!"}}
		}, wantKey: "alerts.webhooks[0].secret", wantMsg: "not base64"},
		{name: "slack_webhook_needs_no_secret", mutate: func(c *Config) {
			c.Alerts.Webhooks = []Webhook{{URL: "https://hooks.slack.com/services/x", Format: "slack"}}
		}},
		{name: "standard_webhook_with_secret_is_valid", mutate: func(c *Config) {
			c.Alerts.Webhooks = []Webhook{{URL: "https://soc.example/h", Secret: testWebhookSecret}}
		}},
		{name: "wildcard_acme_domain", mutate: func(c *Config) {
			c.TLS.ACME = &ACMESection{Domains: []string{"*.example.com"}}
		}, wantKey: "tls.acme.domains[0]", wantMsg: "no wildcards"},
		{name: "cluster_with_a_database_number", mutate: func(c *Config) {
			c.Store.Redis = &RedisSection{Addrs: []string{"a:1", "b:1"}, DB: 1}
		}, wantKey: "store.redis.db", wantMsg: "database 0 only"},
		{name: "sentinel_with_a_database_number_is_valid", mutate: func(c *Config) {
			c.Store.Redis = &RedisSection{Addrs: []string{"a:26379", "b:26379"}, MasterName: "m", DB: 1}
		}},
		{name: "prefix_with_hash_tag_breaks_cluster_slots", mutate: func(c *Config) {
			c.Store.Redis = &RedisSection{Addrs: []string{"a:1"}, KeyPrefix: "mw{x}"}
		}, wantKey: "store.redis.key_prefix", wantMsg: "{ or }"},
		{name: "rule_window_shorter_than_a_bucket", mutate: func(c *Config) { c.Alerts.Rules[0].Window = 59 * time.Second },
			wantKey: "alerts.rules[0].window", wantMsg: "at least 1m"},
		{name: "share_given_as_a_percentage", mutate: func(c *Config) { c.Alerts.Rules[0].MinShare = 20 },
			wantKey: "alerts.rules[0].min_share", wantMsg: "(0,1]"},
		{name: "nan_share", mutate: func(c *Config) { c.Alerts.Rules[0].MinShare = nan() },
			wantKey: "alerts.rules[0].min_share", wantMsg: "(0,1]"},
		{name: "evaluating_never", mutate: func(c *Config) { c.Alerts.EvaluateEvery = 0 },
			wantKey: "alerts.evaluate_every", wantMsg: "positive"},
		{name: "upstream_host_port_without_scheme", mutate: func(c *Config) { c.Upstream = "localhost:8080" },
			wantKey: "upstream", wantMsg: "write http://localhost:8080"},
		{name: "upstream_without_scheme", mutate: func(c *Config) { c.Upstream = "app.internal:8080" },
			wantKey: "upstream", wantMsg: "write http://app.internal:8080"},
		{name: "upstream_with_query", mutate: func(c *Config) { c.Upstream = "http://app.internal/?a=b" },
			wantKey: "upstream", wantMsg: "no query"},
		{name: "upstream_bad_port", mutate: func(c *Config) { c.Upstream = "http://app.internal:99999/" },
			wantKey: "upstream", wantMsg: "bad port"},
		{name: "ipv6_listen_without_brackets", mutate: func(c *Config) { c.Listen = "::1:8443" },
			wantKey: "listen", wantMsg: "in brackets"},
		{name: "listen_bad_host", mutate: func(c *Config) { c.Listen = "bad_host!:8443" },
			wantKey: "listen", wantMsg: "neither an IP address nor a host name"},
		{name: "admin_on_the_serving_address", mutate: func(c *Config) { c.Admin.Listen = c.Listen },
			wantKey: "admin.listen", wantMsg: "same address as listen"},
		{name: "help_link_running_script", mutate: func(c *Config) { c.Detection.Banner.HelpURL = "javascript:alert(document.cookie)" },
			wantKey: "detection.banner.help_url", wantMsg: "scheme must be https or http"},
		{name: "response_header_splitting", mutate: func(c *Config) { c.Detection.ResponseHeader = "X-A: b\r\nSet-Cookie" },
			wantKey: "detection.response_header", wantMsg: "not an HTTP header name"},
		{name: "duplicate_static_geo_range", mutate: func(c *Config) {
			p := netip.MustParsePrefix("10.0.0.0/8")
			c.Geo.Static = []StaticGeo{{CIDR: p, Country: "KZ"}, {CIDR: p, Country: "RU"}}
		}, wantKey: "geo.static[1].cidr", wantMsg: "listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mutate(c)
			err := c.Validate()
			if tt.wantKey == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted; want an error on %s", tt.wantKey)
			}
			found := false
			for _, e := range configErrors(t, err) {
				if e.Key == tt.wantKey && strings.Contains(e.Err.Error(), tt.wantMsg) {
					found = true
				}
			}
			if !found {
				t.Errorf("got %v\nwant %s: …%s…", err, tt.wantKey, tt.wantMsg)
			}
		})
	}
}

func nan() float64 {
	zero := 0.0
	return zero / zero
}

// TestCheckWebhookSecretNeverEchoes: whatever is wrong with a secret, the
// message does not contain it (errors end up in logs and CI output).
func TestCheckWebhookSecretNeverEchoes(t *testing.T) {
	for _, s := range []string{"hunter2-hunter2-hunter2", "whsec_hunter2", "whsec_aHVudGVyMg==", "whsec_" + strings.Repeat("aHVudGVy", 20)} {
		err := checkWebhookSecret(s)
		if err == nil {
			t.Fatalf("%q accepted", s)
		}
		if strings.Contains(err.Error(), "hunter") || strings.Contains(err.Error(), "aHVudGVy") {
			t.Errorf("message %q repeats the secret", err)
		}
	}
	if err := checkWebhookSecret(testWebhookSecret); err != nil {
		t.Errorf("valid secret: %v", err)
	}
}

func TestIsLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1": true, "127.1.2.3": true, "::1": true, "localhost": true, "LOCALHOST": true,
		"": false, "0.0.0.0": false, "::": false, "10.0.0.1": false, "localhost.example.com": false, "::ffff:127.0.0.1": true, "::ffff:10.0.0.1": false,
	} {
		if got := isLoopbackHost(host); got != want {
			t.Errorf("isLoopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}
