package middleware

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// A handler behind the middleware reads the verdict of its own connection,
// computed from the hello the capture listener read, over HTTP/1.1 and
// HTTP/2 alike; later requests of the connection reuse it.
func TestFromContextOnCaptureListener(t *testing.T) {
	for _, tt := range []struct {
		name      string
		h2        bool
		wantProto int
	}{
		{"http1_handler_sees_its_connections_verdict", false, 1},
		{"http2_handler_sees_its_connections_verdict", true, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var seen mwSeen
			h, s := mwNew(t, Config{}, seen.handler("ok", "text/plain"))
			addr, tlsCfg := mwServer(t, h, nil)
			c := mwClient(t, addr, tlsCfg, tt.h2)

			const ua = "mitmwatch-test/1.0"
			for i := range 3 {
				resp, _ := mwGet(t, c, "/", ua)
				if resp.ProtoMajor != tt.wantProto {
					t.Fatalf("request %d over %s", i, resp.Proto)
				}
			}
			v, ok, _, calls := seen.get()
			if !ok || calls != 3 {
				t.Fatalf("FromContext ok=%v after %d calls", ok, calls)
			}
			if v.Source != SourceListener || v.JA4 == "" || v.SNI != "localhost" || v.TLSVersion != "TLS 1.3" {
				t.Errorf("verdict source %q ja4 %q sni %q version %q", v.Source, v.JA4, v.SNI, v.TLSVersion)
			}
			if v.UserAgent != ua || v.Client.Browser {
				t.Errorf("user agent %q browser %v", v.UserAgent, v.Client.Browser)
			}
			// Go's crypto/tls under a tool's User-Agent: an honest program.
			if v.Verdict.Verdict != fingerprints.OutcomeClean || !v.Reasons.Has(fingerprints.ReasonNotABrowser) {
				t.Errorf("verdict %v reasons %v", v.Verdict.Verdict, v.Reasons.Strings())
			}
			if n := s.metrics.computed.Load(); n != 1 {
				t.Errorf("verdict computed %d times for one connection and one User-Agent, want 1", n)
			}
		})
	}
}

// The cache is per connection and User-Agent: a second User-Agent on the
// same connection is judged on its own and its handler sees its own
// verdict, and a new connection is judged again.
func TestVerdictOncePerConnectionAndUserAgent(t *testing.T) {
	var seen mwSeen
	h, s := mwNew(t, Config{}, seen.handler("ok", "text/plain"))
	addr, tlsCfg := mwServer(t, h, nil)
	c := mwClient(t, addr, tlsCfg, true)

	steps := []struct {
		ua           string
		wantComputed uint64
	}{
		{"tool-a/1", 1},
		{"tool-a/1", 1},
		{"tool-b/2", 2},
		{"tool-a/1", 2},
		{"tool-b/2", 2},
	}
	for i, st := range steps {
		mwGet(t, c, "/", st.ua)
		v, _, _, _ := seen.get()
		if v.UserAgent != st.ua {
			t.Errorf("step %d: handler saw the verdict of %q, sent %q", i, v.UserAgent, st.ua)
		}
		if n := s.metrics.computed.Load(); n != st.wantComputed {
			t.Errorf("step %d (%s): computed %d, want %d", i, st.ua, n, st.wantComputed)
		}
	}
	// A new connection: judged again.
	c2 := mwClient(t, addr, tlsCfg, true)
	mwGet(t, c2, "/", "tool-a/1")
	if n := s.metrics.computed.Load(); n != 3 {
		t.Errorf("new connection: computed %d, want 3", n)
	}
}

// Concurrent HTTP/2 streams of one connection with the same User-Agent:
// one computation, every handler sees the verdict.
func TestConcurrentStreamsComputeOnce(t *testing.T) {
	var seen mwSeen
	h, s := mwNew(t, Config{}, seen.handler("ok", "text/plain"))
	addr, tlsCfg := mwServer(t, h, nil)
	c := mwClient(t, addr, tlsCfg, true)
	mwGet(t, c, "/warm", "warm/1") // open the connection first

	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			req, _ := http.NewRequest("GET", "https://localhost/", nil)
			req.Header.Set("User-Agent", "same/1")
			resp, err := c.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		})
	}
	wg.Wait()
	if n := s.metrics.computed.Load(); n != 2 {
		t.Errorf("computed %d verdicts for 2 User-Agents on one connection, want 2", n)
	}
}

func TestFromContextWithoutMiddleware(t *testing.T) {
	if _, ok := FromContext(context.Background()); ok {
		t.Error("FromContext on a bare context reported a verdict")
	}
	// ConnContext alone, before any request passed the middleware.
	ctx := ConnContext(context.Background(), nil)
	if _, ok := FromContext(ctx); ok {
		t.Error("FromContext before the first request reported a verdict")
	}
}

// ConnContext reads the HTTP/2 offer from the *http.Server in the context
// (net/http's rule for ServeTLS).
func TestServerOffersH2(t *testing.T) {
	off := new(http.Protocols)
	off.SetHTTP1(true)
	on := new(http.Protocols)
	on.SetHTTP1(true)
	on.SetHTTP2(true)
	for _, tt := range []struct {
		name string
		srv  *http.Server
		want bool
	}{
		{"default_server_offers_h2", &http.Server{}, true},
		{"protocols_without_h2", &http.Server{Protocols: off}, false},
		{"protocols_with_h2", &http.Server{Protocols: on}, true},
		{"empty_tlsnextproto_disables_h2", &http.Server{TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){}}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.WithValue(context.Background(), http.ServerContextKey, tt.srv)
			st := ConnContext(ctx, nil).Value(stateKey{}).(*connState)
			if !st.h2Known || st.offersH2 != tt.want {
				t.Errorf("known %v offersH2 %v, want %v", st.h2Known, st.offersH2, tt.want)
			}
		})
	}
}

// Without ConnContext (a plain httptest request) the middleware still
// answers, per request, and says why there is no fingerprint.
func TestMiddlewareWithoutConnectionState(t *testing.T) {
	var seen mwSeen
	h, _ := mwNew(t, Config{}, seen.handler("ok", "text/plain"))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	v, ok, _, _ := seen.get()
	if !ok || v.Source != SourceNone || v.Error != ErrNoFingerprint.Error() || v.Verdict.Verdict != fingerprints.OutcomeUnknown {
		t.Errorf("ok %v source %q error %q verdict %v", ok, v.Source, v.Error, v.Verdict.Verdict)
	}
	if v.Country != UnknownCountry || v.ALPN == nil {
		t.Errorf("country %q alpn %v", v.Country, v.ALPN)
	}
}
