package fingerprints

import (
	"fmt"
	"slices"
)

// Wire constants (RFC 8446 §5.1 and §4).
const (
	recordTypeHandshake      = 0x16
	handshakeTypeClientHello = 0x01
	recordHeaderLen          = 5
	handshakeHeaderLen       = 4
	// maxRecordLen is the largest TLSPlaintext.length a peer may send
	// (2^14, RFC 8446 §5.1); a longer record is a protocol error.
	maxRecordLen = 1 << 14
)

// DefaultMaxHelloSize is the default cap on a captured ClientHello,
// record headers included.
const DefaultMaxHelloSize = 64 << 10

// ParseClientHello parses a ClientHello with its TLS record layer: one or
// more handshake records (content type 22) whose payloads together hold the
// handshake message. A hello fragmented over several records is reassembled.
// Bytes after the record that completes the hello are ignored, so the input
// may be a longer capture of the client's first flight.
//
// Errors wrap [ErrNotTLS] (the first record is not a TLS handshake record),
// [ErrTruncated] (the input ends inside the hello) or [ErrMalformed].
func ParseClientHello(b []byte) (*ClientHello, error) {
	msg, end, err := reassemble(b)
	if err != nil {
		return nil, err
	}
	h := new(ClientHello)
	h.Raw = b[:end]
	h.RecordVersion = uint16(b[1])<<8 | uint16(b[2])
	if err := h.parseHandshake(msg); err != nil {
		return nil, err
	}
	return h, nil
}

// ParseHandshake parses a bare ClientHello handshake message (type 1, a
// 3-byte length, the body), as some load balancers and CDNs pass it on
// without the record layer. RecordVersion is 0 in the result.
func ParseHandshake(b []byte) (*ClientHello, error) {
	if len(b) > 0 && b[0] != handshakeTypeClientHello {
		return nil, fmt.Errorf("%w: handshake type %d is not a ClientHello", ErrMalformed, b[0])
	}
	if len(b) < handshakeHeaderLen {
		return nil, fmt.Errorf("%w: %d bytes, shorter than a handshake header", ErrTruncated, len(b))
	}
	n := int(b[1])<<16 | int(b[2])<<8 | int(b[3])
	if len(b)-handshakeHeaderLen < n {
		return nil, fmt.Errorf("%w: handshake says %d bytes, %d present", ErrTruncated, n, len(b)-handshakeHeaderLen)
	}
	h := new(ClientHello)
	h.Raw = b[:handshakeHeaderLen+n]
	if err := h.parseHandshake(h.Raw); err != nil {
		return nil, err
	}
	return h, nil
}

// reassemble walks the handshake records at the start of b and returns the
// complete ClientHello handshake message and the offset just past the last
// record used. When the message sits in one record (the common case) msg
// aliases b; otherwise the fragments are copied into one buffer.
func reassemble(b []byte) (msg []byte, end int, err error) {
	if len(b) == 0 {
		return nil, 0, fmt.Errorf("%w: no bytes", ErrTruncated)
	}
	if b[0] != recordTypeHandshake {
		return nil, 0, fmt.Errorf("%w: first byte 0x%02x is not a handshake record", ErrNotTLS, b[0])
	}
	if len(b) >= 2 && b[1] != 3 {
		// Every TLS and SSLv3 record version has major version 3; an
		// SSLv2-compatible or garbage stream does not.
		return nil, 0, fmt.Errorf("%w: record version major %d", ErrNotTLS, b[1])
	}
	var (
		pos      int
		need     = -1 // handshake message length, header included, once known
		single   []byte
		multi    []byte
		fragment int
	)
	for {
		if len(b)-pos < recordHeaderLen {
			return nil, 0, fmt.Errorf("%w: record header at offset %d", ErrTruncated, pos)
		}
		if b[pos] != recordTypeHandshake {
			return nil, 0, fmt.Errorf("%w: record type %d inside the ClientHello", ErrMalformed, b[pos])
		}
		if b[pos+1] != 3 {
			return nil, 0, fmt.Errorf("%w: record version major %d at offset %d", ErrMalformed, b[pos+1], pos)
		}
		n := int(b[pos+3])<<8 | int(b[pos+4])
		if n == 0 || n > maxRecordLen {
			return nil, 0, fmt.Errorf("%w: record length %d", ErrMalformed, n)
		}
		pos += recordHeaderLen
		if len(b)-pos < n {
			return nil, 0, fmt.Errorf("%w: record says %d bytes, %d present", ErrTruncated, n, len(b)-pos)
		}
		payload := b[pos : pos+n]
		pos += n
		fragment++
		if fragment == 1 {
			single = payload
		} else {
			if multi == nil {
				multi = append(make([]byte, 0, len(single)+n), single...)
			}
			multi = append(multi, payload...)
		}
		got := single
		if multi != nil {
			got = multi
		}
		if need < 0 && len(got) >= handshakeHeaderLen {
			if got[0] != handshakeTypeClientHello {
				return nil, 0, fmt.Errorf("%w: handshake type %d is not a ClientHello", ErrMalformed, got[0])
			}
			need = handshakeHeaderLen + (int(got[1])<<16 | int(got[2])<<8 | int(got[3]))
		}
		if need >= 0 && len(got) >= need {
			return got[:need], pos, nil
		}
	}
}

