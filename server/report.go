package server

import (
	"crypto/tls"
	"fmt"
	"time"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// Report is what mitmwatch tells about one connection: the JSON body of
// GET /.well-known/tls-interception and each line of `mitmwatch
// fingerprint`.
//
// The embedded [fingerprints.Fingerprints] contributes ja3, ja3_hash, ja3n,
// ja3n_hash, ja4, ja4_r, ja4_o and ja4_ro. New fields (the detection
// verdict: verdict, product, kind, confidence, grade, reasons, client) are
// added as further tagged fields; consumers must ignore names they do not
// know.
type Report struct {
	fingerprints.Fingerprints

	// TLSVersion is the highest version the client offers
	// ([fingerprints.ClientHello.MaxVersion]) by name, "TLS 1.3"; not the
	// negotiated one, which an interceptor can change.
	TLSVersion string `json:"tls_version"`
	// ALPN lists the offered application protocols in wire order; [] when
	// none (never null).
	ALPN []string `json:"alpn"`
	// SNI is the server_name the client asked for, "" when absent (as when
	// connecting to an IP address).
	SNI string `json:"sni"`
	// UserAgent is the User-Agent header of the request, "" when the
	// connection made no request.
	UserAgent string `json:"user_agent"`

	// Time is when the ClientHello was captured (fingerprint command only).
	Time *time.Time `json:"time,omitempty"`
	// RemoteAddr is the client's address (fingerprint command only).
	RemoteAddr string `json:"remote_addr,omitempty"`
	// Parsed holds the hello's fields (fingerprint command only).
	Parsed *Parsed `json:"parsed,omitempty"`
	// SavedAs is the path of the saved .hex file (fingerprint command with
	// --save only).
	SavedAs string `json:"saved_as,omitempty"`

	// Error says why there are no fingerprints: no ClientHello was captured
	// for the connection, or it did not parse. Empty on success.
	Error string `json:"error,omitempty"`
}

// Parsed is the detail of a ClientHello for an operator building a
// signature. Every 16-bit code point is written as "0x" and four lowercase
// hex digits ("0x1301"), the form the IANA TLS registries use, so that
// values can be looked up or pasted as they are; 8-bit values are plain
// numbers. Lists keep wire order and GREASE values.
type Parsed struct {
	RecordVersion       string   `json:"record_version,omitempty"`
	Version             string   `json:"version"`
	CipherSuites        []string `json:"cipher_suites"`
	CompressionMethods  []int    `json:"compression_methods"`
	Extensions          []string `json:"extensions"`
	SupportedGroups     []string `json:"supported_groups"`
	ECPointFormats      []int    `json:"ec_point_formats"`
	SignatureAlgorithms []string `json:"signature_algorithms"`
	SupportedVersions   []string `json:"supported_versions"`
	KeyShareGroups      []string `json:"key_share_groups"`
	PSKKeyExchangeModes []int    `json:"psk_key_exchange_modes"`
	CompressCertificate []string `json:"compress_certificate"`
	RecordSizeLimit     uint16   `json:"record_size_limit,omitempty"`
	ECH                 bool     `json:"ech"`
	// Length is the size in bytes of the captured hello, record headers
	// included.
	Length int `json:"length"`
}

// NewReport builds the report for a hello and the request that came over
// its connection. herr is the error from
// [fingerprints.ClientHelloFromContext] or the capture; when it is non-nil
// or h is nil only UserAgent and Error are set.
func NewReport(h *fingerprints.ClientHello, herr error, userAgent string) Report {
	r := Report{UserAgent: userAgent, ALPN: []string{}}
	switch {
	case herr != nil:
		r.Error = herr.Error()
		return r
	case h == nil:
		r.Error = "server: no ClientHello captured for this connection"
		return r
	}
	r.Fingerprints = h.Fingerprints()
	r.TLSVersion = versionName(h.MaxVersion())
	if len(h.ALPN) > 0 {
		r.ALPN = append(r.ALPN, h.ALPN...)
	}
	r.SNI = h.ServerName
	return r
}

// NewParsed returns the detail of h.
func NewParsed(h *fingerprints.ClientHello) *Parsed {
	p := &Parsed{
		Version:             hex16(h.Version),
		CipherSuites:        hexList(h.CipherSuites),
		CompressionMethods:  u8List(h.CompressionMethods),
		Extensions:          make([]string, len(h.Extensions)),
		SupportedGroups:     hexList(h.SupportedGroups),
		ECPointFormats:      u8List(h.ECPointFormats),
		SignatureAlgorithms: hexList(h.SignatureAlgorithms),
		SupportedVersions:   hexList(h.SupportedVersions),
		KeyShareGroups:      hexList(h.KeyShareGroups),
		PSKKeyExchangeModes: u8List(h.PSKKeyExchangeModes),
		CompressCertificate: hexList(h.CompressCertificate),
		RecordSizeLimit:     h.RecordSizeLimit,
		ECH:                 h.ECH,
		Length:              len(h.Raw),
	}
	if h.RecordVersion != 0 {
		p.RecordVersion = hex16(h.RecordVersion)
	}
	for i, e := range h.Extensions {
		p.Extensions[i] = hex16(e.Type)
	}
	return p
}

// versionName names a TLS version: "TLS 1.3", "SSLv3", or "0x…" for a
// value crypto/tls does not know.
func versionName(v uint16) string {
	if v == 0 {
		return ""
	}
	return tls.VersionName(v)
}

func hex16(v uint16) string { return fmt.Sprintf("0x%04x", v) }

// hexList never returns nil, so that JSON shows [] rather than null.
func hexList(l []uint16) []string {
	out := make([]string, len(l))
	for i, v := range l {
		out[i] = hex16(v)
	}
	return out
}

// u8List converts l to []int, never nil: encoding/json would write a
// []uint8 as a base64 string.
func u8List(l []uint8) []int {
	out := make([]int, len(l))
	for i, v := range l {
		out[i] = int(v)
	}
	return out
}
