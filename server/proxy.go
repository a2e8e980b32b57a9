package server

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mitmwatch/mitmwatch/fingerprints"
	"github.com/mitmwatch/mitmwatch/internal/sfv"
)

// The request headers the reverse proxy adds for the upstream. Any header a
// client sends whose name starts with [HeaderPrefix] (compared without
// case, with '_' read as '-') is deleted first, so an upstream can trust
// them: a client cannot say "Mitmwatch-Verdict: clean" for itself.
const (
	// HeaderPrefix starts every header mitmwatch adds.
	HeaderPrefix = "Mitmwatch-"
	// HeaderVerdict is the verdict: clean, intercepted, spoofed or
	// unknown. Absent when detection is off.
	HeaderVerdict = "Mitmwatch-Verdict"
	// HeaderProduct names the interception product, when known.
	HeaderProduct = "Mitmwatch-Product"
	// HeaderConfidence is the verdict's confidence, 0.00 to 1.00.
	HeaderConfidence = "Mitmwatch-Confidence"
	// HeaderJA4 is the connection's JA4, when its ClientHello was seen.
	HeaderJA4 = "Mitmwatch-JA4"
	// HeaderJA3 is the MD5 JA3 hash, when its ClientHello was seen.
	HeaderJA3 = "Mitmwatch-JA3"
	// HeaderCountry is the client's ISO 3166-1 alpha-2 country, "ZZ" when
	// unknown.
	HeaderCountry = "Mitmwatch-Country"
	// HeaderASN is the client's autonomous system number, 0 when unknown.
	HeaderASN = "Mitmwatch-ASN"
	// HeaderSummary says all of the above in one header, an RFC 8941
	// dictionary with the members in this order; product, ja4 and ja3 are
	// left out when unknown, while country is "ZZ" and asn 0 then, as in
	// the single headers:
	//
	//	Mitmwatch-Summary: verdict=intercepted, confidence=0.95, product="mitmproxy",
	//	    ja4="t13d…", ja3="…", country="KZ", asn=9198
	//
	// verdict is a token, confidence a decimal, asn an integer, the
	// others strings (bytes outside printable ASCII become '?'). One
	// header costs net/http on both sides of the connection far less than
	// seven (docs/benchmarks.md).
	HeaderSummary = "Mitmwatch-Summary"
)

// DefaultFailTimeout is how long the proxy skips an upstream after a
// connection to it failed.
const DefaultFailTimeout = 10 * time.Second

// ErrUpstream is wrapped by [NewProxy]'s errors about the upstream list.
var ErrUpstream = errors.New("server: invalid upstream")

// ErrHeaderName is wrapped by [NewProxy]'s error about a name in
// [ProxyConfig.Headers] that is not one of the Header… constants.
var ErrHeaderName = errors.New("server: not an annotation header")

// Annotation is what the proxy tells the upstream about one request.
type Annotation struct {
	// Detected says detection ran; without it only the stripping of
	// client-sent Mitmwatch-* headers happens.
	Detected bool
	// Verdict, Product and Confidence are the classifier's decision.
	Verdict    fingerprints.Outcome
	Product    string
	Confidence float64
	// JA4 and JA3 (the MD5 hash) are the hello's fingerprints; empty when
	// there was no hello to fingerprint.
	JA4, JA3 string
	// Country and ASN place the client ("ZZ" and 0 when unknown).
	Country string
	ASN     uint32
}

