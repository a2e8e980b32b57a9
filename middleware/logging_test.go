package middleware

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mitmwatch/mitmwatch/alerts"
	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// mwLogLines parses JSON log lines.
func mwLogLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(s) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %v: %s", err, line)
		}
		out = append(out, m)
	}
	return out
}

func TestLogLinePerNonCleanVerdict(t *testing.T) {
	proxied := mwLoadCapture(t, "chromium-156-mitmproxy")
	direct := mwLoadCapture(t, "chromium-156-direct")
	geo, err := NewGeo(GeoConfig{Static: []StaticGeo{{CIDR: "192.0.2.0/24", Country: "KZ", ASN: 9198, Org: "JSC Kazakhtelecom"}}})
	if err != nil {
		t.Fatal(err)
	}
	key := []byte("log key")
	client := netip.MustParseAddr("192.0.2.10")
	for _, tt := range []struct {
		name   string
		logIP  bool
		wantIP string // the ip attribute, "" when absent
	}{
		{"ip_is_hashed_by_default", false, ""},
		{"ip_is_written_when_configured", true, "192.0.2.10"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf mwLogBuffer
			logger := slog.New(slog.NewJSONHandler(&buf, nil))
			h, _ := mwNew(t, Config{Geo: geo, Logger: logger, LogClientIP: tt.logIP, IPHashKey: key}, mwHandlerOK())

			st := mwState(proxied.hello)
			for range 3 { // one connection, three requests: one line
				h.ServeHTTP(httptest.NewRecorder(), withState(proxied.request("/", mwChromeUA, "192.0.2.10:7000"), st))
			}
			// A clean connection: no line.
			h.ServeHTTP(httptest.NewRecorder(), withState(direct.request("/", mwChromeUA, "192.0.2.11:7000"), mwState(direct.hello)))

			lines := mwLogLines(t, buf.String())
			if len(lines) != 1 {
				t.Fatalf("%d log lines, want 1:\n%s", len(lines), buf.String())
			}
			l := lines[0]
			for k, want := range map[string]any{
				"level": "WARN", "verdict": "intercepted", "product": "mitmproxy", "ja4": proxied.fps.JA4,
				"country": "KZ", "asn": float64(9198), "source": "listener",
			} {
				if l[k] != want {
					t.Errorf("%s = %#v, want %#v", k, l[k], want)
				}
			}
			if tt.wantIP != "" {
				if l["ip"] != tt.wantIP || l["ip_hash"] != nil {
					t.Errorf("ip %v ip_hash %v", l["ip"], l["ip_hash"])
				}
				return
			}
			if l["ip"] != nil || strings.Contains(buf.String(), "192.0.2.10") {
				t.Errorf("raw address in the log: %s", buf.String())
			}
			if l["ip_hash"] != ipHash(key, client) || len(ipHash(key, client)) != 16 {
				t.Errorf("ip_hash %v, want %s", l["ip_hash"], ipHash(key, client))
			}
		})
	}
}

func TestIPHashIsKeyed(t *testing.T) {
	a := netip.MustParseAddr("192.0.2.10")
	if ipHash([]byte("k1"), a) == ipHash([]byte("k2"), a) {
		t.Error("same hash under two keys")
	}
	if ipHash([]byte("k1"), a) != ipHash([]byte("k1"), netip.MustParseAddr("::ffff:192.0.2.10")) {
		t.Error("mapped and plain IPv4 hash differently")
	}
	// Without a configured key, two middlewares draw different keys.
	s1, _ := Config{}.settings()
	s2, _ := Config{}.settings()
	if ipHash(s1.ipKey, a) == ipHash(s2.ipKey, a) {
		t.Error("default keys are not random")
	}
}

