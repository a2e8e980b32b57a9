package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mitmwatch/mitmwatch/alerts"
	"github.com/mitmwatch/mitmwatch/middleware"
)

// Config is the configuration of the edge server (`mitmwatch serve`): one
// YAML file whose keys are the yaml names below, overridden by MITMWATCH_…
// environment variables ([EnvOverrides]), overridden by flags.
// examples/mitmwatch.yaml documents every key.
//
// Build one with [DefaultConfig] or [LoadConfig]; a Config literal must be
// completed the same way ([DefaultConfig] then changes). A section left
// empty in the file keeps its defaults; a list given in the file replaces
// the default list (lists are never merged).
type Config struct {
	// Listen is the address of the HTTPS listener, host:port. Default
	// "127.0.0.1:8443" ([DefaultServeListen]). On a loopback address and
	// without tls.cert_file or tls.acme the server uses the self-signed
	// certificate of the demo, so the empty configuration runs on this
	// machine; any other address needs a real certificate.
	Listen string `yaml:"listen"`
	// HTTPListen is the address of a plain-HTTP listener, host:port, such
	// as "0.0.0.0:80". Default empty: off. It serves no application and
	// detects nothing (without TLS there is no ClientHello): it answers
	// ACME http-01 challenges when tls.acme is on and redirects every
	// other GET or HEAD to https on the same host name and HTTPSPort;
	// other methods get 400. Must not share a port with Listen or
	// Admin.Listen.
	HTTPListen string `yaml:"http_listen"`
	// HTTPSPort is the port HTTPListen's redirects name: where clients
	// reach Listen. Default 0: none, so 443, right when Listen is on 443
	// or port 443 is forwarded to it (a warning says when neither looks
	// true).
	HTTPSPort int `yaml:"https_port"`
	// TLS is the server's certificates and TLS settings.
	TLS TLSSection `yaml:"tls"`
	// Upstream is the URL (http or https, with a host) of the application
	// that requests are proxied to. Default empty: no proxying, the server
	// answers with the built-in report page (as the demo does). Exclusive
	// with Upstreams.
	Upstream string `yaml:"upstream"`
	// Upstreams is several upstream URLs, load-balanced. Default empty.
	// Exclusive with Upstream.
	Upstreams []string `yaml:"upstreams"`
	// ProxyProtocol accepts the PROXY protocol from an L4 load balancer.
	ProxyProtocol ProxyProtocolSection `yaml:"proxy_protocol"`
	// TrustedProxies is the CIDRs of the HTTP hops (CDN, L7 load balancer)
	// whose forwarding headers (see Forwarded) are believed. Default empty:
	// the client is the TCP peer and forwarding headers are ignored.
	TrustedProxies []netip.Prefix `yaml:"trusted_proxies"`
	// Forwarded names the headers a trusted hop sets.
	Forwarded ForwardedSection `yaml:"forwarded"`
	// Admin is the admin listener: metrics, health, dashboard.
	Admin AdminSection `yaml:"admin"`
	// Geo maps client addresses to country and ASN: the middleware's own
	// configuration, validated by middleware.NewGeo's rules (static
	// entries without I/O in Validate, databases in ReadFiles).
	Geo middleware.GeoConfig `yaml:"geo"`
	// Store is where verdict counts are kept: in memory (default) or Redis.
	Store StoreSection `yaml:"store"`
	// Alerts is the rules evaluated over the counts and the webhooks that
	// receive incidents: alerts.Config, plus secret_file per webhook.
	Alerts AlertsSection `yaml:"alerts"`
	// Detection tunes the classifier and what a verdict does to a request.
	Detection DetectionSection `yaml:"detection"`
	// Logging is the process log.
	Logging LoggingSection `yaml:"logging"`
	// Shutdown is the graceful shutdown.
	Shutdown ShutdownSection `yaml:"shutdown"`
	// Runtime is how the process uses memory. `mitmwatch serve` applies it;
	// an Edge built in another program leaves the runtime alone.
	Runtime RuntimeSection `yaml:"runtime"`

	// src says where each key came from (file line or environment
	// variable), so that later errors can name it; nil for a Config built
	// in code.
	src *configSource
	// warnings are the non-fatal findings of LoadConfig.
	warnings []string
}

