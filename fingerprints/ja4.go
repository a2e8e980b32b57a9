package fingerprints

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
)

// JA4 as specified by FoxIO (github.com/FoxIO-LLC/ja4,
// technical_details/JA4.md):
//
//	a_b_c
//	a: "t" (TCP) + TLS version + "d"/"i" (SNI present or not)
//	   + 2-digit cipher count + 2-digit extension count
//	   + first and last character of the first ALPN value ("00" if none)
//	b: first 12 hex digits of SHA-256 over the sorted cipher list
//	c: first 12 hex digits of SHA-256 over the sorted extension list
//	   without SNI (0000) and ALPN (0010), "_", and the signature
//	   algorithms in wire order
//
// Lists are 4-digit lowercase hex joined by ",". "The program needs to
// ignore GREASE values anywhere it sees them" (the specification): that
// includes signature algorithms, where current Chromium puts a GREASE
// value first. Counts are capped at 99. An empty list hashes to
// "000000000000".

// JA4 returns the JA4 fingerprint.
func (h *ClientHello) JA4() string { return h.ja4(true, true) }

// JA4R returns JA4_r: sorted lists, not hashed.
func (h *ClientHello) JA4R() string { return h.ja4(true, false) }

// JA4O returns JA4_o: cipher and extension lists in wire order (SNI and
// ALPN kept), hashed.
func (h *ClientHello) JA4O() string { return h.ja4(false, true) }

// JA4RO returns JA4_ro: wire order, not hashed.
func (h *ClientHello) JA4RO() string { return h.ja4(false, false) }

// maxJA4List bounds the lists ja4All copies onto the stack; a hostile
// hello with more values spills to the heap. ja4All runs only when every
// fingerprint is asked for, not per connection (see ja4ListBuf for that).
const maxJA4List = 128

// The stack buffers of [ClientHello.ja4], which runs for every new
// connection on the connection's own goroutine. A goroutine starts with a
// small stack, and a frame larger than what is left makes the runtime copy
// the whole stack into a bigger one: with 8 KiB of buffers here, that copy
// cost more than the fingerprint itself (≈ 7 µs per connection in a CPU
// profile of the edge under wrk, docs/benchmarks.md). These sizes hold every
// hello in testdata/clienthello with room to spare (the longest: curl with
// OpenSSL, 31 ciphers, a 154-byte cipher list; 149 bytes of extensions and
// signature algorithms); a longer list spills to the heap, which costs an
// allocation, not an error.
const (
	ja4ListBuf    = 64  // ciphers or extensions, GREASE removed
	ja4ScratchBuf = 384 // one raw list rendered as hex
	ja4OutBuf     = 64  // the hashed form is 36 bytes
)

func (h *ClientHello) ja4(sorted, hashed bool) string {
	var (
		cbuf, ebuf [ja4ListBuf]uint16
		ciphers    = cbuf[:0]
		exts       = ebuf[:0]
		extCount   int
	)
	for _, c := range h.CipherSuites {
		if !IsGREASE(c) {
			ciphers = append(ciphers, c)
		}
	}
	for i := range h.Extensions {
		t := h.Extensions[i].Type
		if IsGREASE(t) {
			continue
		}
		extCount++
		if sorted && (t == ExtServerName || t == ExtALPN) {
			continue
		}
		exts = append(exts, t)
	}
	if sorted {
		slices.Sort(ciphers)
		slices.Sort(exts)
	}

	var out [ja4OutBuf]byte
	b := h.appendJA4Prefix(out[:0], len(ciphers), extCount)

	// The raw lists are built in a scratch buffer and either copied out
	// (JA4_r, JA4_ro) or hashed (JA4, JA4_o).
	var scratch [ja4ScratchBuf]byte
	b = appendJA4Part(b, appendHexList(scratch[:0], ciphers), hashed)
	b = append(b, '_')
	b = appendJA4Part(b, h.appendJA4ExtList(scratch[:0], exts), hashed)
	return string(b)
}

// appendJA4Prefix appends JA4's a part and its "_": protocol, version,
// SNI, the two counts and the ALPN characters.
func (h *ClientHello) appendJA4Prefix(b []byte, ciphers, exts int) []byte {
	b = append(b, 't')
	b = append(b, ja4Version(h.MaxVersion())...)
	if h.Has(ExtServerName) {
		b = append(b, 'd')
	} else {
		b = append(b, 'i')
	}
	b = appendTwoDigits(b, ciphers)
	b = appendTwoDigits(b, exts)
	b = appendALPN(b, h.ALPN)
	return append(b, '_')
}