// ProxyConfig configures [NewProxy].
type ProxyConfig struct {
	// Upstreams are the base URLs requests go to, round robin: http or
	// https, optionally with a path prefix. Required.
	Upstreams []string
	// FailTimeout is how long an upstream is skipped after a connection
	// to it failed (passive health checking); when every upstream is
	// skipped the proxy tries them anyway. Default [DefaultFailTimeout];
	// negative turns skipping off.
	FailTimeout time.Duration
	// Transport carries requests upstream. Default: a transport with no
	// proxy from the environment, HTTP/2 to https upstreams, and up to 1024
	// idle connections per upstream (an edge node keeps many open).
	Transport http.RoundTripper
	// Annotate, if non-nil, says what to tell the upstream about a
	// request (see the Header… constants). Default: nothing is added, and
	// client-sent Mitmwatch-* headers are still stripped.
	Annotate func(*http.Request) Annotation
	// Headers names the Header… headers Annotate's answer is sent in
	// (compared without case). Default (nil): Mitmwatch-Verdict and
	// Mitmwatch-Summary. An empty, non-nil list sends none, while
	// Annotate still runs. Each header costs both ends of the upstream
	// connection work per request; the seven single-value headers cost
	// the edge about three times what the summary does
	// (docs/benchmarks.md).
	Headers []string
	// Logger receives upstream failures. Default: discard.
	Logger *slog.Logger
	// Registerer receives mitmwatch_proxy_errors_total (requests answered
	// 502) and mitmwatch_proxy_upstream_ejections_total (an upstream
	// skipped after a failed connection). Default: none.
	Registerer prometheus.Registerer
}

// Proxy is the edge's reverse proxy: an [httputil.ReverseProxy] with
// Rewrite, round robin over upstreams with passive health, and the
// mitmwatch headers. Responses of unknown length (chunked, server-sent
// events) are flushed to the client after every write, as they arrive;
// responses with a Content-Length go out through net/http's buffer, so a
// small one is one write. Protocol upgrades such as WebSocket pass through.
type Proxy struct {
	rp       *httputil.ReverseProxy
	ups      []*upstream
	next     atomic.Uint64
	failFor  time.Duration
	annotate func(*http.Request) Annotation
	logger   *slog.Logger
	now      func() time.Time

	keys      headerKeys
	sent      int         // how many headers of keys are sent
	confTexts [101]string // "0.00" … "1.00"
	confSF    [101]string // the same as RFC 8941 decimals: "0.0", "0.01" … "0.99", "1.0"
	memos     summaryMemos

	errs, ejections prometheus.Counter
}

var _ http.Handler = (*Proxy)(nil)

type upstream struct {
	url       *url.URL
	downUntil atomic.Int64 // Unix nanoseconds; 0 = up
}

// routeKey is the context key of the route chosen for a request.
type routeKey struct{}

// route is what the transport needs to retry a request elsewhere.
type route struct {
	up *upstream
	in *http.Request
}

// NewProxy returns the reverse proxy.
func NewProxy(cfg ProxyConfig) (*Proxy, error) {
	if len(cfg.Upstreams) == 0 {
		return nil, fmt.Errorf("%w: at least one upstream is required", ErrUpstream)
	}
	p := &Proxy{
		failFor:  cfg.FailTimeout,
		annotate: cfg.Annotate,
		logger:   orDiscard(cfg.Logger),
		now:      time.Now,
		errs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mitmwatch_proxy_errors_total",
			Help: "Requests answered 502 because the upstream could not be reached or failed.",
		}),
		ejections: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mitmwatch_proxy_upstream_ejections_total",
			Help: "Times an upstream was skipped for FailTimeout after a failed connection.",
		}),
	}
	if p.failFor == 0 {
		p.failFor = DefaultFailTimeout
	}
	keys, err := newHeaderKeys(cfg.Headers)
	if err != nil {
		return nil, err
	}
	p.keys = keys
	p.memos.seed = maphash.MakeSeed()
	for _, k := range keys {
		if k != "" {
			p.sent++
		}
	}
	for i := range p.confTexts {
		p.confTexts[i] = strconv.FormatFloat(float64(i)/100, 'f', 2, 64)
		p.confSF[i] = sfDecimal(p.confTexts[i])
	}
	for i, s := range cfg.Upstreams {
		u, err := url.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("%w: upstreams[%d]: %v", ErrUpstream, i, err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("%w: upstreams[%d]: %q: want http(s)://host[:port][/path]", ErrUpstream, i, s)
		}
		p.ups = append(p.ups, &upstream{url: u})
	}
	base := cfg.Transport
	if base == nil {
		base = defaultTransport()
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:   p.rewrite,
		Transport: &retryTransport{p: p, base: base},
		// Not -1: ReverseProxy then starts a timer goroutine per response
		// to flush the headers alone, one more write (and TLS record) and
		// a stack to grow per request. At 0 it still flushes every write
		// of a streamed response (unknown length, text/event-stream).
		FlushInterval: 0,
		BufferPool:    &bufferPool{},
		ErrorHandler:  p.errorHandler,
		ErrorLog:      slog.NewLogLogger(p.logger.Handler(), slog.LevelWarn),
	}
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{p.errs, p.ejections} {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("server: register proxy metrics: %w", err)
			}
		}
	}
	return p, nil
}

func defaultTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	// The edge is the proxy: HTTP_PROXY from the environment must not
	// silently reroute upstream traffic.
	t.Proxy = nil
	t.MaxIdleConns = 0 // no global cap
	t.MaxIdleConnsPerHost = 1024
	t.IdleConnTimeout = 90 * time.Second
	t.ResponseHeaderTimeout = 0 // long polls and slow upstreams are the upstream's business
	return t
}

// ServeHTTP proxies r.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.rp.ServeHTTP(w, r)
}

// pick returns the next upstream in round robin that is not skipped, or,
// when all are, the next one regardless (failing open: an upstream that
// recovered is found without waiting out FailTimeout everywhere).
func (p *Proxy) pick(avoid *upstream) *upstream {
	n := uint64(len(p.ups))
	start := p.next.Add(1) - 1
	now := p.now().UnixNano()
	for i := range n {
		u := p.ups[(start+i)%n]
		if u != avoid && u.downUntil.Load() <= now {
			return u
		}
	}
	u := p.ups[start%n]
	if u == avoid && n > 1 {
		u = p.ups[(start+1)%n]
	}
	return u
}

func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	// Before anything of ours is added: a client must not be able to
	// speak for mitmwatch. Rewrite gets a copy of the headers, so the
	// middleware and handlers upstream of the proxy still see what the
	// client sent.
	stripMitmwatchHeaders(pr.Out.Header)
	pr.SetXForwarded()
	u := p.pick(nil)
	pr.SetURL(u.url)
	pr.Out.Host = pr.In.Host // the upstream sees the name the client asked for
	pr.Out = pr.Out.WithContext(context.WithValue(pr.Out.Context(), routeKey{}, &route{up: u, in: pr.In}))
	if p.annotate == nil {
		return
	}
	a := p.annotate(pr.In)
	if !a.Detected {
		return
	}
	p.addAnnotation(pr.Out.Header, &a)
}

// The annotation headers, indexing headerKeys and annotationHeaderNames,
// in the order addAnnotation adds them.
const (
	hVerdict = iota
	hConfidence
	hProduct
	hJA4
	hJA3
	hCountry
	hASN
	hSummary
	annotationHeaders // how many
)

// defaultHeaders returns the headers the proxy sends when
// [ProxyConfig.Headers] is nil: [HeaderVerdict], for an upstream that only
// needs the verdict, and [HeaderSummary], with everything.
func defaultHeaders() []string {
	return []string{HeaderVerdict, HeaderSummary}
}

// annotationHeaderNames returns the names of the headers the proxy can
// add, indexed by the h… constants: the values [ProxyConfig.Headers] takes.
func annotationHeaderNames() []string {
	names := [annotationHeaders]string{
		hVerdict: HeaderVerdict, hConfidence: HeaderConfidence, hProduct: HeaderProduct,
		hJA4: HeaderJA4, hJA3: HeaderJA3, hCountry: HeaderCountry, hASN: HeaderASN,
		hSummary: HeaderSummary,
	}
	return names[:]
}

