package server

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// echoUpstream answers every request with the request's headers and Host
// as JSON, and counts requests.
type echoUpstream struct {
	*httptest.Server
	hits atomic.Int64
}

// echoed is what echoUpstream answers.
type echoed struct {
	Host   string      `json:"host"`
	Path   string      `json:"path"`
	Header http.Header `json:"header"`
	Name   string      `json:"name"`
}

func newEchoUpstream(t testing.TB, name string) *echoUpstream {
	t.Helper()
	u := &echoUpstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(echoed{Host: r.Host, Path: r.URL.Path, Header: r.Header, Name: name})
	}))
	t.Cleanup(u.Close)
	return u
}

func decodeEcho(t *testing.T, body io.Reader) echoed {
	t.Helper()
	var e echoed
	if err := json.NewDecoder(body).Decode(&e); err != nil {
		t.Fatal(err)
	}
	return e
}

func newTestProxy(t testing.TB, cfg ProxyConfig) *Proxy {
	t.Helper()
	p, err := NewProxy(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProxyStripsClientSentMitmwatchHeaders(t *testing.T) {
	up := newEchoUpstream(t, "a")
	annotate := func(*http.Request) Annotation {
		return Annotation{Detected: true, Verdict: fingerprints.OutcomeIntercepted, Product: "mitmproxy",
			Confidence: 0.95, JA4: "t13d1516h2_8daaf6152771_02713d6af862", JA3: "0123456789abcdef0123456789abcdef",
			Country: "KZ", ASN: 9198}
	}
	tests := []struct {
		name     string
		header   string // sent by the client
		annotate bool
		// want is the header the upstream must see ("" = absent), read
		// under its canonical name.
		wantName, want string
	}{
		{"forged_verdict_clean_replaced_by_ours", "Mitmwatch-Verdict", true, HeaderVerdict, "intercepted"},
		{"forged_verdict_dropped_when_detection_off", "Mitmwatch-Verdict", false, HeaderVerdict, ""},
		{"lowercase_forgery", "mitmwatch-verdict", false, HeaderVerdict, ""},
		{"underscore_alias_read_by_cgi_upstreams", "Mitmwatch_Verdict", false, "Mitmwatch_verdict", ""},
		{"mixed_case_underscore_alias", "MITMWATCH_COUNTRY", false, "Mitmwatch_country", ""},
		{"forged_header_we_never_set", "Mitmwatch-Admin", true, "Mitmwatch-Admin", ""},
		{"forged_country_dropped_as_not_sent_by_default", "Mitmwatch-Country", true, HeaderCountry, ""},
		{"forged_summary_replaced", "Mitmwatch-Summary", true, HeaderSummary,
			`verdict=intercepted, confidence=0.95, product="mitmproxy", ja4="t13d1516h2_8daaf6152771_02713d6af862", ja3="0123456789abcdef0123456789abcdef", country="KZ", asn=9198`},
		{"unrelated_header_kept", "X-Mitmwatch-Note", false, "X-Mitmwatch-Note", "clean"},
		{"prefix_without_separator_kept", "Mitmwatchy", false, "Mitmwatchy", "clean"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ProxyConfig{Upstreams: []string{up.URL}}
			if tt.annotate {
				cfg.Annotate = annotate
			}
			p := newTestProxy(t, cfg)
			req := httptest.NewRequest("GET", "https://site.example/x", nil)
			// Set the raw map key: net/http's server keeps a name it
			// cannot canonicalise (underscores are canonicalised, but
			// the point is what reaches the upstream) as sent.
			req.Header[tt.header] = []string{"clean"}
			rec := httptest.NewRecorder()
			p.ServeHTTP(rec, req)
			if rec.Code != 200 {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			got := decodeEcho(t, rec.Body).Header
			if v := got.Values(tt.wantName); (tt.want == "" && len(v) != 0) || (tt.want != "" && (len(v) != 1 || v[0] != tt.want)) {
				t.Errorf("upstream got %s = %q, want %q", tt.wantName, v, tt.want)
			}
			// The handler in front of the proxy (the middleware, the
			// application) still sees what the client sent.
			if req.Header[tt.header][0] != "clean" {
				t.Error("the proxy modified the incoming request's headers")
			}
		})
	}
}

func TestProxyAddsAnnotation(t *testing.T) {
	up := newEchoUpstream(t, "a")
	p := newTestProxy(t, ProxyConfig{Upstreams: []string{up.URL + "/base"}, Headers: annotationHeaderNames(), Annotate: func(*http.Request) Annotation {
		return Annotation{Detected: true, Verdict: fingerprints.OutcomeIntercepted, Product: "Evil\r\nX-Injected: 1 Proxy ☃",
			Confidence: 0.951, JA4: "t13d1516h2_8daaf6152771_02713d6af862", JA3: "0123456789abcdef0123456789abcdef", ASN: 0}
	}})
	req := httptest.NewRequest("GET", "https://site.example/x", nil)
	req.RemoteAddr = "192.0.2.7:5555"
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, req)
	e := decodeEcho(t, rec.Body)
	want := map[string]string{
		HeaderVerdict:    "intercepted",
		HeaderConfidence: "0.95",
		HeaderJA4:        "t13d1516h2_8daaf6152771_02713d6af862",
		HeaderJA3:        "0123456789abcdef0123456789abcdef",
		HeaderCountry:    "ZZ",
		HeaderASN:        "0",
		HeaderProduct:    "Evil??X-Injected: 1 Proxy ???",
		HeaderSummary: `verdict=intercepted, confidence=0.95, product="Evil??X-Injected: 1 Proxy ???", ` +
			`ja4="t13d1516h2_8daaf6152771_02713d6af862", ja3="0123456789abcdef0123456789abcdef", country="ZZ", asn=0`,
		"X-Forwarded-For":  "192.0.2.7",
		"X-Forwarded-Host": "site.example",
	}
	for k, v := range want {
		if got := e.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if e.Header.Get("X-Injected") != "" {
		t.Error("a CR LF in a product name injected a header")
	}
	if e.Host != "site.example" || e.Path != "/base/x" {
		t.Errorf("upstream saw host %q path %q, want the client's host and /base/x", e.Host, e.Path)
	}
}

// TestProxySendsOnlyTheConfiguredHeaders: ProxyConfig.Headers picks which
// annotation headers reach the upstream; a forged one is stripped whether
// or not it is picked.
func TestProxySendsOnlyTheConfiguredHeaders(t *testing.T) {
	up := newEchoUpstream(t, "a")
	annotated := 0
	annotate := func(*http.Request) Annotation {
		annotated++
		return Annotation{Detected: true, Verdict: fingerprints.OutcomeIntercepted, Product: "mitmproxy",
			Confidence: 0.95, JA4: "t13d1516h2_8daaf6152771_02713d6af862", JA3: "0123456789abcdef0123456789abcdef",
			Country: "KZ", ASN: 9198}
	}
	all := annotationHeaderNames()
	tests := []struct {
		name    string
		headers []string
		want    []string
	}{
		{"nil_sends_the_default_two", nil, []string{HeaderVerdict, HeaderSummary}},
		{"all_eight_by_name", all, all},
		{"two_named_in_any_case", []string{"mitmwatch-verdict", "MITMWATCH-JA4"}, []string{HeaderVerdict, HeaderJA4}},
		{"repeated_name_sent_once", []string{HeaderASN, HeaderASN}, []string{HeaderASN}},
		{"empty_list_sends_none", []string{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := annotated
			p := newTestProxy(t, ProxyConfig{Upstreams: []string{up.URL}, Annotate: annotate, Headers: tt.headers})
			req := httptest.NewRequest("GET", "https://site.example/x", nil)
			for _, h := range all {
				req.Header.Set(h, "forged")
			}
			rec := httptest.NewRecorder()
			p.ServeHTTP(rec, req)
			got := decodeEcho(t, rec.Body).Header
			for _, h := range all {
				v := got.Values(h)
				switch {
				case slices.Contains(tt.want, h) && (len(v) != 1 || v[0] == "forged"):
					t.Errorf("%s = %q, want mitmwatch's one value", h, v)
				case !slices.Contains(tt.want, h) && len(v) != 0:
					t.Errorf("%s = %q, want it absent", h, v)
				}
			}
			if annotated != before+1 {
				t.Errorf("Annotate ran %d times, want once: it also notes grades", annotated-before)
			}
		})
	}
}

func TestNewProxyRejectsAnUnknownHeaderName(t *testing.T) {
	_, err := NewProxy(ProxyConfig{Upstreams: []string{"http://127.0.0.1:1"}, Headers: []string{HeaderVerdict, "Mitmwatch-Ja5"}})
	if !errors.Is(err, ErrHeaderName) || !strings.Contains(err.Error(), `Headers[1]: "Mitmwatch-Ja5"`) {
		t.Errorf("err = %v, want ErrHeaderName naming Headers[1]", err)
	}
}

func TestProxyRoundRobinSkipsDeadUpstream(t *testing.T) {
	a, b := newEchoUpstream(t, "a"), newEchoUpstream(t, "b")
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close() // connections to it are refused
	reg := prometheus.NewRegistry()
	p := newTestProxy(t, ProxyConfig{Upstreams: []string{a.URL, deadURL, b.URL}, Registerer: reg})

	seen := map[string]int{}
	for range 9 {
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, httptest.NewRequest("GET", "https://site.example/", nil))
		if rec.Code != 200 {
			t.Fatalf("GET with a dead upstream in the list: status %d (a request without a body must be retried elsewhere)", rec.Code)
		}
		seen[decodeEcho(t, rec.Body).Name]++
	}
	if seen["a"] == 0 || seen["b"] == 0 {
		t.Errorf("requests per upstream %v: want both live upstreams used", seen)
	}
	if n := certMetricValue(t, p.ejections); n != 1 {
		t.Errorf("ejections = %v, want 1 (the dead upstream, skipped afterwards)", n)
	}

	// A request with a body is not retried (it may not be replayable),
	// but the dead upstream is skipped now, so it lands on a live one.
	for range 4 {
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, httptest.NewRequest("POST", "https://site.example/", strings.NewReader("body")))
		if rec.Code != 200 {
			t.Fatalf("POST while the dead upstream is skipped: status %d", rec.Code)
		}
	}
}

