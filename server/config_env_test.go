package server

import (
	"errors"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mitmwatch/mitmwatch/middleware"
)

// TestEnvPrecedence: the environment wins over the file, which wins over
// the defaults; an empty variable is unset.
func TestEnvPrecedence(t *testing.T) {
	file := "listen: 127.0.0.1:8000\nlogging: {level: warn, format: json}\n"
	tests := []struct {
		name       string
		env        map[string]string
		wantListen string
		wantLevel  string
		wantFormat string
	}{
		{name: "file_over_defaults", wantListen: "127.0.0.1:8000", wantLevel: "warn", wantFormat: "json"},
		{name: "env_over_file", env: map[string]string{"MITMWATCH_LISTEN": "127.0.0.1:9000", "MITMWATCH_LOG_LEVEL": "debug"},
			wantListen: "127.0.0.1:9000", wantLevel: "debug", wantFormat: "json"},
		{name: "empty_env_is_unset", env: map[string]string{"MITMWATCH_LISTEN": ""}, wantListen: "127.0.0.1:8000", wantLevel: "warn", wantFormat: "json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig("m.yaml", []byte(file), envMap(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if c.Listen != tt.wantListen || c.Logging.Level != tt.wantLevel || c.Logging.Format != tt.wantFormat {
				t.Errorf("listen %q level %q format %q", c.Listen, c.Logging.Level, c.Logging.Format)
			}
		})
	}
	// Env over defaults, no file.
	c, err := LoadConfig("", envMap(map[string]string{"MITMWATCH_SHUTDOWN_TIMEOUT": "5s"}))
	if err != nil || c.Shutdown.Timeout != 5*time.Second {
		t.Errorf("no file: %v, timeout %s", err, c.Shutdown.Timeout)
	}
}

