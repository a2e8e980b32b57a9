package alerts

import (
	"net/netip"
	"testing"
)

// BenchmarkClientHash measures the keyed hash Record takes of every client
// address, on an IPv4 (mapped to 16 bytes) and an IPv6 address.
//
//	go test ./alerts/ -run '^$' -bench 'BenchmarkClientHash$' -benchmem
func BenchmarkClientHash(b *testing.B) {
	h, err := newClientHasher([]byte("bench"))
	if err != nil {
		b.Fatal(err)
	}
	for _, a := range []netip.Addr{
		netip.MustParseAddr("203.0.113.7"),
		netip.MustParseAddr("2001:db8:85a3::8a2e:370:7334"),
	} {
		name := "ipv4"
		if a.Is6() {
			name = "ipv6"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var sink uint64
			for b.Loop() {
				sink ^= h.hash(a)
			}
			_ = sink
		})
	}
}
