package fingerprints

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/golden from the current code")

// goldenFingerprints is what a golden file pins for one captured hello.
// JA3 follows wire order, which Chrome shuffles per connection, so a
// regenerated capture changes JA3 while JA3N and JA4 stay put.
type goldenFingerprints struct {
	Fingerprints
	TLSVersion     string   `json:"tls_version"`
	SNI            string   `json:"sni"`
	ALPN           []string `json:"alpn"`
	Ciphers        int      `json:"ciphers"`
	Extensions     int      `json:"extensions"`
	GREASE         bool     `json:"grease"`
	KeyShareGroups []uint16 `json:"key_share_groups"`
	Grade          string   `json:"grade"`
}

func TestGoldenFingerprints(t *testing.T) {
	files := captureFiles(t)
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".hex")
		t.Run(name, func(t *testing.T) {
			raw, err := readHexFile(f)
			if err != nil {
				t.Fatal(err)
			}
			h, fp, err := Fingerprint(raw)
			if err != nil {
				t.Fatal(err)
			}
			got := goldenFingerprints{
				Fingerprints: fp, TLSVersion: ja4Version(h.MaxVersion()), SNI: h.ServerName, ALPN: h.ALPN,
				Ciphers: len(h.CipherSuites), Extensions: len(h.Extensions), GREASE: traitsOf(h).grease,
				KeyShareGroups: h.KeyShareGroups, Grade: GradeHello(h).String(),
			}
			out, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, '\n')
			path := filepath.Join("..", "testdata", "golden", "fingerprints", name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, out, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./fingerprints -run TestGoldenFingerprints -update)", err)
			}
			if !bytes.Equal(out, want) {
				t.Errorf("fingerprints of %s changed; if intended, rerun with -update.\ngot:\n%s\nwant:\n%s", name, out, want)
			}
		})
	}
}

// TestCoreFingerprintsAreFingerprintsFirstFields: CoreFingerprints gives
// exactly JA3, JA3Hash and JA4 of Fingerprints, and nothing else, for
// every captured hello.
func TestCoreFingerprintsAreFingerprintsFirstFields(t *testing.T) {
	files := captureFiles(t)
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".hex"), func(t *testing.T) {
			raw, err := readHexFile(f)
			if err != nil {
				t.Fatal(err)
			}
			h, full, err := Fingerprint(raw)
			if err != nil {
				t.Fatal(err)
			}
			want := Fingerprints{JA3: full.JA3, JA3Hash: full.JA3Hash, JA4: full.JA4}
			if got := h.CoreFingerprints(); got != want {
				t.Errorf("CoreFingerprints = %+v, want %+v", got, want)
			}
		})
	}
}
