package alerts

import (
	"strings"
	"sync"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// DefaultNoteBookSize bounds a [NoteBook].
const DefaultNoteBookSize = 10_000

// NoteBook remembers, per JA4, the TLS grade and the union of verdict
// reasons this process has seen. The middleware calls [NoteBook.Note] for
// intercepted and unknown verdicts; the [Evaluator] reads it through
// [NoteBook.Describe] (its EvaluatorConfig.Describe).
//
// Notes are per process, but they are not the only ones: the same grade
// and reasons travel in each [Observation] to the [Recorder], which hands
// them to the store with the counts ([Batch].JA4Notes), and the store
// keeps them per JA4 beside the fingerprint index, from every node
// ([FingerprintSighting] Grade and Reasons). An alert shows this
// notebook's grade, or else the store's, and the union of both's
// reasons; so with nodes sharing Redis the node that emits an alert shows
// what any node saw, even of a fingerprint it never saw itself. What the
// notebook adds is what the store does not have yet: notes of the last
// flush interval, and of JA4s outside the newest 1000 of the last 31
// days that an alert reads from the index.
type NoteBook struct {
	mu   sync.RWMutex
	m    map[string]*note
	size int
}

type note struct {
	grade   fingerprints.Grade
	reasons fingerprints.Reasons
}

// NewNoteBook returns a notebook of at most size fingerprints (default
// DefaultNoteBookSize); beyond it an arbitrary old entry makes room.
func NewNoteBook(size int) *NoteBook {
	if size <= 0 {
		size = DefaultNoteBookSize
	}
	return &NoteBook{m: make(map[string]*note), size: size}
}

// Note records a verdict's grade and reasons for ja4. It is cheap enough
// for the request path: a known JA4 with nothing new costs a read lock and
// a map lookup, without allocating. An empty ja4 is ignored; GradeNone
// does not overwrite a known grade.
func (nb *NoteBook) Note(ja4 string, g fingerprints.Grade, r fingerprints.Reasons) {
	if ja4 == "" || len(ja4) > 64 {
		return
	}
	nb.mu.RLock()
	n := nb.m[ja4]
	fresh := n != nil && (g == fingerprints.GradeNone || n.grade == g) && n.reasons|r == n.reasons
	nb.mu.RUnlock()
	if fresh {
		return
	}
	nb.mu.Lock()
	defer nb.mu.Unlock()
	n = nb.m[ja4]
	if n == nil {
		if len(nb.m) >= nb.size {
			for k := range nb.m {
				delete(nb.m, k)
				break
			}
		}
		n = &note{}
		nb.m[strings.Clone(ja4)] = n
	}
	if g != fingerprints.GradeNone {
		n.grade = g
	}
	n.reasons |= r
}

// Describe returns what is noted about ja4; it fits
// EvaluatorConfig.Describe.
func (nb *NoteBook) Describe(ja4 string) (FingerprintNote, bool) {
	nb.mu.RLock()
	n := nb.m[ja4]
	var c note
	if n != nil {
		c = *n
	}
	nb.mu.RUnlock()
	if n == nil {
		return FingerprintNote{}, false
	}
	out := FingerprintNote{Reasons: c.reasons.Strings()}
	if c.grade != fingerprints.GradeNone {
		out.Grade = c.grade.String()
	}
	return out, true
}