// TestEnvEveryOverride sets every variable of the table to a valid value
// and checks that it landed on its key, so the table cannot name a key
// that does not exist or parse a value into the wrong one.
func TestEnvEveryOverride(t *testing.T) {
	values := map[string]string{
		"MITMWATCH_LISTEN":                 "0.0.0.0:443",
		"MITMWATCH_HTTP_LISTEN":            "0.0.0.0:80",
		"MITMWATCH_HTTPS_PORT":             "8443",
		"MITMWATCH_UPSTREAM":               "", // exclusive with UPSTREAMS, tested below
		"MITMWATCH_UPSTREAMS":              "http://10.0.0.1:80, http://10.0.0.2:80",
		"MITMWATCH_TLS_CERT_FILE":          "", // exclusive with ACME
		"MITMWATCH_TLS_KEY_FILE":           "",
		"MITMWATCH_TLS_MIN_VERSION":        "1.3",
		"MITMWATCH_ACME_DOMAINS":           "a.example.com,b.example.com",
		"MITMWATCH_ACME_EMAIL":             "ops@example.com",
		"MITMWATCH_ACME_CACHE_DIR":         "/acme",
		"MITMWATCH_ACME_DIRECTORY_URL":     "https://acme.example/dir",
		"MITMWATCH_PROXY_PROTOCOL":         "true",
		"MITMWATCH_PROXY_PROTOCOL_TRUSTED": "10.0.0.0/24",
		"MITMWATCH_TRUSTED_PROXIES":        "192.0.2.0/24, 2001:db8::/32",
		"MITMWATCH_ADMIN_LISTEN":           "10.0.0.5:9090",
		"MITMWATCH_ADMIN_TOKEN":            "0123456789abcdef0123",
		"MITMWATCH_ADMIN_TOKEN_FILE":       "",
		"MITMWATCH_ADMIN_PPROF":            "true",
		"MITMWATCH_GEO_COUNTRY_DB":         "/c.mmdb",
		"MITMWATCH_GEO_ASN_DB":             "/a.mmdb",
		"MITMWATCH_REDIS_ADDRS":            "10.0.3.1:26379,10.0.3.2:26379",
		"MITMWATCH_REDIS_USERNAME":         "mw",
		"MITMWATCH_REDIS_PASSWORD":         "pw",
		"MITMWATCH_REDIS_PASSWORD_FILE":    "",
		"MITMWATCH_REDIS_DB":               "2",
		"MITMWATCH_REDIS_MASTER_NAME":      "m",
		"MITMWATCH_REDIS_TLS":              "1",
		"MITMWATCH_REDIS_KEY_PREFIX":       "edge",
		"MITMWATCH_CLIENT_KEY":             "",
		"MITMWATCH_CLIENT_KEY_FILE":        "/k",
		"MITMWATCH_SIGNATURES":             "/s1.yaml,/s2.yaml",
		"MITMWATCH_UPSTREAM_HEADERS":       "Mitmwatch-Verdict, mitmwatch-ja4",
		"MITMWATCH_LOG_LEVEL":              "error",
		"MITMWATCH_LOG_FORMAT":             "json",
		"MITMWATCH_LOG_CLIENT_IP":          "true",
		"MITMWATCH_SHUTDOWN_TIMEOUT":       "1m",
		"MITMWATCH_GC_HEAP_FLOOR_MIB":      "256",
	}
	for _, o := range EnvOverrides() {
		if _, ok := values[o.Name]; !ok {
			t.Errorf("%s has no value in this test", o.Name)
		}
	}
	c, err := LoadConfig("", envMap(values))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.Listen = "0.0.0.0:443"
	want.HTTPListen = "0.0.0.0:80"
	want.HTTPSPort = 8443
	want.Upstreams = []string{"http://10.0.0.1:80", "http://10.0.0.2:80"}
	want.TLS.MinVersion = "1.3"
	want.TLS.ACME = &ACMESection{Domains: []string{"a.example.com", "b.example.com"}, Email: "ops@example.com", CacheDir: "/acme", DirectoryURL: "https://acme.example/dir"}
	want.ProxyProtocol = ProxyProtocolSection{Enabled: true, Trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")}}
	want.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/32")}
	want.Admin = AdminSection{Listen: "10.0.0.5:9090", Token: "0123456789abcdef0123", Pprof: true}
	want.Geo = middleware.GeoConfig{CountryDB: "/c.mmdb", ASNDB: "/a.mmdb"}
	want.Store.Redis = &RedisSection{Addrs: []string{"10.0.3.1:26379", "10.0.3.2:26379"}, Username: "mw", Password: "pw", DB: 2, MasterName: "m", TLS: true, KeyPrefix: "edge"}
	want.Store.ClientKeyFile = "/k"
	want.Detection.SignatureFiles = []string{"/s1.yaml", "/s2.yaml"}
	want.Detection.UpstreamHeaders = []string{"Mitmwatch-Verdict", "mitmwatch-ja4"}
	want.Logging = LoggingSection{Level: "error", Format: "json", LogClientIP: true}
	want.Shutdown.Timeout = time.Minute
	want.Runtime.GCHeapFloorMiB = 256
	if !sameConfig(c, want) {
		t.Errorf("got  %+v\nwant %+v", c, want)
	}
}

// TestEnvSecretReplacesFileSecret: a token from the environment replaces a
// token_file from the file instead of conflicting with it, and the other
// way round; both from the environment is an error.
func TestEnvSecretReplacesFileSecret(t *testing.T) {
	file := "admin: {listen: 10.0.0.5:9090, token_file: /etc/mitmwatch/admin-token}\nupstreams: [http://10.0.0.1:80]\n"
	c, err := ParseConfig("m.yaml", []byte(file), envMap(map[string]string{
		"MITMWATCH_ADMIN_TOKEN": "0123456789abcdef0123",
		"MITMWATCH_UPSTREAM":    "http://10.0.0.9:80",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Admin.Token != "0123456789abcdef0123" || c.Admin.TokenFile != "" {
		t.Errorf("token %q file %q", c.Admin.Token, c.Admin.TokenFile)
	}
	if c.Upstream != "http://10.0.0.9:80" || len(c.Upstreams) != 0 {
		t.Errorf("upstream %q upstreams %q", c.Upstream, c.Upstreams)
	}
	_, err = ParseConfig("m.yaml", nil, envMap(map[string]string{
		"MITMWATCH_ADMIN_TOKEN":      "0123456789abcdef0123",
		"MITMWATCH_ADMIN_TOKEN_FILE": "/t",
	}))
	errs := configErrors(t, err)
	if len(errs) != 1 || errs[0].Env != "MITMWATCH_ADMIN_TOKEN_FILE" || !strings.Contains(errs[0].Error(), "exclusive with MITMWATCH_ADMIN_TOKEN") {
		t.Errorf("got %v", err)
	}
}

// TestEnvErrors: a bad value names its variable and key, and does not
// leave behind a half-made section to be reported again.
func TestEnvErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"not_a_number", map[string]string{"MITMWATCH_REDIS_DB": "two"}, `env MITMWATCH_REDIS_DB: store.redis.db: want a whole number, got "two"`},
		{"not_a_bool", map[string]string{"MITMWATCH_PROXY_PROTOCOL": "yes please"}, `env MITMWATCH_PROXY_PROTOCOL: proxy_protocol.enabled: want true or false, got "yes please"`},
		{"not_a_duration", map[string]string{"MITMWATCH_SHUTDOWN_TIMEOUT": "30"}, `env MITMWATCH_SHUTDOWN_TIMEOUT: shutdown.timeout: "30" is not a duration such as 30s`},
		{"bad_cidr_in_list", map[string]string{"MITMWATCH_TRUSTED_PROXIES": "10.0.0.0/8,10.0.0.1/8"}, `env MITMWATCH_TRUSTED_PROXIES: trusted_proxies: item 2: "10.0.0.1/8" has bits set`},
		{"valid_value_invalid_config_names_the_variable", map[string]string{"MITMWATCH_ADMIN_LISTEN": "0.0.0.0:9090"}, "env MITMWATCH_ADMIN_LISTEN: admin.listen: 0.0.0.0:9090 is not a loopback address"},
		{"section_created_by_env_is_located_there", map[string]string{"MITMWATCH_REDIS_PASSWORD": "pw"}, "env MITMWATCH_REDIS_PASSWORD: store.redis.addrs: required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig("m.yaml", nil, envMap(tt.env))
			errs := configErrors(t, err)
			if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), tt.want) {
				t.Errorf("got %v\nwant one error starting %q", err, tt.want)
			}
		})
	}
}

