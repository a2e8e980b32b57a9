package server

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// BenchmarkUpstreamHeaders measures what the annotation headers cost
// net/http on both ends of the upstream connection, without a network:
// the proxy adds them to a forwarded request's headers, the edge's
// transport writes the request (Request.Write: validation, sort,
// newline replacement, copy) and the upstream reads it (ReadRequest:
// parse, canonical names, one string per value). Compare each header set
// with "none"; the request is wrk's bare one as the edge forwards it. The
// annotation is the same in every round, so the summary comes from the
// proxy's memo, as on a kept-alive connection.
func BenchmarkUpstreamHeaders(b *testing.B) {
	a := Annotation{Detected: true, Verdict: fingerprints.OutcomeClean, Confidence: 0.95,
		JA4: "t13d1516h2_8daaf6152771_02713d6af862", JA3: "0123456789abcdef0123456789abcdef"}
	for _, bc := range []struct {
		name    string
		headers []string
	}{
		{"none", []string{}},
		{"default_verdict_summary", nil},
		{"summary", []string{HeaderSummary}},
		{"seven", annotationHeaderNames()[:hSummary]},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p, err := NewProxy(ProxyConfig{Upstreams: []string{"http://127.0.0.1:8080"}, Headers: bc.headers})
			if err != nil {
				b.Fatal(err)
			}
			req, err := http.NewRequest("GET", "http://127.0.0.1:8080/", nil)
			if err != nil {
				b.Fatal(err)
			}
			req.Host = "site.example"
			var wire bytes.Buffer
			bw := bufio.NewWriter(&wire)
			rd := bytes.NewReader(nil)
			br := bufio.NewReader(rd)
			b.ReportAllocs()
			for b.Loop() {
				req.Header = http.Header{
					"X-Forwarded-For":   {"127.0.0.1"},
					"X-Forwarded-Host":  {"site.example"},
					"X-Forwarded-Proto": {"https"},
					"User-Agent":        {""},
				}
				p.addAnnotation(req.Header, &a)
				wire.Reset()
				if err := req.Write(bw); err != nil {
					b.Fatal(err)
				}
				bw.Flush()
				rd.Reset(wire.Bytes())
				br.Reset(rd)
				in, err := http.ReadRequest(br)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, in.Body)
			}
		})
	}
}