// TLSSection is the server's TLS. With neither CertFile nor ACME, the server
// uses a self-signed certificate, which Validate allows on a loopback
// Listen only.
type TLSSection struct {
	// CertFile is the PEM certificate chain of the default certificate
	// (the one served when no other matches the SNI). Default empty. The
	// files are reloaded when they change.
	CertFile string `yaml:"cert_file"`
	// KeyFile is the PEM private key of CertFile. Required with CertFile.
	KeyFile string `yaml:"key_file"`
	// Certificates is more certificate/key pairs, chosen by the SNI the
	// client sends against each certificate's names. Default empty.
	Certificates []CertificateFiles `yaml:"certificates"`
	// ACME obtains and renews certificates automatically (Let's Encrypt by
	// default) through golang.org/x/crypto/acme/autocert. Default nil:
	// off. Exclusive with CertFile and Certificates.
	ACME *ACMESection `yaml:"acme,omitempty"`
	// MinVersion is the lowest TLS version accepted: "1.2" or "1.3".
	// Default (and empty) "1.2".
	MinVersion string `yaml:"min_version"`
}

// CertificateFiles is one certificate and its key, PEM files.
type CertificateFiles struct {
	// CertFile is the PEM certificate chain. Required.
	CertFile string `yaml:"cert_file"`
	// KeyFile is the PEM private key. Required.
	KeyFile string `yaml:"key_file"`
}

// ACMESection configures automatic certificates. autocert answers the
// TLS-ALPN-01 challenge on the TLS listener itself, which needs nothing
// more than the CA reaching Listen on port 443. Config.HTTPListen adds the
// HTTP-01 challenge, which the CA sends to port 80: autocert then tries
// TLS-ALPN-01 first and HTTP-01 if it fails, so a Listen that the CA
// cannot reach on 443 still gets its certificates through http_listen.
type ACMESection struct {
	// Domains is the host names to obtain certificates for; the server
	// refuses any other SNI. Required; exact names only, since
	// autocert.HostWhitelist matches no wildcard (its documentation says
	// "Only exact matches are currently supported").
	Domains []string `yaml:"domains"`
	// Email is the contact address given to the CA for expiry and
	// incident notices. Default empty (none).
	Email string `yaml:"email"`
	// CacheDir keeps the account key and certificates across restarts.
	// Default (and empty) "/var/lib/mitmwatch/acme" ([DefaultACMECacheDir]).
	CacheDir string `yaml:"cache_dir"`
	// DirectoryURL is the CA's ACME directory. Default (and empty) Let's
	// Encrypt production, https://acme-v02.api.letsencrypt.org/directory
	// ([DefaultACMEDirectoryURL]).
	DirectoryURL string `yaml:"directory_url"`
}

// ProxyProtocolSection accepts the PROXY protocol (v1 and v2) from an L4
// load balancer, which tells the real client address in front of the TLS
// handshake.
type ProxyProtocolSection struct {
	// Enabled turns it on. Default false.
	Enabled bool `yaml:"enabled"`
	// Trusted is the CIDRs of the load balancers. A connection from one of
	// them must start with a PROXY header; a PROXY header from any other
	// address is refused, so nobody else can claim another client address.
	// Required when Enabled.
	Trusted []netip.Prefix `yaml:"trusted"`
}

// ForwardedSection names the request headers that a trusted hop
// (Config.TrustedProxies) sets. They are believed only on requests whose
// TCP peer is a trusted hop, and removed from every other request before
// the application sees them, so a client cannot forge them. With a
// TLS-terminating CDN in front, the ClientHello mitmwatch captures is the
// CDN's: the client's fingerprint must come in one of these headers. The
// four names must differ (middleware.Config's rules).
type ForwardedSection struct {
	// ClientIPHeader carries the client address, X-Forwarded-For syntax
	// (or "Forwarded", RFC 7239). Default (and empty) "X-Forwarded-For";
	// CDNs have their own, such as CF-Connecting-IP or True-Client-IP.
	ClientIPHeader string `yaml:"client_ip_header"`
	// HelloHeader carries the client's raw ClientHello in base64, from a
	// proxy of your own that forwards it (a mitmwatch edge does not).
	// Default (and empty) "X-Mitmwatch-ClientHello".
	HelloHeader string `yaml:"hello_header"`
	// JA4Header carries the client's JA4 as a CDN computes it: bunny.net's
	// CDN-JA4, CloudFront's CloudFront-Viewer-JA4-Fingerprint, Fastly's
	// tls.client.ja4 copied into a header by VCL. Default (and empty)
	// "X-Mitmwatch-JA4".
	JA4Header string `yaml:"ja4_header"`
	// JA3Header carries the client's JA3 hash or full JA3 string:
	// Cloudflare's Cf-Ja3-Hash (managed transform "Add bot protection
	// headers"), CloudFront's CloudFront-Viewer-JA3-Fingerprint. Default
	// (and empty) "X-Mitmwatch-JA3".
	JA3Header string `yaml:"ja3_header"`
}

