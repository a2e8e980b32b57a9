package alerts

import (
	"net/netip"
	"testing"
)

// TestSipHash24Vectors checks the implementation against the reference test
// vectors: key 00 01 .. 0f, input 00 01 .. (n-1), from the SipHash paper's
// Appendix A (n=15) and the reference implementation's vectors.h (n=0, 1, 8).
func TestSipHash24Vectors(t *testing.T) {
	k0 := uint64(0x0706050403020100)
	k1 := uint64(0x0f0e0d0c0b0a0908)
	tests := []struct {
		name string
		n    int
		want uint64
	}{
		{name: "empty_input", n: 0, want: 0x726fdb47dd0e0e31},
		{name: "one_byte_partial_block_only", n: 1, want: 0x74f839c593dc67fd},
		{name: "exactly_one_block", n: 8, want: 0x93f5f5799a932462},
		{name: "paper_appendix_15_bytes", n: 15, want: 0xa129ca6149be45e5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := make([]byte, tc.n)
			for i := range in {
				in[i] = byte(i)
			}
			if got := siphash24(k0, k1, in); got != tc.want {
				t.Fatalf("siphash24(%d bytes) = %#x, want %#x", tc.n, got, tc.want)
			}
		})
	}
}

func TestClientHasher(t *testing.T) {
	a, _ := newClientHasher([]byte("secret"))
	b, _ := newClientHasher([]byte("secret"))
	c, _ := newClientHasher([]byte("other"))
	r1, _ := newClientHasher(nil)
	r2, _ := newClientHasher(nil)
	v4 := netip.MustParseAddr("203.0.113.7")
	mapped := netip.MustParseAddr("::ffff:203.0.113.7")
	tests := []struct {
		name string
		x, y uint64
		same bool
	}{
		{name: "same_secret_same_hash_across_nodes", x: a.hash(v4), y: b.hash(v4), same: true},
		{name: "ipv4_mapped_ipv6_counts_as_the_same_client", x: a.hash(v4), y: a.hash(mapped), same: true},
		{name: "other_secret_other_hash", x: a.hash(v4), y: c.hash(v4), same: false},
		{name: "empty_secret_is_random_per_process", x: r1.hash(v4), y: r2.hash(v4), same: false},
		{name: "neighbouring_addresses_differ", x: a.hash(v4), y: a.hash(v4.Next()), same: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if (tc.x == tc.y) != tc.same {
				t.Fatalf("hashes %#x and %#x: equal = %v, want %v", tc.x, tc.y, tc.x == tc.y, tc.same)
			}
		})
	}
}