// appendJA4ExtList appends the raw c part: the extension list, then "_"
// and the signature algorithms in wire order when there is one that is
// not GREASE.
func (h *ClientHello) appendJA4ExtList(b []byte, exts []uint16) []byte {
	b = appendHexList(b, exts)
	if slices.ContainsFunc(h.SignatureAlgorithms, func(s uint16) bool { return !IsGREASE(s) }) {
		b = append(b, '_')
		b = appendHexList(b, h.SignatureAlgorithms)
	}
	return b
}

// appendJA4Part appends a raw list as it is (JA4_r, JA4_ro) or hashed
// (JA4, JA4_o).
func appendJA4Part(b, list []byte, hashed bool) []byte {
	if hashed {
		return appendTruncatedHash(b, list)
	}
	return append(b, list...)
}

// ja4Version maps a TLS version code point to JA4's two characters.
func ja4Version(v uint16) string {
	switch v {
	case 0x0304:
		return "13"
	case 0x0303:
		return "12"
	case 0x0302:
		return "11"
	case 0x0301:
		return "10"
	case 0x0300:
		return "s3"
	case 0x0002:
		return "s2"
	case 0xfeff:
		return "d1"
	case 0xfefd:
		return "d2"
	case 0xfefc:
		return "d3"
	}
	return "00"
}

func appendTwoDigits(b []byte, n int) []byte {
	if n > 99 {
		n = 99
	}
	return append(b, byte('0'+n/10), byte('0'+n%10))
}

// appendALPN appends the first and last characters of the first ALPN value;
// if either is not an ASCII letter or digit, the first and last characters
// of the value's hex form; "00" without ALPN.
func appendALPN(b []byte, alpn []string) []byte {
	if len(alpn) == 0 || alpn[0] == "" {
		return append(b, '0', '0')
	}
	v := alpn[0]
	first, last := v[0], v[len(v)-1]
	if isAlnum(first) && isAlnum(last) {
		return append(b, first, last)
	}
	const digits = "0123456789abcdef"
	return append(b, digits[first>>4], digits[last&0x0f])
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// appendHexList appends the non-GREASE values as 4-digit lowercase hex
// joined by ",".
func appendHexList(b []byte, list []uint16) []byte {
	first := true
	for _, v := range list {
		if IsGREASE(v) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		const digits = "0123456789abcdef"
		b = append(b, digits[v>>12], digits[v>>8&0xf], digits[v>>4&0xf], digits[v&0xf])
	}
	return b
}

// appendTruncatedHash appends the first 12 hex digits of SHA-256(list), or
// twelve zeros for an empty list.
func appendTruncatedHash(b, list []byte) []byte {
	if len(list) == 0 {
		return append(b, "000000000000"...)
	}
	sum := sha256.Sum256(list)
	var h [64]byte
	hex.Encode(h[:], sum[:])
	return append(b, h[:12]...)
}

// ja4All returns JA4, JA4_r, JA4_o and JA4_ro together, as [ClientHello.Fingerprints]
// needs them for every connection: GREASE is filtered, the lists sorted and
// rendered as hex once, and one scratch buffer serves all four, instead of
// four calls each doing all of that (and zeroing their own buffers).
func (h *ClientHello) ja4All() (ja4, r, o, ro string) {
	var (
		scBuf, wcBuf, seBuf, weBuf [maxJA4List]uint16
		sortedC, wireC             = scBuf[:0], wcBuf[:0]
		sortedE, wireE             = seBuf[:0], weBuf[:0]
	)
	for _, c := range h.CipherSuites {
		if !IsGREASE(c) {
			wireC = append(wireC, c)
		}
	}
	sortedC = append(sortedC, wireC...)
	slices.Sort(sortedC)
	for i := range h.Extensions {
		t := h.Extensions[i].Type
		if IsGREASE(t) {
			continue
		}
		wireE = append(wireE, t)
		if t != ExtServerName && t != ExtALPN {
			sortedE = append(sortedE, t)
		}
	}
	slices.Sort(sortedE)

	// The four raw lists, one after the other in one buffer.
	var scratch [8192]byte
	s := appendHexList(scratch[:0], sortedC)
	scEnd := len(s)
	s = appendHexList(s, wireC)
	wcEnd := len(s)
	s = h.appendJA4ExtList(s, sortedE)
	seEnd := len(s)
	s = h.appendJA4ExtList(s, wireE)
	sc, wc, se, we := s[:scEnd], s[scEnd:wcEnd], s[wcEnd:seEnd], s[seEnd:]

	var out [1024]byte
	b := h.appendJA4Prefix(out[:0], len(wireC), len(wireE))
	prefix := len(b)
	join := func(hashed bool, ciphers, exts []byte) string {
		b = appendJA4Part(b[:prefix], ciphers, hashed)
		b = append(b, '_')
		b = appendJA4Part(b, exts, hashed)
		return string(b)
	}
	return join(true, sc, se), join(false, sc, se), join(true, wc, we), join(false, wc, we)
}
