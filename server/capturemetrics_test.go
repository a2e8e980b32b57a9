package server

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
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
