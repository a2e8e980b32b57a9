package fingerprints

import (
	"errors"
	"testing"
)

// FuzzSignatureFile feeds an operator's signature file (signature_files)
// anything: it is accepted, or refused with an error wrapping
// ErrSignatures; it never panics. A file that is accepted builds a
// database that classifies every capture in testdata/clienthello.
func FuzzSignatureFile(f *testing.F) {
	for _, name := range []string{"signatures/products.yaml", "signatures/stacks.yaml"} {
		if data, err := embeddedSignatures.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("products:\n  - id: x\n    disabled: true\n"))
	f.Add([]byte("stacks: [{id: a, unknown_key: 1}]\n"))
	f.Add([]byte("headers:\n  - {name: Via, contains: squid, product: nope}\n"))
	f.Add([]byte("a: &a [*a]\n"))
	var hellos []*ClientHello
	for _, name := range captureFiles(f) {
		_, h := readCapture(f, name)
		hellos = append(hellos, h)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b := newDatabaseBuilder()
		err := b.add("operator.yaml", data)
		var db *Database
		if err == nil {
			db, err = b.build()
		}
		if err != nil {
			if !errors.Is(err, ErrSignatures) {
				t.Fatalf("error %v does not wrap ErrSignatures", err)
			}
			return
		}
		c, err := NewClassifier(ClassifierConfig{Database: db})
		if err != nil {
			t.Fatalf("an accepted file gave a database the classifier refuses: %v", err)
		}
		req := Request{UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"}
		for _, h := range hellos {
			fps := h.CoreFingerprints()
			c.Classify(h, &fps, &req)
		}
	})
}
