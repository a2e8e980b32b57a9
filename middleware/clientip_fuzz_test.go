package middleware

import (
	"net/netip"
	"testing"
)

// FuzzClientIP: whatever a client writes at the start of the forwarding
// header, the hops a trusted proxy appends after it on the same line are
// read as the proxy wrote them, so the nearest untrusted one is the
// answer; the client's own text never chooses it. Also: no panic, and the
// answer is the peer or an unmapped address without a zone. The seeds
// under testdata/fuzz/FuzzClientIP include the client texts that once
// broke this for Forwarded (a quote left open swallowed the proxy's
// elements).
func FuzzClientIP(f *testing.F) {
	for _, s := range []string{
		"", "203.0.113.66", `for=203.0.113.66;proto=https`, `for="[2001:db8::1]:443"`,
		`ext="a\", for=203.0.113.66`,
		`\\"`, `,,,`, "unknown, _hidden",
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	trusted, err := parseTrusted("t", []string{"10.0.0.0/8"})
	if err != nil {
		f.Fatal(err)
	}
	peer := netip.MustParseAddr("10.0.0.1")
	client := netip.MustParseAddr("198.51.100.7")
	f.Fuzz(func(t *testing.T, sent string, forwarded bool) {
		got := clientIP(peer, []string{sent}, forwarded, trusted)
		if got != peer && (!got.IsValid() || got.Zone() != "" || got.Is4In6()) {
			t.Errorf("clientIP(%q) = %v: not the peer, nor a plain address", sent, got)
		}
		// Two trusted proxies appended their hops: the first saw the
		// client at 198.51.100.7, the second saw the first at 10.1.1.1.
		line := sent + ", 198.51.100.7, 10.1.1.1"
		if forwarded {
			line = sent + ", for=198.51.100.7;proto=https, for=10.1.1.1"
		}
		if got := clientIP(peer, []string{line}, forwarded, trusted); got != client {
			t.Errorf("clientIP(%q) = %v, want %v: the client's text changed how the proxies' hops were read", line, got, client)
		}
		// The same hops as a header line of their own, after the client's.
		own := line[len(sent)+2:]
		if got := clientIP(peer, []string{sent, own}, forwarded, trusted); got != client {
			t.Errorf("clientIP(%q, %q) = %v, want %v", sent, own, got, client)
		}
	})
}
