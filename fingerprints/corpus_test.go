package fingerprints

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCorpusHasNoFalseInterceptionAndFullInterceptorRecall(t *testing.T) {
	corpus, err := LoadCorpus(filepath.Join("..", "testdata", "corpus"))
	if err != nil {
		t.Fatal(err)
	}
	e := newTestClassifier(t).Evaluate(corpus)
	var report bytes.Buffer
	if err := e.WriteReport(&report); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", report.String())
	for exp := range e.Matrix {
		if Outcome(exp) != OutcomeIntercepted && e.Matrix[exp][OutcomeIntercepted] > 0 {
			t.Errorf("%d %s cases judged intercepted: a false alarm shows a banner to an honest user", e.Matrix[exp][OutcomeIntercepted], Outcome(exp))
		}
	}
	if r := e.Recall(OutcomeIntercepted); r != 1 {
		t.Errorf("interceptor recall %.3f, want 1", r)
	}
	for _, m := range e.Misses() {
		t.Errorf("%s: expected %s, got %s", m.Case.Name, m.Case.Expect, m.Verdict.Verdict)
	}
	// The corpus must exercise every verdict, or the bars above say little.
	for _, o := range []Outcome{OutcomeClean, OutcomeIntercepted, OutcomeSpoofed, OutcomeUnknown} {
		n := 0
		for _, c := range e.Matrix[o] {
			n += c
		}
		if n == 0 {
			t.Errorf("corpus has no case expecting %s", o)
		}
	}
}

func TestEvaluationMetrics(t *testing.T) {
	var e Evaluation
	e.Matrix[OutcomeClean][OutcomeClean] = 8
	e.Matrix[OutcomeClean][OutcomeIntercepted] = 2
	e.Matrix[OutcomeIntercepted][OutcomeIntercepted] = 6
	e.Matrix[OutcomeIntercepted][OutcomeSpoofed] = 2
	if p := e.Precision(OutcomeIntercepted); p != 0.75 {
		t.Errorf("precision %v, want 0.75", p)
	}
	if r := e.Recall(OutcomeIntercepted); r != 0.75 {
		t.Errorf("recall %v, want 0.75", r)
	}
	if p, r := e.Precision(OutcomeUnknown), e.Recall(OutcomeUnknown); p != 1 || r != 1 {
		t.Errorf("empty row/column: precision %v recall %v, want 1 and 1", p, r)
	}
}

func TestLoadCorpusErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown key", "cases:\n  - name: a\n    hello: x.hex\n    colour: red\n", "colour"},
		{"repeated name", "cases:\n  - name: a\n    hello: x.hex\n  - name: a\n    hello: x.hex\n", "repeated"},
		{"missing hello file", "cases:\n  - name: a\n    hello: missing.hex\n", "missing.hex"},
		{"bad verdict", "cases:\n  - name: a\n    hello: x.hex\n    expect: fine\n", "fine"},
		{"hello not hex", "cases:\n  - name: a\n    hello: bad.hex\n", "not hex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "x.hex"), []byte("16030100"), 0o644)
			os.WriteFile(filepath.Join(dir, "bad.hex"), []byte("zz"), 0o644)
			os.WriteFile(filepath.Join(dir, "cases.yaml"), []byte(tt.yaml), 0o644)
			_, err := LoadCorpus(dir)
			if !errors.Is(err, ErrCorpus) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrCorpus mentioning %q", err, tt.want)
			}
		})
	}
}
