package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dunglas/httpsfv"

	"github.com/mitmwatch/mitmwatch/alerts"
	"github.com/mitmwatch/mitmwatch/fingerprints"
	"github.com/mitmwatch/mitmwatch/middleware"
)

// chromeUA is a person's Chromium, as the classifier knows it.
const chromeUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"

// edgeFixture is an Edge under test, served in process on loopback.
type edgeFixture struct {
	edge *Edge
	addr string
	pool *x509.CertPool
	a, b testPair // a.example.test (the default) and b.example.test
	log  *syncBuffer
	// stop cancels Run and returns its error (idempotent).
	stop func() error
}

// startEdge serves an Edge with two certificates, loopback placed in
// KZ / AS9198 and the admin listener off; edit changes the configuration
// before it is validated.
func startEdge(t *testing.T, opts ServeOptions, edit func(*Config)) *edgeFixture {
	t.Helper()
	dir := t.TempDir()
	f := &edgeFixture{log: &syncBuffer{}}
	f.a = writeCertPair(t, dir, "a", "a.example.test")
	f.b = writeCertPair(t, dir, "b", "b.example.test")
	f.pool = x509.NewCertPool()
	f.pool.AddCert(f.a.leaf)
	f.pool.AddCert(f.b.leaf)

	cfg := DefaultConfig()
	cfg.Admin.Listen = ""
	cfg.TLS.CertFile, cfg.TLS.KeyFile = f.a.CertFile, f.a.KeyFile
	cfg.TLS.Certificates = []CertificateFiles{{CertFile: f.b.CertFile, KeyFile: f.b.KeyFile}}
	cfg.Geo.Static = []middleware.StaticGeo{{CIDR: "127.0.0.0/8", Country: "KZ", ASN: 9198, Org: "JSC Kazakhtelecom"}}
	cfg.Shutdown.Timeout = 20 * time.Second
	if edit != nil {
		edit(cfg)
	}
	opts.Listener = loopback(t)
	opts.Logger = newTestLogger(f.log)
	e, err := NewEdge(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	f.edge, f.addr = e, e.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	var once sync.Once
	var runErr error
	f.stop = func() error {
		once.Do(func() { cancel(); runErr = <-done })
		return runErr
	}
	t.Cleanup(func() {
		if err := f.stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return f
}

// client returns an HTTPS client for the edge that sends SNI sni, trusts
// the fixture's certificates, speaks HTTP/2 if h2 (else HTTP/1.1), and
// records each connection's ClientHello.
func (f *edgeFixture) client(t *testing.T, sni string, h2 bool) *testClient {
	t.Helper()
	tc := newTestClient(t, f.addr, f.pool, h2)
	tc.Transport.(*http.Transport).TLSClientConfig.ServerName = sni
	return tc
}

// do sends req through tc and returns the response with its body read.
func (tc *testClient) do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := tc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// getOK sends GET url as Chrome (its User-Agent) and returns the body of a
// 200 answer; any other status fails the test.
func (tc *testClient) getOK(t *testing.T, url string) []byte {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("User-Agent", chromeUA)
	resp, body := tc.do(t, req)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: status %d: %s", url, resp.StatusCode, body)
	}
	return body
}

// lastHello is the ClientHello of the connection dialled last.
func (tc *testClient) lastHello(t *testing.T) []byte {
	t.Helper()
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if len(tc.conns) == 0 {
		t.Fatal("no connection dialled")
	}
	return tc.conns[len(tc.conns)-1].hello()
}

func TestServeProxiesWithVerdictHeaders(t *testing.T) {
	up := newEchoUpstream(t, "up")
	f := startEdge(t, ServeOptions{}, func(c *Config) { c.Upstream = up.URL })
	for _, tt := range []struct {
		name      string
		h2        bool
		wantProto int
	}{
		{"http1", false, 1},
		{"http2", true, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tc := f.client(t, "a.example.test", tt.h2)
			req, _ := http.NewRequest("GET", "https://a.example.test/app/page?q=1", nil)
			req.Header.Set("User-Agent", chromeUA)
			// A client speaking for mitmwatch, three ways.
			req.Header.Set("Mitmwatch-Verdict", "clean")
			req.Header["mitmwatch_verdict"] = []string{"clean"}
			req.Header.Set("Mitmwatch-Country", "US")
			resp, body := tc.do(t, req)
			if resp.StatusCode != 200 || resp.ProtoMajor != tt.wantProto {
				t.Fatalf("status %d proto %s: %s", resp.StatusCode, resp.Proto, body)
			}
			got := decodeEcho(t, bytes.NewReader(body))
			_, fps, err := fingerprints.Fingerprint(tc.lastHello(t))
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{
				// Go's TLS stack under Chrome's User-Agent.
				HeaderVerdict:       "spoofed",
				"X-Forwarded-For":   "127.0.0.1",
				"X-Forwarded-Proto": "https",
			}
			for k, v := range want {
				if g := got.Header.Values(k); len(g) != 1 || g[0] != v {
					t.Errorf("upstream got %s = %q, want [%q]", k, g, v)
				}
			}
			// The default: the verdict, and everything in the summary.
			sum := summaryMembers(t, got.Header.Values(HeaderSummary))
			for k, v := range map[string]any{"verdict": httpsfv.Token("spoofed"), "ja4": fps.JA4, "ja3": fps.JA3Hash,
				"country": "KZ", "asn": int64(9198)} {
				if sum[k] != v {
					t.Errorf("upstream's summary %s = %#v, want %#v", k, sum[k], v)
				}
			}
			if c, ok := sum["confidence"].(float64); !ok || c <= 0 || c > 1 {
				t.Errorf("summary confidence %#v", sum["confidence"])
			}
			for _, h := range []string{HeaderCountry, HeaderConfidence, HeaderJA4} {
				if v := got.Header.Values(h); len(v) != 0 {
					t.Errorf("%s = %q: not a default header, and a forged one must not pass", h, v)
				}
			}
			if v := got.Header.Values("Mitmwatch_verdict"); len(v) != 0 {
				t.Errorf("the underscore alias reached the upstream: %q", v)
			}
			if got.Path != "/app/page" || got.Host != "a.example.test" {
				t.Errorf("upstream saw %s%s", got.Host, got.Path)
			}
		})
	}
}

// TestServeSendsOnlyTheConfiguredUpstreamHeaders: detection.upstream_headers
// reaches the proxy; the headers left out are absent even when a client
// forges them.
func TestServeSendsOnlyTheConfiguredUpstreamHeaders(t *testing.T) {
	up := newEchoUpstream(t, "up")
	f := startEdge(t, ServeOptions{}, func(c *Config) {
		c.Upstream = up.URL
		c.Detection.UpstreamHeaders = []string{"mitmwatch-verdict"}
	})
	tc := f.client(t, "a.example.test", false)
	req, _ := http.NewRequest("GET", "https://a.example.test/", nil)
	req.Header.Set("User-Agent", chromeUA)
	req.Header.Set(HeaderJA4, "forged")
	resp, body := tc.do(t, req)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	got := decodeEcho(t, bytes.NewReader(body)).Header
	if v := got.Values(HeaderVerdict); len(v) != 1 || v[0] != "spoofed" {
		t.Errorf("%s = %q, want [spoofed]", HeaderVerdict, v)
	}
	for _, h := range annotationHeaderNames()[1:] {
		if v := got.Values(h); len(v) != 0 {
			t.Errorf("%s = %q, want it absent", h, v)
		}
	}
}

func TestServeChoosesCertificateBySNI(t *testing.T) {
	f := startEdge(t, ServeOptions{}, nil)
	for _, tt := range []struct {
		name, sni string
		want      *testPair
	}{
		{"first_name", "a.example.test", &f.a},
		{"second_certificate", "b.example.test", &f.b},
		{"no_sni_gets_the_default", "", &f.a},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := edgeLeaf(t, f.addr, tt.sni); !bytes.Equal(got.Raw, tt.want.leaf.Raw) {
				t.Errorf("served %v, want %v", got.DNSNames, tt.want.leaf.DNSNames)
			}
		})
	}
}

