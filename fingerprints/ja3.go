package fingerprints

import (
	"crypto/md5"
	"encoding/hex"
	"slices"
	"strconv"
)

// JA3 returns the JA3 string of the hello, as defined by Salesforce
// (github.com/salesforce/ja3) and computed by Wireshark
// (tls.handshake.ja3_full): the decimal legacy version, cipher suites,
// extension types, supported groups and EC point formats, each list joined
// by "-" and the five fields by ",". GREASE values (RFC 8701) are left out
// of every list.
//
// mitmwatch follows the reference when the hello's last extension is
// GREASE (every current Chrome hello): no trailing "-". dreadl0ck/ja3
// v1.0.2 leaves one there, so its hash differs for those hellos.
func (h *ClientHello) JA3() string {
	var buf [1024]byte
	return string(h.appendJA3(buf[:0], false))
}

// JA3N returns JA3 with the extension types sorted numerically. Chrome
// shuffles its extension order per connection (since Chrome 110), which
// changes JA3 every time; JA3N stays the same.
func (h *ClientHello) JA3N() string {
	var buf [1024]byte
	return string(h.appendJA3(buf[:0], true))
}

// JA3Hash returns the lowercase hex MD5 of JA3.
func (h *ClientHello) JA3Hash() string {
	var buf [1024]byte
	return md5hex(h.appendJA3(buf[:0], false))
}

// JA3NHash returns the lowercase hex MD5 of JA3N.
func (h *ClientHello) JA3NHash() string {
	var buf [1024]byte
	return md5hex(h.appendJA3(buf[:0], true))
}

func md5hex(b []byte) string {
	sum := md5.Sum(b)
	var out [2 * md5.Size]byte
	hex.Encode(out[:], sum[:])
	return string(out[:])
}

// appendJA3 appends the JA3 (or, with sorted, JA3N) string to b.
func (h *ClientHello) appendJA3(b []byte, sorted bool) []byte {
	b = strconv.AppendUint(b, uint64(h.Version), 10)
	b = append(b, ',')
	b = appendDecimalList(b, h.CipherSuites)
	b = append(b, ',')
	var types [64]uint16
	ext := types[:0]
	for i := range h.Extensions {
		if t := h.Extensions[i].Type; !IsGREASE(t) {
			ext = append(ext, t)
		}
	}
	if sorted {
		slices.Sort(ext)
	}
	b = appendDecimalList(b, ext)
	b = append(b, ',')
	b = appendDecimalList(b, h.SupportedGroups)
	b = append(b, ',')
	for i, f := range h.ECPointFormats {
		if i > 0 {
			b = append(b, '-')
		}
		b = strconv.AppendUint(b, uint64(f), 10)
	}
	return b
}

// appendDecimalList appends the non-GREASE values of list in decimal,
// joined by "-".
func appendDecimalList(b []byte, list []uint16) []byte {
	first := true
	for _, v := range list {
		if IsGREASE(v) {
			continue
		}
		if !first {
			b = append(b, '-')
		}
		first = false
		b = strconv.AppendUint(b, uint64(v), 10)
	}
	return b
}
