package fingerprints

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"
	"unsafe"
)

func TestParseClientHelloDecodesExtensions(t *testing.T) {
	th := specHello()
	th.exts = append(th.exts,
		Extension{Type: ExtRecordSizeLimit, Data: u16s(0x4001)},
		extEmpty(ExtECH),
	)
	th.sessionID = bytes.Repeat([]byte{7}, 32)
	h := mustParse(t, th.records(0))
	checks := []struct {
		name      string
		got, want any
	}{
		{"record version", h.RecordVersion, uint16(0x0301)},
		{"legacy version", h.Version, uint16(0x0303)},
		{"session id", len(h.SessionID), 32},
		{"cipher count", len(h.CipherSuites), 15},
		{"extension count", len(h.Extensions), 18},
		{"server name", h.ServerName, "example.com"},
		{"alpn", h.ALPN, []string{"h2", "http/1.1"}},
		{"groups", h.SupportedGroups, []uint16{0x001d, 0x0017, 0x0018}},
		{"point formats", h.ECPointFormats, []uint8{0}},
		{"signature algorithms", len(h.SignatureAlgorithms), 8},
		{"supported versions", h.SupportedVersions, []uint16{0x0304, 0x0303}},
		{"key share groups", h.KeyShareGroups, []uint16{0x001d}},
		{"psk modes", h.PSKKeyExchangeModes, []uint8{1}},
		{"compress certificate", h.CompressCertificate, []uint16{2}},
		{"record size limit", h.RecordSizeLimit, uint16(0x4001)},
		{"padding", h.PaddingLength, 10},
		{"ech", h.ECH, true},
		{"max version", h.MaxVersion(), uint16(0x0304)},
		{"raw is the whole input", len(h.Raw), len(th.records(0))},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !equalAny(c.got, c.want) {
				t.Errorf("got %v, want %v", c.got, c.want)
			}
		})
	}
}

func equalAny(a, b any) bool { return reflect.DeepEqual(a, b) }

func TestParseClientHelloReassemblesFragmentedRecords(t *testing.T) {
	want := mustParse(t, specHello().records(0)).Fingerprints()
	for _, frag := range []int{1, 2, 3, 4, 5, 17, 100, 1000} {
		raw := specHello().records(frag)
		h, err := ParseClientHello(raw)
		if err != nil {
			t.Fatalf("fragment %d: %v", frag, err)
		}
		if got := h.Fingerprints(); got != want {
			t.Errorf("fragment %d: fingerprints differ:\n%+v\n%+v", frag, got, want)
		}
		if len(h.Raw) != len(raw) {
			t.Errorf("fragment %d: Raw is %d bytes, want %d", frag, len(h.Raw), len(raw))
		}
	}
}

func TestParseClientHelloIgnoresBytesAfterTheHello(t *testing.T) {
	one := specHello().records(0)
	raw := append(append([]byte(nil), one...), 0x17, 0x03, 0x03, 0x00, 0x01, 0xff)
	h, err := ParseClientHello(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Raw) != len(one) {
		t.Errorf("Raw = %d bytes, want the %d bytes of the hello record", len(h.Raw), len(one))
	}
}

func TestParseHandshakeAcceptsBareMessage(t *testing.T) {
	th := specHello()
	h, err := ParseHandshake(th.handshake())
	if err != nil {
		t.Fatal(err)
	}
	if h.RecordVersion != 0 || h.JA4() != "t13d1516h2_8daaf6152771_e5627efa2ab1" {
		t.Errorf("bare handshake: record version %#x, JA4 %s", h.RecordVersion, h.JA4())
	}
	_, f, err := Fingerprint(th.handshake())
	if err != nil || f.JA4 != h.JA4() {
		t.Errorf("Fingerprint(bare) = %v, %v", f.JA4, err)
	}
}

