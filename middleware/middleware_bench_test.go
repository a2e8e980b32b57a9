package middleware

import (
	"net/http"
	"testing"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// mwNopWriter is a ResponseWriter that keeps nothing, so that a benchmark
// measures the middleware, not a recorder.
type mwNopWriter struct{ h http.Header }

func (w *mwNopWriter) Header() http.Header         { return w.h }
func (w *mwNopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *mwNopWriter) WriteHeader(int)             {}

// mwFastPath prepares a kept-alive connection whose verdict is computed:
// the request of a real Chromium 156 capture with a person's User-Agent
// (clean), its context carrying the connection state.
func mwFastPath(tb testing.TB, cfg Config, next http.Handler) (http.Handler, *http.Request, http.ResponseWriter) {
	tb.Helper()
	c := mwLoadCapture(tb, "chromium-156-direct")
	h, _ := mwNew(tb, cfg, next)
	r := withState(c.request("/", mwChromeUA, "198.51.100.1:40000"), mwState(c.hello))
	w := &mwNopWriter{h: http.Header{}}
	h.ServeHTTP(w, r) // the connection's first request computes the verdict
	v, ok := FromContext(r.Context())
	if !ok || v.Verdict.Verdict != fingerprints.OutcomeClean {
		tb.Fatalf("prepared connection: ok %v verdict %v (%v)", ok, v.Verdict.Verdict, v.Reasons.Strings())
	}
	return h, r, w
}

// BenchmarkMiddleware measures the middleware's overhead per request on a
// kept-alive connection with a clean verdict: "with" minus "without" in
// the same run.
func BenchmarkMiddleware(b *testing.B) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	h, r, w := mwFastPath(b, Config{}, next)
	b.Run("without", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			next.ServeHTTP(w, r)
		}
	})
	b.Run("with", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(w, r)
		}
	})
	hh, rh, wh := mwFastPath(b, Config{ResponseHeader: true}, next)
	b.Run("with_response_header", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			hh.ServeHTTP(wh, rh)
		}
	})
}

// BenchmarkFirstRequest is the cost of a connection's first request:
// fingerprints and classification (the User-Agent is in the claim cache).
// fingerprints=core is what the middleware does with a captured hello
// (JA3, JA3Hash and JA4, the rest only when the whole Verdict is asked
// for); fingerprints=all computes all eight up front, as it did before;
// fingerprints=precomputed leaves them out of the measurement.
//
//	go test ./middleware -run '^$' -bench BenchmarkFirstRequest -benchmem -count 6
func BenchmarkFirstRequest(b *testing.B) {
	c := mwLoadCapture(b, "chromium-156-direct")
	h, s := mwNew(b, Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	req := c.request("/", mwChromeUA, "198.51.100.1:40000")
	w := &mwNopWriter{h: http.Header{}}
	for _, tc := range []struct {
		name  string
		hello func() hello
	}{
		{"fingerprints=core", func() hello {
			return hello{source: SourceListener, h: c.hello, fps: c.hello.CoreFingerprints(), core: true}
		}},
		{"fingerprints=core_cached", func() hello { return listenerHello(c.hello, s.classifier) }},
		{"fingerprints=all", func() hello { return hello{source: SourceListener, h: c.hello, fps: c.hello.Fingerprints()} }},
		{"fingerprints=precomputed", func() hello { return hello{source: SourceListener, h: c.hello, fps: c.fps} }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				st := &connState{}
				st.helloDone = true
				st.hello = tc.hello()
				h.ServeHTTP(w, withState(req, st))
			}
		})
	}
}
