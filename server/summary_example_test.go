package server_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/dunglas/httpsfv"

	"github.com/mitmwatch/mitmwatch/fingerprints"
	"github.com/mitmwatch/mitmwatch/server"
)

// What an upstream behind the edge receives by default, and one way to
// read the summary: any RFC 8941 parser (here github.com/dunglas/httpsfv)
// gives each member with its type.
func ExampleNewProxy_upstreamHeaders() {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("Mitmwatch-Verdict:", r.Header.Get(server.HeaderVerdict))
		fmt.Println("Mitmwatch-Summary:", r.Header.Get(server.HeaderSummary))
		d, err := httpsfv.UnmarshalDictionary(r.Header.Values(server.HeaderSummary))
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, k := range []string{"product", "asn"} {
			m, _ := d.Get(k)
			fmt.Printf("%s: %v\n", k, m.(httpsfv.Item).Value)
		}
	}))
	defer app.Close()

	p, err := server.NewProxy(server.ProxyConfig{
		Upstreams: []string{app.URL},
		Annotate: func(*http.Request) server.Annotation { // what the middleware decided
			return server.Annotation{Detected: true, Verdict: fingerprints.OutcomeIntercepted,
				Product: "mitmproxy", Confidence: 0.95, JA4: "t13d2911h2_c36778b98fa1_1f22a2ca17c4",
				JA3: "1fc1c530fdab845a0a2b05d0b5335bcb", Country: "KZ", ASN: 9198}
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	p.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "https://site.example/", nil))
	// Output:
	// Mitmwatch-Verdict: intercepted
	// Mitmwatch-Summary: verdict=intercepted, confidence=0.95, product="mitmproxy", ja4="t13d2911h2_c36778b98fa1_1f22a2ca17c4", ja3="1fc1c530fdab845a0a2b05d0b5335bcb", country="KZ", asn=9198
	// product: mitmproxy
	// asn: 9198
}
