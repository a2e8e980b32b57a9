package server

import (
	"fmt"
	"time"

	"github.com/mitmwatch/mitmwatch/fingerprints"
	"github.com/mitmwatch/mitmwatch/middleware"
)

// Report is what mitmwatch tells about one connection: the JSON body of
// GET /.well-known/tls-interception and each line of `mitmwatch
// fingerprint`.
//
// It is the middleware's [middleware.Verdict] (verdict, product, vendor,
// kind, confidence, grade, reasons, client, stack; ja3, ja3_hash, ja3n,
// ja3n_hash, ja4, ja4_r, ja4_o, ja4_ro; tls_version, alpn, sni,
// user_agent; country, asn, as_org; source, error), so that the demo's
// endpoint and the middleware's are one shape, plus the fields only the
// fingerprint command fills. Consumers must ignore names they do not know.
type Report struct {
	middleware.Verdict

	// Time is when the ClientHello was captured (fingerprint command only).
	Time *time.Time `json:"time,omitempty"`
	// RemoteAddr is the client's address (fingerprint command only).
	RemoteAddr string `json:"remote_addr,omitempty"`
	// Parsed holds the hello's fields (fingerprint command only).
	Parsed *Parsed `json:"parsed,omitempty"`
	// SavedAs is the path of the saved .hex file (fingerprint command with
	// --save only).
	SavedAs string `json:"saved_as,omitempty"`
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
// its connection, before any classification: the fingerprints and what the
// hello offers ([middleware.Describe]), the User-Agent, and verdict
// "unknown". herr is the error from
// [fingerprints.ClientHelloFromContext] or the capture; when it is non-nil
// or h is nil only UserAgent and Error are set.
func NewReport(h *fingerprints.ClientHello, herr error, userAgent string) Report {
	r := Report{Verdict: middleware.Describe(h, herr)}
	r.UserAgent = userAgent
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