func TestProxyBadGateway(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	log := &syncBuffer{}
	p := newTestProxy(t, ProxyConfig{Upstreams: []string{dead.URL}, Logger: newTestLogger(log)})
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest("GET", "https://site.example/", nil))
	if rec.Code != http.StatusBadGateway || !strings.Contains(rec.Body.String(), "502 Bad Gateway") {
		t.Errorf("got %d %q, want the 502 page", rec.Code, rec.Body)
	}
	if !strings.Contains(log.String(), "upstream failed") {
		t.Errorf("502 not logged:\n%s", log)
	}
	if n := certMetricValue(t, p.errs); n != 1 {
		t.Errorf("errors = %v, want 1", n)
	}
}

// TestProxyStreamsResponses: a response of unknown length (chunked)
// reaches the client write by write.
func TestProxyStreamsResponses(t *testing.T) {
	url, release := heldStream(t, nil, "first\n", "second\n")
	// The first line arrives while the upstream still holds the rest: the
	// proxy flushed it instead of buffering.
	resp := getWhileHeld(t, url, "first\n")
	release()
	rest, _ := io.ReadAll(resp.Body)
	if string(rest) != "second\n" {
		t.Errorf("rest %q", rest)
	}
}

// TestProxyStreamsEventStreamOfKnownLength: a text/event-stream response
// is flushed write by write even with a Content-Length, which would
// otherwise let net/http buffer it (docs: "responses of unknown length or
// text/event-stream").
func TestProxyStreamsEventStreamOfKnownLength(t *testing.T) {
	first, second := "data: first\n\n", "data: second\n\n"
	url, release := heldStream(t, func(h http.Header) {
		h.Set("Content-Type", "text/event-stream")
		h.Set("Content-Length", strconv.Itoa(len(first)+len(second)))
	}, first, second)
	resp := getWhileHeld(t, url, first)
	if resp.ContentLength != int64(len(first)+len(second)) {
		t.Fatalf("Content-Length %d: the case needs a known length", resp.ContentLength)
	}
	release()
	rest, _ := io.ReadAll(resp.Body)
	if string(rest) != second {
		t.Errorf("rest %q", rest)
	}
}

