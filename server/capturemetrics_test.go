package server

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestServeCountsCaptureOutcomes: the edge's registry (its /metrics)
// counts the connections the capture listener accepted and how each
// capture ended, so an operator sees scanners and broken clients, not only
// verdicts.
func TestServeCountsCaptureOutcomes(t *testing.T) {
	reg := NewRegistry()
	f := startEdge(t, ServeOptions{Registry: reg}, nil)

	// A TLS client: its hello is captured.
	f.client(t, "a.example.test", false).getOK(t, "https://a.example.test"+WellKnownPath)
	// Plain HTTP on the TLS port: not a TLS handshake. The edge answers
	// 400 and closes.
	c, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a.example.test\r\n\r\n")
	io.Copy(io.Discard, c)
	c.Close()
	// Two clients that connect and hang up without a byte: truncated.
	// (Two, so that each result's count differs from the others'.)
	for range 2 {
		if c, err = net.Dial("tcp", f.addr); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}

	want := map[string]float64{"captured": 1, "not_tls": 1, "truncated": 2, "too_large": 0, "malformed": 0, "timeout": 0}
	var hellos map[string]float64
	var conns float64
	// The last capture ends in the edge's goroutine after the client has
	// gone: wait for it, then compare.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		// Results first: a connection is counted as accepted before its
		// capture ends.
		hellos = gatherCounter(t, reg, "mitmwatch_capture_hellos_total", "result")
		conns = gatherCounter(t, reg, "mitmwatch_capture_connections_total", "")[""]
		if hellos["captured"]+hellos["not_tls"]+hellos["truncated"] >= 4 || time.Now().After(deadline) {
			break
		}
	}
	if conns != 4 {
		t.Errorf("mitmwatch_capture_connections_total = %v, want 4", conns)
	}
	for result, n := range want {
		if got, ok := hellos[result]; !ok || got != n {
			t.Errorf("mitmwatch_capture_hellos_total{result=%q} = %v (present %v), want %v", result, got, ok, n)
		}
	}
	if len(hellos) != len(want) {
		t.Errorf("results %v, want exactly %v", hellos, want)
	}
}

// gatherCounter returns the counter family name from reg, by the value
// of its label (label "" keys the one unlabelled series as "").
func gatherCounter(t *testing.T, reg *prometheus.Registry, name, label string) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			key := ""
			for _, l := range m.GetLabel() {
				if l.GetName() == label {
					key = l.GetValue()
				}
			}
			out[key] = m.GetCounter().GetValue()
		}
	}
	return out
}

// TestDemoMetricsCountItsOwnTraffic: the demo's /metrics has the same
// capture and verdict counters as the edge's, for the demo's own
// connections.
func TestDemoMetricsCountItsOwnTraffic(t *testing.T) {
	dir, pool := testCert(t)
	ln, admin := loopback(t), loopback(t)
	adminAddr := admin.Addr().String()
	runUntilCleanup(t, func(ctx context.Context) error {
		return RunDemo(ctx, DemoConfig{Listener: ln, AdminListener: admin, CertDir: dir})
	})
	c := newTestClient(t, ln.Addr().String(), pool, false)
	if resp, body, _ := c.get(t, WellKnownPath, chromeUA); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}

	resp, err := http.Get("http://" + adminAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	sum := func(name string) float64 {
		var n float64
		if mf := families[name]; mf != nil {
			for _, m := range mf.GetMetric() {
				n += m.GetCounter().GetValue()
			}
		}
		return n
	}
	for _, name := range []string{"mitmwatch_capture_connections_total", "mitmwatch_capture_hellos_total", "mitmwatch_middleware_verdicts_total"} {
		if n := sum(name); n < 1 {
			t.Errorf("%s = %v after one connection, want at least 1", name, n)
		}
	}
}
