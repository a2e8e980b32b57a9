package middleware

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// bnrDiscard is a ResponseWriter that keeps nothing, so the benchmarks
// measure the wrapper alone.
type bnrDiscard struct{ h http.Header }

func (d *bnrDiscard) Header() http.Header         { return d.h }
func (d *bnrDiscard) Write(p []byte) (int, error) { return len(p), nil }
func (d *bnrDiscard) WriteHeader(int)             {}

// BenchmarkWrapNotIntercepted is the cost on every request that is not
// intercepted: it must not allocate.
func BenchmarkWrapNotIntercepted(b *testing.B) {
	bn := bnrBanner(b, BannerConfig{})
	w := &bnrDiscard{h: http.Header{}}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	v := bnrVerdict(fingerprints.OutcomeClean)
	b.ReportAllocs()
	for b.Loop() {
		ww, finish := bn.Wrap(w, r, v)
		finish()
		_ = ww
	}
}

// bnrBenchPage is a 64 KiB page with a realistic head before <body>.
func bnrBenchPage(withBody bool) []byte {
	head := "<!doctype html><html lang=en><head><meta charset=utf-8><title>Shop</title>" +
		"<link rel=stylesheet href=/app.css><script>window.__cfg={\"a\":\"<b>\",\"n\":1}</script>" +
		"<!-- build 1234 --><style>" + strings.Repeat("p{margin:0}", 200) + "</style></head>"
	body := "<body class=\"home\">"
	if !withBody {
		body = "<div class=\"home\">"
	}
	page := head + body
	for len(page) < 64<<10 {
		page += "<div class=item><a href=\"/p/1\">Product</a><span>9.99</span></div>\n"
	}
	return []byte(page[:64<<10])
}

// benchmarkInject writes a 64 KiB page in 4 KiB writes through Wrap.
func benchmarkInject(b *testing.B, withBody bool) {
	bn := bnrBanner(b, BannerConfig{})
	page := bnrBenchPage(withBody)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Accept-Language", "ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7")
	v := bnrVerdict(fingerprints.OutcomeIntercepted)
	d := &bnrDiscard{h: http.Header{}}
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		clear(d.h)
		d.h.Set("Content-Type", "text/html; charset=utf-8")
		w, finish := bn.Wrap(d, r, v)
		for i := 0; i < len(page); i += 4 << 10 {
			w.Write(page[i : i+4<<10])
		}
		finish()
	}
}

// BenchmarkInject64KiBPage4KiBWrites: the banner goes in after a head of
// about 3 KiB.
func BenchmarkInject64KiBPage4KiBWrites(b *testing.B) { benchmarkInject(b, true) }

// BenchmarkInject64KiBNoBody4KiBWrites is the worst case for the
// scanner: no <body> tag, every byte scanned, 32 KiB held back.
func BenchmarkInject64KiBNoBody4KiBWrites(b *testing.B) { benchmarkInject(b, false) }
