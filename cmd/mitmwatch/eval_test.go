package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEvalPrintsMatrixAndPassesOnTheProjectCorpus(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"eval", filepath.Join("..", "..", "testdata", "corpus")}, envOf(nil), &out, &errOut)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{"expected \\ got", "intercepted", "precision", "recall"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestEvalFailsWhenACaseIsMisjudged(t *testing.T) {
	dir := t.TempDir()
	hello, err := os.ReadFile(filepath.Join("..", "..", "testdata", "clienthello", "utls-chrome-133.hex"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "h.hex"), hello, 0o644)
	// A genuine Chrome 133 hello labelled as intercepted: the label is
	// wrong on purpose, so eval must report the miss and fail.
	os.WriteFile(filepath.Join(dir, "cases.yaml"), []byte(`cases:
  - name: mislabelled
    hello: h.hex
    user_agent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/133.0.0.0 Safari/537.36"
    expect: intercepted
`), 0o644)
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"eval", dir}, envOf(nil), &out, &errOut); code != exitError {
		t.Fatalf("exit %d, want %d", code, exitError)
	}
	if !strings.Contains(out.String(), "MISS mislabelled") {
		t.Errorf("report lacks the miss:\n%s", out.String())
	}
}