// AdminSection is the admin listener: /metrics, health checks, dashboard.
type AdminSection struct {
	// Listen is its address, host:port. Default "127.0.0.1:9090"
	// ([DefaultAdminListen]); empty turns the admin listener off. On any
	// address but loopback a token is required.
	Listen string `yaml:"listen"`
	// Token is the bearer token the admin endpoints require (at least 16
	// characters). Default empty: no token, allowed on loopback only.
	// Prefer TokenFile: the config file is often world-readable.
	Token string `yaml:"token"`
	// TokenFile is a file holding Token. Exclusive with Token.
	TokenFile string `yaml:"token_file"`
	// Pprof serves Go's runtime profiles (net/http/pprof) under
	// /debug/pprof/, behind the same token, for profiling a live edge.
	// Default false.
	Pprof bool `yaml:"pprof"`
}

// StoreSection is where counts are kept.
type StoreSection struct {
	// Redis, when set, keeps the counts in Redis, shared by every edge
	// node. Default nil: the embedded in-memory store (one node; counts
	// are lost on restart).
	Redis *RedisSection `yaml:"redis,omitempty"`
	// ClientKey is the secret of the keyed hash that counts unique clients
	// without storing their addresses (at least 16 characters). Default
	// empty: a random key per process, fine for one node; nodes sharing a
	// Redis must share it, or unique counts over-count.
	ClientKey string `yaml:"client_key"`
	// ClientKeyFile is a file holding ClientKey. Exclusive with ClientKey.
	ClientKeyFile string `yaml:"client_key_file"`
	// Retention is how long per-minute counts are kept. Default 720h (30
	// days).
	Retention time.Duration `yaml:"retention"`
}

// RedisSection is the Redis the counts go to. As with go-redis's
// NewUniversalClient: MasterName set means Sentinel (Addrs are the
// sentinels), two or more Addrs mean a Cluster, one Addr a single server.
type RedisSection struct {
	// Addrs is the host:port of the server, the cluster's seed nodes or
	// the sentinels. Required.
	Addrs []string `yaml:"addrs"`
	// Username is the ACL user. Default empty (the default user).
	Username string `yaml:"username"`
	// Password is the ACL or requirepass password. Default empty. Prefer
	// PasswordFile.
	Password string `yaml:"password"`
	// PasswordFile is a file holding Password. Exclusive with Password.
	PasswordFile string `yaml:"password_file"`
	// DB is the database number. Default 0; a Cluster has only 0.
	DB int `yaml:"db"`
	// MasterName is the Sentinel master's name. Default empty (no
	// Sentinel).
	MasterName string `yaml:"master_name"`
	// TLS connects with TLS, verifying the server against the system
	// roots. Default false.
	TLS bool `yaml:"tls"`
	// KeyPrefix starts every key, so several deployments can share a
	// Redis; no '{' or '}'. Default (and empty) "mw".
	KeyPrefix string `yaml:"key_prefix"`
}

// AlertsSection is the alert rules and where incidents go: the alerts
// package's [alerts.Config] with the same yaml names (its documentation
// has every field and default), and a secret_file for each webhook. A test
// checks that every key of alerts.Config is here. [AlertsSection.Config]
// gives the alerts.Config to run with.
type AlertsSection struct {
	// EvaluateEvery is how often the rules run. Default 15s.
	EvaluateEvery time.Duration `yaml:"evaluate_every"`
	// Rules are the alert rules (alerts.RuleConfig: share, surge and
	// new_fingerprint rules). Default [alerts.DefaultRules]; an empty list
	// turns alerting off.
	Rules []alerts.RuleConfig `yaml:"rules"`
	// Webhooks receive every alert. Default none: the dashboard only.
	Webhooks []Webhook `yaml:"webhooks"`
	// RedeliverAfter is how long an unacknowledged outbox event waits
	// before another node takes it over. Default 1m.
	RedeliverAfter time.Duration `yaml:"redeliver_after"`
	// DeliveryLogSize is how many delivery attempts the dashboard's log
	// keeps. Default 1000.
	DeliveryLogSize int `yaml:"delivery_log_size"`
}

// Webhook is one sink: [alerts.WebhookConfig] and SecretFile.
type Webhook struct {
	alerts.WebhookConfig `yaml:",inline"`
	// SecretFile is a file holding Secret (the Standard Webhooks signing
	// secret). Exclusive with Secret. [Config.ReadFiles] moves its content
	// into Secret.
	SecretFile string `yaml:"secret_file"`
}

