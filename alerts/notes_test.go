package alerts

import (
	"slices"
	"testing"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

func TestNoteBookUnitesReasonsAndKeepsTheGrade(t *testing.T) {
	nb := NewNoteBook(0)
	if _, ok := nb.Describe(ja4X); ok {
		t.Fatal("empty notebook describes a JA4")
	}
	var r1, r2 fingerprints.Reasons
	r1 = r1.Add(fingerprints.Reason(1))
	r2 = r2.Add(fingerprints.Reason(2))
	nb.Note(ja4X, fingerprints.GradeC, r1)
	nb.Note(ja4X, fingerprints.GradeNone, r2) // no grade: keeps C
	nb.Note("", fingerprints.GradeF, r1)      // ignored
	n, ok := nb.Describe(ja4X)
	if !ok || n.Grade != "C" {
		t.Fatalf("note %+v, %v", n, ok)
	}
	want := r1.Add(fingerprints.Reason(2)).Strings()
	if !slices.Equal(n.Reasons, want) || len(want) != 2 {
		t.Errorf("reasons %q, want %q", n.Reasons, want)
	}
	nb.Note(ja4X, fingerprints.GradeF, 0)
	if n, _ := nb.Describe(ja4X); n.Grade != "F" {
		t.Errorf("grade %q after a new grade, want F", n.Grade)
	}
}

func TestNoteBookIsBounded(t *testing.T) {
	nb := NewNoteBook(2)
	for _, ja4 := range []string{ja4X, ja4Y, ja4Z} {
		nb.Note(ja4, fingerprints.GradeB, 0)
	}
	n := 0
	for _, ja4 := range []string{ja4X, ja4Y, ja4Z} {
		if _, ok := nb.Describe(ja4); ok {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d notes kept, want 2", n)
	}
	if _, ok := nb.Describe(ja4Z); !ok {
		t.Error("the newest note was the one dropped")
	}
}

func TestNoteBookKnownFingerprintDoesNotAllocate(t *testing.T) {
	nb := NewNoteBook(0)
	var r fingerprints.Reasons
	r = r.Add(fingerprints.Reason(1))
	nb.Note(ja4X, fingerprints.GradeC, r)
	ja4 := string([]byte(ja4X)) // not the same backing string
	if a := testing.AllocsPerRun(1000, func() { nb.Note(ja4, fingerprints.GradeC, r) }); a != 0 {
		t.Errorf("Note of a known JA4 allocates %.1f times", a)
	}
}
