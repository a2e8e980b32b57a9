package selfsigned

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// writePair puts a pair generated at genAt with the given validity in dir.
func writePair(t *testing.T, dir string, genAt time.Time, validity time.Duration) {
	t.Helper()
	certPEM, keyPEM, err := generate(genAt, validity)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, CertFile), certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, KeyFile), keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
}

func serialOf(t *testing.T, dir string) string {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatalf("cached pair does not load: %v", err)
	}
	return cert.Leaf.SerialNumber.String()
}

func TestLoadOrCreate(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(t *testing.T, dir string)
		wantReuse bool
	}{
		{
			name:  "empty_cache_generates",
			setup: func(t *testing.T, dir string) {},
		},
		{
			name:      "valid_cache_is_reused",
			setup:     func(t *testing.T, dir string) { writePair(t, dir, now.Add(-24*time.Hour), Validity) },
			wantReuse: true,
		},
		{
			name:  "expired_certificate_is_regenerated",
			setup: func(t *testing.T, dir string) { writePair(t, dir, now.Add(-2*Validity), Validity) },
		},
		{
			name: "certificate_expiring_within_renew_window_is_regenerated",
			setup: func(t *testing.T, dir string) {
				writePair(t, dir, now.Add(-24*time.Hour), 24*time.Hour+RenewBefore-time.Minute)
			},
		},
		{
			name: "certificate_expiring_just_after_renew_window_is_reused",
			setup: func(t *testing.T, dir string) {
				writePair(t, dir, now.Add(-24*time.Hour), 24*time.Hour+RenewBefore+time.Minute)
			},
			wantReuse: true,
		},
		{
			name:  "certificate_not_yet_valid_is_regenerated",
			setup: func(t *testing.T, dir string) { writePair(t, dir, now.Add(48*time.Hour), Validity) },
		},
		{
			name: "garbage_certificate_is_regenerated",
			setup: func(t *testing.T, dir string) {
				writePair(t, dir, now, Validity)
				if err := os.WriteFile(filepath.Join(dir, CertFile), []byte("not a certificate"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "missing_key_is_regenerated",
			setup: func(t *testing.T, dir string) {
				writePair(t, dir, now, Validity)
				if err := os.Remove(filepath.Join(dir, KeyFile)); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "key_of_another_certificate_is_regenerated",
			setup: func(t *testing.T, dir string) {
				other := t.TempDir()
				writePair(t, other, now, Validity)
				writePair(t, dir, now, Validity)
				key, err := os.ReadFile(filepath.Join(other, KeyFile))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, KeyFile), key, 0o600); err != nil {
					t.Fatal(err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "cache")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			tt.setup(t, dir)
			// The serial of whatever pair is on disk and loads, even if
			// it is expired: it must come back only when reuse is right.
			var before string
			if c, err := tls.LoadX509KeyPair(filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)); err == nil {
				before = c.Leaf.SerialNumber.String()
			} else if tt.wantReuse {
				t.Fatalf("setup left no loadable pair: %v", err)
			}

			cert, err := loadOrCreate(dir, now)
			if err != nil {
				t.Fatalf("loadOrCreate: %v", err)
			}
			got := cert.Leaf.SerialNumber.String()
			if tt.wantReuse && got != before {
				t.Errorf("serial %s, want the cached %s", got, before)
			}
			if !tt.wantReuse && got == before {
				t.Errorf("cached certificate was reused")
			}
			// Whatever happened, the cache now holds what was returned,
			// valid now and beyond the renew window.
			if cached := serialOf(t, dir); cached != got {
				t.Errorf("cache holds serial %s, returned %s", cached, got)
			}
			if now.Before(cert.Leaf.NotBefore) || now.Add(RenewBefore).After(cert.Leaf.NotAfter) {
				t.Errorf("returned certificate valid %v to %v, not usable at %v", cert.Leaf.NotBefore, cert.Leaf.NotAfter, now)
			}
		})
	}
}

func TestGeneratedCertificate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "mitmwatch")
	cert, err := loadOrCreate(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	leaf := cert.Leaf
	for _, h := range []string{"localhost", "127.0.0.1", "::1"} {
		if err := leaf.VerifyHostname(h); err != nil {
			t.Errorf("certificate does not cover %s: %v", h, err)
		}
	}
	if err := leaf.VerifyHostname("example.com"); err == nil {
		t.Error("certificate covers example.com")
	}
	if got := leaf.NotAfter.Sub(now); got != Validity {
		t.Errorf("valid for %v after now, want %v", got, Validity)
	}
	if leaf.PublicKeyAlgorithm.String() != "ECDSA" {
		t.Errorf("key algorithm %v, want ECDSA", leaf.PublicKeyAlgorithm)
	}
	if leaf.IsCA {
		t.Error("leaf is a CA")
	}

	if runtime.GOOS == "windows" {
		return // no Unix permission bits
	}
	for path, want := range map[string]os.FileMode{
		dir:                         0o700,
		filepath.Join(dir, KeyFile): 0o600,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s has mode %v, want %v", path, got, want)
		}
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}
}

func TestLoadOrCreateUnwritableDir(t *testing.T) {
	// A regular file where the directory should be: creating fails, and the
	// error says so rather than panicking or returning an empty certificate.
	parent := t.TempDir()
	file := filepath.Join(parent, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadOrCreate(filepath.Join(file, "cache"), now); err == nil {
		t.Fatal("no error for a cache directory under a regular file")
	}
}
