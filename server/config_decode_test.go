package server

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mitmwatch/mitmwatch/alerts"
)

// parse is ParseConfig on data with no environment.
func parse(t *testing.T, data string) (*Config, error) {
	t.Helper()
	return ParseConfig("m.yaml", []byte(data), nil)
}

func TestDecodeValues(t *testing.T) {
	c, err := parse(t, `
listen: "[::1]:8443"
upstreams: [http://10.0.0.1:8080, https://app.internal/base]
trusted_proxies: [192.0.2.0/24, 2001:db8::/32, 198.51.100.7]
geo:
  static:
    - {cidr: 10.0.0.0/8, country: NO, asn: 4294967295, org: 1234}
alerts:
  evaluate_every: 1m30s
  rules:
    - {name: r, scope: network, window: 1h, min_connections: 0x10, min_share: 1}
detection:
  banner_min_confidence: 1
logging: {log_client_ip: true}
`)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "[::1]:8443" || len(c.Upstreams) != 2 || c.Upstreams[1] != "https://app.internal/base" {
		t.Errorf("listen %q upstreams %q", c.Listen, c.Upstreams)
	}
	wantTrust := []netip.Prefix{
		netip.MustParsePrefix("192.0.2.0/24"),
		netip.MustParsePrefix("2001:db8::/32"),
		netip.MustParsePrefix("198.51.100.7/32"), // a bare address is its own /32
	}
	if len(c.TrustedProxies) != 3 || c.TrustedProxies[0] != wantTrust[0] || c.TrustedProxies[1] != wantTrust[1] || c.TrustedProxies[2] != wantTrust[2] {
		t.Errorf("trusted %v, want %v", c.TrustedProxies, wantTrust)
	}
	s := c.Geo.Static[0]
	// "NO" is Norway, not false; an org of digits is text.
	if s.Country != "NO" || s.ASN != 4294967295 || s.Org != "1234" {
		t.Errorf("static %+v", s)
	}
	if c.Alerts.EvaluateEvery != 90*time.Second || c.Alerts.Rules[0].MinConnections != 16 || c.Alerts.Rules[0].MinShare != 1 {
		t.Errorf("alerts %+v", c.Alerts)
	}
	if c.Detection.BannerMinConfidence != 1 || !c.Logging.LogClientIP {
		t.Errorf("detection %+v logging %+v", c.Detection, c.Logging)
	}
	if len(c.Alerts.Webhooks) != 0 || c.Admin.Listen != DefaultAdminListen {
		t.Errorf("untouched keys lost their defaults: %+v %+v", c.Alerts.Webhooks, c.Admin)
	}
}

// TestDecodeListsReplace: a list in the file replaces the default list;
// an empty list empties it.
func TestDecodeListsReplace(t *testing.T) {
	c, err := parse(t, "alerts:\n  rules: [{name: only, scope: asn, window: 5m, min_connections: 1, min_share: 0.5}]\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Alerts.Rules) != 1 || c.Alerts.Rules[0].Name != "only" {
		t.Errorf("rules %+v", c.Alerts.Rules)
	}
	c, err = parse(t, "alerts:\n  rules: []\n")
	if err != nil || len(c.Alerts.Rules) != 0 {
		t.Errorf("rules: [] gave %+v, %v", c.Alerts.Rules, err)
	}
}

// TestUpstreamHeadersNoneIsNotAll: "upstream_headers: []" (none) stays
// an empty list through decoding and through the printed configuration,
// and only null or absence mean the default: the two must not be confused
// on the way.
func TestUpstreamHeadersNoneIsNotAll(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"absent_is_the_default", "listen: 127.0.0.1:8443\n", defaultHeaders()},
		{"empty_list_is_none", "detection:\n  upstream_headers: []\n", []string{}},
		{"one", "detection:\n  upstream_headers: [Mitmwatch-Verdict]\n", []string{"Mitmwatch-Verdict"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parse(t, tt.yaml)
			if err != nil {
				t.Fatal(err)
			}
			out, err := c.RedactedYAML()
			if err != nil {
				t.Fatal(err)
			}
			back, err := ParseConfig("printed.yaml", out, nil)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, got := range [][]string{c.Detection.UpstreamHeaders, back.Detection.UpstreamHeaders} {
				if got == nil || !slices.Equal(got, tt.want) {
					t.Errorf("upstream_headers %#v, want %#v", got, tt.want)
				}
			}
		})
	}
	c, err := parse(t, "detection:\n  upstream_headers:\n")
	if err != nil || c.Detection.UpstreamHeaders != nil {
		t.Errorf("null gave %#v, %v; want nil, which the proxy reads as the default", c.Detection.UpstreamHeaders, err)
	}
}

// TestDecodeNull: a null scalar empties it (admin listen "" turns the admin
// listener off); a null section keeps its defaults; a null optional
// section removes it.
func TestDecodeNull(t *testing.T) {
	c, err := parse(t, "admin:\n  listen:\nalerts:\nstore:\n  redis: ~\n")
	if err != nil {
		t.Fatal(err)
	}
	if c.Admin.Listen != "" {
		t.Errorf("admin listen %q, want empty (off)", c.Admin.Listen)
	}
	if c.Alerts.EvaluateEvery != 15*time.Second || len(c.Alerts.Rules) != len(alerts.DefaultRules()) {
		t.Errorf("alerts %+v lost its defaults", c.Alerts)
	}
	if c.Store.Redis != nil {
		t.Errorf("redis %+v", c.Store.Redis)
	}
}