// Config returns the alerts.Config to run with. Call it after
// [Config.ReadFiles], which puts secret_file contents into Secret.
func (a AlertsSection) Config() alerts.Config {
	c := alerts.Config{
		EvaluateEvery:   a.EvaluateEvery,
		Rules:           slices.Clone(a.Rules),
		RedeliverAfter:  a.RedeliverAfter,
		DeliveryLogSize: a.DeliveryLogSize,
	}
	for _, w := range a.Webhooks {
		c.Webhooks = append(c.Webhooks, w.WebhookConfig)
	}
	return c
}

// DetectionSection tunes detection and what a verdict does.
type DetectionSection struct {
	// SignatureFiles are signature database files applied over the
	// embedded database, in order (your own proxy's signature, learnt
	// with `mitmwatch fingerprint`). Default empty.
	SignatureFiles []string `yaml:"signature_files"`
	// BannerMinConfidence is the verdict confidence, in (0, 1], from
	// which an intercepted visitor sees the warning banner and
	// ProtectPaths apply. Default 0.7 (middleware.DefaultMinConfidence: a
	// named product's hello scores 0.95, a hello breaking the claimed
	// browser's invariants 0.85).
	BannerMinConfidence float64 `yaml:"banner_min_confidence"`
	// ProtectPaths are path prefixes (each starting with '/') refused with
	// 403 and a page explaining why when the connection is intercepted
	// (at BannerMinConfidence or more), e.g. /login, so that credentials
	// are not typed through a middlebox. "/login" covers "/login/otp",
	// not "/loginhelp". Default empty.
	ProtectPaths []string `yaml:"protect_paths"`
	// ResponseHeader adds "Mitmwatch-Verdict: <verdict>" (with
	// ";product=…" when the interceptor is known) to every response, for
	// a front end or a log pipeline. Default false.
	ResponseHeader bool `yaml:"response_header"`
	// UpstreamHeaders are the Mitmwatch-* request headers the upstream
	// gets, by name (Mitmwatch-Verdict, -Confidence, -Product, -JA4,
	// -JA3, -Country, -ASN and -Summary, which says all the others' values
	// in one RFC 8941 dictionary; compared without case). Default (null
	// too): Mitmwatch-Verdict and Mitmwatch-Summary. [] sends none;
	// verdicts are still counted and alerted on. The seven single-value
	// headers cost the edge about three times what the summary does
	// (docs/benchmarks.md).
	UpstreamHeaders []string `yaml:"upstream_headers"`
	// Banner is the warning shown in HTML pages to intercepted visitors.
	Banner BannerSection `yaml:"banner"`
	// Endpoint is the verdict endpoint, where a GET or HEAD gets the
	// connection's own verdict as JSON (what a help page or the demo
	// shows a visitor).
	Endpoint EndpointSection `yaml:"endpoint"`
}

// EndpointSection is the verdict endpoint.
type EndpointSection struct {
	// Disabled turns the endpoint off: requests to its path go to the
	// upstream like any other. Default false: answered.
	Disabled bool `yaml:"disabled"`
	// Path is where the endpoint answers, an absolute path. Default
	// /.well-known/tls-interception (middleware.DefaultEndpointPath).
	Path string `yaml:"path"`
}

// BannerSection is the warning banner.
type BannerSection struct {
	// Disabled turns the banner off. Default false: shown.
	Disabled bool `yaml:"disabled"`
	// HelpURL is an absolute http(s) link the banner offers for more
	// help. Default empty: no link.
	HelpURL string `yaml:"help_url"`
}

// LoggingSection is the process log.
type LoggingSection struct {
	// Level is debug, info, warn or error. Default (and empty) info.
	Level string `yaml:"level"`
	// Format is text or json. Default (and empty) text.
	Format string `yaml:"format"`
	// LogClientIP writes client addresses in logs. Default false: they
	// stay out, as they stay out of the counts.
	LogClientIP bool `yaml:"log_client_ip"`
}

// ShutdownSection is the graceful shutdown.
type ShutdownSection struct {
	// Timeout is how long in-flight requests get after SIGTERM. Default
	// 30s.
	Timeout time.Duration `yaml:"timeout"`
}

// RuntimeSection is how the edge process uses memory.
type RuntimeSection struct {
	// GCHeapFloorMiB lets the heap grow to this many MiB before the garbage
	// collector runs, however little of it is live; once the live heap
	// passes about half of it, the collector paces itself as usual
	// (GOGC). An edge that terminates TLS keeps little live and allocates
	// some 50 KiB per new connection: without a floor it collects every
	// few dozen connections, and the floor took a fifth off its CPU per
	// new connection under load (docs/benchmarks.md). Default 64; 0 turns it off. The GOGC
	// environment variable, when set, wins: the floor is then off.
	// GOMEMLIMIT still applies.
	GCHeapFloorMiB int `yaml:"gc_heap_floor_mib"`
}

