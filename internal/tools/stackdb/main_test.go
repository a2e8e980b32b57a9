package main

import (
	"bytes"
	"os"
	"testing"
)

// The committed stacks.yaml must be exactly what this tool makes from the
// committed captures, so that nobody edits the generated file by hand.
func TestCommittedStacksFileIsUpToDate(t *testing.T) {
	var out bytes.Buffer
	if err := run("../../../testdata/clienthello", &out); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../../fingerprints/signatures/stacks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Error("fingerprints/signatures/stacks.yaml differs from the tool's output; regenerate it with go run ./internal/tools/stackdb > fingerprints/signatures/stacks.yaml")
	}
}
