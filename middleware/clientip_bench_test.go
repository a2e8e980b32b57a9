package middleware

import (
	"net/netip"
	"strings"
	"testing"
)

// BenchmarkClientIP walks a CDN-shaped forwarding header (the client, two
// trusted hops) per request from a trusted peer, in both spellings, and
// a header a client padded with 10 000 addresses in the trusted range,
// which the walk must step over one by one: its cost per hop must not
// grow with the header's length.
func BenchmarkClientIP(b *testing.B) {
	trusted, err := parseTrusted("t", []string{"10.0.0.0/8"})
	if err != nil {
		b.Fatal(err)
	}
	peer := netip.MustParseAddr("10.0.0.1")
	want := netip.MustParseAddr("198.51.100.7")
	for _, bc := range []struct {
		name      string
		value     string
		forwarded bool
	}{
		{"x_forwarded_for", "203.0.113.66, 198.51.100.7, 10.1.1.1, 10.2.2.2", false},
		{"forwarded", `for=203.0.113.66;proto=https, for=198.51.100.7;proto=https;by="[2001:db8::1]", for=10.1.1.1, for=10.2.2.2`, true},
		{"x_forwarded_for_10000_trusted_hops", "198.51.100.7, " + strings.Repeat("10.9.9.9, ", 10000) + "10.1.1.1", false},
		{"forwarded_10000_trusted_hops", "for=198.51.100.7, " + strings.Repeat("for=10.9.9.9, ", 10000) + "for=10.1.1.1", true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			values := []string{bc.value}
			b.ReportAllocs()
			for b.Loop() {
				if clientIP(peer, values, bc.forwarded, trusted) != want {
					b.Fatal("wrong client")
				}
			}
		})
	}
}
