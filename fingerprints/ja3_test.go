package fingerprints

import (
	"testing"

	utls "github.com/refraction-networking/utls"
)

func TestJA3MatchesWiresharkForChrome58Parrot(t *testing.T) {
	// Measured with Wireshark's tls.handshake.ja3 (REFERENCE.md): the utls
	// Chrome 58 parrot with SNI. Its last extension is GREASE, the case
	// where dreadl0ck/ja3 v1.0.2 leaves a trailing "-" (a5d745df…).
	h, err := ParseHandshake(utlsHello(t, utls.HelloChrome_58, "www.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	const wantStr = "771,49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53-10,65281-0-23-35-13-5-18-16-30032-11-10,29-23-24,0"
	if got := h.JA3(); got != wantStr {
		t.Errorf("JA3 = %s\nwant  %s", got, wantStr)
	}
	if got := h.JA3Hash(); got != "94c485bca29d5392be53f2b8cf7f4304" {
		t.Errorf("JA3 hash = %s", got)
	}
	if last := h.Extensions[len(h.Extensions)-1].Type; !IsGREASE(last) {
		t.Errorf("test premise: last extension %#04x is not GREASE", last)
	}
}

func TestJA3Fields(t *testing.T) {
	th := testHello{
		version: 0x0303,
		ciphers: []uint16{0x0a0a, 0xc02b, 0x002f},
		exts: []Extension{
			extEmpty(0x2a2a), extSNI("x.example"), extGroups(0x3a3a, 0x001d, 0x0017),
			extPointFormats(0, 1, 2), extEmpty(0x0017), extEmpty(0x4a4a),
		},
	}
	h := mustParse(t, th.records(0))
	if got, want := h.JA3(), "771,49195-47,0-10-11-23,29-23,0-1-2"; got != want {
		t.Errorf("JA3 = %s, want %s", got, want)
	}
	if got, want := h.JA3N(), "771,49195-47,0-10-11-23,29-23,0-1-2"; got != want {
		t.Errorf("JA3N = %s, want %s", got, want)
	}
	f := h.Fingerprints()
	if f.JA3Hash != md5hex([]byte(f.JA3)) || f.JA3NHash != md5hex([]byte(f.JA3N)) || f.JA3Hash != h.JA3Hash() || f.JA3NHash != h.JA3NHash() {
		t.Errorf("hashes inconsistent: %+v", f)
	}
	empty := mustParse(t, testHello{version: 0x0301, noExtBlock: true}.records(0))
	if got, want := empty.JA3(), "769,,,,"; got != want {
		t.Errorf("JA3 of a bare hello = %q, want %q", got, want)
	}
}

// Chrome permutes its extensions on every connection (since Chrome 110;
// utls does the same for its Chrome 106+ parrots). JA3 follows the wire
// order and changes; JA3N and JA4 sort and must not.
func TestChromeExtensionShuffleChangesJA3NotJA3NOrJA4(t *testing.T) {
	ja3 := map[string]bool{}
	var first Fingerprints
	for i := range 30 {
		h, err := ParseHandshake(utlsHello(t, utls.HelloChrome_133, "www.example.com"))
		if err != nil {
			t.Fatal(err)
		}
		f := h.Fingerprints()
		ja3[f.JA3Hash] = true
		if i == 0 {
			first = f
			continue
		}
		if f.JA3N != first.JA3N || f.JA4 != first.JA4 || f.JA4R != first.JA4R {
			t.Fatalf("shuffle changed a sorted fingerprint:\n%+v\n%+v", f, first)
		}
	}
	if len(ja3) < 2 {
		t.Errorf("30 shuffled Chrome 133 hellos gave %d JA3 value(s); the premise that JA3 follows wire order failed", len(ja3))
	}
}