// TestDecodeMergeKeys: YAML merge keys work, and the mapping's own keys
// win over merged ones.
func TestDecodeMergeKeys(t *testing.T) {
	c, err := parse(t, `
x-hook: &hook {format: json, url: https://a.example/h}
alerts:
  webhooks:
    - <<: *hook
    - <<: *hook
      url: https://b.example/h
`)
	// x-hook is not a key: an unknown key, the only error.
	errs := configErrors(t, err)
	if len(errs) != 1 || errs[0].Key != "x-hook" || !errors.Is(errs[0], ErrUnknownKey) {
		t.Fatalf("got %v, want only x-hook unknown", err)
	}
	w := c.Alerts.Webhooks
	if len(w) != 2 || w[0].URL != "https://a.example/h" || w[1].URL != "https://b.example/h" || w[1].Format != "json" {
		t.Errorf("webhooks %+v", w)
	}
}

// TestDecodeBillionLaughs: aliases that would expand to billions of
// values (here merges of merges, 10^8 mappings) or forever (a mapping that
// merges itself) stop at maxConfigNodes with one error instead of
// exhausting memory or the stack.
func TestDecodeBillionLaughs(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 {listen: 127.0.0.1:8443}\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&b, "a%d: &a%d {<<: [", i, i)
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]}\n")
	}
	b.WriteString("<<: *a8\n")
	tests := map[string]string{
		"merges_of_merges":       b.String(),
		"mapping_merging_itself": "admin: &x {listen: 127.0.0.1:9090, <<: *x}\n",
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := parse(t, data)
			if err == nil {
				t.Fatal("no error")
			}
			n := 0
			for _, e := range configErrors(t, err) {
				if strings.Contains(e.Error(), "values once aliases are expanded") {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d expansion errors, want 1: %v", n, err)
			}
		})
	}
}

func TestUnknownKeySuggestions(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"transposed_letters", "tls:\n  acme:\n    domians: [a.example.com]\n", "tls.acme.domians: unknown key (did you mean tls.acme.domains?)"},
		{"missing_letter", "logging:\n  levl: info\n", "logging.levl: unknown key (did you mean logging.level?)"},
		{"wrong_case", "Listen: 127.0.0.1:8443\n", "Listen: unknown key (did you mean listen?)"},
		{"right_name_wrong_section", "admin:\n  cert_file: /x\n", "admin.cert_file: unknown key here (did you mean tls.cert_file or tls.certificates[].cert_file?)"},
		{"nothing_close_lists_the_keys", "shutdown:\n  grace: 5s\n", "shutdown.grace: unknown key; shutdown has: timeout"},
		{"inside_a_list_item", "alerts:\n  webhooks: [{url: https://h.example/x, format: json, secrt: a}]\n", "alerts.webhooks[0].secrt: unknown key (did you mean alerts.webhooks[0].secret?)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, tt.data)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestParseCIDR(t *testing.T) {
	tests := []struct {
		name, in, want, wantErr string
	}{
		{name: "ipv4", in: "10.0.0.0/8", want: "10.0.0.0/8"},
		{name: "ipv6", in: "2001:db8::/32", want: "2001:db8::/32"},
		{name: "bare_ipv4_is_a_host", in: "192.0.2.1", want: "192.0.2.1/32"},
		{name: "bare_ipv6_is_a_host", in: "2001:db8::1", want: "2001:db8::1/128"},
		{name: "mistyped_mask_trusting_a_network_is_refused", in: "10.0.0.1/8", wantErr: "write 10.0.0.0/8, or /32"},
		{name: "mask_too_long", in: "10.0.0.0/33", wantErr: "not a CIDR"},
		{name: "garbage", in: "proxy.example.com", wantErr: "not a CIDR"},
		{name: "zone", in: "fe80::1%eth0", wantErr: "zone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parseCIDR(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("got %v, %v; want error with %q", p, err, tt.wantErr)
				}
				return
			}
			if err != nil || p.String() != tt.want {
				t.Errorf("got %v, %v; want %s", p, err, tt.want)
			}
		})
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "abc", 0}, {"", "abc", 3},
		{"level", "levl", 1}, {"domians", "domains", 1}, {"domian", "domains", 2},
		{"kitten", "sitting", 3},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// FuzzParseConfig: no input makes ParseConfig panic, and every error it
// returns is a located *ConfigError.
func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{
		"", "listen: 127.0.0.1:8443\n", "tls: {acme: {domains: [a.example.com]}}\n",
		"alerts: {rules: [{name: a, scope: asn, window: 5m, min_connections: 1, min_share: 0.5}]}\n",
		"a: &a [*a]\n", "<<: {listen: x}\n", "- 1\n", "listen: [\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		_, err := ParseConfig("f.yaml", []byte(data), nil)
		if err == nil {
			return
		}
		for _, e := range configErrors(t, err) {
			if e.File != "f.yaml" {
				t.Errorf("%v: no file", e)
			}
		}
	})
}