// DefaultGCHeapFloorMiB is the default RuntimeSection.GCHeapFloorMiB.
const DefaultGCHeapFloorMiB = 64

// Defaults that are not the zero value.
const (
	// DefaultServeListen is the default Config.Listen: loopback, where the
	// self-signed certificate is allowed.
	DefaultServeListen = "127.0.0.1:8443"
	// DefaultAdminListen is the default AdminSection.Listen.
	DefaultAdminListen = "127.0.0.1:9090"
	// DefaultACMECacheDir is the default ACMESection.CacheDir.
	DefaultACMECacheDir = "/var/lib/mitmwatch/acme"
	// DefaultACMEDirectoryURL is Let's Encrypt's production directory, the
	// value of golang.org/x/crypto/acme.LetsEncryptURL.
	DefaultACMEDirectoryURL = "https://acme-v02.api.letsencrypt.org/directory"
	// DefaultRedisKeyPrefix is the default RedisSection.KeyPrefix.
	DefaultRedisKeyPrefix = "mw"
)

// DefaultConfig returns the configuration an empty file gives: HTTPS on
// 127.0.0.1:8443 with the self-signed certificate, the report page (no
// upstream), the admin listener on 127.0.0.1:9090 without a token, the
// in-memory store, the default alert rules and no webhooks.
func DefaultConfig() *Config {
	return &Config{
		Listen: DefaultServeListen,
		TLS:    TLSSection{MinVersion: "1.2"},
		Forwarded: ForwardedSection{
			ClientIPHeader: middleware.DefaultClientIPHeader,
			HelloHeader:    middleware.DefaultHelloHeader,
			JA4Header:      middleware.DefaultJA4Header,
			JA3Header:      middleware.DefaultJA3Header,
		},
		Admin: AdminSection{Listen: DefaultAdminListen},
		Store: StoreSection{Retention: 30 * 24 * time.Hour},
		Alerts: AlertsSection{
			EvaluateEvery:   alerts.DefaultEvaluateEvery,
			Rules:           alerts.DefaultRules(),
			RedeliverAfter:  alerts.DefaultRedeliverAfter,
			DeliveryLogSize: alerts.DefaultDeliveryLogSize,
		},
		Detection: DetectionSection{BannerMinConfidence: middleware.DefaultMinConfidence, UpstreamHeaders: defaultHeaders()},
		Logging:   LoggingSection{Level: "info", Format: "text"},
		Shutdown:  ShutdownSection{Timeout: 30 * time.Second},
		Runtime:   RuntimeSection{GCHeapFloorMiB: DefaultGCHeapFloorMiB},
	}
}

// fillDefaults gives the keys documented as "default (and empty)" their
// default when they are empty, including inside optional sections (acme,
// redis) that the file or the environment created.
func (c *Config) fillDefaults() {
	setIfEmpty := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	setIfEmpty(&c.TLS.MinVersion, "1.2")
	if a := c.TLS.ACME; a != nil {
		setIfEmpty(&a.CacheDir, DefaultACMECacheDir)
		setIfEmpty(&a.DirectoryURL, DefaultACMEDirectoryURL)
	}
	setIfEmpty(&c.Forwarded.ClientIPHeader, middleware.DefaultClientIPHeader)
	setIfEmpty(&c.Forwarded.HelloHeader, middleware.DefaultHelloHeader)
	setIfEmpty(&c.Forwarded.JA4Header, middleware.DefaultJA4Header)
	setIfEmpty(&c.Forwarded.JA3Header, middleware.DefaultJA3Header)
	if r := c.Store.Redis; r != nil {
		setIfEmpty(&r.KeyPrefix, DefaultRedisKeyPrefix)
	}
	for i := range c.Alerts.Webhooks {
		setIfEmpty(&c.Alerts.Webhooks[i].Format, alerts.FormatStandard)
	}
	setIfEmpty(&c.Logging.Level, "info")
	setIfEmpty(&c.Logging.Format, "text")
}

// Warnings returns what LoadConfig found suspicious but not wrong: an
// environment variable that looks like an override and is not one, inline
// secrets in a world-readable file, settings that are ignored. Each is one
// line, ready to log.
func (c *Config) Warnings() []string {
	return slices.Clone(c.warnings)
}

