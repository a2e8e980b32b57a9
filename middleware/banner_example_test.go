package middleware_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/mitmwatch/mitmwatch/fingerprints"
	"github.com/mitmwatch/mitmwatch/middleware"
)

// A handler wrapped for a connection that mitmproxy intercepts: the
// banner follows the <body> tag, in the language the browser asks for,
// and Content-Length grows by the banner's length.
func ExampleBanner_Wrap() {
	banner, err := middleware.NewBanner(middleware.BannerConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	page := "<!doctype html><html><head><title>Shop</title></head><body><h1>Shop</h1></body></html>"
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Length", fmt.Sprint(len(page)))
		io.WriteString(w, page)
	})
	verdict := &fingerprints.Verdict{Verdict: fingerprints.OutcomeIntercepted, Product: "mitmproxy", Confidence: 0.95}

	r := httptest.NewRequest(http.MethodGet, "https://shop.example/", nil)
	r.Header.Set("Accept-Language", "kk-KZ,kk;q=0.9,ru;q=0.8")
	rec := httptest.NewRecorder()
	w, finish := banner.Wrap(rec, r, verdict)
	app.ServeHTTP(w, r)
	finish()

	body := rec.Body.String()
	fmt.Println(strings.HasPrefix(body, "<!doctype html><html><head><title>Shop</title></head><body><link rel=\"stylesheet\""))
	fmt.Println(strings.Contains(body, `<div data-mitmwatch-banner role="alert" lang="kk" dir="ltr">`))
	fmt.Println(rec.Header().Get("Content-Length") == fmt.Sprint(len(body)), rec.Header().Get("Cache-Control"))

	// A clean connection gets the writer back untouched.
	clean := &fingerprints.Verdict{Verdict: fingerprints.OutcomeClean}
	rec2 := httptest.NewRecorder()
	w2, finish2 := banner.Wrap(rec2, r, clean)
	defer finish2()
	fmt.Println(w2 == http.ResponseWriter(rec2))
	// Output:
	// true
	// true
	// true no-store
	// true
}

// ServeAsset answers the banner's own stylesheet and script requests
// before the application sees them.
func ExampleBanner_ServeAsset() {
	banner, err := middleware.NewBanner(middleware.BannerConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, path := range []string{"/.well-known/mitmwatch/banner.js", "/.well-known/mitmwatch/banner.css", "/index.html"} {
		rec := httptest.NewRecorder()
		served := banner.ServeAsset(rec, httptest.NewRequest(http.MethodGet, path, nil))
		fmt.Println(path, served, rec.Header().Get("Content-Type"))
	}
	// Output:
	// /.well-known/mitmwatch/banner.js true text/javascript; charset=utf-8
	// /.well-known/mitmwatch/banner.css true text/css; charset=utf-8
	// /index.html false
}

// NewBanner validates the configuration once; errors name the field.
func ExampleNewBanner() {
	_, err := middleware.NewBanner(middleware.BannerConfig{HelpURL: "javascript:alert(1)"})
	fmt.Println(err)
	_, err = middleware.NewBanner(middleware.BannerConfig{AssetPath: "//cdn.example/"})
	fmt.Println(err)
	// Output:
	// middleware: invalid config: banner: HelpURL "javascript:alert(1)": scheme must be http or https
	// middleware: invalid config: banner: AssetPath "//cdn.example/": must be a clean path without "//", "." or ".." segments
}
