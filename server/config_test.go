package server

import (
	"crypto/tls"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mitmwatch/mitmwatch/alerts"
	"github.com/mitmwatch/mitmwatch/internal/selfsigned"
)

var updateConfigGolden = flag.Bool("update", false, "rewrite testdata/config/*.golden from the current code")

const configTestdata = "../testdata/config"

// noEnv is an environment with nothing set.
func noEnv(string) (string, bool) { return "", false }

// envMap returns an environment lookup over m.
func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// configErrors returns the ConfigErrors joined in err.
func configErrors(t *testing.T, err error) []*ConfigError {
	t.Helper()
	var j interface{ Unwrap() []error }
	errs := []error{err}
	if errors.As(err, &j) {
		errs = j.Unwrap()
	}
	out := make([]*ConfigError, 0, len(errs))
	for _, e := range errs {
		var ce *ConfigError
		if !errors.As(e, &ce) {
			t.Fatalf("%v is not a *ConfigError", e)
		}
		out = append(out, ce)
	}
	return out
}

// TestConfigGolden loads every invalid configuration in testdata/config and
// compares its errors with the .golden file next to it (go test -update
// rewrites them). Each file's comment says what it proves. Every error must
// name its line: a problem an operator cannot find is half reported.
func TestConfigGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(configTestdata, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden configs: %v", err)
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		t.Run(name, func(t *testing.T) {
			_, err := LoadConfig(path, noEnv)
			if err == nil {
				t.Fatal("loaded without error; every file in testdata/config is invalid")
			}
			for _, ce := range configErrors(t, err) {
				if ce.Line == 0 {
					t.Errorf("no line: %v", ce)
				}
				if ce.File != path {
					t.Errorf("file %q, want %q", ce.File, path)
				}
			}
			got := strings.ReplaceAll(err.Error(), configTestdata+"/", "") + "\n"
			golden := strings.TrimSuffix(path, ".yaml") + ".golden"
			if *updateConfigGolden {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got != string(want) {
				t.Errorf("errors changed (go test -update if intended)\ngot:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// TestConfigGoldenSentinels checks that callers can tell problems apart
// with errors.Is, not only by reading messages.
func TestConfigGoldenSentinels(t *testing.T) {
	tests := []struct {
		file string
		want error
	}{
		{"unknown-key-deep.yaml", ErrUnknownKey},
		{"unknown-key-misplaced.yaml", ErrUnknownKey},
		{"wrong-type.yaml", ErrWrongType},
		{"bad-duration.yaml", ErrWrongType},
		{"tls-required.yaml", ErrTLSRequired},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := LoadConfig(filepath.Join(configTestdata, tt.file), noEnv)
			if !errors.Is(err, tt.want) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.want)
			}
		})
	}
}

// TestConfigErrorLines proves the line numbers against a file written
// here, so a wrong line cannot hide in a golden file.
func TestConfigErrorLines(t *testing.T) {
	data := "listen: 127.0.0.1:8443\n" + // 1
		"alerts:\n" + // 2
		"  rules:\n" + // 3
		"    - name: a\n" + // 4
		"      scope: asn\n" + // 5
		"      window: 5m\n" + // 6
		"      min_connections: 5\n" + // 7
		"      min_share: 1.2\n" + // 8
		"    - name: b\n" + // 9
		"      scope: city\n" + // 10
		"      windw: 5m\n" + // 11
		"store:\n" + // 12
		"  redis: {db: 1}\n" // 13
	_, err := ParseConfig("mitmwatch.yaml", []byte(data), nil)
	got := configErrors(t, err)
	want := []string{
		"mitmwatch.yaml:8: alerts.rules[0].min_share: must be in (0,1] (got 1.2)",
		`mitmwatch.yaml:10: alerts.rules[1].scope: must be country, asn or network (got "city")`,
		"mitmwatch.yaml:11: alerts.rules[1].windw: unknown key (did you mean alerts.rules[1].window?)",
		// A missing key is shown at its section's line.
		"mitmwatch.yaml:13: store.redis.addrs: required: host:port of the server, the cluster's nodes or the sentinels",
	}
	var msgs []string
	for _, e := range got {
		msgs = append(msgs, e.Error())
	}
	slices.Sort(msgs)
	slices.Sort(want)
	if !slices.Equal(msgs, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(msgs, "\n"), strings.Join(want, "\n"))
	}
	if got[0].Line != 8 || got[0].Key != "alerts.rules[0].min_share" || got[0].File != "mitmwatch.yaml" {
		t.Errorf("first error %+v, want line 8 of mitmwatch.yaml at alerts.rules[0].min_share", got[0])
	}
}

// TestExamplesLoad keeps the documentation from rotting: every example
// configuration loads and validates (without its files, which live on the
// operator's host).
func TestExamplesLoad(t *testing.T) {
	files, err := filepath.Glob("../examples/*.yaml")
	if err != nil || len(files) < 3 {
		t.Fatalf("want at least 3 examples, got %v (%v)", files, err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			c, err := LoadConfig(path, noEnv)
			if err != nil {
				t.Fatal(err)
			}
			if c.Listen == DefaultServeListen {
				t.Errorf("an example that only listens on loopback shows nothing a deployment needs")
			}
			for _, w := range c.Warnings() {
				t.Logf("warning: %s", w)
			}
		})
	}
}