// ErrUnknownKey is wrapped by the error of a key the configuration does not
// have: unknown keys are errors, so a typo never silently keeps a default.
var ErrUnknownKey = errors.New("unknown key")

// ErrWrongType is wrapped by the error of a value of the wrong YAML type (a
// list where a string goes, a string where a number goes).
var ErrWrongType = errors.New("wrong type")

// typeError is a value of the wrong type: its message is the detail alone
// ("want a number, got …") and it matches ErrWrongType with errors.Is.
type typeError struct{ msg string }

func (e *typeError) Error() string { return e.msg }
func (e *typeError) Unwrap() error { return ErrWrongType }

// wrongTypef returns a typeError.
func wrongTypef(format string, args ...any) error {
	return &typeError{msg: fmt.Sprintf(format, args...)}
}

// ErrTLSRequired is wrapped by the error of a configuration that serves a
// non-loopback address without tls.cert_file or tls.acme.
var ErrTLSRequired = errors.New("tls.cert_file or tls.acme required")

// ConfigError is one problem with one configuration key. LoadConfig and
// Validate return every problem found, joined with [errors.Join]; use
// [errors.As] for the first or unwrap the join for all.
type ConfigError struct {
	// File is the configuration file, as given to LoadConfig; empty when
	// the problem is not in a file.
	File string
	// Line is the 1-based line of the key (or of its closest enclosing
	// key) in File; 0 when unknown.
	Line int
	// Env is the environment variable the value came from, if it did.
	Env string
	// Key is the key's path, as in "alerts.rules[0].min_share"; empty
	// for a problem with the file as a whole (YAML syntax).
	Key string
	// Err is the problem.
	Err error

	// near is a key whose line to give when Key has none: a missing key
	// is best shown next to the key that made it required.
	near string
}

// Error returns "file:line: key: problem", or "env VAR: key: problem" for
// a value from the environment.
func (e *ConfigError) Error() string {
	var b strings.Builder
	switch {
	case e.Env != "":
		b.WriteString("env ")
		b.WriteString(e.Env)
		b.WriteString(": ")
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		b.WriteString(e.File)
		b.WriteString(": ")
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns Err.
func (e *ConfigError) Unwrap() error { return e.Err }

// configSource records where keys came from.
type configSource struct {
	file string
	line map[string]int    // key path → line of the key in file
	env  map[string]string // key path → environment variable that set it
}

// locate fills e's File, Line and Env from where e.Key (or, failing that,
// its closest enclosing key) came from.
func (s *configSource) locate(e *ConfigError) {
	if s == nil || e.Env != "" {
		return
	}
	if e.File == "" {
		e.File = s.file
	}
	if e.Line > 0 {
		return
	}
	for _, key := range []string{e.Key, e.near} {
		for k := key; k != ""; k = parentKey(k) {
			if name, ok := s.env[k]; ok {
				e.Env = name
				return
			}
			if line, ok := s.line[k]; ok {
				e.Line = line
				return
			}
		}
	}
}

// parentKey returns the key enclosing k: "a.b[2].c" → "a.b[2]" → "a.b" →
// "a" → "".
func parentKey(k string) string {
	i := strings.LastIndexAny(k, ".[")
	if i < 0 {
		return ""
	}
	return k[:i]
}

// LoadConfig reads the configuration file at path over [DefaultConfig],
// applies the environment overrides looked up with env (nil means none;
// os.LookupEnv in production; see [EnvOverrides]) and validates the
// result. path "" means no file: the defaults and the environment only.
//
// It returns every problem at once, each a [*ConfigError] naming the key
// and its line (or its environment variable), joined with [errors.Join].
// It reads no file but the configuration: [Config.ReadFiles] reads the
// secret files and checks the others.
func LoadConfig(path string, env func(string) (string, bool)) (*Config, error) {
	if path == "" {
		return ParseConfig("", nil, env)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("server: read config: %w", err)
	}
	c, err := ParseConfig(path, data, env)
	if c != nil {
		if fi, statErr := os.Stat(path); statErr == nil && fi.Mode().Perm()&0o004 != 0 && c.hasInlineSecrets() {
			c.warnings = append(c.warnings, fmt.Sprintf(
				"%s is world-readable and holds secrets inline: move them to *_file keys or chmod o-r it", path))
		}
	}
	return c, err
}

// ParseConfig is [LoadConfig] on data already read; name is the file name
// used in errors.
func ParseConfig(name string, data []byte, env func(string) (string, bool)) (*Config, error) {
	c := DefaultConfig()
	c.src = &configSource{file: name, line: map[string]int{}, env: map[string]string{}}
	var errs []*ConfigError
	if len(data) > 0 {
		errs = decodeYAML(data, c, c.src.line)
	}
	if env != nil {
		errs = append(errs, c.applyEnv(env)...)
		c.warnings = append(c.warnings, unknownEnvWarnings(env)...)
	}
	c.fillDefaults()
	// A key whose value did not decode keeps its default, which would then
	// be validated and reported a second time: skip those.
	bad := map[string]bool{}
	for _, e := range errs {
		bad[e.Key] = true
	}
	for _, e := range c.problems() {
		if !coveredBy(e.Key, bad) {
			errs = append(errs, e)
		}
	}
	c.warnings = append(c.warnings, c.advice()...)
	if len(errs) == 0 {
		return c, nil
	}
	return c, c.joinErrors(errs)
}

// coveredBy reports whether key or one of its enclosing keys is in bad.
func coveredBy(key string, bad map[string]bool) bool {
	for k := key; k != ""; k = parentKey(k) {
		if bad[k] {
			return true
		}
	}
	return false
}

// joinErrors locates errs in the source and joins them in file order:
// file lines first, then environment variables, then the rest.
func (c *Config) joinErrors(errs []*ConfigError) error {
	for _, e := range errs {
		c.src.locate(e)
	}
	rank := func(e *ConfigError) int {
		switch {
		case e.Env == "" && e.Line > 0:
			return 0
		case e.Env != "":
			return 1
		}
		return 2
	}
	slices.SortStableFunc(errs, func(a, b *ConfigError) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return a.Line - b.Line
	})
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
	}
	return errors.Join(out...)
}