// headerKeys are the annotation headers' names as net/http stores them,
// indexed by the h… constants; an empty name is a header not sent.
type headerKeys [annotationHeaders]string

// newHeaderKeys canonicalises the names in want (nil: all of them) and
// rejects any that is not one of annotationHeaderNames.
func newHeaderKeys(want []string) (headerKeys, error) {
	var k headerKeys
	all := annotationHeaderNames()
	if want == nil {
		want = defaultHeaders()
	}
	for i, name := range want {
		j := slices.IndexFunc(all, func(h string) bool { return strings.EqualFold(h, name) })
		if j < 0 {
			return headerKeys{}, fmt.Errorf("%w: Headers[%d]: %q is not one of %s", ErrHeaderName, i, name, strings.Join(all, ", "))
		}
		k[j] = http.CanonicalHeaderKey(all[j])
	}
	return k, nil
}

// addAnnotation adds a's headers to h, those of p.keys. It writes the map
// directly under keys canonicalised once, and cuts every value slice from
// one array: one allocation per request instead of one per header. The
// slices are full (len == cap), so whoever appends to one copies it. The
// value of a header not sent is not formatted.
func (p *Proxy) addAnnotation(h http.Header, a *Annotation) {
	if p.sent == 0 {
		return
	}
	k := &p.keys
	vals := make([]string, 0, p.sent)
	add := func(i int, v string) {
		if v == "" {
			return
		}
		vals = append(vals, v) // within capacity: earlier slices stay valid
		n := len(vals)
		h[k[i]] = vals[n-1 : n : n]
	}
	if k[hVerdict] != "" {
		add(hVerdict, a.Verdict.String())
	}
	if k[hConfidence] != "" {
		add(hConfidence, p.confidenceText(a.Confidence))
	}
	if k[hProduct] != "" {
		add(hProduct, headerSafe(a.Product))
	}
	if k[hJA4] != "" {
		add(hJA4, headerSafe(a.JA4))
	}
	if k[hJA3] != "" {
		add(hJA3, headerSafe(a.JA3))
	}
	if k[hCountry] != "" {
		add(hCountry, countryOrZZ(headerSafe(a.Country)))
	}
	if k[hASN] != "" {
		add(hASN, strconv.FormatUint(uint64(a.ASN), 10))
	}
	if k[hSummary] != "" {
		add(hSummary, p.cachedSummary(a))
	}
}

// confidenceText formats a confidence with two decimals, from a table
// (no allocation); values outside [0, 1] are clamped.
func (p *Proxy) confidenceText(c float64) string {
	return p.confTexts[confidenceIndex(c)]
}

// confidenceIndex is c in hundredths, clamped to [0, 100] (NaN is 0).
func confidenceIndex(c float64) int {
	i := int(math.Round(c * 100))
	switch {
	case i < 0 || c != c: // NaN too
		i = 0
	case i > 100:
		i = 100
	}
	return i
}

// maxHeaderValue bounds a value mitmwatch adds (product names come from
// signature files, which an operator may extend).
const maxHeaderValue = 128

// cutHeaderValue cuts v to maxHeaderValue bytes.
func cutHeaderValue(v string) string {
	if len(v) > maxHeaderValue {
		return v[:maxHeaderValue]
	}
	return v
}

// countryOrZZ is country, or "ZZ", what [HeaderCountry] says for an
// unknown country, when it is empty.
func countryOrZZ(country string) string {
	if country == "" {
		return "ZZ"
	}
	return country
}

// headerSafe cuts v to maxHeaderValue bytes, turns anything but printable
// ASCII into '?' (sfv.Printable, the rule Mitmwatch-Summary and the
// middleware's Mitmwatch-Verdict response header follow) and trims spaces
// at the ends: a header value must not carry CR/LF, and upstreams disagree
// on non-ASCII.
func headerSafe(v string) string {
	return strings.TrimSpace(sfv.Printable(cutHeaderValue(v)))
}

