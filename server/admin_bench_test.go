package server

import (
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mitmwatch/mitmwatch/alerts"
)

// manyNetworks fills a store with n networks over 60 countries, a tenth
// of them intercepted, all in the minute before testNow.
func manyNetworks(b *testing.B, n int) *alerts.MemoryStore {
	b.Helper()
	store := alerts.NewMemoryStore()
	rec, err := alerts.NewRecorder(store, alerts.RecorderConfig{Clock: func() time.Time { return testNow.Add(-time.Minute) }})
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		o := alerts.Observation{
			Country: string([]byte{'A' + byte(i%60/26), 'A' + byte(i%60%26)}),
			ASN:     uint32(1000 + i), ASOrg: "Org " + strconv.Itoa(i), Browser: true, Verdict: alerts.VerdictClean,
		}
		for range 5 {
			rec.Record(o)
		}
		if i%10 == 0 {
			o.Verdict, o.Product, o.JA4 = alerts.VerdictIntercepted, "product "+strconv.Itoa(i%7), "t13d0000h2_"+strconv.Itoa(i)
			rec.Record(o)
		}
	}
	if err := rec.Close(b.Context()); err != nil {
		b.Fatal(err)
	}
	return store
}

// BenchmarkAPITop measures one /api/top answer (the store queries and the
// JSON) on a memory store: a typical deployment, the largest answer a
// caller can ask for (limit=500) over many networks, and the country view
// with and without its every-country query cached.
func BenchmarkAPITop(b *testing.B) {
	for _, bc := range []struct {
		name     string
		networks int
		query    string
		cached   bool // the every-country query answered from the cache
	}{
		{"networks=200", 200, "/api/top", false},
		{"networks=5000/limit=500", 5000, "/api/top?limit=500", false},
		{"networks=5000/scope=country", 5000, "/api/top?scope=country&limit=500", false},
		{"networks=5000/scope=country/cached", 5000, "/api/top?scope=country&limit=500", true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			a := newTestAdmin(b, AdminServerConfig{Store: manyNetworks(b, bc.networks)}, testNow)
			r := adminRequest("GET", bc.query)
			b.ReportAllocs()
			for b.Loop() {
				if !bc.cached {
					a.dash.countries = nil
				}
				w := httptest.NewRecorder()
				a.ServeHTTP(w, r)
				if w.Code != 200 {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}

// BenchmarkAdminAuth measures the per-request cost of authentication and
// headers on the cheapest route.
func BenchmarkAdminAuth(b *testing.B) {
	for _, bc := range []struct{ name, header, value string }{
		{"bearer", "Authorization", "Bearer " + testToken},
		{"cookie", "Cookie", adminCookie + "=" + sessionValue(testToken)},
		{"wrong_bearer", "Authorization", "Bearer " + strings.Repeat("x", 4096)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			a := newTestAdmin(b, AdminServerConfig{Token: testToken}, testNow)
			r := adminRequest("GET", "/api/alerts")
			r.Header.Set(bc.header, bc.value)
			b.ReportAllocs()
			for b.Loop() {
				a.ServeHTTP(httptest.NewRecorder(), r)
			}
		})
	}
}

// BenchmarkRedactURLs measures the delivery error redaction on a typical
// error and on a 64 KiB one full of URLs (an error body echoed by a
// hostile endpoint).
func BenchmarkRedactURLs(b *testing.B) {
	typical := `Post "https://hooks.slack.com/services/T000/B000/XXXXXXXX": dial tcp 1.2.3.4:443: i/o timeout`
	hostile := strings.Repeat("https://a.example/"+strings.Repeat("s", 30)+" ", 64<<10/50)
	for _, bc := range []struct{ name, in string }{{"typical", typical}, {"64KiB", hostile}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.in)))
			for b.Loop() {
				redactURLs(bc.in)
			}
		})
	}
}
