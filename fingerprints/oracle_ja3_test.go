//go:build ja3oracle

// This differential test needs cgo and libpcap-dev: the root package of
// github.com/dreadl0ck/ja3 imports github.com/google/gopacket/pcap. It sits
// behind the ja3oracle build tag so that nothing a user builds or imports
// needs cgo; scripts/test always sets the tag.

package fingerprints_test

import (
	"crypto/md5"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/dreadl0ck/ja3"
	"github.com/dreadl0ck/tlsx"
	utls "github.com/refraction-networking/utls"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// dreadl0ckJA3 computes JA3 with github.com/dreadl0ck/ja3 v1.0.2 the way
// its pcap and live readers do (BarePacket): tlsx.ClientHelloBasic parses
// one TCP payload that starts with the record header, then ja3.Bare and
// ja3.DigestHex. tlsx reads a single record, so a hello fragmented over
// several records is first re-framed into one.
func dreadl0ckJA3(t *testing.T, raw []byte) (full, hash string) {
	t.Helper()
	msg, v, err := handshakeMessage(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(msg) > 0xffff {
		t.Fatalf("%d-byte hello does not fit one record header", len(msg))
	}
	payload := append([]byte{0x16, v[0], v[1], byte(len(msg) >> 8), byte(len(msg))}, msg...)
	var hello tlsx.ClientHelloBasic
	if err := hello.Unmarshal(payload); err != nil {
		t.Fatalf("dreadl0ck/tlsx cannot parse the hello: %v", err)
	}
	return string(ja3.Bare(&hello)), ja3.DigestHex(&hello)
}

// trailingGREASEDivergence predicts dreadl0ck/ja3 v1.0.2's JA3 string
// from ours. ja3.Bare writes "value-" for every non-GREASE entry but the
// last and then the last entry without a separator, unless it is GREASE;
// so when a list of at least two entries ends in GREASE after some
// non-GREASE entry, the field ends in "-". The reference (Salesforce's
// ja3.py, Wireshark's tls.handshake.ja3) drops GREASE first and joins
// afterwards: no trailing "-" (REFERENCE.md, measured here on utls Chrome
// 58 and 112–133 parrots and real Chromium). It returns the predicted
// string and the names of the fields that diverge ("Cipher", "Extension",
// "Group"), none when dreadl0ck and the reference agree.
func trailingGREASEDivergence(h *fingerprints.ClientHello, ours string) (string, []string) {
	fields := strings.Split(ours, ",")
	if len(fields) != 5 {
		return ours, nil // malformed: let the comparison report it
	}
	extTypes := make([]uint16, len(h.Extensions))
	for i, e := range h.Extensions {
		extTypes[i] = e.Type
	}
	var names []string
	for _, list := range []struct {
		name   string
		field  int
		values []uint16
	}{
		{"Cipher", 1, h.CipherSuites},
		{"Extension", 2, extTypes},
		{"Group", 3, h.SupportedGroups},
	} {
		if endsInGREASEAfterValue(list.values) {
			fields[list.field] += "-"
			names = append(names, list.name)
		}
	}
	return strings.Join(fields, ","), names
}

func endsInGREASEAfterValue(v []uint16) bool {
	if len(v) < 2 || !fingerprints.IsGREASE(v[len(v)-1]) {
		return false
	}
	for _, x := range v[:len(v)-1] {
		if !fingerprints.IsGREASE(x) {
			return true
		}
	}
	return false
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestJA3AgainstDreadl0ck is a differential test against dreadl0ck/ja3
// v1.0.2 on every hello of the oracle corpus. Where the hello's lists do
// not end in GREASE the two must agree exactly. Where they do, dreadl0ck
// must differ from us by exactly its known trailing "-" (the subtest
// knownDivergence_trailingGREASE…): if dreadl0ck is fixed, or differs in
// any other way, the test fails and this file needs a look.
func TestJA3AgainstDreadl0ck(t *testing.T) {
	for _, c := range oracleCorpus(t) {
		t.Run(c.name, func(t *testing.T) {
			h, ours, err := fingerprints.Fingerprint(c.raw)
			if err != nil {
				t.Fatalf("Fingerprint: %v", err)
			}
			theirs, theirHash := dreadl0ckJA3(t, c.raw)
			if theirHash != md5Hex(theirs) {
				t.Fatalf("dreadl0ck hash %s is not the MD5 of its string %s", theirHash, theirs)
			}
			if ours.JA3Hash != md5Hex(ours.JA3) {
				t.Fatalf("our hash %s is not the MD5 of our string %s", ours.JA3Hash, ours.JA3)
			}

			predicted, diverging := trailingGREASEDivergence(h, ours.JA3)
			if len(diverging) == 0 {
				if theirs != ours.JA3 {
					t.Errorf("JA3 differs from dreadl0ck/ja3\n ours %s\ntheirs %s", ours.JA3, theirs)
				}
				return
			}
			t.Run("knownDivergence_trailingGREASE"+strings.Join(diverging, ""), func(t *testing.T) {
				if theirs != predicted {
					t.Errorf("dreadl0ck/ja3 no longer differs only by a trailing \"-\" after %v\n  ours %s\ntheirs %s\n  want %s",
						diverging, ours.JA3, theirs, predicted)
				}
				if theirHash == ours.JA3Hash {
					t.Errorf("dreadl0ck/ja3 now agrees with the reference (%s): drop the known divergence", theirHash)
				}
			})
		})
	}
}

// TestJA3Chrome58KnownDivergence pins the example of REFERENCE.md: the
// utls Chrome 58 parrot with SNI www.example.com (its extensions end in
// GREASE), where Wireshark gives 94c485bc… and dreadl0ck/ja3 v1.0.2
// a5d745df… for the same bytes.
func TestJA3Chrome58KnownDivergence(t *testing.T) {
	uc := utls.UClient(nil, &utls.Config{ServerName: "www.example.com"}, utls.HelloChrome_58)
	if err := uc.BuildHandshakeState(); err != nil {
		t.Fatal(err)
	}
	msg := uc.HandshakeState.Hello.Raw
	raw := append([]byte{0x16, 0x03, 0x01, byte(len(msg) >> 8), byte(len(msg))}, msg...)

	_, ours, err := fingerprints.Fingerprint(raw)
	if err != nil {
		t.Fatal(err)
	}
	const (
		wantOurs   = "771,49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53-10,65281-0-23-35-13-5-18-16-30032-11-10,29-23-24,0"
		wantTheirs = "771,49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53-10,65281-0-23-35-13-5-18-16-30032-11-10-,29-23-24,0"
	)
	if ours.JA3 != wantOurs || ours.JA3Hash != "94c485bca29d5392be53f2b8cf7f4304" {
		t.Errorf("ours: %s %s\nwant %s 94c485bca29d5392be53f2b8cf7f4304", ours.JA3, ours.JA3Hash, wantOurs)
	}
	theirs, theirHash := dreadl0ckJA3(t, raw)
	if theirs != wantTheirs || theirHash != "a5d745df6c6c52b3f6c348a6e8e2f540" {
		t.Errorf("dreadl0ck: %s %s\nwant %s a5d745df6c6c52b3f6c348a6e8e2f540", theirs, theirHash, wantTheirs)
	}
}
