package main

import (
	"bytes"
	"os"
	"testing"
)

// The committed corpus must be exactly what this tool makes from the
// committed captures: its expected verdicts come from the tool's rules,
// never from hand edits.
func TestCommittedCorpusIsUpToDate(t *testing.T) {
	cases, err := build("../../../testdata/clienthello", "../clienthello")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	write(&out, cases)
	want, err := os.ReadFile("../../../testdata/corpus/cases.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Error("testdata/corpus/cases.yaml differs from the tool's output; regenerate it with go run ./internal/tools/gencorpus > testdata/corpus/cases.yaml")
	}
}
