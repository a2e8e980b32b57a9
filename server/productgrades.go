package server

import (
	"sync"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// DefaultMaxProductGrades is how many product names a [ProductGrades]
// keeps by default.
const DefaultMaxProductGrades = 1024

// maxProductName is the length the alerts store cuts product names to
// (alerts keeps at most 64 bytes of a counter name); grades are keyed the
// same way so that a long name read back from the store still finds its
// grade.
const maxProductName = 64

// ProductGrades remembers the security grade of each interception product
// the classifier has named, so the dashboard can show a grade next to the
// product counts the alerts store keeps (the store counts products by name
// and does not keep grades). A product's grade is the worst one noted: an
// interceptor's grade comes from the hello it sends, and one bad hello is
// what an attacker gets to use. It is safe for concurrent use.
//
// Wire [ProductGrades.Grade] as [AdminServerConfig.Grades] and call
// [ProductGrades.Note] with each intercepted verdict (or
// [ProductGrades.NoteVerdict]).
type ProductGrades struct {
	mu     sync.RWMutex
	grades map[string]fingerprints.Grade
	max    int
}

// NewProductGrades returns an empty table that keeps at most max names
// (default [DefaultMaxProductGrades] when max <= 0), seeded with the grades
// the signature database fixes for its products (db may be nil). Names
// beyond max are not remembered: product names come from the signature
// database, so the bound only matters if something feeds it arbitrary
// strings.
func NewProductGrades(db *fingerprints.Database, max int) *ProductGrades {
	if max <= 0 {
		max = DefaultMaxProductGrades
	}
	p := &ProductGrades{grades: make(map[string]fingerprints.Grade), max: max}
	if db != nil {
		for _, prod := range db.Products() {
			p.Note(prod.Name, prod.Grade)
		}
	}
	return p
}

// Note records that product was seen with grade g. GradeNone and empty
// names are ignored; a worse grade replaces a better one.
func (p *ProductGrades) Note(product string, g fingerprints.Grade) {
	if product == "" || g == fingerprints.GradeNone || g > fingerprints.GradeF {
		return
	}
	if len(product) > maxProductName {
		product = product[:maxProductName]
	}
	p.mu.RLock()
	old, ok := p.grades[product]
	p.mu.RUnlock()
	if ok && old >= g {
		return // the common case: nothing to write
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	old, ok = p.grades[product]
	switch {
	case ok && old >= g:
	case ok || len(p.grades) < p.max:
		p.grades[product] = g
	}
}

// NoteVerdict notes the product and grade of an intercepted verdict and
// ignores others.
func (p *ProductGrades) NoteVerdict(v fingerprints.Verdict) {
	if v.Verdict == fingerprints.OutcomeIntercepted {
		p.Note(v.Product, v.Grade)
	}
}

// Grade returns the worst grade noted for product, or GradeNone.
func (p *ProductGrades) Grade(product string) fingerprints.Grade {
	if len(product) > maxProductName {
		product = product[:maxProductName]
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.grades[product]
}