// TestExampleDocumentsEveryKey checks that examples/mitmwatch.yaml names
// every key of Config (set or in a comment) and every environment
// override, so neither can be added without being documented.
func TestExampleDocumentsEveryKey(t *testing.T) {
	data, err := os.ReadFile("../examples/mitmwatch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	for _, p := range configKeyPaths(reflect.TypeFor[Config]()) {
		leaf := p[strings.LastIndexAny(p, ".]")+1:]
		if !regexp.MustCompile(`(?m)^[\s#-]*` + regexp.QuoteMeta(leaf) + `:|[{,]\s*` + regexp.QuoteMeta(leaf) + `:`).MatchString(doc) {
			t.Errorf("key %s (%q) is not in examples/mitmwatch.yaml", p, leaf)
		}
	}
	for _, o := range EnvOverrides() {
		if !strings.Contains(doc, o.Name) {
			t.Errorf("%s (%s) is not in examples/mitmwatch.yaml", o.Name, o.Key)
		}
	}
}

// TestEmptyConfigIsDefaults: no file, an empty file, a file of comments
// and a file of empty sections all give DefaultConfig, which validates.
func TestEmptyConfigIsDefaults(t *testing.T) {
	want := DefaultConfig()
	if err := want.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	dir := t.TempDir()
	tests := []struct {
		name string
		data string // "" with noFile: no file at all
		file bool
	}{
		{name: "no_file"},
		{name: "empty_file", file: true},
		{name: "only_comments", data: "# nothing here\n\n# at all\n", file: true},
		{name: "explicit_null_document", data: "~\n", file: true},
		{name: "sections_with_everything_commented_out", data: "tls:\n  # cert_file: x\nalerts:\nlogging:\n", file: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file {
				path = filepath.Join(dir, tt.name+".yaml")
				if err := os.WriteFile(path, []byte(tt.data), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			c, err := LoadConfig(path, noEnv)
			if err != nil {
				t.Fatal(err)
			}
			if !sameConfig(c, want) {
				t.Errorf("got %+v\nwant %+v", c, want)
			}
		})
	}
}

// sameConfig compares the exported content of two configs.
func sameConfig(a, b *Config) bool {
	x, y := *a, *b
	x.src, y.src, x.warnings, y.warnings = nil, nil, nil, nil
	return reflect.DeepEqual(x, y)
}

// TestDefaultsServeLoopbackOnly documents the decision about the empty
// configuration: it is valid because it listens on loopback, where the
// self-signed certificate is allowed; the same on a public address is
// not.
func TestDefaultsServeLoopbackOnly(t *testing.T) {
	c := DefaultConfig()
	if host, _, _ := splitHostPort(c.Listen); !isLoopbackHost(host) {
		t.Fatalf("default listen %s is not loopback", c.Listen)
	}
	if host, _, _ := splitHostPort(c.Admin.Listen); !isLoopbackHost(host) {
		t.Fatalf("default admin listen %s is not loopback", c.Admin.Listen)
	}
	for _, listen := range []string{"0.0.0.0:8443", ":443", "[::]:443", "192.0.2.1:443", "edge.example.com:443"} {
		c.Listen = listen
		if err := c.Validate(); !errors.Is(err, ErrTLSRequired) {
			t.Errorf("listen %s without a certificate: %v, want ErrTLSRequired", listen, err)
		}
	}
	for _, listen := range []string{"127.0.0.1:443", "[::1]:8443", "localhost:8443", "127.0.0.2:0"} {
		c.Listen = listen
		if err := c.Validate(); err != nil {
			t.Errorf("listen %s: %v", listen, err)
		}
	}
}

// TestConfigRoundTrip: the effective configuration printed by config check
// (with no secret set) loads back to the same configuration.
func TestConfigRoundTrip(t *testing.T) {
	for _, path := range []string{"", "../examples/mitmwatch.yaml", "../examples/cdn.yaml", "../examples/l4-proxy-protocol.yaml"} {
		t.Run(filepath.Base(path+"defaults"), func(t *testing.T) {
			c, err := LoadConfig(path, noEnv)
			if err != nil {
				t.Fatal(err)
			}
			// URLs with a path are redacted; drop the webhooks to compare
			// the rest exactly.
			c.Alerts.Webhooks = nil
			out, err := c.RedactedYAML()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(out), Redacted) {
				t.Fatalf("nothing secret is set, yet something was redacted:\n%s", out)
			}
			back, err := ParseConfig("printed.yaml", out, nil)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			again, err := back.RedactedYAML()
			if err != nil {
				t.Fatal(err)
			}
			if string(again) != string(out) {
				t.Errorf("round trip changed the config:\n%s\nbecame\n%s", out, again)
			}
			if back.Listen != c.Listen || back.Alerts.EvaluateEvery != c.Alerts.EvaluateEvery || len(back.Alerts.Rules) != len(c.Alerts.Rules) {
				t.Errorf("round trip lost values: %+v", back)
			}
		})
	}
}

