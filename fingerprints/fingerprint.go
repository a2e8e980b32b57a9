package fingerprints

import "fmt"

// Fingerprints holds every fingerprint of one ClientHello. The JSON names
// are the ones mitmwatch uses in its endpoint, CLI and logs.
type Fingerprints struct {
	// JA3 is the Salesforce JA3 string:
	// SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats.
	JA3 string `json:"ja3"`
	// JA3Hash is the MD5 of JA3, in lowercase hex.
	JA3Hash string `json:"ja3_hash"`
	// JA3N is JA3 with the extension list sorted numerically, which makes
	// it stable under Chrome's per-connection extension shuffling.
	JA3N string `json:"ja3n"`
	// JA3NHash is the MD5 of JA3N.
	JA3NHash string `json:"ja3n_hash"`
	// JA4 is FoxIO's JA4 (sorted lists, hashed).
	JA4 string `json:"ja4"`
	// JA4R is JA4_r: sorted lists, not hashed.
	JA4R string `json:"ja4_r"`
	// JA4O is JA4_o: wire order, hashed.
	JA4O string `json:"ja4_o"`
	// JA4RO is JA4_ro: wire order, not hashed.
	JA4RO string `json:"ja4_ro"`
}

// CoreFingerprints computes JA3, its hash and JA4: what classification,
// counting and a proxy's headers use. The other fields stay empty; a
// connection that never shows them (the verdict endpoint does) saves their
// cost: on a Chrome 133 hello, 1.5 µs and 240 B here against 2.8 µs and
// 896 B for [ClientHello.Fingerprints] (BenchmarkCoreFingerprints,
// BenchmarkFingerprints).
func (h *ClientHello) CoreFingerprints() Fingerprints {
	ja3, hash := h.coreJA3()
	return Fingerprints{JA3: ja3, JA3Hash: hash, JA4: h.JA4()}
}

// coreJA3 returns JA3 and its MD5, rendered in a buffer small enough for
// every new connection's goroutine (see ja4ScratchBuf): the longest JA3
// string in testdata/clienthello (curl with OpenSSL) is 230 bytes,
// Chromium 156's 157.
func (h *ClientHello) coreJA3() (ja3, hash string) {
	var buf [ja3CoreBuf]byte
	b := h.appendJA3(buf[:0], false)
	return string(b), md5hex(b)
}

// ja3CoreBuf is the stack buffer CoreFingerprints renders JA3 into; a
// longer JA3 string spills to the heap.
const ja3CoreBuf = 320

// Fingerprints computes every fingerprint of h.
func (h *ClientHello) Fingerprints() Fingerprints {
	var buf [1024]byte
	ja3 := h.appendJA3(buf[:0], false)
	f := Fingerprints{JA3: string(ja3), JA3Hash: md5hex(ja3)}
	ja3n := h.appendJA3(buf[:0], true)
	f.JA3N, f.JA3NHash = string(ja3n), md5hex(ja3n)
	f.JA4, f.JA4R, f.JA4O, f.JA4RO = h.ja4All()
	return f
}

// Fingerprint parses a ClientHello handed in from elsewhere (a header set by
// a trusted upstream, a pcap, a file) and computes its fingerprints. raw may
// be record-framed (starting with the handshake record type 0x16) or a bare
// handshake message (starting with the ClientHello type 0x01).
func Fingerprint(raw []byte) (*ClientHello, Fingerprints, error) {
	var (
		h   *ClientHello
		err error
	)
	if len(raw) > DefaultMaxHelloSize {
		return nil, Fingerprints{}, fmt.Errorf("%w: %d bytes, cap %d", ErrTooLarge, len(raw), DefaultMaxHelloSize)
	}
	if len(raw) > 0 && raw[0] == handshakeTypeClientHello {
		h, err = ParseHandshake(raw)
	} else {
		h, err = ParseClientHello(raw)
	}
	if err != nil {
		return nil, Fingerprints{}, err
	}
	return h, h.Fingerprints(), nil
}
