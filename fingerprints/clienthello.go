package fingerprints

// ClientHello is a parsed TLS ClientHello. Lists keep wire order and keep
// GREASE values (RFC 8701), so that fingerprints and classifiers can see
// both; use [IsGREASE] to skip them.
//
// Byte slices (Raw, Random, SessionID, Extension.Data) alias the input given
// to [ParseClientHello]: do not modify that input while the ClientHello is
// in use.
type ClientHello struct {
	// Raw is the input as parsed: TLS record header(s) and the handshake
	// message for [ParseClientHello], the bare handshake message for
	// [ParseHandshake].
	Raw []byte

	// RecordVersion is the version field of the first TLS record header,
	// 0 when the hello was parsed without its record layer.
	RecordVersion uint16
	// Version is the ClientHello's legacy_version field.
	Version uint16
	// Random is the 32-byte client random.
	Random []byte
	// SessionID is the legacy session ID (0 to 32 bytes).
	SessionID []byte
	// CipherSuites in wire order, GREASE included.
	CipherSuites []uint16
	// CompressionMethods in wire order (a modern client sends only 0, null).
	CompressionMethods []uint8
	// Extensions in wire order, GREASE included.
	Extensions []Extension

	// Decoded extensions. Each is the zero value when the extension is
	// absent; Has reports presence.

	// ServerName is the first host_name of server_name (0x0000).
	ServerName string
	// ALPN lists the application_layer_protocol_negotiation (0x0010)
	// protocols in wire order.
	ALPN []string
	// SupportedGroups from supported_groups (0x000a), GREASE included.
	SupportedGroups []uint16
	// ECPointFormats from ec_point_formats (0x000b).
	ECPointFormats []uint8
	// SignatureAlgorithms from signature_algorithms (0x000d), GREASE
	// included.
	SignatureAlgorithms []uint16
	// SupportedVersions from supported_versions (0x002b), GREASE included.
	SupportedVersions []uint16
	// KeyShareGroups are the groups of the key_share (0x0033) entries.
	KeyShareGroups []uint16
	// PSKKeyExchangeModes from psk_key_exchange_modes (0x002d).
	PSKKeyExchangeModes []uint8
	// CompressCertificate lists the algorithms of compress_certificate
	// (0x001b, RFC 8879).
	CompressCertificate []uint16
	// RecordSizeLimit from record_size_limit (0x001c, RFC 8449).
	RecordSizeLimit uint16
	// PaddingLength is the length of the padding extension (0x0015).
	PaddingLength int
	// ECH reports an encrypted_client_hello (0xfe0d) extension. Real ECH
	// and ECH GREASE look alike on the wire by design, so this is presence
	// only.
	ECH bool

	// inline backing storage so that a typical hello parses with few
	// allocations; larger hellos spill to the heap. The largest of the 46
	// captures in testdata/clienthello uses 66 of u16 and 19 of exts. 152
	// keeps the struct at 1 528 bytes: with the 8-byte header Go's
	// allocator puts before an object this size that holds pointers, it
	// fits the 1 536-byte size class (160 made it 1 544 + 8, allocated as
	// 1 792). TestClientHelloSizeClass keeps it there.
	u16     [152]uint16
	u16used int
	exts    [24]Extension
	alpns   [4]string
}

// Extension is one ClientHello extension.
type Extension struct {
	// Type is the extension's code point.
	Type uint16
	// Data is the extension's body, without the type and length fields.
	Data []byte
}

// Extension type code points this package decodes or refers to.
const (
	ExtServerName          uint16 = 0x0000
	ExtSupportedGroups     uint16 = 0x000a
	ExtECPointFormats      uint16 = 0x000b
	ExtSignatureAlgorithms uint16 = 0x000d
	ExtALPN                uint16 = 0x0010
	ExtPadding             uint16 = 0x0015
	ExtCompressCertificate uint16 = 0x001b
	ExtRecordSizeLimit     uint16 = 0x001c
	ExtSupportedVersions   uint16 = 0x002b
	ExtPSKKeyExchangeModes uint16 = 0x002d
	ExtKeyShare            uint16 = 0x0033
	ExtECH                 uint16 = 0xfe0d
)

// IsGREASE reports whether v is one of the sixteen GREASE values of RFC 8701
// (0x0a0a, 0x1a1a, …, 0xfafa).
func IsGREASE(v uint16) bool {
	return v&0x0f0f == 0x0a0a && v>>8 == v&0xff
}

// Has reports whether the hello carries an extension of type t.
func (h *ClientHello) Has(t uint16) bool {
	for i := range h.Extensions {
		if h.Extensions[i].Type == t {
			return true
		}
	}
	return false
}

// MaxVersion is the highest non-GREASE TLS version the client offers: the
// largest entry of supported_versions if present, else the legacy version.
func (h *ClientHello) MaxVersion() uint16 {
	var max uint16
	for _, v := range h.SupportedVersions {
		if !IsGREASE(v) && v > max {
			max = v
		}
	}
	if max == 0 {
		return h.Version
	}
	return max
}