// TestValidateInCode: a Config built in code from DefaultConfig validates,
// and its errors name keys without lines.
func TestValidateInCode(t *testing.T) {
	c := DefaultConfig()
	c.Alerts.Rules[1].MinShare = 2
	c.Store.Redis = &RedisSection{}
	err := c.Validate()
	got := configErrors(t, err)
	if len(got) != 2 {
		t.Fatalf("got %v, want 2 errors", err)
	}
	for _, e := range got {
		if e.Line != 0 || e.File != "" || e.Env != "" {
			t.Errorf("%+v: a config built in code has no location", e)
		}
	}
	msgs := []string{got[0].Error(), got[1].Error()}
	slices.Sort(msgs)
	want := []string{
		"alerts.rules[1].min_share: must be in (0,1] (got 2)",
		"store.redis.addrs: required: host:port of the server, the cluster's nodes or the sentinels",
	}
	if !slices.Equal(msgs, want) {
		t.Errorf("messages %q, want %q", msgs, want)
	}
}

func TestConfigErrorFormat(t *testing.T) {
	base := errors.New("must be in (0,1]")
	tests := []struct {
		name string
		err  *ConfigError
		want string
	}{
		{"file_and_line", &ConfigError{File: "mitmwatch.yaml", Line: 12, Key: "alerts.rules[0].min_share", Err: base}, "mitmwatch.yaml:12: alerts.rules[0].min_share: must be in (0,1]"},
		{"env_wins_over_file", &ConfigError{File: "m.yaml", Line: 3, Env: "MITMWATCH_LISTEN", Key: "listen", Err: base}, "env MITMWATCH_LISTEN: listen: must be in (0,1]"},
		{"file_without_line", &ConfigError{File: "m.yaml", Key: "tls", Err: base}, "m.yaml: tls: must be in (0,1]"},
		{"line_without_key", &ConfigError{File: "m.yaml", Line: 4, Err: base}, "m.yaml:4: must be in (0,1]"},
		{"key_only", &ConfigError{Key: "tls", Err: base}, "tls: must be in (0,1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if !errors.Is(tt.err, base) {
				t.Error("Unwrap does not reach Err")
			}
		})
	}
}

