package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// cannedTransport answers every request at once without a network, so a
// benchmark measures the proxy's own work (Rewrite, headers, copying).
type cannedTransport struct{}

func (cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		r.Body.Close()
	}
	return &http.Response{
		StatusCode:    200,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"text/plain"}},
		Body:          io.NopCloser(strings.NewReader("ok\n")),
		ContentLength: 3,
		Request:       r,
	}, nil
}

// browserHeaders are the request headers of a Chromium navigation.
func browserHeaders() http.Header {
	return http.Header{
		"User-Agent":                {chromeUA},
		"Accept":                    {"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"},
		"Accept-Encoding":           {"gzip, deflate, br, zstd"},
		"Accept-Language":           {"en-US,en;q=0.9"},
		"Sec-Ch-Ua":                 {`"Chromium";v="156", "Not-A.Brand";v="24"`},
		"Sec-Ch-Ua-Mobile":          {"?0"},
		"Sec-Ch-Ua-Platform":        {`"Linux"`},
		"Sec-Fetch-Dest":            {"document"},
		"Sec-Fetch-Mode":            {"navigate"},
		"Sec-Fetch-Site":            {"none"},
		"Sec-Fetch-User":            {"?1"},
		"Upgrade-Insecure-Requests": {"1"},
		"Cookie":                    {"session=0123456789abcdef; theme=dark"},
	}
}

func BenchmarkProxyServeHTTP(b *testing.B) {
	annotate := func(*http.Request) Annotation {
		return Annotation{Detected: true, Verdict: fingerprints.OutcomeClean, Confidence: 0.95,
			JA4: "t13d1516h2_8daaf6152771_02713d6af862", JA3: "0123456789abcdef0123456789abcdef", Country: "KZ", ASN: 9198}
	}
	forged := browserHeaders()
	// An attacker's request: as many Mitmwatch-ish headers as a 64 KiB
	// header block holds, every one to be stripped.
	for i := range 1000 {
		forged[fmt.Sprintf("Mitmwatch_Forged-%d", i)] = []string{"clean"}
	}
	for _, bc := range []struct {
		name     string
		annotate func(*http.Request) Annotation
		header   http.Header
	}{
		{"browser_detection_off", nil, browserHeaders()},
		{"browser_annotated", annotate, browserHeaders()},
		{"attacker_1000_forged_headers", annotate, forged},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p, err := NewProxy(ProxyConfig{Upstreams: []string{"http://upstream.test"}, Transport: cannedTransport{}, Annotate: bc.annotate})
			if err != nil {
				b.Fatal(err)
			}
			req := httptest.NewRequest("GET", "https://site.example/page", nil)
			req.Header = bc.header
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				p.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatal(rec.Code)
				}
			}
		})
	}
}

func BenchmarkStripMitmwatchHeaders(b *testing.B) {
	for _, bc := range []struct {
		name  string
		extra int
	}{
		{"browser", 0},
		{"attacker_1000", 1000},
	} {
		b.Run(bc.name, func(b *testing.B) {
			base := browserHeaders()
			for i := range bc.extra {
				base[fmt.Sprintf("X-Padding-%d", i)] = []string{"x"}
			}
			b.ReportAllocs()
			for b.Loop() {
				// Stripping a clone: the proxy strips the outgoing copy.
				h := base.Clone()
				h["Mitmwatch_Verdict"] = []string{"clean"}
				stripMitmwatchHeaders(h)
			}
		})
	}
}

// BenchmarkEdge measures whole requests through an in-process edge (TLS,
// capture, middleware, proxy) to a local upstream, detection on and off,
// on kept-alive connections and on a new connection per request. The
// client's work is included; compare on with off. scripts/bench-edge is
// the load test with a real load generator.
func BenchmarkEdge(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "ok\n")
	}))
	defer up.Close()
	for _, detection := range []bool{true, false} {
		cfg := DefaultConfig()
		cfg.Admin.Listen = ""
		cfg.Upstream = up.URL
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		dir := b.TempDir()
		e, err := NewEdge(cfg, ServeOptions{Listener: ln, NoDetection: !detection, CertDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- e.Run(ctx) }()
		for _, mode := range []string{"keepalive", "newconn"} {
			name := fmt.Sprintf("detection=%v/%s", detection, mode)
			b.Run(name, func(b *testing.B) {
				tr := &http.Transport{
					TLSClientConfig:     &tls.Config{InsecureSkipVerify: true}, // the edge's self-signed certificate
					MaxIdleConnsPerHost: 64,
					DisableKeepAlives:   mode == "newconn",
				}
				defer tr.CloseIdleConnections()
				client := &http.Client{Transport: tr}
				url := "https://" + e.Addr().String() + "/"
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						req, _ := http.NewRequest("GET", url, nil)
						req.Header.Set("User-Agent", chromeUA)
						resp, err := client.Do(req)
						if err != nil {
							b.Error(err)
							return
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				})
			})
		}
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
}
