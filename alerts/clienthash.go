package alerts

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"
)

// clientHasher turns a client address into a keyed 64-bit hash for the
// unique-client HyperLogLog. Without the key the hash cannot be reversed
// by enumerating the IPv4 space, which a plain hash could.
//
// The hash is SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast
// short-input PRF", INDOCRYPT 2012, https://www.aumasson.jp/siphash/siphash.pdf):
// a keyed PRF made for short inputs. It does not allocate; on a shared
// 2-core AMD EPYC, BenchmarkClientHash took 21–29 ns per address in its
// fastest runs (IPv6, IPv4) and up to 90 ns while other work ran.
type clientHasher struct{ k0, k1 uint64 }

// newClientHasher derives the 128-bit SipHash key from secret with SHA-256
// (so any length of secret works); an empty secret means a random key.
func newClientHasher(secret []byte) (clientHasher, error) {
	var k [32]byte
	if len(secret) == 0 {
		if _, err := rand.Read(k[:]); err != nil {
			return clientHasher{}, fmt.Errorf("alerts: random client key: %w", err)
		}
	} else {
		k = sha256.Sum256(secret)
	}
	return clientHasher{
		k0: binary.LittleEndian.Uint64(k[0:8]),
		k1: binary.LittleEndian.Uint64(k[8:16]),
	}, nil
}

// hash returns the keyed hash of a; an IPv4-mapped IPv6 address hashes like
// its IPv4 form.
func (h clientHasher) hash(a netip.Addr) uint64 {
	b := a.Unmap().As16()
	return siphash24(h.k0, h.k1, b[:])
}

func sipRound(v0, v1, v2, v3 uint64) (uint64, uint64, uint64, uint64) {
	v0 += v1
	v1 = bits.RotateLeft64(v1, 13)
	v1 ^= v0
	v0 = bits.RotateLeft64(v0, 32)
	v2 += v3
	v3 = bits.RotateLeft64(v3, 16)
	v3 ^= v2
	v0 += v3
	v3 = bits.RotateLeft64(v3, 21)
	v3 ^= v0
	v2 += v1
	v1 = bits.RotateLeft64(v1, 17)
	v1 ^= v2
	v2 = bits.RotateLeft64(v2, 32)
	return v0, v1, v2, v3
}

// siphash24 is SipHash-2-4 of p under key (k0, k1), as specified in §2 of
// the paper cited on [clientHasher].
func siphash24(k0, k1 uint64, p []byte) uint64 {
	v0 := k0 ^ 0x736f6d6570736575
	v1 := k1 ^ 0x646f72616e646f6d
	v2 := k0 ^ 0x6c7967656e657261
	v3 := k1 ^ 0x7465646279746573
	n := len(p)
	for len(p) >= 8 {
		m := binary.LittleEndian.Uint64(p)
		v3 ^= m
		v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
		v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
		v0 ^= m
		p = p[8:]
	}
	// The last block holds the remaining bytes and len(input) mod 256 in
	// its top byte.
	m := uint64(n) << 56
	for i := len(p) - 1; i >= 0; i-- {
		m |= uint64(p[i]) << (8 * uint(i))
	}
	v3 ^= m
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0 ^= m
	v2 ^= 0xff
	for range 4 {
		v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	}
	return v0 ^ v1 ^ v2 ^ v3
}
