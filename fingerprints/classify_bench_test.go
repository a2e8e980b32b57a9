package fingerprints

import (
	"net/http"
	"testing"

	utls "github.com/refraction-networking/utls"
)

// BenchmarkClassify measures one verdict with the User-Agent already in
// the claim cache and the fingerprints computed once per connection, as
// the middleware calls it.
func BenchmarkClassify(b *testing.B) {
	c := newTestClassifier(b)
	cases := []struct {
		name    string
		hello   []byte
		ua      string
		headers http.Header
	}{
		{"clean_chrome133", utlsHello(b, utls.HelloChrome_133, "www.example.com"), chromeUA(133), browserHeaders(true)},
		{"intercepted_go_stack", goHello(b), chromeUA(133), browserHeaders(true)},
		{"spoofed_firefox_parrot", utlsHello(b, utls.HelloFirefox_120, "www.example.com"), chromeUA(133), nil},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			h, err := ParseHandshake(bc.hello)
			if err != nil {
				b.Fatal(err)
			}
			f := h.Fingerprints()
			req := Request{UserAgent: bc.ua, SecCHUA: bc.headers.Get("Sec-CH-UA"), Header: bc.headers, ProtoMajor: 2}
			c.Classify(h, &f, &req) // warm the claim cache
			b.ReportAllocs()
			for b.Loop() {
				_ = c.Classify(h, &f, &req)
			}
		})
	}
}

// BenchmarkClassifyUAMiss measures a verdict whose User-Agent is not yet
// cached: the claim is parsed on the way.
func BenchmarkClassifyUAMiss(b *testing.B) {
	c, err := NewClassifier(ClassifierConfig{ClaimCacheSize: 1})
	if err != nil {
		b.Fatal(err)
	}
	h, _ := ParseHandshake(utlsHello(b, utls.HelloChrome_133, "www.example.com"))
	f := h.Fingerprints()
	uas := []string{chromeUA(133), chromeUA(134), firefoxUA(128), iosUA(17)}
	hdr := browserHeaders(true)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		req := Request{UserAgent: uas[i%len(uas)], Header: hdr}
		i++
		_ = c.Classify(h, &f, &req)
	}
}
