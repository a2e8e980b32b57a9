package middleware_test

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/mitmwatch/mitmwatch/fingerprints"
	"github.com/mitmwatch/mitmwatch/middleware"
)

// The three lines: the middleware around the application, ConnContext on
// the server, the capture listener under TLS. Handlers read the verdict
// with FromContext.
func ExampleNew() {
	mw, err := middleware.New(middleware.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		v, _ := middleware.FromContext(r.Context())
		fmt.Fprintf(w, "verdict: %s\n", v.Verdict.Verdict)
	})
	srv := &http.Server{Handler: mw(mux), ConnContext: middleware.ConnContext}

	// In a real server:
	//	ln, _ := net.Listen("tcp", ":443")
	//	srv.ServeTLS(fingerprints.NewListener(ln, fingerprints.ListenerConfig{}), "cert.pem", "key.pem")
	_ = srv
	_ = fingerprints.NewListener

	// Without the capture listener there is no hello to judge, and the
	// verdict endpoint says so.
	rec := httptest.NewRecorder()
	srv.Handler.ServeHTTP(rec, httptest.NewRequest("GET", middleware.DefaultEndpointPath, nil))
	var v middleware.Verdict
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rec.Code, rec.Header().Get("Cache-Control"))
	fmt.Println(v.Verdict.Verdict, v.Source, v.Country)
	fmt.Println(v.Error)
	// Output:
	// 200 no-store
	// unknown none ZZ
	// middleware: no ClientHello captured for this connection
}

// Behind a CDN or a proxy that terminates TLS, trust its addresses and let
// it pass the client's fingerprint in a header.
func ExampleConfig_trustedUpstream() {
	mw, err := middleware.New(middleware.Config{
		TrustedProxies:    []string{"203.0.113.0/24"},
		UpstreamJA4Header: "CloudFront-Viewer-JA4-Fingerprint",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, _ := middleware.FromContext(r.Context())
		fmt.Println(v.Source, v.Verdict.Verdict, v.Product)
	}))

	// mitmproxy's hello (testdata), reported by the CDN for a request
	// with a person's Chrome headers.
	const mitmproxyJA4 = "t13d2911h2_c36778b98fa1_1f22a2ca17c4"
	for _, peer := range []string{"203.0.113.7:1234", "198.51.100.7:1234"} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = peer
		r.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36")
		r.Header.Set("Accept-Language", "en-US,en;q=0.9")
		r.Header.Set("Sec-Fetch-Mode", "navigate")
		r.Header.Set("CloudFront-Viewer-JA4-Fingerprint", mitmproxyJA4)
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	// Output:
	// upstream_fingerprint intercepted mitmproxy
	// none unknown
}

// A handler that runs on every request (a proxy adding headers, an access
// log) reads the Brief: the decision, JA4, JA3 hash and network, without
// the fingerprints only the whole Verdict carries.
func ExampleBriefFromContext() {
	mw, err := middleware.New(middleware.Config{
		TrustedProxies:    []string{"203.0.113.0/24"},
		UpstreamJA4Header: "X-JA4",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := middleware.BriefFromContext(r.Context())
		fmt.Println(ok, b.Verdict.Verdict, b.Product, b.JA4, b.Country)
	}))
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "203.0.113.7:1234"
	r.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36")
	r.Header.Set("Accept-Language", "en-US,en;q=0.9")
	r.Header.Set("Sec-Fetch-Mode", "navigate")
	r.Header.Set("X-JA4", "t13d2911h2_c36778b98fa1_1f22a2ca17c4") // mitmproxy's
	h.ServeHTTP(httptest.NewRecorder(), r)
	// Output:
	// true intercepted mitmproxy t13d2911h2_c36778b98fa1_1f22a2ca17c4 ZZ
}

// Describe gives the hello-only part of a Verdict, for tools that have a
// hello but no request.
func ExampleDescribe() {
	b, err := os.ReadFile("../testdata/clienthello/chromium-156-direct.hex")
	if err != nil {
		fmt.Println(err)
		return
	}
	raw, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		fmt.Println(err)
		return
	}
	h, err := fingerprints.ParseClientHello(raw)
	v := middleware.Describe(h, err)
	fmt.Println(v.JA4, v.TLSVersion, v.ALPN, v.SNI, v.Source)
	// The same hello, passed by a trusted proxy, would travel as base64.
	fmt.Println(len(base64.StdEncoding.EncodeToString(raw)) > 0)
	// Output:
	// t13d1517h2_8daaf6152771_cb7bf5808d99 TLS 1.3 [h2 http/1.1] localhost listener
	// true
}

// The PROXY protocol listener needs the addresses of the load balancers
// whose headers it may believe.
func ExampleProxyProtocolListener() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ln.Close()
	if _, err := middleware.ProxyProtocolListener(ln, nil, nil); err != nil {
		fmt.Println(err)
	}
	pl, err := middleware.ProxyProtocolListener(ln, []string{"10.0.0.0/8"}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	// TCP → PROXY → capture → TLS.
	capture := fingerprints.NewListener(pl, fingerprints.ListenerConfig{})
	fmt.Println(capture.Addr().String() == ln.Addr().String())
	// Output:
	// middleware: invalid config: trusted: no trusted load balancer: without one no PROXY header may be believed
	// true
}
