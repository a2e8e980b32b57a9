package fingerprints

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func loadDatabaseFromStrings(t testing.TB, files ...string) (*Database, error) {
	t.Helper()
	var paths []string
	for i, f := range files {
		p := filepath.Join(t.TempDir(), "sig"+string(rune('a'+i))+".yaml")
		if err := os.WriteFile(p, []byte(f), 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return LoadDatabase(paths...)
}

func TestEmbeddedDatabaseLoadsAndCitesEverySource(t *testing.T) {
	db, err := DefaultDatabase()
	if err != nil {
		t.Fatal(err)
	}
	if len(db.Products()) == 0 {
		t.Fatal("no products")
	}
	for _, p := range db.Products() {
		if p.Source == "" {
			t.Errorf("product %s has no source", p.ID)
		}
	}
	if p := db.MatchHeader("X-BLUECOAT-VIA"); p == nil || p.Kind != KindCorporateProxy {
		t.Errorf("x-bluecoat-via: %+v", p)
	}
	if p := db.MatchHeader("X-Barracuda-Anything"); p == nil {
		t.Error("a header containing 'barracuda' did not match")
	}
	if p := db.MatchHeader("Accept-Language"); p != nil {
		t.Errorf("Accept-Language matched %s", p.Name)
	}
	if p := db.MatchHeader(strings.Repeat("x", 100)); p != nil {
		t.Error("overlong header name matched")
	}
}

func TestSignatureFileErrorsNameFileAndLine(t *testing.T) {
	const valid = "    name: X\n    kind: antivirus\n    ja3: [3859eefff506be3eb74171d82728eb4d]\n    source: test\n"
	tests := []struct {
		name, file, wantInError string
	}{
		{"unknown key", "products:\n  - id: x\n    colour: red\n" + valid, "colour"},
		{"missing source", "products:\n  - id: x\n    name: X\n    kind: antivirus\n    ja3: [3859eefff506be3eb74171d82728eb4d]\n", ":2: product \"x\": source is required"},
		{"bad kind", "products:\n  - id: x\n    name: X\n    kind: virus\n    ja3: [3859eefff506be3eb74171d82728eb4d]\n    source: s\n", "kind \"virus\""},
		{"bad ja4", "products:\n  - id: x\n    name: X\n    kind: antivirus\n    ja4: [t13d_abc]\n    source: s\n", "ja4 \"t13d_abc\""},
		{"bad ja3", "products:\n  - id: x\n    name: X\n    kind: antivirus\n    ja3: [XYZ]\n    source: s\n", "ja3 \"XYZ\""},
		{"no fingerprint", "products:\n  - id: x\n    name: X\n    kind: antivirus\n    source: s\n", "at least one of"},
		{"stack bad family", "stacks:\n  - id: s\n    name: S\n    family: netscape\n    ja4: [t13d1516h2_8daaf6152771_02713d6af862]\n    source: s\n", "family \"netscape\""},
		{"header with both name and contains", "headers:\n  - name: a\n    contains: b\n    product: P\n    kind: antivirus\n    source: s\n", "exactly one of"},
		{"not yaml", "products: [\n", "sig"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadDatabaseFromStrings(t, tt.file)
			if !errors.Is(err, ErrSignatures) {
				t.Fatalf("err = %v, want ErrSignatures", err)
			}
			if !strings.Contains(err.Error(), tt.wantInError) || !strings.Contains(err.Error(), ".yaml") {
				t.Errorf("error %q does not name %q and the file", err, tt.wantInError)
			}
		})
	}
}

func TestOperatorFileOverridesAndDisablesShippedEntries(t *testing.T) {
	db, err := loadDatabaseFromStrings(t, `
products:
  - id: kzmitm-20190719
    disabled: true
  - id: eset-nod32-antivirus-9
    name: Renamed by operator
    kind: antivirus
    ja3: [0123456789abcdef0123456789abcdef]
    source: operator
`)
	if err != nil {
		t.Fatal(err)
	}
	if p := db.MatchProduct(&Fingerprints{JA3Hash: "3859eefff506be3eb74171d82728eb4d"}); p != nil {
		t.Errorf("disabled entry still matches: %s", p.Name)
	}
	if p := db.MatchProduct(&Fingerprints{JA3Hash: "0123456789abcdef0123456789abcdef"}); p == nil || p.Name != "Renamed by operator" {
		t.Errorf("override: %+v", p)
	}
	if _, err := LoadDatabase(filepath.Join(t.TempDir(), "missing.yaml")); !errors.Is(err, ErrSignatures) {
		t.Errorf("missing file: %v", err)
	}
}

func TestProductMatchesWithAndWithoutSNI(t *testing.T) {
	db, err := DefaultDatabase()
	if err != nil {
		t.Fatal(err)
	}
	// mitmproxy's hello was recorded with SNI (t13d2911…); to an IP
	// literal the same proxy sends t13i2910… with the same hashes.
	for _, ja4 := range []string{"t13d2911h2_c36778b98fa1_1f22a2ca17c4", "t13i2910h2_c36778b98fa1_1f22a2ca17c4"} {
		if p := db.MatchProduct(&Fingerprints{JA4: ja4}); p == nil || p.ID != "mitmproxy" {
			t.Errorf("%s: got %+v, want mitmproxy", ja4, p)
		}
	}
	if p := db.MatchProduct(&Fingerprints{JA4: "t13i2911h2_c36778b98fa1_1f22a2ca17c4"}); p != nil {
		t.Errorf("no SNI but the same extension count must not match: %s", p.ID)
	}
	if s := db.MatchStack("t13i1516h2_8daaf6152771_cb7bf5808d99"); s == nil || s.Family != "chromium" {
		t.Errorf("Chromium 156 without SNI (REFERENCE.md's value): %+v", s)
	}
	for in, want := range map[string][]string{
		"t13d0100h2_x": {"t13d0100h2_x"},
		"t12i059900":   {"t12i059900"},
		"t12i050300":   {"t12i050300", "t12d050400"},
	} {
		if got := sniVariants(in); !equalAny(got, want) {
			t.Errorf("sniVariants(%s) = %v, want %v", in, got, want)
		}
	}
}