// heldStream starts, behind a test proxy, an upstream that sets its
// headers with setHeader (if non-nil), writes first, flushes, and writes
// second only once release is called. release may be called more than
// once, and runs at cleanup too, so a failing test does not leave the
// handler waiting.
func heldStream(t *testing.T, setHeader func(http.Header), first, second string) (url string, release func()) {
	t.Helper()
	held := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if setHeader != nil {
			setHeader(w.Header())
		}
		io.WriteString(w, first)
		w.(http.Flusher).Flush()
		<-held
		io.WriteString(w, second)
	}))
	t.Cleanup(up.Close)
	front := httptest.NewServer(newTestProxy(t, ProxyConfig{Upstreams: []string{up.URL}}))
	t.Cleanup(front.Close)
	release = sync.OnceFunc(func() { close(held) })
	t.Cleanup(release)
	return front.URL, release
}

// getWhileHeld GETs url from a heldStream and fails the test unless the
// response's headers and first arrive within 5 s, while the upstream still
// holds the rest: a proxy that buffers what the upstream flushed fails
// here instead of hanging. The body is closed at cleanup.
func getWhileHeld(t *testing.T, url, first string) *http.Response {
	t.Helper()
	type result struct {
		resp  *http.Response
		first string
		err   error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Get(url)
		if err != nil {
			done <- result{err: err}
			return
		}
		got := make([]byte, len(first))
		_, err = io.ReadFull(resp.Body, got)
		done <- result{resp, string(got), err}
	}()
	select {
	case r := <-done:
		if r.resp != nil {
			t.Cleanup(func() { r.resp.Body.Close() })
		}
		if r.err != nil || r.first != first {
			t.Fatalf("first part %q, %v; want %q", r.first, r.err, first)
		}
		return r.resp
	case <-time.After(5 * time.Second):
		t.Fatalf("%q did not arrive while the upstream held the rest: the proxy buffered it", first)
		return nil
	}
}

