package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// runEval classifies a labelled corpus and prints the confusion matrix:
//
//	mitmwatch eval [DIR] [--signatures a.yaml,b.yaml]
//
// DIR holds cases.yaml (default testdata/corpus, or MITMWATCH_CORPUS). It
// fails when any case gets another verdict than expected, so it can gate a
// change to an operator's signature files.
func runEval(ctx context.Context, args []string, env lookupEnv, stdout, stderr io.Writer) error {
	var dir, sigs string
	fs := newFlagSet("eval", "eval [DIR] [flags]", stderr)
	fs.stringVar(&dir, "corpus", "MITMWATCH_CORPUS", "testdata/corpus", "corpus directory holding cases.yaml (or give it as the first argument)")
	fs.stringVar(&sigs, "signatures", "MITMWATCH_SIGNATURES", "", "comma-separated signature files applied over the embedded database")
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		args = append([]string{"-corpus", args[0]}, args[1:]...)
	}
	if err := fs.parse(args, env); err != nil {
		return err
	}
	var files []string
	for _, f := range strings.Split(sigs, ",") {
		if f = strings.TrimSpace(f); f != "" {
			files = append(files, f)
		}
	}
	db, err := fingerprints.LoadDatabase(files...)
	if err != nil {
		return err
	}
	c, err := fingerprints.NewClassifier(fingerprints.ClassifierConfig{Database: db})
	if err != nil {
		return err
	}
	corpus, err := fingerprints.LoadCorpus(dir)
	if err != nil {
		return err
	}
	e := c.Evaluate(corpus)
	if err := e.WriteReport(stdout); err != nil {
		return err
	}
	if n := len(e.Misses()); n > 0 {
		return fmt.Errorf("%d of %d cases got another verdict than expected", n, len(corpus.Cases))
	}
	return nil
}
