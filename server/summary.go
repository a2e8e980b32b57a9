package server

import (
	"strconv"
	"strings"
	"unsafe"

	"github.com/mitmwatch/mitmwatch/internal/sfv"
)

// summary is a's [HeaderSummary] value. It runs per request, so it costs
// one allocation, the string: the buffer is sized before it is written
// (with room for a ten-digit ASN; it grows only when something needs
// escaping) and becomes the string without a copy.
func (p *Proxy) summary(a *Annotation) string {
	verdict := a.Verdict.String()
	conf := p.confSF[confidenceIndex(a.Confidence)]
	product, ja4, ja3 := truncate128(a.Product), truncate128(a.JA4), truncate128(a.JA3)
	country := truncate128(a.Country)
	if country == "" {
		country = "ZZ"
	}
	n := len("verdict=, confidence=, country=\"\", asn=4294967295") + len(verdict) + len(conf) + len(country)
	for _, v := range [...]string{product, ja4, ja3} {
		if v != "" {
			n += len(", product=\"\"") + len(v)
		}
	}
	b := make([]byte, 0, n)
	b = append(b, "verdict="...)
	b = append(b, verdict...)
	b = append(b, ", confidence="...)
	b = append(b, conf...)
	for _, m := range [...]struct{ key, val string }{
		{", product=", product}, {", ja4=", ja4}, {", ja3=", ja3},
	} {
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

// truncate128 cuts v to maxHeaderValue bytes.
func truncate128(v string) string {
	if len(v) > maxHeaderValue {
		return v[:maxHeaderValue]
	}
	return v
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
