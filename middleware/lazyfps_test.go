package middleware

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"unsafe"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// TestFingerprintsBeyondTheCoreOnlyWhenAsked: a captured connection's
// verdict computes JA3, JA3Hash and JA4 up front; the whole Verdict
// (FromContext, the endpoint) still carries all eight fingerprints, equal
// to the hello's, while BriefFromContext never makes the others computed.
func TestFingerprintsBeyondTheCoreOnlyWhenAsked(t *testing.T) {
	c := mwLoadCapture(t, "chromium-156-direct")
	tests := []struct {
		name string
		// ask reads the request's verdict the way a handler would.
		ask      func(r *http.Request) fingerprints.Fingerprints
		wantFull bool
	}{
		{name: "brief_leaves_them_uncomputed", ask: func(r *http.Request) fingerprints.Fingerprints {
			b, ok := BriefFromContext(r.Context())
			if !ok {
				t.Fatal("no brief")
			}
			return fingerprints.Fingerprints{JA3Hash: b.JA3Hash, JA4: b.JA4}
		}},
		{name: "from_context_completes_them", wantFull: true, ask: func(r *http.Request) fingerprints.Fingerprints {
			v, ok := FromContext(r.Context())
			if !ok {
				t.Fatal("no verdict")
			}
			return v.Fingerprints
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got fingerprints.Fingerprints
			var st *connState
			h, s := mwNew(t, Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = tt.ask(r) }))
			st = &connState{helloDone: true, hello: listenerHello(c.hello, s.classifier)}
			h.ServeHTTP(httptest.NewRecorder(), withState(c.request("/", mwChromeUA, "198.51.100.1:40000"), st))
			e := st.primary.Load()
			if e == nil {
				t.Fatal("no verdict computed")
			}
			if got.JA4 != c.fps.JA4 || got.JA3Hash != c.fps.JA3Hash {
				t.Errorf("core fingerprints %q %q, want %q %q", got.JA4, got.JA3Hash, c.fps.JA4, c.fps.JA3Hash)
			}
			computed := e.full.Load() != nil
			if computed != tt.wantFull {
				t.Errorf("the other fingerprints computed: %v, want %v", computed, tt.wantFull)
			}
			if tt.wantFull && got != c.fps {
				t.Errorf("FromContext fingerprints %+v, want the hello's %+v", got, c.fps)
			}
		})
	}
}

// TestFromContextConcurrentCompletion: requests of one connection asking
// for the whole Verdict at once (HTTP/2 streams) all get the same
// complete fingerprints (run with -race).
func TestFromContextConcurrentCompletion(t *testing.T) {
	c := mwLoadCapture(t, "chromium-156-direct")
	var mu sync.Mutex
	var got []fingerprints.Fingerprints
	h, s := mwNew(t, Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, _ := FromContext(r.Context())
		mu.Lock()
		got = append(got, v.Fingerprints)
		mu.Unlock()
	}))
	st := &connState{helloDone: true, hello: listenerHello(c.hello, s.classifier)}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			h.ServeHTTP(httptest.NewRecorder(), withState(c.request("/", mwChromeUA, "198.51.100.1:40000"), st))
		})
	}
	wg.Wait()
	for i, f := range got {
		if f != c.fps {
			t.Errorf("request %d: %+v, want %+v", i, f, c.fps)
		}
	}
}

// TestEntrySizeClass keeps a connection's verdict entry in the 512-byte
// size class: every judged connection allocates one.
func TestEntrySizeClass(t *testing.T) {
	if n := unsafe.Sizeof(entry{}); n > 512 {
		t.Errorf("entry is %d bytes, over the 512-byte size class (640 would be next)", n)
	}
}
