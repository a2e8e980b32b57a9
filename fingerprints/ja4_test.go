package fingerprints

import (
	"strings"
	"testing"

	utls "github.com/refraction-networking/utls"
)

// specHello is the ClientHello of the JA4 specification's worked example
// (FoxIO-LLC/ja4, technical_details/JA4.md): 15 ciphers, 16 extensions in
// wire order, ALPN h2, TLS 1.3 offered, and the signature algorithms below.
func specHello() testHello {
	return testHello{
		ciphers: []uint16{0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035},
		exts: []Extension{
			{Type: ExtCompressCertificate, Data: vec8(u16s(0x0002))},
			extSNI("example.com"),
			{Type: ExtKeyShare, Data: vec16(append(u16s(0x001d, 32), make([]byte, 32)...))},
			extALPN("h2", "http/1.1"),
			extEmpty(0x4469),
			extEmpty(0x0017),
			{Type: ExtPSKKeyExchangeModes, Data: vec8([]byte{1})},
			extSigAlgs(0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601),
			{Type: 0x0005, Data: []byte{1, 0, 0, 0, 0}},
			extEmpty(0x0023),
			extEmpty(0x0012),
			extVersions(0x0304, 0x0303),
			{Type: 0xff01, Data: []byte{0}},
			extPointFormats(0),
			extGroups(0x001d, 0x0017, 0x0018),
			{Type: ExtPadding, Data: make([]byte, 10)},
		},
	}
}

func mustParse(t testing.TB, b []byte) *ClientHello {
	t.Helper()
	h, err := ParseClientHello(b)
	if err != nil {
		t.Fatalf("ParseClientHello: %v", err)
	}
	return h
}

func TestJA4ReproducesSpecificationExamples(t *testing.T) {
	h := mustParse(t, specHello().records(0))
	tests := []struct {
		name, got, want string
	}{
		// The spec's published full fingerprint for this hello.
		{"ja4", h.JA4(), "t13d1516h2_8daaf6152771_e5627efa2ab1"},
		{"ja4_o original order", h.JA4O(), "t13d1516h2_acb858a92679_18f69afefd3d"},
		{"ja4_r", h.JA4R(), "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601"},
		{"ja4_ro keeps SNI and ALPN in wire order", h.JA4RO(), "t13d1516h2_1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,009c,009d,002f,0035_001b,0000,0033,0010,4469,0017,002d,000d,0005,0023,0012,002b,ff01,000b,000a,0015_0403,0804,0401,0503,0805,0501,0806,0601"},
		// The spec's stand-alone hash examples.
		{"cipher hash", string(appendTruncatedHash(nil, []byte("002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9"))), "8daaf6152771"},
		{"extensions without signature algorithms", string(appendTruncatedHash(nil, []byte("0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01"))), "6d807ffa2a79"},
		{"empty list", string(appendTruncatedHash(nil, nil)), "000000000000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got  %s\nwant %s", tt.got, tt.want)
			}
		})
	}
}