// writeFile writes data to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, data string, perm os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), perm); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestReadFiles: secrets move from their files into their keys, trailing
// newlines dropped; missing and mismatched files are errors naming the key
// and its line.
func TestReadFiles(t *testing.T) {
	dir := t.TempDir()
	certDir, otherDir := t.TempDir(), t.TempDir()
	for _, d := range []string{certDir, otherDir} {
		if _, err := selfsigned.LoadOrCreate(d); err != nil {
			t.Fatal(err)
		}
	}
	certFile, keyFile := filepath.Join(certDir, "cert.pem"), filepath.Join(certDir, "key.pem")
	otherKey := filepath.Join(otherDir, "key.pem")
	if _, err := tls.LoadX509KeyPair(certFile, keyFile); err != nil {
		t.Fatalf("test certificate: %v", err)
	}

	token := writeFile(t, dir, "token", "0123456789abcdef0123\n", 0o600)
	secret := writeFile(t, dir, "secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\r\n", 0o600)
	redisPw := writeFile(t, dir, "redis", "pw with spaces\n", 0o600)
	shortKey := writeFile(t, dir, "clientkey", "tiny-xyzzy\n", 0o600)
	mmdb := writeFile(t, dir, "country.mmdb", "x", 0o600)

	cfg := "listen: 127.0.0.1:8443\n" + // 1
		"admin: {token_file: " + token + "}\n" + // 2
		"store:\n" + // 3
		"  redis: {addrs: [127.0.0.1:6379], password_file: " + redisPw + "}\n" + // 4
		"  client_key_file: " + shortKey + "\n" + // 5
		"alerts:\n" + // 6
		"  webhooks: [{url: https://soc.example/h, secret_file: " + secret + "}]\n" + // 7
		"tls:\n" + // 8
		"  certificates:\n" + // 9
		"    - {cert_file: " + certFile + ", key_file: " + keyFile + "}\n" + // 10
		"    - {cert_file: " + certFile + ", key_file: " + otherKey + "}\n" + // 11
		"geo: {country_db: " + mmdb + ", asn_db: " + filepath.Join(dir, "missing.mmdb") + "}\n" // 12
	path := writeFile(t, dir, "m.yaml", cfg, 0o600)
	c, err := LoadConfig(path, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	err = c.ReadFiles()
	got := configErrors(t, err)
	wantKeys := map[string]int{
		"store.client_key_file":         5,
		"tls.certificates[1].cert_file": 11,
		"geo.country_db":                12, // not a MaxMind DB
		"geo.asn_db":                    12, // missing
	}
	if len(got) != len(wantKeys) {
		t.Fatalf("got %v, want errors on %v", err, wantKeys)
	}
	for _, e := range got {
		if line, ok := wantKeys[e.Key]; !ok || e.Line != line {
			t.Errorf("%v: want one of %v at its line", e, wantKeys)
		}
		if strings.Contains(e.Error(), "xyzzy") {
			t.Errorf("%v repeats the secret", e)
		}
	}
	if c.Admin.Token != "0123456789abcdef0123" || c.Admin.TokenFile != "" {
		t.Errorf("admin token %q file %q", c.Admin.Token, c.Admin.TokenFile)
	}
	if w := c.Alerts.Webhooks[0]; w.Secret != "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" || w.SecretFile != "" {
		t.Errorf("webhook secret %q file %q", w.Secret, w.SecretFile)
	}
	if c.Store.Redis.Password != "pw with spaces" {
		t.Errorf("redis password %q", c.Store.Redis.Password)
	}
	// After ReadFiles the secrets are in place and the config still
	// validates: the *_file keys were emptied, so they do not conflict.
	c.Store.ClientKey, c.Store.ClientKeyFile = "0123456789abcdef", ""
	if err := c.Validate(); err != nil {
		t.Errorf("after ReadFiles: %v", err)
	}
}

// TestLoadConfigMissingFile: a file that cannot be read is an error
// without a Config.
func TestLoadConfigMissingFile(t *testing.T) {
	c, err := LoadConfig(filepath.Join(t.TempDir(), "nope.yaml"), noEnv)
	if c != nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v, %v; want nil and ErrNotExist", c, err)
	}
}