// edgeLeaf handshakes with addr and returns the certificate it presents.
func edgeLeaf(t *testing.T, addr, sni string) *x509.Certificate {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: sni, InsecureSkipVerify: true}) // compared byte for byte
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0]
}

func TestServeReloadsReplacedCertificate(t *testing.T) {
	f := startEdge(t, ServeOptions{}, nil)
	if got := edgeLeaf(t, f.addr, "b.example.test"); !bytes.Equal(got.Raw, f.b.leaf.Raw) {
		t.Fatal("not serving b's first certificate")
	}
	b2 := writeCertPair(t, filepath.Dir(f.b.CertFile), "b", "b.example.test")
	if err := f.edge.Reload(); err != nil { // what SIGHUP does; the poller would too
		t.Fatal(err)
	}
	if got := edgeLeaf(t, f.addr, "b.example.test"); !bytes.Equal(got.Raw, b2.leaf.Raw) {
		t.Fatal("after replacing b's files and reloading, the old certificate is still served")
	}
	if !strings.Contains(f.log.String(), "certificate reloaded") {
		t.Errorf("reload not logged:\n%s", f.log)
	}
}

func TestServeGracefulShutdownDrainsAndFlushes(t *testing.T) {
	up, arrived, release := newSlowUpstream(t)
	f := startEdge(t, ServeOptions{}, func(c *Config) { c.Upstream = up.URL })

	tc := f.client(t, "a.example.test", true)
	type result struct {
		status int
		body   string
		err    error
	}
	res := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest("GET", "https://a.example.test/slow", nil)
		req.Header.Set("User-Agent", chromeUA)
		resp, err := tc.Do(req)
		if err != nil {
			res <- result{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		res <- result{resp.StatusCode, string(b), err}
	}()
	<-arrived // the request is in flight at the upstream

	stopped := make(chan error, 1)
	go func() { stopped <- f.stop() }()
	// Shutdown closes the listener first: wait for that (bounded), then
	// check that Run is still draining the request.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", f.addr, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the listener still accepts after shutdown began")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-stopped:
		t.Fatalf("Run returned (%v) while a request was in flight", err)
	default:
	}
	release()
	r := <-res
	if r.err != nil || r.status != 200 || r.body != "slow done" {
		t.Fatalf("in-flight request: %d %q %v, want 200 \"slow done\"", r.status, r.body, r.err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Run: %v", err)
	}

	// The recorder's aggregates reached the store before Run returned.
	now := time.Now()
	rows, err := f.edge.store.Top(context.Background(), alerts.TopQuery{From: now.Add(-time.Hour), To: now.Add(time.Minute), Limit: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Country != "KZ" || rows[0].ASN != 9198 || rows[0].Browser != 1 || rows[0].Spoofed != 1 {
		t.Errorf("store after shutdown: %+v, want KZ/9198 with the one spoofed browser connection", rows)
	}
	log := f.log.String()
	order := []string{"edge: shutting down", "edge: draining requests", "edge: public listener stopped",
		"recorder: flush aggregates done", "alerts: close evaluator and outbox done", "edge: stopped"}
	at := 0
	for _, step := range order {
		i := strings.Index(log[at:], step)
		if i < 0 {
			t.Fatalf("shutdown step %q missing or out of order in:\n%s", step, log)
		}
		at += i
	}
}

// newSlowUpstream answers "slow done" once release is called; arrived is
// closed when the first request comes in.
func newSlowUpstream(t *testing.T) (srv *httptest.Server, arrived <-chan struct{}, release func()) {
	t.Helper()
	arr, rel := make(chan struct{}), make(chan struct{})
	var arrOnce, relOnce sync.Once
	release = func() { relOnce.Do(func() { close(rel) }) }
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrOnce.Do(func() { close(arr) })
		<-rel
		io.WriteString(w, "slow done")
	}))
	// Cleanups run last-registered first: release before Close waits for
	// the handler.
	t.Cleanup(srv.Close)
	t.Cleanup(release)
	return srv, arr, release
}