func TestProxyPassesWebSocketUpgrade(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" {
			http.Error(w, "want an upgrade", 400)
			return
		}
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		// Echo one line, upper-cased, to prove bytes flow both ways.
		line, _ := brw.ReadString('\n')
		brw.WriteString(strings.ToUpper(line))
		brw.Flush()
	}))
	defer up.Close()
	front := httptest.NewServer(newTestProxy(t, ProxyConfig{Upstreams: []string{up.URL}}))
	defer front.Close()

	c, err := net.Dial("tcp", front.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: site.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d, want 101", resp.StatusCode)
	}
	io.WriteString(c, "hello\n")
	line, err := br.ReadString('\n')
	if err != nil || line != "HELLO\n" {
		t.Errorf("echo %q, %v", line, err)
	}
}

func TestNewProxyRejectsBadUpstreams(t *testing.T) {
	for _, tt := range []struct {
		name string
		ups  []string
	}{
		{"none", nil},
		{"no_scheme", []string{"127.0.0.1:8080"}},
		{"ftp", []string{"ftp://example.test/"}},
		{"credentials_in_url", []string{"http://user:pw@example.test/"}},
		{"query", []string{"http://example.test/?a=1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewProxy(ProxyConfig{Upstreams: tt.ups}); !errors.Is(err, ErrUpstream) {
				t.Errorf("err = %v, want ErrUpstream", err)
			}
		})
	}
}

func TestHeaderSafe(t *testing.T) {
	for in, want := range map[string]string{
		"mitmproxy":              "mitmproxy",
		" padded ":               "padded",
		"a\r\nb":                 "a??b",
		"Kaspersky ☃":            "Kaspersky ???",
		strings.Repeat("x", 300): strings.Repeat("x", maxHeaderValue),
	} {
		if got := headerSafe(in); got != want {
			t.Errorf("headerSafe(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPickFailsOpenWhenAllUpstreamsAreDown(t *testing.T) {
	p := newTestProxy(t, ProxyConfig{Upstreams: []string{"http://127.0.0.1:1", "http://127.0.0.1:2"}})
	for _, u := range p.ups {
		p.markDown(u, errors.New("test"))
	}
	seen := map[*upstream]bool{}
	for range 4 {
		seen[p.pick(nil)] = true
	}
	if len(seen) != 2 {
		t.Errorf("with every upstream skipped, pick used %d of 2: want round robin over all", len(seen))
	}
}

// countingListener counts the Write calls on the connections it accepts.
type countingListener struct {
	net.Listener
	writes atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, l: l}, nil
}

type countingConn struct {
	net.Conn
	l *countingListener
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.l.writes.Add(1)
	return c.Conn.Write(b)
}

func TestProxySendsASmallResponseOfKnownLengthInOneWrite(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "3")
		io.WriteString(w, "ok\n")
	}))
	defer up.Close()
	front := httptest.NewUnstartedServer(newTestProxy(t, ProxyConfig{Upstreams: []string{up.URL}}))
	cl := &countingListener{Listener: front.Listener}
	front.Listener = cl
	front.Start()
	defer front.Close()

	c, err := net.Dial("tcp", front.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for i := range 3 {
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: site.example\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "ok\n" {
			t.Fatalf("request %d: body %q", i, body)
		}
	}
	// Headers and body together: a flush of the headers alone (what
	// FlushInterval -1 does) would be a second write, and a second TLS
	// record, per response.
	if n := cl.writes.Load(); n != 3 {
		t.Errorf("%d writes to the client for 3 small responses, want 3", n)
	}
}
