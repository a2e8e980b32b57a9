package server

import (
	"fmt"
	"io"
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
