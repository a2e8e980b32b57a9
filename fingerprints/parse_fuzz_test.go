package fingerprints

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// addClientHelloSeeds adds every captured hello under testdata/clienthello
// (hex text of the record-framed bytes) to the fuzzer's seed corpus; the
// hand-made seeds live in testdata/fuzz/<FuzzName>/ as usual.
func addClientHelloSeeds(f *testing.F) {
	for _, name := range captureFiles(f) {
		raw, err := readHexFile(name)
		if err != nil {
			f.Fatalf("%s: %v", name, err)
		}
		f.Add(raw)
	}
	f.Add(specHello().records(0))
	f.Add(specHello().records(7))
	f.Add(specHello().handshake())
}

func readHexFile(name string) ([]byte, error) {
	text, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return hex.DecodeString(string(bytes.Join(bytes.Fields(text), nil)))
}

// captureFiles returns the captured hellos under testdata/clienthello
// (hex text, read with readHexFile), in name order. They are part of the
// repository, so a test without them fails.
func captureFiles(tb testing.TB) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("..", "testdata", "clienthello", "*.hex"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no captures in testdata/clienthello (%v)", err)
	}
	return files
}

// readCapture reads and parses one of captureFiles; the test fails if it
// does not parse.
func readCapture(tb testing.TB, name string) ([]byte, *ClientHello) {
	tb.Helper()
	raw, err := readHexFile(name)
	if err != nil {
		tb.Fatal(err)
	}
	h, err := ParseClientHello(raw)
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	return raw, h
}

func FuzzParseClientHello(f *testing.F) {
	addClientHelloSeeds(f)
	// One cache of two slots for every input: an input whose shape key
	// leaves out a field JA3 or JA4 reads would meet an earlier input's
	// entry and get its fingerprints.
	cache := coreCache{size: 2}
	f.Fuzz(func(t *testing.T, raw []byte) {
		h, fp, err := Fingerprint(raw)
		if err != nil {
			if h != nil {
				t.Fatal("ClientHello returned with an error")
			}
			for _, sentinel := range []error{ErrNotTLS, ErrTruncated, ErrTooLarge, ErrMalformed} {
				if errors.Is(err, sentinel) {
					return
				}
			}
			t.Fatalf("error %v wraps no sentinel", err)
		}
		if len(h.Raw) > len(raw) {
			t.Fatalf("Raw %d bytes from %d input bytes", len(h.Raw), len(raw))
		}
		if len(fp.JA4) < len("t13d000000_000000000000_000000000000")-1 || len(fp.JA3Hash) != 32 || len(fp.JA3NHash) != 32 {
			t.Fatalf("implausible fingerprints %+v", fp)
		}
		// The sorted fingerprints must not depend on the extension order.
		if fp.JA4 != h.JA4() || fp.JA3N != h.JA3N() {
			t.Fatal("fingerprints not deterministic")
		}
		// Fingerprints computes the four JA4 forms in one pass; each must
		// equal its own function's.
		if fp.JA4R != h.JA4R() || fp.JA4O != h.JA4O() || fp.JA4RO != h.JA4RO() {
			t.Fatalf("one-pass JA4 forms %q %q %q differ from JA4R %q JA4O %q JA4RO %q",
				fp.JA4R, fp.JA4O, fp.JA4RO, h.JA4R(), h.JA4O(), h.JA4RO())
		}
		if got := cache.fingerprints(h); got.JA3 != fp.JA3 || got.JA3Hash != fp.JA3Hash || got.JA4 != fp.JA4 {
			t.Fatalf("the shape cache gave %+v, the hello's own are %+v", got, fp)
		}
	})
}
