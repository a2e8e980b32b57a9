package fingerprints

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"go.yaml.in/yaml/v3"
)

// ErrCorpus wraps every error about an evaluation corpus.
var ErrCorpus = errors.New("fingerprints: invalid corpus")

// CorpusCase is one labelled connection: a captured ClientHello, the
// request that rode on it, and the verdict it must get.
type CorpusCase struct {
	// Name identifies the case in reports.
	Name string `yaml:"name"`
	// Hello is the path of the hex-encoded, record-framed ClientHello,
	// relative to the corpus file.
	Hello string `yaml:"hello"`
	// UserAgent and Headers are the request's; Headers may repeat the
	// User-Agent. Proto is the HTTP major version (default 2).
	UserAgent string            `yaml:"user_agent"`
	Headers   map[string]string `yaml:"headers"`
	Proto     int               `yaml:"proto"`
	// Expect is the verdict the case must get, known from how the case
	// was produced, never from mitmwatch's own output.
	Expect Outcome `yaml:"expect"`
	// Why says how the case was produced, and so why Expect is right.
	Why string `yaml:"why"`

	raw []byte
}

// Corpus is a set of labelled cases, loaded from a cases.yaml file.
type Corpus struct {
	Cases []CorpusCase `yaml:"cases"`
}

// LoadCorpus reads dir/cases.yaml and the hellos it names.
func LoadCorpus(dir string) (*Corpus, error) {
	file := filepath.Join(dir, "cases.yaml")
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorpus, err)
	}
	var c Corpus
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorpus, file, err)
	}
	seen := map[string]bool{}
	for i := range c.Cases {
		cc := &c.Cases[i]
		if cc.Name == "" || seen[cc.Name] {
			return nil, fmt.Errorf("%w: %s: cases[%d]: name %q is empty or repeated", ErrCorpus, file, i, cc.Name)
		}
		seen[cc.Name] = true
		text, err := os.ReadFile(filepath.Join(dir, cc.Hello))
		if err != nil {
			return nil, fmt.Errorf("%w: %s: case %s: %v", ErrCorpus, file, cc.Name, err)
		}
		if cc.raw, err = hex.DecodeString(strings.TrimSpace(string(text))); err != nil {
			return nil, fmt.Errorf("%w: %s: case %s: hello is not hex: %v", ErrCorpus, file, cc.Name, err)
		}
		if cc.Proto == 0 {
			cc.Proto = 2
		}
	}
	return &c, nil
}

// CaseResult is the verdict one case got.
type CaseResult struct {
	Case    *CorpusCase
	Verdict Verdict
}

// Evaluation is the outcome of classifying a corpus: a confusion matrix of
// expected against actual verdicts.
type Evaluation struct {
	Results []CaseResult
	// Matrix[expected][actual] counts cases.
	Matrix [4][4]int
}

// Evaluate classifies every case of the corpus.
func (c *Classifier) Evaluate(corpus *Corpus) Evaluation {
	var e Evaluation
	for i := range corpus.Cases {
		cc := &corpus.Cases[i]
		header := http.Header{}
		for k, v := range cc.Headers {
			header.Set(k, v)
		}
		if cc.UserAgent != "" {
			header.Set("User-Agent", cc.UserAgent)
		}
		req := RequestFromHTTP(&http.Request{Header: header, ProtoMajor: cc.Proto}, true)
		var v Verdict
		if h, f, err := Fingerprint(cc.raw); err == nil {
			v = c.Classify(h, &f, &req)
		} else {
			v = c.Classify(nil, nil, &req)
		}
		e.Results = append(e.Results, CaseResult{Case: cc, Verdict: v})
		e.Matrix[cc.Expect][v.Verdict]++
	}
	return e
}

// Precision is the share of cases given outcome o that expected it; 1 when
// none were given o.
func (e *Evaluation) Precision(o Outcome) float64 {
	tp, all := e.Matrix[o][o], 0
	for exp := range e.Matrix {
		all += e.Matrix[exp][o]
	}
	if all == 0 {
		return 1
	}
	return float64(tp) / float64(all)
}

// Recall is the share of cases expecting o that got it; 1 when none did.
func (e *Evaluation) Recall(o Outcome) float64 {
	tp, all := e.Matrix[o][o], 0
	for _, n := range e.Matrix[o] {
		all += n
	}
	if all == 0 {
		return 1
	}
	return float64(tp) / float64(all)
}

// Misses returns the cases whose verdict differs from the expected one.
func (e *Evaluation) Misses() []CaseResult {
	var out []CaseResult
	for _, r := range e.Results {
		if r.Verdict.Verdict != r.Case.Expect {
			out = append(out, r)
		}
	}
	return out
}

var outcomes = [4]Outcome{OutcomeClean, OutcomeIntercepted, OutcomeSpoofed, OutcomeUnknown}

// WriteReport writes the confusion matrix, precision and recall per verdict,
// and every miss with its reasons.
func (e *Evaluation) WriteReport(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%d cases\texpected \\ got\t", len(e.Results))
	for _, o := range outcomes {
		fmt.Fprintf(tw, "%s\t", o)
	}
	fmt.Fprintln(tw, "precision\trecall\t")
	for _, exp := range outcomes {
		fmt.Fprintf(tw, "\t%s\t", exp)
		for _, got := range outcomes {
			fmt.Fprintf(tw, "%d\t", e.Matrix[exp][got])
		}
		fmt.Fprintf(tw, "%.3f\t%.3f\t\n", e.Precision(exp), e.Recall(exp))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	misses := e.Misses()
	sort.Slice(misses, func(i, j int) bool { return misses[i].Case.Name < misses[j].Case.Name })
	for _, m := range misses {
		fmt.Fprintf(w, "\nMISS %s: expected %s, got %s (confidence %.2f)\n", m.Case.Name, m.Case.Expect, m.Verdict.Verdict, m.Verdict.Confidence)
		for _, r := range m.Verdict.Reasons.Strings() {
			fmt.Fprintf(w, "  - %s\n", r)
		}
	}
	return nil
}