func TestParseClientHelloRejectsBadInput(t *testing.T) {
	good := specHello().records(0)
	mutate := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	hs := func(body []byte) []byte { // frame a handshake body as one record
		msg := append([]byte{1, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}, body...)
		return frameRecords(msg, 0x0301, 0)
	}
	okPrefix := append(append(u16s(0x0303), make([]byte, 32)...), 0) // version, random, empty session id
	withExts := func(exts ...Extension) []byte { return testHello{ciphers: []uint16{0x1301}, exts: exts}.records(0) }
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty input", nil, ErrTruncated},
		{"plain HTTP request", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), ErrNotTLS},
		{"SSLv2-compatible hello", []byte{0x80, 0x2e, 0x01, 0x03, 0x01}, ErrNotTLS},
		{"handshake type byte then garbage version", []byte{0x16, 0xff, 0xff, 0, 5, 1, 2, 3, 4, 5}, ErrNotTLS},
		{"record header cut short", good[:3], ErrTruncated},
		{"record body cut short", good[:len(good)-1], ErrTruncated},
		{"second record missing", specHello().records(100)[:105], ErrTruncated},
		{"zero-length record", []byte{0x16, 3, 1, 0, 0}, ErrMalformed},
		{"record longer than 2^14", []byte{0x16, 3, 1, 0x40, 0x01}, ErrMalformed},
		{"alert record inside the hello", append(specHello().records(100)[:105], 0x15, 3, 3, 0, 2, 2, 40), ErrMalformed},
		{"server hello instead of client hello", mutate(func(b []byte) []byte { b[5] = 2; return b }), ErrMalformed},
		{"handshake length larger than records", mutate(func(b []byte) []byte { b[6] = 0x7f; return b }), ErrTruncated},
		{"random cut short", hs(u16s(0x0303)), ErrMalformed},
		{"session id of 33 bytes", hs(append(append(u16s(0x0303), make([]byte, 32)...), append([]byte{33}, make([]byte, 33)...)...)), ErrMalformed},
		{"odd cipher list length", hs(append(okPrefix, 0, 3, 0x13, 0x01, 0x13, 1, 0)), ErrMalformed},
		{"cipher list longer than hello", hs(append(okPrefix, 0xff, 0xfe)), ErrMalformed},
		{"no compression methods", hs(append(okPrefix, 0, 2, 0x13, 0x01, 0)), ErrMalformed},
		{"extension block length mismatch", hs(append(okPrefix, 0, 2, 0x13, 0x01, 1, 0, 0, 9, 0, 0)), ErrMalformed},
		{"trailing byte after extensions", hs(append(okPrefix, 0, 2, 0x13, 0x01, 1, 0, 0, 0, 7)), ErrMalformed},
		{"extension data longer than block", hs(append(okPrefix, 0, 2, 0x13, 0x01, 1, 0, 0, 4, 0, 0x17, 0, 9)), ErrMalformed},
		{"duplicate extension", withExts(extEmpty(0x0017), extEmpty(0x0017)), ErrMalformed},
		{"SNI list length wrong", withExts(Extension{Type: ExtServerName, Data: []byte{0, 9, 0}}), ErrMalformed},
		{"empty ALPN protocol", withExts(Extension{Type: ExtALPN, Data: vec16([]byte{0})}), ErrMalformed},
		{"ALPN name past list", withExts(Extension{Type: ExtALPN, Data: vec16([]byte{5, 'h'})}), ErrMalformed},
		{"odd supported_groups", withExts(Extension{Type: ExtSupportedGroups, Data: vec16([]byte{0, 0x1d, 0})}), ErrMalformed},
		{"odd signature algorithms", withExts(Extension{Type: ExtSignatureAlgorithms, Data: vec16([]byte{4})}), ErrMalformed},
		{"supported_versions overrun", withExts(Extension{Type: ExtSupportedVersions, Data: []byte{4, 3, 4}}), ErrMalformed},
		{"key share entry overrun", withExts(Extension{Type: ExtKeyShare, Data: vec16(u16s(0x001d, 32))}), ErrMalformed},
		{"record_size_limit of 3 bytes", withExts(Extension{Type: ExtRecordSizeLimit, Data: []byte{0x40, 0, 1}}), ErrMalformed},
		{"point formats overrun", withExts(Extension{Type: ExtECPointFormats, Data: []byte{3, 0}}), ErrMalformed},
		{"psk modes overrun", withExts(Extension{Type: ExtPSKKeyExchangeModes, Data: []byte{2, 1}}), ErrMalformed},
		{"odd compress_certificate", withExts(Extension{Type: ExtCompressCertificate, Data: []byte{1, 2}}), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ParseClientHello(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if h != nil {
				t.Errorf("got a ClientHello with an error")
			}
		})
	}
}

func TestFingerprintRejectsOversizedInput(t *testing.T) {
	_, _, err := Fingerprint(make([]byte, DefaultMaxHelloSize+1))
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("err = %v, want ErrTooLarge", err)
	}
}