// TestUnknownEnvWarnings: a variable that looks like an override and is
// not one is a warning, with the right name when there is one; variables
// of the command line are not.
func TestUnknownEnvWarnings(t *testing.T) {
	env := map[string]string{
		"MITMWATCH_LOGGING_LEVEL":         "debug", // the key's path: MITMWATCH_LOG_LEVEL is the name
		"MITMWATCH_REDIS_ADDR":            "x:1",   // singular
		"MITMWATCH_ALERTS_EVALUATE_EVERY": "5s",    // a key without override
		"MITMWATCH_CERT_DIR":              "/d",    // a flag's twin: not a config key
		"MITMWATCH_FINGERPRINT_SAVE":      "/s",
		"MITMWATCH_ADMIN_LISTEN":          "127.0.0.1:9191", // a real one
		"MITMWATCH_STORE_RETENTION":       "",               // empty: unset
	}
	c, err := ParseConfig("", nil, envMap(env))
	if err != nil {
		t.Fatal(err)
	}
	got := c.Warnings()
	want := []string{
		"MITMWATCH_ALERTS_EVALUATE_EVERY is not an override: alerts.evaluate_every has none, set it in the config file; ignored",
		"MITMWATCH_LOGGING_LEVEL is not an override (did you mean MITMWATCH_LOG_LEVEL, for logging.level?): ignored",
		"MITMWATCH_REDIS_ADDR is not an override (did you mean MITMWATCH_REDIS_ADDRS, for store.redis.addrs?): ignored",
	}
	if !slices.Equal(got, want) {
		t.Errorf("warnings\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if c.Admin.Listen != "127.0.0.1:9191" {
		t.Errorf("admin listen %q", c.Admin.Listen)
	}
}

// TestEnvOverridesTable checks the table itself: unique names, every key
// exists and is a scalar or a list of scalars, Clears pairs point at each
// other, and names follow MITMWATCH_.
func TestEnvOverridesTable(t *testing.T) {
	names := map[string]bool{}
	keys := map[string]string{}
	for _, o := range EnvOverrides() {
		if !strings.HasPrefix(o.Name, "MITMWATCH_") || strings.ToUpper(o.Name) != o.Name {
			t.Errorf("%s: not MITMWATCH_ in capitals", o.Name)
		}
		if names[o.Name] {
			t.Errorf("%s twice", o.Name)
		}
		names[o.Name] = true
		if other, ok := keys[o.Key]; ok {
			t.Errorf("%s and %s both set %s", other, o.Name, o.Key)
		}
		keys[o.Key] = o.Name
		typ, ok := keyType(o.Key)
		if !ok {
			t.Errorf("%s: no key %s", o.Name, o.Key)
			continue
		}
		if typ.Kind() == reflect.Struct && typ != prefixType || typ.Kind() == reflect.Slice && typ.Elem().Kind() == reflect.Struct && typ.Elem() != prefixType {
			t.Errorf("%s: %s is a section, not a value", o.Name, o.Key)
		}
		if o.Syntax() == "text" && typ.Kind() != reflect.String {
			t.Errorf("%s: %s has no syntax", o.Name, typ)
		}
	}
	for _, o := range EnvOverrides() {
		if o.Clears == "" {
			continue
		}
		back, ok := keys[o.Clears]
		if !ok {
			t.Errorf("%s clears %s, which has no override", o.Name, o.Clears)
			continue
		}
		for _, p := range EnvOverrides() {
			if p.Name == back && p.Clears != o.Key {
				t.Errorf("%s clears %s but %s does not clear %s", o.Name, o.Clears, back, o.Key)
			}
		}
	}
}

func TestSetKeyUnknownPath(t *testing.T) {
	c := DefaultConfig()
	if _, err := setKey(reflect.ValueOf(c).Elem(), "tls.nope", "x"); err == nil || errors.Is(err, ErrWrongType) {
		t.Errorf("got %v", err)
	}
}