// TestWorldReadableSecretsWarn: inline secrets in a file others can read
// are worth a warning; the same in a private file are not.
func TestWorldReadableSecretsWarn(t *testing.T) {
	dir := t.TempDir()
	token := "admin: {token: 0123456789abcdef0123}\n"
	slack := "alerts: {webhooks: [{url: https://hooks.slack.com/services/T/B/X, format: slack}]}\n"
	for _, tt := range []struct {
		name string
		data string
		perm os.FileMode
		want bool
	}{
		{"world_readable_token_warns", token, 0o644, true},
		{"world_readable_slack_url_warns", slack, 0o644, true},
		{"world_readable_without_secrets_is_quiet", "listen: 127.0.0.1:8443\n", 0o644, false},
		{"private_is_quiet", token, 0o600, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, dir, tt.name+".yaml", tt.data, tt.perm)
			if err := os.Chmod(p, tt.perm); err != nil { // umask
				t.Fatal(err)
			}
			c, err := LoadConfig(p, noEnv)
			if err != nil {
				t.Fatal(err)
			}
			got := slices.ContainsFunc(c.Warnings(), func(w string) bool { return strings.Contains(w, "world-readable") })
			if got != tt.want {
				t.Errorf("warnings %q", c.Warnings())
			}
		})
	}
}

// TestAdvice covers the warnings about valid configurations.
func TestAdvice(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"acme_off_port_443", "listen: 0.0.0.0:8443\ntls: {acme: {domains: [a.example.com]}}\n", "port 443"},
		{"acme_off_port_443_http01_on_port_80", "listen: 0.0.0.0:8443\nhttp_listen: 0.0.0.0:80\ntls: {acme: {domains: [a.example.com]}}\n", "redirects to https:// on port 443"},
		{"acme_off_ports_443_and_80", "listen: 0.0.0.0:8443\nhttp_listen: 0.0.0.0:8080\ntls: {acme: {domains: [a.example.com]}}\n", "forward 443 or 80"},
		{"acme_on_port_443_http_listen_elsewhere", "listen: 0.0.0.0:443\nhttp_listen: 0.0.0.0:8080\ntls: {acme: {domains: [a.example.com]}}\n", ""},
		{"http_listen_beside_a_listener_off_443_warns_of_the_redirect", "http_listen: 0.0.0.0:80\n", "redirects to https:// on port 443, but listen is 127.0.0.1:8443"},
		{"http_listen_beside_port_443_redirects_quietly", "listen: 127.0.0.1:443\nhttp_listen: 127.0.0.1:80\n", ""},
		{"https_port_names_where_the_redirect_goes", "http_listen: 127.0.0.1:80\nhttps_port: 8443\n", ""},
		{"https_port_without_http_listen", "https_port: 8443\n", "nothing redirects"},
		{"proxy_trusted_but_off", "proxy_protocol: {trusted: [10.0.0.0/8]}\n", "proxy_protocol.enabled is false"},
		{"shared_redis_without_client_key", "store: {redis: {addrs: [127.0.0.1:6379]}}\n", "over-count"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig("m.yaml", []byte(tt.data), nil)
			if err != nil {
				t.Fatal(err)
			}
			w := c.Warnings()
			if tt.want == "" {
				if len(w) != 0 {
					t.Errorf("warnings %q, want none", w)
				}
				return
			}
			if len(w) != 1 || !strings.Contains(w[0], tt.want) {
				t.Errorf("warnings %q, want one with %q", w, tt.want)
			}
		})
	}
	c, err := ParseConfig("m.yaml", nil, nil)
	if err != nil || len(c.Warnings()) != 0 {
		t.Errorf("defaults: %v, warnings %q", err, c.Warnings())
	}
}