func TestParseClientHelloManyExtensionsStaysCorrect(t *testing.T) {
	// More extensions and values than the inline storage holds: the parser
	// must spill to the heap, not truncate.
	th := testHello{ciphers: make([]uint16, 300)}
	for i := range th.ciphers {
		th.ciphers[i] = uint16(0x0100 + i)
	}
	for i := range 100 {
		th.exts = append(th.exts, extEmpty(uint16(0x3000+i)))
	}
	th.exts = append(th.exts, extGroups(make([]uint16, 200)...))
	h := mustParse(t, th.records(0))
	if len(h.CipherSuites) != 300 || h.CipherSuites[299] != 0x0100+299 || len(h.Extensions) != 101 || len(h.SupportedGroups) != 200 {
		t.Errorf("ciphers %d, extensions %d, groups %d", len(h.CipherSuites), len(h.Extensions), len(h.SupportedGroups))
	}
	th.exts = append(th.exts, extEmpty(0x3005))
	if _, err := ParseClientHello(th.records(0)); !errors.Is(err, ErrMalformed) {
		t.Errorf("duplicate among 102 extensions: err = %v, want ErrMalformed", err)
	}
}

func TestIsGREASE(t *testing.T) {
	n := 0
	for v := range 1 << 16 {
		if IsGREASE(uint16(v)) {
			n++
			if v&0xff != v>>8 || v&0x0f != 0x0a {
				t.Errorf("IsGREASE(%#04x) = true", v)
			}
		}
	}
	if n != 16 {
		t.Errorf("%d GREASE values, RFC 8701 defines 16", n)
	}
}

// TestClientHelloSizeClass: every connection allocates one ClientHello,
// rounded up to one of Go's size classes after the 8-byte malloc header
// that objects over 512 bytes with pointers carry (runtime, Go 1.22 and
// later). 1 528 + 8 is the 1 536-byte class; one byte more and every
// connection allocates 1 792.
func TestClientHelloSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(ClientHello{}); n+8 > 1536 {
		t.Errorf("ClientHello is %d bytes, + 8 over the 1 536-byte size class: shrink u16 (see its comment)", n)
	}
}

// TestEveryCaptureParsesIntoInlineStorage: every real hello in
// testdata/clienthello parses into ClientHello's inline arrays without
// spilling to the heap, its uint16 lists with at least half of u16 to
// spare, so the sizes chosen for them fit real hellos.
func TestEveryCaptureParsesIntoInlineStorage(t *testing.T) {
	files := captureFiles(t)
	var room ClientHello
	for _, f := range files {
		_, h := readCapture(t, f)
		need := len(h.CipherSuites) + len(h.SupportedGroups) + len(h.SignatureAlgorithms) +
			len(h.SupportedVersions) + len(h.KeyShareGroups) + len(h.CompressCertificate)
		if h.u16used != need || 2*need > len(room.u16) {
			t.Errorf("%s: %d uint16 values, %d of them inline, in %d: want all inline, in half the room", filepath.Base(f), need, h.u16used, len(room.u16))
		}
		if len(h.Extensions) > len(room.exts) {
			t.Errorf("%s: %d extensions spill past %d", filepath.Base(f), len(h.Extensions), len(room.exts))
		}
	}
}

// naiveDuplicate is duplicateExtension's small-list answer by definition:
// the first extension whose type an earlier one had.
func naiveDuplicate(exts []Extension) (uint16, bool) {
	for i := range exts {
		for j := range i {
			if exts[i].Type == exts[j].Type {
				return exts[i].Type, true
			}
		}
	}
	return 0, false
}

func TestDuplicateExtensionAgreesWithPairwiseComparison(t *testing.T) {
	// Lists of up to 64 types from the whole 16-bit space put several
	// distinct types on one filter bit (64 types in 256 bits collide
	// almost surely), so a filter hit that is not a duplicate is checked
	// too; lists from 40 types repeat often.
	rng := rand.New(rand.NewPCG(1, 2))
	var longDistinct int
	for n := range 20000 {
		size := 1 + rng.IntN(64)
		space := 1 << 16
		if n%2 == 1 {
			space = 40
		}
		exts := make([]Extension, size)
		for i := range exts {
			exts[i].Type = uint16(rng.IntN(space))
		}
		wantT, want := naiveDuplicate(exts)
		gotT, got := duplicateExtension(exts)
		if got != want || gotT != wantT {
			t.Fatalf("types %v: duplicateExtension = %#04x, %v; want %#04x, %v", extTypes(exts), gotT, got, wantT, want)
		}
		if !want && size > 40 {
			longDistinct++
		}
	}
	if longDistinct < 100 {
		t.Fatalf("%d lists of over 40 distinct types, want 100: too few filter hits that are not duplicates", longDistinct)
	}
}

func extTypes(exts []Extension) []uint16 {
	out := make([]uint16, len(exts))
	for i := range exts {
		out[i] = exts[i].Type
	}
	return out
}