// stripMitmwatchHeaders deletes every header that an upstream could read
// as one of mitmwatch's. Names are compared without case and with '_' as
// '-', because CGI-style upstreams (PHP, many frameworks) map both
// "Mitmwatch-Verdict" and "Mitmwatch_Verdict" to HTTP_MITMWATCH_VERDICT.
func stripMitmwatchHeaders(h http.Header) {
	for k := range h {
		if hasMitmwatchPrefix(k) {
			delete(h, k)
		}
	}
}

// hasMitmwatchPrefix reports whether k starts with [HeaderPrefix], ASCII
// case folded and '_' matching '-'.
func hasMitmwatchPrefix(k string) bool {
	if len(k) < len(HeaderPrefix) {
		return false
	}
	for i := range len(HeaderPrefix) {
		c, want := k[i], HeaderPrefix[i]
		if want == '-' {
			if c != '-' && c != '_' {
				return false
			}
			continue
		}
		if c|0x20 != want|0x20 { // the prefix's other bytes are letters
			return false
		}
	}
	return true
}

func (p *Proxy) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		// The client went away; nobody reads the answer.
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	p.errs.Inc()
	p.logger.Warn("proxy: upstream failed", "method", r.Method, "upstream", r.URL.Host,
		"path", r.URL.Path, "err", err)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusBadGateway)
	fmt.Fprint(w, badGatewayPage)
}

const badGatewayPage = `<!doctype html>
<meta charset="utf-8">
<title>502 Bad Gateway</title>
<h1>502 Bad Gateway</h1>
<p>The service behind this site did not answer. Please try again in a moment.</p>
`

// markDown skips u for FailTimeout.
func (p *Proxy) markDown(u *upstream, err error) {
	if p.failFor < 0 {
		return
	}
	until := p.now().Add(p.failFor).UnixNano()
	old := u.downUntil.Load()
	if old > p.now().UnixNano() {
		return // already skipped; keep the first deadline
	}
	if u.downUntil.CompareAndSwap(old, until) {
		p.ejections.Inc()
		p.logger.Warn("proxy: upstream unreachable, skipping it", "upstream", u.url.Host,
			"for", p.failFor, "err", err)
	}
}

// retryTransport marks upstreams whose connections fail and retries a
// request without a body on another upstream when the connection could
// not even be made (so nothing reached the first one).
type retryTransport struct {
	p    *Proxy
	base http.RoundTripper
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rt, _ := req.Context().Value(routeKey{}).(*route)
	resp, err := t.base.RoundTrip(req)
	if err == nil || rt == nil || !isDialError(err) {
		return resp, err
	}
	t.p.markDown(rt.up, err)
	if req.Body != nil && req.Body != http.NoBody {
		return nil, err
	}
	tried := rt.up
	for range len(t.p.ups) - 1 {
		u := t.p.pick(tried)
		if u == tried {
			break
		}
		out := req.Clone(req.Context())
		pr := &httputil.ProxyRequest{In: rt.in, Out: out}
		pr.SetURL(u.url)
		out.Host = rt.in.Host
		resp, err = t.base.RoundTrip(out)
		if err == nil || !isDialError(err) {
			return resp, err
		}
		t.p.markDown(u, err)
		tried = u
	}
	return nil, err
}

// bufferPool reuses the proxy's copy buffers: without one, ReverseProxy
// allocates 32 KiB per response.
type bufferPool struct{ p sync.Pool }

var _ httputil.BufferPool = (*bufferPool)(nil)

// proxyBufferSize is ReverseProxy's own default copy buffer size.
const proxyBufferSize = 32 << 10

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, proxyBufferSize)
}

func (b *bufferPool) Put(buf []byte) {
	if cap(buf) != proxyBufferSize {
		return
	}
	buf = buf[:proxyBufferSize]
	b.p.Put(&buf)
}

// isDialError reports whether err means no connection was made.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