// Validate checks every value and returns every problem, each a
// [*ConfigError], joined with [errors.Join]; nil if the configuration can
// be served. It does no I/O. On a Config from LoadConfig the errors name
// the line or the environment variable of their key.
func (c *Config) Validate() error {
	errs := c.problems()
	if len(errs) == 0 {
		return nil
	}
	if c.src == nil {
		c.src = &configSource{}
	}
	return c.joinErrors(errs)
}

// ReadFiles reads the *_file secrets into their keys (admin.token,
// store.redis.password, store.client_key, alerts.webhooks[].secret),
// emptying the *_file keys, and checks that every other file the
// configuration names can be read: certificates and keys (as pairs that
// match), geo databases, signature files. It returns every problem, each
// a [*ConfigError] naming the key. The server calls it once at start;
// `mitmwatch config check` calls it unless told not to.
func (c *Config) ReadFiles() error {
	var errs []*ConfigError
	bad := func(key string, err error) {
		errs = append(errs, &ConfigError{Key: key, Err: err})
	}
	secret := func(fileKey string, file *string, value *string, check func(string) error) {
		if *file == "" {
			return
		}
		data, err := os.ReadFile(*file)
		if err != nil {
			bad(fileKey, err)
			return
		}
		v := strings.TrimRight(string(data), "\r\n")
		if v == "" {
			bad(fileKey, fmt.Errorf("%s is empty", *file))
			return
		}
		if check != nil {
			if err := check(v); err != nil {
				bad(fileKey, fmt.Errorf("content of %s: %w", *file, err))
				return
			}
		}
		*value, *file = v, ""
	}
	secret("admin.token_file", &c.Admin.TokenFile, &c.Admin.Token, checkToken)
	secret("store.client_key_file", &c.Store.ClientKeyFile, &c.Store.ClientKey, checkClientKey)
	if r := c.Store.Redis; r != nil {
		secret("store.redis.password_file", &r.PasswordFile, &r.Password, nil)
	}
	for i := range c.Alerts.Webhooks {
		w := &c.Alerts.Webhooks[i]
		secret(fmt.Sprintf("alerts.webhooks[%d].secret_file", i), &w.SecretFile, &w.Secret, checkWebhookSecret)
	}

	readable := func(key, file string) {
		if file == "" {
			return
		}
		f, err := os.Open(file)
		if err != nil {
			bad(key, err)
			return
		}
		f.Close()
	}
	pair := func(key, cert, keyFile string) {
		if cert == "" || keyFile == "" {
			return
		}
		if err := checkKeyPair(cert, keyFile); err != nil {
			bad(key, err)
		}
	}
	pair("tls.cert_file", c.TLS.CertFile, c.TLS.KeyFile)
	for i, cc := range c.TLS.Certificates {
		pair(fmt.Sprintf("tls.certificates[%d].cert_file", i), cc.CertFile, cc.KeyFile)
	}
	if c.Geo.CountryDB != "" || c.Geo.ASNDB != "" {
		// Open the databases as the server will, which also checks that
		// they hold country and ASN data.
		g, err := middleware.NewGeo(middleware.GeoConfig{CountryDB: c.Geo.CountryDB, ASNDB: c.Geo.ASNDB})
		if err != nil {
			errs = append(errs, packageErrors(err, middleware.ErrGeoConfig, "geo")...)
		} else {
			g.Close()
		}
	}
	for i, f := range c.Detection.SignatureFiles {
		readable(fmt.Sprintf("detection.signature_files[%d]", i), f)
	}
	if len(errs) == 0 {
		return nil
	}
	if c.src == nil {
		c.src = &configSource{}
	}
	return c.joinErrors(errs)
}