func TestJA4SectionA(t *testing.T) {
	base := func(mod func(*testHello)) string {
		th := testHello{ciphers: []uint16{0x1301}, exts: []Extension{extVersions(0x0304)}}
		mod(&th)
		return mustParse(t, th.records(0)).JA4()[:10]
	}
	tests := []struct {
		name string
		mod  func(*testHello)
		want string
	}{
		{"no SNI means i and no ALPN means 00", func(*testHello) {}, "t13i010100"},
		{"SNI present means d", func(th *testHello) { th.exts = append(th.exts, extSNI("a.example")) }, "t13d010200"},
		{"one-character ALPN counts as first and last", func(th *testHello) { th.exts = append(th.exts, extALPN("h")) }, "t13i0102hh"},
		{"non-alphanumeric ALPN uses its hex form", func(th *testHello) { th.exts = append(th.exts, extALPN("\xab\xcd")) }, "t13i0102ad"},
		{"ALPN last byte non-alphanumeric", func(th *testHello) { th.exts = append(th.exts, extALPN("h2/")) }, "t13i01026f"},
		{"only the first ALPN value counts", func(th *testHello) { th.exts = append(th.exts, extALPN("http/1.1", "h2")) }, "t13i0102h1"},
		{"GREASE is not counted", func(th *testHello) {
			th.ciphers = append([]uint16{0x0a0a}, th.ciphers...)
			th.exts = append([]Extension{extEmpty(0x1a1a)}, th.exts...)
		}, "t13i010100"},
		{"GREASE supported version is ignored", func(th *testHello) { th.exts[0] = extVersions(0x2a2a, 0x0304, 0x0303) }, "t13i010100"},
		{"legacy version without supported_versions", func(th *testHello) { th.exts = nil; th.version = 0x0303 }, "t12i010000"},
		{"TLS 1.0 legacy version", func(th *testHello) { th.exts = nil; th.version = 0x0301 }, "t10i010000"},
		{"unknown version is 00", func(th *testHello) { th.exts = nil; th.version = 0x7f7f }, "t00i010000"},
		{"counts are capped at 99", func(th *testHello) {
			th.ciphers = nil
			for i := range 120 {
				th.ciphers = append(th.ciphers, uint16(0x0100+i))
			}
		}, "t13i990100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := base(tt.mod); got != tt.want {
				t.Errorf("JA4 a = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestJA4IgnoresGREASESignatureAlgorithm(t *testing.T) {
	// Current Chromium sends a GREASE signature algorithm first (measured
	// in REFERENCE.md: 7a7a). The specification ignores GREASE everywhere,
	// so adding it must not change JA4.
	plain := specHello()
	greased := specHello()
	greased.exts[7] = extSigAlgs(0x7a7a, 0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601)
	a, b := mustParse(t, plain.records(0)).JA4(), mustParse(t, greased.records(0)).JA4()
	if a != b {
		t.Errorf("GREASE signature algorithm changed JA4: %s vs %s", a, b)
	}
}

func TestJA4WithoutSignatureAlgorithmsHasNoUnderscore(t *testing.T) {
	th := specHello()
	th.exts = append(th.exts[:7], th.exts[8:]...) // drop signature_algorithms
	h := mustParse(t, th.records(0))
	if got, want := h.JA4R(), "t13d1515h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_0005,000a,000b,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01"; got != want {
		t.Errorf("JA4_r = %s\nwant    %s", got, want)
	}
}

func TestJA4EmptyCipherAndExtensionLists(t *testing.T) {
	h := mustParse(t, testHello{noExtBlock: true}.records(0))
	if got, want := h.JA4(), "t12i000000_000000000000_000000000000"; got != want {
		t.Errorf("JA4 = %s, want %s", got, want)
	}
}

// FoxIO publishes t13d1516h2_8daaf6152771_02713d6af862 for Chrome 120–131
// and t13d1516h2_8daaf6152771_e5627efa2ab1 for Chrome 96–106 (REFERENCE.md,
// reproduced there with these utls parrots).
func TestJA4MatchesPublishedChromeValues(t *testing.T) {
	tests := []struct {
		id utls.ClientHelloID
		// padded says whether the published value counts the padding
		// extension: Chrome 96–106 hellos for a short host name always
		// carry it (the specification's example lists 0015).
		padded bool
		want   string
	}{
		{utls.HelloChrome_120, false, "t13d1516h2_8daaf6152771_02713d6af862"},
		{utls.HelloChrome_131, false, "t13d1516h2_8daaf6152771_02713d6af862"},
		{utls.HelloChrome_102, true, "t13d1516h2_8daaf6152771_e5627efa2ab1"},
	}
	for _, tt := range tests {
		t.Run(tt.id.Str(), func(t *testing.T) {
			// The Chrome 120 parrot, like Chrome itself, adds BoringSSL's
			// padding extension (0x0015) when the hello's length falls in
			// a certain range, which depends on the random size of its
			// ECH GREASE payload. FoxIO's values are for the hello as
			// published; with or without padding the count and hash
			// change.
			for range 100 {
				h, err := ParseHandshake(utlsHello(t, tt.id, "www.example.com"))
				if err != nil {
					t.Fatal(err)
				}
				if h.Has(ExtPadding) != tt.padded {
					continue
				}
				if got := h.JA4(); got != tt.want {
					t.Errorf("JA4 = %s, want %s", got, tt.want)
				}
				return
			}
			t.Fatalf("100 hellos in a row had padding %v", !tt.padded)
		})
	}
}

// TestFingerprintsOfAnOversizedHelloMatchTheSingleForms checks the
// fingerprints of a hello longer than every stack buffer they are built in
// (1 000 ciphers: over 8 KiB of hex in ja4All's scratch): the lists must
// spill to the heap and come out whole, the same from the one-pass
// Fingerprints as from each fingerprint computed on its own.
func TestFingerprintsOfAnOversizedHelloMatchTheSingleForms(t *testing.T) {
	th := testHello{ciphers: make([]uint16, 1000)}
	for i := range th.ciphers {
		th.ciphers[i] = uint16(0x1300 - i) // descending: sorting has work to do
	}
	th.exts = append(th.exts, extSNI("big.example"), extALPN("h2"))
	for i := range 100 {
		th.exts = append(th.exts, extEmpty(uint16(0x3000+i)))
	}
	sigs := make([]uint16, 150)
	for i := range sigs {
		sigs[i] = uint16(0x0400 + i)
	}
	th.exts = append(th.exts, extSigAlgs(sigs...))
	h := mustParse(t, th.records(0))

	f := h.Fingerprints()
	for _, c := range []struct{ name, got, want string }{
		{"JA3", f.JA3, h.JA3()},
		{"JA3N", f.JA3N, h.JA3N()},
		{"JA4", f.JA4, h.JA4()},
		{"JA4_r", f.JA4R, h.JA4R()},
		{"JA4_o", f.JA4O, h.JA4O()},
		{"JA4_ro", f.JA4RO, h.JA4RO()},
	} {
		if c.got != c.want {
			t.Errorf("%s from Fingerprints = %.60q…, on its own %.60q…", c.name, c.got, c.want)
		}
	}
	if core := h.CoreFingerprints(); core.JA3 != f.JA3 || core.JA3Hash != f.JA3Hash || core.JA4 != f.JA4 {
		t.Errorf("CoreFingerprints differs from Fingerprints: %+v", core)
	}
	// JA4_r lists every cipher (sorted, 4 hex digits and a comma each) and
	// every extension but SNI and ALPN, then the signature algorithms.
	parts := strings.Split(f.JA4R, "_")
	if len(parts) != 4 {
		t.Fatalf("JA4_r has %d parts: %.80q…", len(parts), f.JA4R)
	}
	if n := strings.Count(parts[1], ",") + 1; n != 1000 || !strings.HasPrefix(parts[1], "0f19,") || !strings.HasSuffix(parts[1], ",1300") {
		t.Errorf("JA4_r cipher list: %d values, %.20q…%q", n, parts[1], parts[1][len(parts[1])-10:])
	}
	if n := strings.Count(parts[2], ",") + 1; n != 101 {
		t.Errorf("JA4_r extension list: %d values, want 101 (100 and signature_algorithms)", n)
	}
	if n := strings.Count(parts[3], ",") + 1; n != 150 {
		t.Errorf("JA4_r signature algorithms: %d values, want 150", n)
	}
	if !strings.HasPrefix(f.JA4, "t13d9999h2_") && !strings.HasPrefix(f.JA4, "t12d9999h2_") {
		t.Errorf("JA4 %q: want the counts capped at 99", f.JA4)
	}
}
