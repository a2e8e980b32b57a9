package middleware

import (
	"crypto/rand"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mitmwatch/mitmwatch/alerts"
	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// Defaults of [Config].
const (
	// DefaultMinConfidence is the default [Config.BannerMinConfidence].
	// The classifier gives 0.95 to a named product's hello (mitmproxy
	// under a browser's headers, for one) and 0.85 to a hello that breaks
	// the claimed browser's invariants with browser headers present; 0.7
	// is one independent signal (an injected header alone), and 0.5 never
	// warns anyone.
	DefaultMinConfidence = 0.7
	// DefaultEndpointPath is the default [Config.EndpointPath].
	DefaultEndpointPath = "/.well-known/tls-interception"
	// DefaultHelloHeader is the default [Config.UpstreamHelloHeader].
	DefaultHelloHeader = "X-Mitmwatch-ClientHello"
	// DefaultJA4Header is the default [Config.UpstreamJA4Header].
	DefaultJA4Header = "X-Mitmwatch-JA4"
	// DefaultJA3Header is the default [Config.UpstreamJA3Header].
	DefaultJA3Header = "X-Mitmwatch-JA3"
	// DefaultClientIPHeader is the default [Config.ClientIPHeader].
	DefaultClientIPHeader = "X-Forwarded-For"
	// VerdictHeader is the response header [Config.ResponseHeader] adds.
	VerdictHeader = "Mitmwatch-Verdict"
)

// ErrInvalidConfig is wrapped by every error [New] and
// [ProxyProtocolListener] return for a bad configuration; the message
// names the field.
var ErrInvalidConfig = errors.New("middleware: invalid config")

// HTTP2Offer says whether the server offers HTTP/2 in its TLS ALPN list.
// The classifier uses it for one weak sign: a browser that always offers
// h2, talking HTTP/1.1 to a server that offers h2, went through something
// that did not offer h2 (see [fingerprints.ReasonHTTP1Downgrade]).
type HTTP2Offer uint8

const (
	// HTTP2Auto (the zero value) reads it from the *http.Server serving the
	// connection ([http.ServerContextKey]): Server.Protocols when set, else
	// HTTP/2 unless Server.TLSNextProto disables it. That is exactly what
	// Server.ServeTLS and ListenAndServeTLS offer. Without a server in the
	// context (a handler driven by a test), HTTP/2 counts as not offered.
	HTTP2Auto HTTP2Offer = iota
	// HTTP2Offered declares that the server offers h2: use it when you
	// serve through your own tls.Listener whose NextProtos has "h2".
	HTTP2Offered
	// HTTP2NotOffered declares that it does not, which turns the sign off.
	HTTP2NotOffered
)

// Config configures [New]. The zero value is ready to use and safe: the
// embedded signature database, no trusted proxies (so no upstream header
// and no X-Forwarded-For is believed), every client's network unknown, the
// warning banner on for intercepted verdicts at confidence 0.7 or more, the
// endpoint at /.well-known/tls-interception, no blocking, no response
// header, no log and no recording.
type Config struct {
	// Classifier decides verdicts. Nil means a classifier made with
	// fingerprints.NewClassifier(fingerprints.ClassifierConfig{}): the
	// embedded signature database and a 4096-entry User-Agent cache.
	Classifier *fingerprints.Classifier

	// Geo maps a client address to its country and AS. Nil means every
	// client is unknown: country "ZZ", AS 0. Make one with [NewGeo]; its
	// owner reloads and closes it.
	Geo *Geo

	// Banner configures the warning banner put into the HTML pages of
	// intercepted connections (see [NewBanner]). The zero value shows it;
	// set Banner.Disabled to turn it off.
	Banner BannerConfig

	// BannerMinConfidence is the lowest confidence at which an intercepted
	// verdict shows the banner and triggers ProtectPaths. 0 means
	// [DefaultMinConfidence] (0.7); otherwise it must be in (0, 1].
	BannerMinConfidence float64

	// TrustedProxies lists the addresses ("192.0.2.10") and CIDR prefixes
	// ("10.0.0.0/8", "2001:db8::/32") of the proxies in front of this
	// server: CDNs, TLS-terminating load balancers, other mitmwatch edges.
	// A request whose peer is one of them may carry the client's hello or
	// fingerprints in the upstream headers below, and its ClientIPHeader
	// is walked to find the client. Requests from any other peer have the
	// upstream headers removed before the handler sees them. Default: none.
	TrustedProxies []string

	// ClientIPHeader is the header a trusted proxy appends the client
	// address to: "X-Forwarded-For" (the default), "Forwarded" (RFC 7239,
	// its for= parameters), or any other header with X-Forwarded-For
	// syntax. Name the one your proxies write: a header they pass through
	// untouched is the client's to forge.
	ClientIPHeader string

	// UpstreamHelloHeader carries the client's raw ClientHello, base64
	// (standard or URL alphabet, padded or not), record-framed or a bare
	// handshake message. Believed only from TrustedProxies. Default
	// [DefaultHelloHeader].
	UpstreamHelloHeader string
	// UpstreamJA4Header carries the client's JA4, as a CDN computes it
	// (CloudFront: "CloudFront-Viewer-JA4-Fingerprint"). Believed only from
	// TrustedProxies. Default [DefaultJA4Header].
	UpstreamJA4Header string
	// UpstreamJA3Header carries the client's JA3 hash (32 hex digits) or
	// full JA3 string (CloudFront: "CloudFront-Viewer-JA3-Fingerprint";
	// Cloudflare: "Cf-Ja3-Hash"). Believed only from TrustedProxies.
	// Default [DefaultJA3Header].
	UpstreamJA3Header string

	// ProtectPaths lists path prefixes ("/login", "/checkout/") whose
	// requests, on a connection intercepted at BannerMinConfidence or
	// more, are answered with a 403 page explaining why instead of
	// reaching the handler. A prefix matches the path itself and
	// everything below it ("/login" matches "/login" and "/login/otp",
	// not "/loginhelp"). Default: none.
	ProtectPaths []string

	// ResponseHeader adds "Mitmwatch-Verdict: <verdict>" to every
	// response, with ";product=..." when the interceptor is known, for a
	// front end or a log pipeline to read. Default false.
	ResponseHeader bool

	// EndpointPath is where the middleware answers GET and HEAD with the
	// calling connection's [Verdict] as JSON. Default
	// [DefaultEndpointPath]. It must start with "/".
	EndpointPath string
	// DisableEndpoint turns the endpoint off: requests to EndpointPath go
	// to the handler. Default false.
	DisableEndpoint bool

	// ServerHTTP2 says whether the server offers HTTP/2. Default
	// [HTTP2Auto].
	ServerHTTP2 HTTP2Offer

	// Logger receives one line per computed verdict that is not clean
	// (once per connection and User-Agent, not per request) and
	// configuration warnings. Nil means discard.
	Logger *slog.Logger
	// LogClientIP writes the client address into those lines. By default
	// only a keyed hash of it is written (ip_hash), which correlates lines
	// without revealing the address.
	LogClientIP bool
	// IPHashKey is the HMAC key of ip_hash. Nodes whose logs are read
	// together should share one. Default: a random key per middleware, so
	// hashes correlate within one process lifetime only.
	IPHashKey []byte

	// Recorder receives one alerts.Observation per computed verdict. Record
	// never blocks. Nil means nothing is recorded.
	Recorder *alerts.Recorder

	// Notes, if set, remembers the grade and reasons of each intercepted
	// or unknown verdict's JA4, so that alerts (which read counts from
	// the store) can show them: pass the same notebook as the alerts
	// evaluator's Describe. Nil means none are kept.
	Notes *alerts.NoteBook

	// Registerer receives the mitmwatch_middleware_… metrics. Nil means
	// none are registered.
	Registerer prometheus.Registerer
}

// settings is a validated Config with its defaults applied and its
// strings parsed.
type settings struct {
	classifier    *fingerprints.Classifier
	geo           *Geo
	banner        *Banner // nil when disabled
	assetPath     string
	minConfidence float64
	trusted       trustedSet
	ipHeader      string
	forwarded     bool // ipHeader is RFC 7239 Forwarded
	helloHeader   string
	ja4Header     string
	ja3Header     string
	protect       []string
	respHeader    bool
	endpoint      string // "" when disabled
	h2            HTTP2Offer
	logger        *slog.Logger
	logIP         bool
	ipKey         []byte
	recorder      *alerts.Recorder
	notes         *alerts.NoteBook
	metrics       *metrics
	blockedPage   *template.Template
}

func invalid(field string, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
}

func (cfg Config) settings() (*settings, error) {
	s := &settings{
		classifier:    cfg.Classifier,
		geo:           cfg.Geo,
		minConfidence: cfg.BannerMinConfidence,
		ipHeader:      orDefault(cfg.ClientIPHeader, DefaultClientIPHeader),
		helloHeader:   orDefault(cfg.UpstreamHelloHeader, DefaultHelloHeader),
		ja4Header:     orDefault(cfg.UpstreamJA4Header, DefaultJA4Header),
		ja3Header:     orDefault(cfg.UpstreamJA3Header, DefaultJA3Header),
		respHeader:    cfg.ResponseHeader,
		h2:            cfg.ServerHTTP2,
		logger:        cfg.Logger,
		logIP:         cfg.LogClientIP,
		ipKey:         cfg.IPHashKey,
		recorder:      cfg.Recorder,
		notes:         cfg.Notes,
	}
	if s.classifier == nil {
		c, err := fingerprints.NewClassifier(fingerprints.ClassifierConfig{})
		if err != nil {
			return nil, fmt.Errorf("middleware: default classifier: %w", err)
		}
		s.classifier = c
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case s.minConfidence == 0:
		s.minConfidence = DefaultMinConfidence
	case !(s.minConfidence > 0 && s.minConfidence <= 1): // also rejects NaN
		return nil, invalid("BannerMinConfidence", "%v is not in (0, 1]", cfg.BannerMinConfidence)
	}
	var err error
	if s.trusted, err = parseTrusted("TrustedProxies", cfg.TrustedProxies); err != nil {
		return nil, err
	}
	for _, h := range []struct{ field, value string }{
		{"ClientIPHeader", s.ipHeader},
		{"UpstreamHelloHeader", s.helloHeader},
		{"UpstreamJA4Header", s.ja4Header},
		{"UpstreamJA3Header", s.ja3Header},
	} {
		if !validHeaderName(h.value) {
			return nil, invalid(h.field, "%q is not a valid header name", h.value)
		}
	}
	// Keys as net/http stores them, so that lookups are plain map reads.
	s.ipHeader = http.CanonicalHeaderKey(s.ipHeader)
	s.helloHeader = http.CanonicalHeaderKey(s.helloHeader)
	s.ja4Header = http.CanonicalHeaderKey(s.ja4Header)
	s.ja3Header = http.CanonicalHeaderKey(s.ja3Header)
	if s.helloHeader == s.ja4Header || s.helloHeader == s.ja3Header || s.ja4Header == s.ja3Header {
		return nil, invalid("UpstreamHelloHeader", "the three upstream headers must differ (%q, %q, %q)", s.helloHeader, s.ja4Header, s.ja3Header)
	}
	if s.ipHeader == s.helloHeader || s.ipHeader == s.ja4Header || s.ipHeader == s.ja3Header {
		return nil, invalid("ClientIPHeader", "%q is also an upstream fingerprint header", s.ipHeader)
	}
	s.forwarded = s.ipHeader == "Forwarded"

	for i, p := range cfg.ProtectPaths {
		if !strings.HasPrefix(p, "/") {
			return nil, invalid(fmt.Sprintf("ProtectPaths[%d]", i), "%q does not start with /", p)
		}
		s.protect = append(s.protect, p)
	}
	if !cfg.DisableEndpoint {
		s.endpoint = orDefault(cfg.EndpointPath, DefaultEndpointPath)
		if !strings.HasPrefix(s.endpoint, "/") {
			return nil, invalid("EndpointPath", "%q does not start with /", s.endpoint)
		}
	}
	if cfg.ServerHTTP2 > HTTP2NotOffered {
		return nil, invalid("ServerHTTP2", "unknown value %d", cfg.ServerHTTP2)
	}
	if len(s.ipKey) == 0 {
		s.ipKey = make([]byte, 32)
		if _, err := rand.Read(s.ipKey); err != nil {
			return nil, fmt.Errorf("middleware: random IP hash key: %w", err)
		}
	}
	if !cfg.Banner.Disabled {
		b, err := NewBanner(cfg.Banner)
		if err != nil {
			return nil, err // names the Banner field, wraps ErrInvalidConfig
		}
		s.banner = b
		// The middleware asks the banner for an asset only under its
		// prefix, so every other request skips the call.
		s.assetPath = orDefault(cfg.Banner.AssetPath, DefaultBannerAssetPath)
	}
	if s.blockedPage, err = parseBlockedPage(); err != nil {
		return nil, fmt.Errorf("middleware: blocked page template: %w", err)
	}
	if s.metrics, err = newMetrics(cfg.Registerer, s.classifier); err != nil {
		return nil, err
	}
	return s, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// validHeaderName reports whether s is an HTTP field name: a token of RFC
// 9110 §5.1.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