func TestServeNoDetectionStillStrips(t *testing.T) {
	up := newEchoUpstream(t, "up")
	f := startEdge(t, ServeOptions{NoDetection: true}, func(c *Config) { c.Upstream = up.URL })
	tc := f.client(t, "a.example.test", true)
	req, _ := http.NewRequest("GET", "https://a.example.test/", nil)
	req.Header.Set("User-Agent", chromeUA)
	req.Header.Set("Mitmwatch-Verdict", "clean")
	resp, body := tc.do(t, req)
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		t.Fatalf("status %d proto %s", resp.StatusCode, resp.Proto)
	}
	got := decodeEcho(t, bytes.NewReader(body))
	for k := range got.Header {
		if hasMitmwatchPrefix(k) {
			t.Errorf("with detection off the upstream got %s: %q", k, got.Header[k])
		}
	}
	if f.edge.recorder != nil || f.edge.classifier != nil {
		t.Error("detection off still built a recorder or classifier")
	}
}

func TestServeWithoutUpstreamAnswersEndpoint(t *testing.T) {
	f := startEdge(t, ServeOptions{}, nil)
	tc := f.client(t, "a.example.test", false)
	body := tc.getOK(t, "https://a.example.test/.well-known/tls-interception")
	var v struct {
		Verdict string `json:"verdict"`
		Country string `json:"country"`
		ASN     uint32 `json:"asn"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	if v.Verdict != "spoofed" || v.Country != "KZ" || v.ASN != 9198 {
		t.Errorf("endpoint said %+v", v)
	}
}

// TestServeEndpointConfig: detection.endpoint moves the verdict endpoint
// or turns it off, and then its path reaches the upstream.
func TestServeEndpointConfig(t *testing.T) {
	tests := []struct {
		name     string
		endpoint EndpointSection
		path     string
		answered bool // by the edge, with the verdict; else proxied
	}{
		{"default_path_answered", EndpointSection{}, "/.well-known/tls-interception", true},
		{"custom_path_answered", EndpointSection{Path: "/_mitm/verdict"}, "/_mitm/verdict", true},
		{"default_path_proxied_once_moved", EndpointSection{Path: "/_mitm/verdict"}, "/.well-known/tls-interception", false},
		{"disabled_proxied", EndpointSection{Disabled: true}, "/.well-known/tls-interception", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newEchoUpstream(t, "up")
			f := startEdge(t, ServeOptions{}, func(c *Config) {
				c.Upstream = up.URL
				c.Detection.Endpoint = tt.endpoint
			})
			tc := f.client(t, "a.example.test", true)
			body := tc.getOK(t, "https://a.example.test"+tt.path)
			var v struct {
				Verdict string `json:"verdict"`
			}
			answered := json.Unmarshal(body, &v) == nil && v.Verdict != ""
			if answered != tt.answered {
				t.Errorf("GET %s answered by the edge = %v, want %v: %.200s", tt.path, answered, tt.answered, body)
			}
			if !tt.answered {
				if got := decodeEcho(t, bytes.NewReader(body)); got.Path != tt.path {
					t.Errorf("upstream saw path %q, want %q", got.Path, tt.path)
				}
			}
		})
	}
}

func TestNewEdgeRejectsInvalidConfig(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Listen = "0.0.0.0:8443" // no certificate off loopback
	ln, hln := loopback(t), loopback(t)
	if _, err := NewEdge(cfg, ServeOptions{Listener: ln, HTTPListener: hln}); err == nil {
		t.Fatal("NewEdge accepted a public listener without a certificate")
	}
	// The given listeners were closed: nothing holds the ports.
	for name, l := range map[string]net.Listener{"public": ln, "plain-HTTP": hln} {
		if _, err := l.Accept(); err == nil {
			t.Errorf("the %s listener given to a failed NewEdge is still open", name)
		}
	}
}

func TestStartDemoAdminShowsRecordedTraffic(t *testing.T) {
	d, err := StartDemoAdmin(DemoAdminConfig{Listener: loopback(t)})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			d.Close(context.Background())
		}
	})
	d.Recorder.Record(alerts.Observation{Country: "KZ", ASN: 9198, ASOrg: "JSC Kazakhtelecom", Browser: true,
		Verdict: alerts.VerdictIntercepted, Product: "mitmproxy", JA4: "t13i2910h2_c36778b98fa1_1f22a2ca17c4"})
	if err := d.Recorder.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(d.URL + "api/top?window=1h")
	if err != nil {
		t.Fatal(err)
	}
	var top topResponse
	err = json.NewDecoder(resp.Body).Decode(&top)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(top.Rows) != 1 || top.Rows[0].ASN != 9198 || top.Rows[0].Intercepted != 1 {
		t.Fatalf("dashboard rows %+v, want the one recorded intercepted connection in AS9198", top.Rows)
	}
	closed = true
	if err := d.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := http.Get(d.URL + "healthz"); err == nil {
		t.Error("the dashboard still answers after Close")
	}
}

func TestServeBehindProxyProtocol(t *testing.T) {
	up := newEchoUpstream(t, "up")
	f := startEdge(t, ServeOptions{}, func(c *Config) {
		c.Upstream = up.URL
		c.ProxyProtocol.Enabled = true
		c.ProxyProtocol.Trusted = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		c.Geo.Static = append(c.Geo.Static, middleware.StaticGeo{CIDR: "203.0.113.0/24", Country: "DE", ASN: 3320})
		c.Detection.UpstreamHeaders = annotationHeaderNames()
	})
	// A load balancer on loopback: PROXY v1 before the TLS handshake,
	// naming the real client. The capture must see the hello after the
	// PROXY header (listener order), and geo must place the named client.
	tc := newTestClient(t, f.addr, f.pool, false)
	tr := tc.Transport.(*http.Transport)
	tr.TLSClientConfig.ServerName = "a.example.test"
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if _, err := io.WriteString(c, "PROXY TCP4 203.0.113.5 127.0.0.1 50000 443\r\n"); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}
	body := tc.getOK(t, "https://a.example.test/")
	got := decodeEcho(t, bytes.NewReader(body)).Header
	if got.Get("X-Forwarded-For") != "203.0.113.5" || got.Get(HeaderCountry) != "DE" || got.Get(HeaderASN) != "3320" {
		t.Errorf("upstream got X-Forwarded-For %q country %q ASN %q, want the PROXY header's client in DE/3320",
			got.Get("X-Forwarded-For"), got.Get(HeaderCountry), got.Get(HeaderASN))
	}
	if got.Get(HeaderJA4) == "" || got.Get(HeaderVerdict) != "spoofed" {
		t.Errorf("no fingerprint behind the PROXY header: JA4 %q verdict %q", got.Get(HeaderJA4), got.Get(HeaderVerdict))
	}
}

// plainHTTP sends method to path on the edge's plain-HTTP listener with
// Host host, without following redirects, and returns the response with
// its body read.
func plainHTTP(t *testing.T, addr, method, host, path string) (*http.Response, string) {
	t.Helper()
	c := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer c.CloseIdleConnections()
	req, err := http.NewRequest(method, "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// unreachableURL is an https URL on a loopback port nothing listens on.
func unreachableURL(t *testing.T) string {
	t.Helper()
	ln := loopback(t)
	addr := ln.Addr().String()
	ln.Close()
	return "https://" + addr + "/directory"
}

// TestServeHTTPListener: with an HTTPListener the edge answers plain HTTP
// with CertManager.HTTPHandler: a redirect to https for GET and HEAD, 400
// for other methods, and with ACME the http-01 challenge path goes to
// autocert (never a redirect). No CA is contacted: a challenge lookup
// reads autocert's cache only.
func TestServeHTTPListener(t *testing.T) {
	type request struct {
		name, method, host, path string
		wantStatus               int
		wantLocation             string // "" means no Location header
		wantBody                 string // a substring, when set
	}
	redirects := []request{
		{"get_redirects_to_https", "GET", "a.example.test", "/path?q=1", http.StatusFound, "https://a.example.test/path?q=1", ""},
		{"head_redirects_to_https", "HEAD", "a.example.test", "/", http.StatusFound, "https://a.example.test/", ""},
		{"post_is_refused", "POST", "a.example.test", "/login", http.StatusBadRequest, "", "HTTPS"},
	}
	tests := []struct {
		name     string
		opts     func(t *testing.T) ServeOptions
		edit     func(t *testing.T, c *Config)
		requests []request
		wantLog  string
	}{
		{
			name:     "certificate_files",
			requests: append(redirects, request{"challenge_path_without_acme_redirects", "GET", "a.example.test", "/.well-known/acme-challenge/tok", http.StatusFound, "https://a.example.test/.well-known/acme-challenge/tok", ""}),
			wantLog:  "http: listening (redirect to https)",
		},
		{
			name: "self_signed_certificate",
			opts: func(t *testing.T) ServeOptions { return ServeOptions{CertDir: t.TempDir()} },
			edit: func(t *testing.T, c *Config) {
				c.TLS = TLSSection{}
			},
			requests: redirects,
			wantLog:  "http: listening (redirect to https)",
		},
		{
			name: "acme",
			edit: func(t *testing.T, c *Config) {
				c.TLS = TLSSection{ACME: &ACMESection{Domains: []string{"acme.example.test"}, CacheDir: t.TempDir(), DirectoryURL: unreachableURL(t)}}
			},
			requests: []request{
				// autocert looks the token up in memory, then in its
				// cache: a miss is its 404, not a redirect.
				{"unknown_token_is_autocert_404", "GET", "acme.example.test", "/.well-known/acme-challenge/unknown-token", http.StatusNotFound, "", "cache miss"},
				// Its host policy runs first: a name outside tls.acme.domains.
				{"challenge_for_another_host_is_forbidden", "GET", "other.example.test", "/.well-known/acme-challenge/unknown-token", http.StatusForbidden, "", "not configured in HostWhitelist"},
				{"get_redirects_to_https", "GET", "acme.example.test", "/path?q=1", http.StatusFound, "https://acme.example.test/path?q=1", ""},
				{"post_is_refused", "POST", "acme.example.test", "/", http.StatusBadRequest, "", "HTTPS"},
			},
			wantLog: "http: listening (ACME http-01 challenges, redirect to https)",
		},
		{
			name: "https_port_names_the_port",
			edit: func(t *testing.T, c *Config) { c.HTTPSPort = 8443 },
			requests: []request{
				{"get_redirects_to_the_port", "GET", "a.example.test", "/path?q=1", http.StatusFound, "https://a.example.test:8443/path?q=1", ""},
				{"post_is_refused", "POST", "a.example.test", "/login", http.StatusBadRequest, "", "HTTPS"},
			},
			wantLog: "http: listening (redirect to https)",
		},
		{
			name: "acme_with_https_port",
			edit: func(t *testing.T, c *Config) {
				c.TLS = TLSSection{ACME: &ACMESection{Domains: []string{"acme.example.test"}, CacheDir: t.TempDir(), DirectoryURL: unreachableURL(t)}}
				c.HTTPSPort = 8443
			},
			requests: []request{
				{"unknown_token_is_autocert_404", "GET", "acme.example.test", "/.well-known/acme-challenge/unknown-token", http.StatusNotFound, "", "cache miss"},
				{"get_redirects_to_the_port", "GET", "acme.example.test", "/path?q=1", http.StatusFound, "https://acme.example.test:8443/path?q=1", ""},
			},
			wantLog: "http: listening (ACME http-01 challenges, redirect to https)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := ServeOptions{}
			if tt.opts != nil {
				opts = tt.opts(t)
			}
			opts.HTTPListener = loopback(t)
			f := startEdge(t, opts, func(c *Config) {
				if tt.edit != nil {
					tt.edit(t, c)
				}
			})
			addr := f.edge.HTTPAddr()
			if addr == nil || addr.String() != opts.HTTPListener.Addr().String() {
				t.Fatalf("HTTPAddr() = %v, want %v", addr, opts.HTTPListener.Addr())
			}
			for _, r := range tt.requests {
				t.Run(r.name, func(t *testing.T) {
					resp, body := plainHTTP(t, addr.String(), r.method, r.host, r.path)
					if resp.StatusCode != r.wantStatus {
						t.Errorf("status %d, want %d: %s", resp.StatusCode, r.wantStatus, body)
					}
					if got := resp.Header.Get("Location"); got != r.wantLocation {
						t.Errorf("Location %q, want %q", got, r.wantLocation)
					}
					if !strings.Contains(body, r.wantBody) {
						t.Errorf("body %q, want …%s…", body, r.wantBody)
					}
				})
			}
			if !strings.Contains(f.log.String(), tt.wantLog) || !strings.Contains(f.log.String(), addr.String()) {
				t.Errorf("start not logged as %q with %s:\n%s", tt.wantLog, addr, f.log)
			}

			// Shutdown closes the plain-HTTP listener too.
			if err := f.stop(); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if c, err := net.DialTimeout("tcp", addr.String(), time.Second); err == nil {
				c.Close()
				t.Error("the plain-HTTP listener still accepts after shutdown")
			}
			if !strings.Contains(f.log.String(), "http: listener stopped") {
				t.Errorf("stop not logged:\n%s", f.log)
			}
		})
	}
}

// TestServeHTTPListenerOff: without http_listen or an HTTPListener there
// is no plain-HTTP listener.
func TestServeHTTPListenerOff(t *testing.T) {
	f := startEdge(t, ServeOptions{}, nil)
	if a := f.edge.HTTPAddr(); a != nil {
		t.Errorf("HTTPAddr() = %v, want nil", a)
	}
	if strings.Contains(f.log.String(), "http: listening") {
		t.Errorf("a plain-HTTP listener was started:\n%s", f.log)
	}
}

// TestServeHTTPListenerFailureStopsEdge: when the plain-HTTP listener
// fails by itself, Run shuts everything down and returns its error, as it
// does for the admin listener.
func TestServeHTTPListenerFailureStopsEdge(t *testing.T) {
	dir := t.TempDir()
	a := writeCertPair(t, dir, "a", "a.example.test")
	cfg := DefaultConfig()
	cfg.Admin.Listen = ""
	cfg.TLS.CertFile, cfg.TLS.KeyFile = a.CertFile, a.KeyFile
	hln := loopback(t)
	e, err := NewEdge(cfg, ServeOptions{Listener: loopback(t), HTTPListener: hln})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	// Wait until it serves, then take the listener away under it.
	resp, _ := plainHTTP(t, hln.Addr().String(), "GET", "a.example.test", "/")
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status %d, want the redirect", resp.StatusCode)
	}
	hln.Close()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "server: http listener stopped") {
			t.Errorf("Run = %v, want the plain-HTTP listener's error", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not stop after its plain-HTTP listener failed")
	}
	if c, err := net.DialTimeout("tcp", e.Addr().String(), time.Second); err == nil {
		c.Close()
		t.Error("the public listener still accepts after the edge stopped")
	}
}
