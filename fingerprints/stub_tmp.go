package fingerprints

// TEMPORARY stubs while the parser is written; replaced by parse.go, ja3.go, ja4.go.

// ParseClientHello parses a ClientHello with its TLS record layer.
func ParseClientHello(b []byte) (*ClientHello, error) { return nil, ErrMalformed }

// ParseHandshake parses a bare handshake message (type 1, 3-byte length, body).
func ParseHandshake(b []byte) (*ClientHello, error) { return nil, ErrMalformed }

// Fingerprint parses raw bytes (record-framed or bare handshake) and computes all fingerprints.
func Fingerprint(raw []byte) (*ClientHello, Fingerprints, error) { return nil, Fingerprints{}, ErrMalformed }

// Fingerprints computes every fingerprint of h.
func (h *ClientHello) Fingerprints() Fingerprints { return Fingerprints{} }