// reader is a bounds-checked cursor over a byte slice. Every method reports
// failure through ok instead of panicking, so a hostile length can never
// index out of range.
type reader struct {
	b  []byte
	ok bool
}

func (r *reader) u8() uint8 {
	if len(r.b) < 1 {
		r.ok = false
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) u16() uint16 {
	if len(r.b) < 2 {
		r.ok = false
		return 0
	}
	v := uint16(r.b[0])<<8 | uint16(r.b[1])
	r.b = r.b[2:]
	return v
}

func (r *reader) bytes(n int) []byte {
	if n < 0 || len(r.b) < n {
		r.ok = false
		r.b = nil
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// vec8 and vec16 read a vector with a 1- or 2-byte length prefix.
func (r *reader) vec8() []byte  { return r.bytes(int(r.u8())) }
func (r *reader) vec16() []byte { return r.bytes(int(r.u16())) }

// parseHandshake parses the handshake message msg (header included).
func (h *ClientHello) parseHandshake(msg []byte) error {
	if len(msg) < handshakeHeaderLen || msg[0] != handshakeTypeClientHello {
		return fmt.Errorf("%w: not a ClientHello handshake message", ErrMalformed)
	}
	r := reader{b: msg[handshakeHeaderLen:], ok: true}
	h.Version = r.u16()
	h.Random = r.bytes(32)
	h.SessionID = r.vec8()
	if !r.ok {
		return fmt.Errorf("%w: hello ends inside version, random or session ID", ErrMalformed)
	}
	if len(h.SessionID) > 32 {
		return fmt.Errorf("%w: session ID of %d bytes", ErrMalformed, len(h.SessionID))
	}
	ciphers := r.vec16()
	if !r.ok || len(ciphers)%2 != 0 {
		return fmt.Errorf("%w: cipher suite list", ErrMalformed)
	}
	h.CipherSuites = h.u16list(ciphers)
	h.CompressionMethods = r.vec8()
	if !r.ok || len(h.CompressionMethods) == 0 {
		return fmt.Errorf("%w: compression method list", ErrMalformed)
	}
	if len(r.b) == 0 {
		// A hello without an extensions block is legal (RFC 5246 §7.4.1.2).
		return nil
	}
	exts := r.vec16()
	if !r.ok || len(r.b) != 0 {
		return fmt.Errorf("%w: extensions block length does not match the hello", ErrMalformed)
	}
	h.Extensions = h.exts[:0]
	er := reader{b: exts, ok: true}
	for len(er.b) > 0 {
		typ := er.u16()
		data := er.vec16()
		if !er.ok {
			return fmt.Errorf("%w: extension list ends inside extension %d", ErrMalformed, len(h.Extensions))
		}
		h.Extensions = append(h.Extensions, Extension{Type: typ, Data: data})
	}
	if dup, ok := duplicateExtension(h.Extensions); ok {
		return fmt.Errorf("%w: extension 0x%04x appears twice", ErrMalformed, dup)
	}
	for i := range h.Extensions {
		if err := h.decodeExtension(&h.Extensions[i]); err != nil {
			return err
		}
	}
	return nil
}

// duplicateExtension reports an extension type that occurs twice; RFC 8446
// §4.2 forbids it and crypto/tls rejects it. A small list (every real
// hello) reports the first extension, in wire order, whose type an earlier
// one already had. It goes through a 256-bit filter of the types seen, a
// bit per multiplicative hash of the type, and compares a type with the
// earlier ones only when its bit is already set: 16 distinct extensions
// cost 16 filter steps instead of 120 comparisons, without allocating. A
// hostile hello with thousands of extensions is sorted instead, so the
// check stays O(n log n).
func duplicateExtension(exts []Extension) (uint16, bool) {
	if len(exts) <= 64 {
		var seen [4]uint64
		for i := range exts {
			t := exts[i].Type
			b := uint32(t) * 0x9e3779b1 >> 24 // Fibonacci hashing: the top 8 bits
			w, bit := b>>6, uint64(1)<<(b&63)
			if seen[w]&bit != 0 {
				for j := range i {
					if exts[j].Type == t {
						return t, true
					}
				}
			}
			seen[w] |= bit
		}
		return 0, false
	}
	types := make([]uint16, len(exts))
	for i := range exts {
		types[i] = exts[i].Type
	}
	slices.Sort(types)
	for i := 1; i < len(types); i++ {
		if types[i] == types[i-1] {
			return types[i], true
		}
	}
	return 0, false
}

// alloc16 returns n uint16 slots from the hello's inline storage, or from
// the heap once the inline storage is used up.
func (h *ClientHello) alloc16(n int) []uint16 {
	if used := h.u16used; used+n <= len(h.u16) {
		h.u16used += n
		return h.u16[used : used+n : used+n]
	}
	return make([]uint16, n)
}

// u16list decodes a big-endian list of 16-bit values (len(b) must be even).
func (h *ClientHello) u16list(b []byte) []uint16 {
	out := h.alloc16(len(b) / 2)
	for i := range out {
		out[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	return out
}

// decodeExtension fills the decoded fields for the extensions this package
// understands. Unknown extensions are kept raw in Extensions only.
func (h *ClientHello) decodeExtension(e *Extension) error {
	r := reader{b: e.Data, ok: true}
	bad := func(what string) error {
		return fmt.Errorf("%w: extension 0x%04x: %s", ErrMalformed, e.Type, what)
	}
	switch e.Type {
	case ExtServerName:
		// RFC 6066 §3: a list of (name_type, name); the first host_name
		// (type 0) is the server name.
		list := r.vec16()
		if !r.ok || len(r.b) != 0 {
			return bad("server name list length")
		}
		lr := reader{b: list, ok: true}
		for len(lr.b) > 0 {
			typ := lr.u8()
			name := lr.vec16()
			if !lr.ok {
				return bad("server name entry")
			}
			if typ == 0 && h.ServerName == "" {
				h.ServerName = string(name)
			}
		}
	case ExtALPN:
		// RFC 7301 §3.1: a list of non-empty 8-bit-length strings.
		list := r.vec16()
		if !r.ok || len(r.b) != 0 || len(list) == 0 {
			return bad("protocol list length")
		}
		// One string conversion for the whole list; the protocols are
		// substrings of it, so ALPN costs one allocation.
		s := string(list)
		h.ALPN = h.alpns[:0]
		for off := 0; off < len(s); {
			n := int(s[off])
			if n == 0 || off+1+n > len(s) {
				return bad("protocol name length")
			}
			h.ALPN = append(h.ALPN, s[off+1:off+1+n])
			off += 1 + n
		}
	case ExtSupportedGroups:
		list := r.vec16()
		if !r.ok || len(r.b) != 0 || len(list)%2 != 0 {
			return bad("group list length")
		}
		h.SupportedGroups = h.u16list(list)
	case ExtECPointFormats:
		h.ECPointFormats = r.vec8()
		if !r.ok || len(r.b) != 0 {
			return bad("point format list length")
		}
	case ExtSignatureAlgorithms:
		list := r.vec16()
		if !r.ok || len(r.b) != 0 || len(list)%2 != 0 {
			return bad("signature algorithm list length")
		}
		h.SignatureAlgorithms = h.u16list(list)
	case ExtSupportedVersions:
		list := r.vec8()
		if !r.ok || len(r.b) != 0 || len(list)%2 != 0 {
			return bad("version list length")
		}
		h.SupportedVersions = h.u16list(list)
	case ExtKeyShare:
		// RFC 8446 §4.2.8: a list of (group, key_exchange) entries.
		list := r.vec16()
		if !r.ok || len(r.b) != 0 {
			return bad("key share list length")
		}
		n := 0
		for lr := (reader{b: list, ok: true}); len(lr.b) > 0; n++ {
			lr.u16()
			lr.vec16()
			if !lr.ok {
				return bad("key share entry")
			}
		}
		groups := h.alloc16(n)
		lr := reader{b: list, ok: true}
		for i := range groups {
			groups[i] = lr.u16()
			lr.vec16()
		}
		h.KeyShareGroups = groups
	case ExtPSKKeyExchangeModes:
		h.PSKKeyExchangeModes = r.vec8()
		if !r.ok || len(r.b) != 0 {
			return bad("mode list length")
		}
	case ExtCompressCertificate:
		list := r.vec8()
		if !r.ok || len(r.b) != 0 || len(list)%2 != 0 {
			return bad("algorithm list length")
		}
		h.CompressCertificate = h.u16list(list)
	case ExtRecordSizeLimit:
		v := r.u16()
		if !r.ok || len(r.b) != 0 {
			return bad("length is not 2")
		}
		h.RecordSizeLimit = v
	case ExtPadding:
		h.PaddingLength = len(e.Data)
	case ExtECH:
		h.ECH = true
	}
	return nil
}