// checkKeyPair loads a certificate and its key, which fails if either is
// unreadable or they do not match.
func checkKeyPair(certFile, keyFile string) error {
	_, err := tls.LoadX509KeyPair(certFile, keyFile)
	return err
}

// hasInlineSecrets reports whether a secret is written in the configuration
// itself rather than in a *_file.
func (c *Config) hasInlineSecrets() bool {
	if c.Admin.Token != "" || c.Store.ClientKey != "" {
		return true
	}
	if r := c.Store.Redis; r != nil && r.Password != "" {
		return true
	}
	for _, w := range c.Alerts.Webhooks {
		// A Slack incoming-webhook URL is itself a secret.
		if w.Secret != "" || len(w.Headers) > 0 || w.Format == alerts.FormatSlack {
			return true
		}
	}
	return false
}

// advice returns the warnings about a valid configuration.
func (c *Config) advice() []string {
	var w []string
	_, port, err := splitHostPort(c.Listen)
	told443 := false // a warning already says to forward port 443
	if a := c.TLS.ACME; a != nil {
		// autocert tries TLS-ALPN-01 (to port 443) and, with http_listen,
		// HTTP-01 (to port 80): one of them must reach mitmwatch.
		_, httpPort, httpErr := splitHostPort(c.HTTPListen)
		switch {
		case err != nil || port == 443:
		case c.HTTPListen == "":
			w = append(w, fmt.Sprintf("tls.acme: the CA sends its TLS-ALPN-01 challenge to port 443, but listen is %s: forward 443 to it (or set http_listen for the HTTP-01 challenge on port 80)", c.Listen))
			told443 = true
		case httpErr == nil && httpPort != 80:
			w = append(w, fmt.Sprintf("tls.acme: the CA sends its challenges to port 443 (TLS-ALPN-01) or 80 (HTTP-01), but listen is %s and http_listen %s: forward 443 or 80 to them", c.Listen, c.HTTPListen))
			told443 = true
		}
	}
	if c.HTTPListen != "" && c.HTTPSPort == 0 && err == nil && port != 443 && !told443 {
		// The redirect names no port, as behind a forwarded 443.
		w = append(w, fmt.Sprintf("http_listen redirects to https:// on port 443, but listen is %s: forward 443 to it, or set https_port to the port clients reach it on", c.Listen))
	}
	if c.HTTPSPort != 0 && c.HTTPListen == "" {
		w = append(w, "https_port is set but http_listen is off: nothing redirects")
	}
	if len(c.ProxyProtocol.Trusted) > 0 && !c.ProxyProtocol.Enabled {
		w = append(w, "proxy_protocol.trusted is set but proxy_protocol.enabled is false: the PROXY protocol is off")
	}
	if c.Store.Redis != nil && c.Store.ClientKey == "" && c.Store.ClientKeyFile == "" {
		w = append(w, "store.redis without store.client_key: each node hashes clients with its own key, so unique-client counts over-count across nodes")
	}
	return w
}

// splitHostPort splits host:port and checks the port is a number in
// [0, 65535].
func splitHostPort(addr string) (host string, port int, err error) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return "", 0, fmt.Errorf("%q: want host:port", addr)
	}
	host, p := addr[:i], addr[i+1:]
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	} else if strings.Contains(host, ":") {
		return "", 0, fmt.Errorf("%q: an IPv6 address goes in brackets, as [::1]:8443", addr)
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 65535 {
		return "", 0, fmt.Errorf("%q: port %q is not a number from 0 to 65535", addr, p)
	}
	return host, n, nil
}

// isLoopbackHost reports whether host is a loopback address or
// "localhost". An empty host means every interface, which is not loopback.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// hostnameRE matches a DNS host name (letters, digits, hyphens in labels).
var hostnameRE = regexp.MustCompile(`^(?i)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$`)

// marshalYAML renders v with two-space indentation.
func marshalYAML(v any) ([]byte, error) {
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}
