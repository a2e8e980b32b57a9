package main

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// utlsParrotVars parses utls's u_common.go, from the module cache, and
// returns the names of its ClientHelloID variables that are browser
// parrots: all "Hello…" vars but Golang, Custom, Randomized* and the
// *_Auto aliases.
func utlsParrotVars(t *testing.T) []string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found; cannot locate the utls source")
	}
	out, err := exec.Command(gobin, "list", "-m", "-f", "{{.Dir}}", "github.com/refraction-networking/utls").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Skipf("utls source not in the module cache: %v", err)
	}
	file := filepath.Join(strings.TrimSpace(string(out)), "u_common.go")
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.VAR {
			continue
		}
		for _, s := range g.Specs {
			for _, n := range s.(*ast.ValueSpec).Names {
				name := n.Name
				switch {
				case !strings.HasPrefix(name, "Hello"),
					name == "HelloGolang", name == "HelloCustom",
					strings.HasPrefix(name, "HelloRandomized"),
					strings.HasSuffix(name, "_Auto"):
					continue
				}
				names = append(names, name)
			}
		}
	}
	if len(names) < 30 {
		t.Fatalf("found only %d parrots in %s: parsing went wrong", len(names), file)
	}
	return names
}

func TestParrotsCoverEveryUTLSParrot(t *testing.T) {
	want := utlsParrotVars(t)
	var got []string
	for _, p := range parrots() {
		got = append(got, p.IDName)
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("utls parrot %s is not captured: add it to parrots()", w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			t.Errorf("parrots() lists %s, which is not a utls parrot variable", g)
		}
	}
}

func TestParrotsMetadata(t *testing.T) {
	seenName := map[string]bool{}
	seenID := map[string]bool{}
	for _, p := range parrots() {
		t.Run(p.Name, func(t *testing.T) {
			if !validName.MatchString(p.Name) || !strings.HasPrefix(p.Name, "utls-") {
				t.Errorf("name %q is not a valid utls-… capture name", p.Name)
			}
			if seenName[p.Name] {
				t.Errorf("duplicate name %q", p.Name)
			}
			seenName[p.Name] = true
			// IDs with the same browser and version are the same parrot
			// under two names; each variable must map to its own ID.
			if id := p.ID.Str(); seenID[id] {
				t.Errorf("%s: ClientHelloID %s listed twice (wrong variable?)", p.IDName, id)
			} else {
				seenID[id] = true
			}
			if !slices.Contains([]string{familyChromium, familyFirefox, familySafari, familyOther}, p.Family) {
				t.Errorf("family %q", p.Family)
			}
			if p.Product == "" || p.Version == "" || p.UserAgent == "" {
				t.Errorf("product %q version %q UA %q: all must be set", p.Product, p.Version, p.UserAgent)
			}
			// The assigned UA must claim the version the hello stands for.
			var claim string
			switch p.Product {
			case "Chrome":
				claim = "Chrome/" + p.Version + "."
			case "Firefox":
				claim = "Firefox/" + p.Version + ".0"
			case "Edge":
				claim = "Edg/" + p.Version + "."
			case "Safari":
				claim = "Version/" + p.Version
			case "Safari (iOS)":
				claim = "iPhone OS " + strings.ReplaceAll(p.Version, ".", "_")
			}
			if !strings.Contains(p.UserAgent, claim) {
				t.Errorf("UA %q does not contain %q", p.UserAgent, claim)
			}
		})
	}
}

func TestCaptureParrot(t *testing.T) {
	srv, _ := newTestServer(t)
	byID := map[string]parrot{}
	for _, p := range parrots() {
		byID[p.IDName] = p
	}
	tests := []struct {
		name    string
		idName  string
		wantPSK bool
	}{
		{"current_chrome_with_post_quantum_key_share", "HelloChrome_133", false},
		{"old_firefox_tls12_only", "HelloFirefox_55", false},
		{"psk_parrot_is_captured_as_a_resumption_offering_the_ticket", "HelloChrome_100_PSK", true},
		{"pq_psk_parrot_is_captured_as_a_resumption", "HelloChrome_115_PQ_PSK", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := byID[tt.idName]
			raw, hsErr, err := captureParrot(context.Background(), srv, p, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if hsErr != nil {
				t.Logf("handshake error (allowed): %v", hsErr)
			}
			h, err := fingerprints.ParseClientHello(raw)
			if err != nil {
				t.Fatal(err)
			}
			if h.ServerName != "localhost" {
				t.Errorf("SNI = %q, want localhost", h.ServerName)
			}
			const extPreSharedKey = 0x0029 // RFC 8446 section 4.2
			if got := h.Has(extPreSharedKey); got != tt.wantPSK {
				t.Errorf("pre_shared_key present = %v, want %v", got, tt.wantPSK)
			}
		})
	}
}
