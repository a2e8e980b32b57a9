package server

import (
	"hash/maphash"
	"strconv"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/mitmwatch/mitmwatch/internal/sfv"
)

// summaryMemoSlots is how many summaries a proxy remembers.
const summaryMemoSlots = 1024

// summaryMemos remembers summaries by annotation: the requests of one
// connection, and the connections of one client stack from one network,
// carry the same annotation. Direct-mapped slots of immutable entries
// behind atomic pointers: a hit takes no lock and allocates nothing, an
// entry is used only when its whole annotation is equal, and a new
// annotation replaces the slot's. A miss costs one allocation more than
// formatting alone, the entry (104 bytes, a 112-byte block); the table is
// 8 KiB of pointers.
type summaryMemos struct {
	seed  maphash.Seed
	slots [summaryMemoSlots]atomic.Pointer[summaryMemo]
}

type summaryMemo struct {
	a Annotation
	s string
}

// cachedSummary returns p.summary(a), from the memo when a was seen last
// in its slot. An annotation with a NaN confidence is never equal to
// itself, so it is formatted each time, correctly.
func (p *Proxy) cachedSummary(a *Annotation) string {
	m := &p.memos
	h := maphash.String(m.seed, a.JA4) ^ uint64(a.ASN)*0x9e3779b97f4a7c15 ^ uint64(a.Verdict)
	slot := &m.slots[h%summaryMemoSlots]
	if e := slot.Load(); e != nil && e.a == *a {
		return e.s
	}
	s := p.summary(a)
	slot.Store(&summaryMemo{a: *a, s: s})
	return s
}

// summary is a's [HeaderSummary] value. It runs per request, so it costs
// one allocation, the string: the buffer is sized before it is written
// (with room for a ten-digit ASN; it grows only when something needs
// escaping) and becomes the string without a copy.
func (p *Proxy) summary(a *Annotation) string {
	verdict := a.Verdict.String()
	conf := p.confSF[confidenceIndex(a.Confidence)]
	country := countryOrZZ(cutHeaderValue(a.Country))
	strs := [...]struct{ key, val string }{
		{", product=", cutHeaderValue(a.Product)},
		{", ja4=", cutHeaderValue(a.JA4)},
		{", ja3=", cutHeaderValue(a.JA3)},
	}
	n := len("verdict=, confidence=, country=\"\", asn=4294967295") + len(verdict) + len(conf) + len(country)
	for _, m := range strs {
		if m.val != "" {
			n += len(m.key) + len(`""`) + len(m.val)
		}
	}
	b := make([]byte, 0, n)
	b = append(b, "verdict="...)
	b = append(b, verdict...)
	b = append(b, ", confidence="...)
	b = append(b, conf...)
	for _, m := range strs {
		if m.val != "" {
			b = append(b, m.key...)
			b = sfv.AppendString(b, m.val)
		}
	}
	b = append(b, ", country="...)
	b = sfv.AppendString(b, country)
	b = append(b, ", asn="...)
	b = strconv.AppendUint(b, uint64(a.ASN), 10)
	return unsafe.String(unsafe.SliceData(b), len(b)) // b is not written again
}

// sfDecimal turns "0.50" into the RFC 8941 §4.1.5 decimal "0.5": trailing
// zeros of the fraction dropped, at least one digit kept.
func sfDecimal(s string) string {
	s = strings.TrimRight(s, "0")
	if strings.HasSuffix(s, ".") {
		s += "0"
	}
	return s
}
