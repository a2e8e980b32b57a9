package middleware

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkNegotiateLocale runs on every injected banner; the attacker
// case is a 64 KiB header of ranges that match nothing.
func BenchmarkNegotiateLocale(b *testing.B) {
	for _, bc := range []struct{ name, header string }{
		{"chrome_ru", "ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7"},
		{"attacker_64KiB", strings.Repeat("xx-YYYY;q=0.5,", 64<<10/14)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				negotiateLocale(bc.header)
			}
		})
	}
}

// BenchmarkBannerRender is the per-page cost of the fragment.
func BenchmarkBannerRender(b *testing.B) {
	bn := bnrBanner(b, BannerConfig{HelpURL: "https://help.example/tls"})
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Accept-Language", "fa-IR,fa;q=0.9")
	b.ReportAllocs()
	for b.Loop() {
		bn.render(r, "Kazakhstan state interception system (Qaznet Trust Network)")
	}
}
