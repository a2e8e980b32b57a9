package server

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

func TestProductGradesWorstWins(t *testing.T) {
	tests := []struct {
		name  string
		notes []fingerprints.Grade
		want  fingerprints.Grade
	}{
		{"never_noted", nil, fingerprints.GradeNone},
		{"one_grade", []fingerprints.Grade{fingerprints.GradeB}, fingerprints.GradeB},
		{"worse_replaces_better", []fingerprints.Grade{fingerprints.GradeA, fingerprints.GradeC}, fingerprints.GradeC},
		{"better_does_not_launder_worse", []fingerprints.Grade{fingerprints.GradeF, fingerprints.GradeA}, fingerprints.GradeF},
		{"none_ignored", []fingerprints.Grade{fingerprints.GradeB, fingerprints.GradeNone}, fingerprints.GradeB},
		{"out_of_range_ignored", []fingerprints.Grade{fingerprints.GradeA, fingerprints.Grade(200)}, fingerprints.GradeA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewProductGrades(nil, 0)
			for _, g := range tt.notes {
				p.Note("mitmproxy", g)
			}
			if got := p.Grade("mitmproxy"); got != tt.want {
				t.Errorf("Grade = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestProductGradesBounded(t *testing.T) {
	p := NewProductGrades(nil, 2)
	p.Note("a", fingerprints.GradeA)
	p.Note("b", fingerprints.GradeB)
	p.Note("flood", fingerprints.GradeF)
	if got := p.Grade("flood"); got != fingerprints.GradeNone {
		t.Errorf("a third name was kept (%v) beyond the bound of 2", got)
	}
	p.Note("a", fingerprints.GradeC)
	if got := p.Grade("a"); got != fingerprints.GradeC {
		t.Errorf("a known name at the bound was not updated: %v", got)
	}
	p.Note("", fingerprints.GradeF)
	if got := p.Grade(""); got != fingerprints.GradeNone {
		t.Error("the empty name was graded")
	}
}

func TestProductGradesLongNamesMatchTheStore(t *testing.T) {
	// The alerts store keeps the first 64 bytes of a product name; the
	// grade must still be found under the cut name.
	long := strings.Repeat("x", 100)
	p := NewProductGrades(nil, 0)
	p.Note(long, fingerprints.GradeC)
	if got := p.Grade(long[:maxProductName]); got != fingerprints.GradeC {
		t.Errorf("cut name: %v, want C", got)
	}
	if got := p.Grade(long); got != fingerprints.GradeC {
		t.Errorf("full name: %v, want C", got)
	}
}

func TestProductGradesVerdicts(t *testing.T) {
	p := NewProductGrades(nil, 0)
	p.NoteVerdict(fingerprints.Verdict{Verdict: fingerprints.OutcomeClean, Product: "Chrome", Grade: fingerprints.GradeA})
	p.NoteVerdict(fingerprints.Verdict{Verdict: fingerprints.OutcomeIntercepted, Product: "mitmproxy", Grade: fingerprints.GradeB})
	if p.Grade("Chrome") != fingerprints.GradeNone || p.Grade("mitmproxy") != fingerprints.GradeB {
		t.Errorf("Chrome %v mitmproxy %v, want only the intercepted verdict noted", p.Grade("Chrome"), p.Grade("mitmproxy"))
	}
}

func TestProductGradesSeededFromDatabase(t *testing.T) {
	f := filepath.Join(t.TempDir(), "local.yaml")
	err := os.WriteFile(f, []byte(`products:
  - id: test-appliance
    name: "Test Appliance"
    vendor: "Test"
    kind: corporate_proxy
    grade: F
    ja4_ab: [t10d0102ff_000000000000]
    source: "unit test"
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	db, err := fingerprints.LoadDatabase(f)
	if err != nil {
		t.Fatal(err)
	}
	p := NewProductGrades(db, 0)
	if got := p.Grade("Test Appliance"); got != fingerprints.GradeF {
		t.Errorf("database grade: %v, want F", got)
	}
	p.Note("Test Appliance", fingerprints.GradeA)
	if got := p.Grade("Test Appliance"); got != fingerprints.GradeF {
		t.Errorf("after a better observation: %v, want F kept", got)
	}
}

func TestProductGradesConcurrent(t *testing.T) {
	p := NewProductGrades(nil, 0)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 1000 {
				p.Note("mitmproxy", fingerprints.Grade(1+(i+j)%4))
				_ = p.Grade("mitmproxy")
			}
		}()
	}
	wg.Wait()
	if got := p.Grade("mitmproxy"); got != fingerprints.GradeF {
		t.Errorf("after concurrent notes: %v, want F (the worst noted)", got)
	}
}