// TestHTTPListenConfig: http_listen is off by default, read from the file
// and from MITMWATCH_HTTP_LISTEN (which wins), and a bad value names the
// key with its line or its variable.
func TestHTTPListenConfig(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		env     map[string]string
		want    string // the parsed value, when valid
		wantErr string // the one error, when not
	}{
		{name: "off_by_default", want: ""},
		{name: "from_the_file", data: "http_listen: 0.0.0.0:80\n", want: "0.0.0.0:80"},
		{name: "ipv6_from_the_file", data: "http_listen: \"[::]:80\"\n", want: "[::]:80"},
		{name: "env_over_file", data: "http_listen: 0.0.0.0:80\n", env: map[string]string{"MITMWATCH_HTTP_LISTEN": "127.0.0.1:8080"}, want: "127.0.0.1:8080"},
		{name: "empty_env_is_unset", data: "http_listen: 0.0.0.0:80\n", env: map[string]string{"MITMWATCH_HTTP_LISTEN": ""}, want: "0.0.0.0:80"},
		{name: "bad_address_names_the_line", data: "listen: 127.0.0.1:8443\nhttp_listen: 0.0.0.0\n",
			wantErr: `m.yaml:2: http_listen: "0.0.0.0": want host:port`},
		{name: "bad_port_names_the_line", data: "http_listen: 0.0.0.0:99999\n",
			wantErr: `m.yaml:1: http_listen: "0.0.0.0:99999": port "99999" is not a number from 0 to 65535`},
		{name: "same_as_listen", data: "listen: 127.0.0.1:8443\nhttp_listen: 127.0.0.1:8443\n",
			wantErr: "m.yaml:2: http_listen: same address as listen"},
		{name: "same_as_admin_listen", data: "admin: {listen: 127.0.0.1:9090}\nhttp_listen: 127.0.0.1:9090\n",
			wantErr: "m.yaml:2: http_listen: same address as admin.listen"},
		{name: "bad_env_names_the_variable", env: map[string]string{"MITMWATCH_HTTP_LISTEN": ":eighty"},
			wantErr: `env MITMWATCH_HTTP_LISTEN: http_listen: ":eighty": port "eighty" is not a number from 0 to 65535`},
		{name: "env_same_as_listen", env: map[string]string{"MITMWATCH_HTTP_LISTEN": DefaultServeListen},
			wantErr: "env MITMWATCH_HTTP_LISTEN: http_listen: same address as listen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig("m.yaml", []byte(tt.data), envMap(tt.env))
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("accepted http_listen %q; want %q", c.HTTPListen, tt.wantErr)
				}
				if errs := configErrors(t, err); len(errs) != 1 || errs[0].Error() != tt.wantErr {
					t.Errorf("got %v\nwant %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.HTTPListen != tt.want {
				t.Errorf("http_listen %q, want %q", c.HTTPListen, tt.want)
			}
		})
	}
}

// TestDefaultAlertRulesAreFresh: DefaultAlertRules returns a new slice, so
// that one Config's edits do not leak into another's defaults.
func TestDefaultAlertRulesAreFresh(t *testing.T) {
	a := DefaultConfig()
	a.Alerts.Rules[0].Window = time.Hour
	if DefaultConfig().Alerts.Rules[0].Window == time.Hour {
		t.Error("defaults share their rules slice")
	}
}

// TestAlertsSectionMirrorsAlertsConfig: the alerts section has every key
// of alerts.Config, and a webhook every key of alerts.WebhookConfig plus
// secret_file, so a key the alerts package adds cannot be missed here
// (it would be an "unknown key" in every config that uses it).
func TestAlertsSectionMirrorsAlertsConfig(t *testing.T) {
	keys := func(typ reflect.Type) []string {
		var out []string
		for k := range yamlFields(typ) {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	if got, want := keys(reflect.TypeFor[AlertsSection]()), keys(reflect.TypeFor[alerts.Config]()); !slices.Equal(got, want) {
		t.Errorf("alerts section keys %v, alerts.Config %v", got, want)
	}
	want := append(keys(reflect.TypeFor[alerts.WebhookConfig]()), "secret_file")
	slices.Sort(want)
	if got := keys(reflect.TypeFor[Webhook]()); !slices.Equal(got, want) {
		t.Errorf("webhook keys %v, want %v", got, want)
	}
	// And Config() carries every field across.
	a := DefaultConfig().Alerts
	a.Webhooks = []Webhook{{WebhookConfig: alerts.WebhookConfig{Name: "n", URL: "https://h.example/x", Secret: "s", Headers: map[string]string{"A": "b"}, Timeout: time.Second, MaxAttempts: 3, Backoff: time.Second, MaxBackoff: time.Minute}, SecretFile: "/f"}}
	got := a.Config()
	if got.EvaluateEvery != a.EvaluateEvery || got.RedeliverAfter != a.RedeliverAfter || got.DeliveryLogSize != a.DeliveryLogSize ||
		!reflect.DeepEqual(got.Rules, a.Rules) || !reflect.DeepEqual(got.Webhooks[0], a.Webhooks[0].WebhookConfig) {
		t.Errorf("Config() = %+v from %+v", got, a)
	}
}