// The recorder gets one observation per computed verdict, with the
// fields mapped, and the metrics count the same.
func TestRecorderAndMetrics(t *testing.T) {
	proxied := mwLoadCapture(t, "chromium-156-mitmproxy")
	geo, err := NewGeo(GeoConfig{Static: []StaticGeo{{CIDR: "192.0.2.0/24", Country: "KZ", ASN: 9198, Org: "JSC Kazakhtelecom"}}})
	if err != nil {
		t.Fatal(err)
	}
	store := alerts.NewMemoryStore()
	rec, err := alerts.NewRecorder(store, alerts.RecorderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	notes := alerts.NewNoteBook(0)
	h, _ := mwNew(t, Config{Geo: geo, Recorder: rec, Notes: notes, Registerer: reg, ProtectPaths: []string{"/login"}}, mwHandlerOK())

	st := mwState(proxied.hello)
	for _, p := range []string{"/", "/a", "/login"} {
		r := proxied.request(p, mwChromeUA, "192.0.2.10:7000")
		r.Header.Set("X-Mitmwatch-JA4", "t13d1516h2_8daaf6152771_02713d6af862") // stripped: counted
		h.ServeHTTP(httptest.NewRecorder(), withState(r, st))
	}
	ctx := context.Background()
	if err := rec.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := rec.Stats().Recorded; got != 1 {
		t.Errorf("recorded %d observations for one connection, want 1", got)
	}
	now := time.Now()
	top, err := store.Top(ctx, alerts.TopQuery{From: now.Add(-time.Hour), To: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(top) != 1 || top[0].Country != "KZ" || top[0].ASN != 9198 || top[0].Intercepted != 1 || top[0].Browser != 1 {
		t.Errorf("top %+v", top)
	}
	if err := rec.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// The notebook gives alerts the grade and reasons the store does not
	// keep.
	if note, ok := notes.Describe(proxied.hello.Fingerprints().JA4); !ok || note.Grade == "" || len(note.Reasons) == 0 {
		t.Errorf("notebook for the intercepted JA4: %+v, %v", note, ok)
	}

	for name, want := range map[string]float64{
		"mitmwatch_middleware_stripped_requests_total": 3,
		"mitmwatch_middleware_blocked_requests_total":  1,
	} {
		if got := mwCounter(t, reg, name, ""); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if got := mwCounter(t, reg, "mitmwatch_middleware_verdicts_total", fingerprints.OutcomeIntercepted.String()); got != 1 {
		t.Errorf("intercepted verdicts %v, want 1", got)
	}
	// A second middleware on the same registry is a configuration error.
	if _, err := New(Config{Registerer: reg}); err == nil {
		t.Error("registering the metrics twice succeeded")
	}
}

func mwCounter(t *testing.T, reg *prometheus.Registry, name, verdict string) float64 {
	t.Helper()
	if verdict == "" {
		return mwLabelledCounter(t, reg, name, "", "")
	}
	return mwLabelledCounter(t, reg, name, "verdict", verdict)
}

func mwHandlerOK() *mwOK { return &mwOK{} }

type mwOK struct{}

func (mwOK) ServeHTTP(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }

// TestFingerprintCacheMetric: over real TLS connections through the
// capture listener, the first connection of a client stack computes its
// fingerprints and the next ones find them in the classifier's cache, and
// mitmwatch_middleware_fingerprint_cache_lookups_total says so.
func TestFingerprintCacheMetric(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	h, s := mwNew(t, Config{Registerer: reg}, mwHandlerOK())
	addr, tlsCfg := mwServer(t, h, nil)
	var first string
	for i := range 3 {
		// A new client each time: a new connection, a full handshake.
		c := mwClient(t, addr, tlsCfg, false)
		resp, err := c.Get("https://" + addr + DefaultEndpointPath)
		if err != nil {
			t.Fatal(err)
		}
		var v Verdict
		err = json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		if err != nil || v.JA4 == "" {
			t.Fatalf("connection %d: verdict %+v, %v", i, v, err)
		}
		if i == 0 {
			first = v.JA4 + " " + v.JA3Hash
		} else if got := v.JA4 + " " + v.JA3Hash; got != first {
			t.Errorf("connection %d: fingerprints %s, the first connection's %s", i, got, first)
		}
	}
	if st := s.classifier.CoreCacheStats(); st.Misses != 1 || st.Hits != 2 {
		t.Errorf("cache stats %+v, want 1 miss and 2 hits", st)
	}
	for result, want := range map[string]float64{"hit": 2, "miss": 1, "reordered": 0, "uncacheable": 0} {
		if got := mwLabelledCounter(t, reg, "mitmwatch_middleware_fingerprint_cache_lookups_total", "result", result); got != want {
			t.Errorf("lookups{result=%q} = %v, want %v", result, got, want)
		}
	}
}

// mwLabelledCounter is the value of the counter name{label=value}, or,
// with label "", of the first counter named name.
func mwLabelledCounter(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := label == ""
			for _, l := range m.GetLabel() {
				match = match || l.GetName() == label && l.GetValue() == value
			}
			if match {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("metric %s{%s=%q} not found", name, label, value)
	return 0
}
