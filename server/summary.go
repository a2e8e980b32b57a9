package server

import (
	"strconv"
	"strings"

	"github.com/mitmwatch/mitmwatch/internal/sfv"
)

// summary is a's [HeaderSummary] value. It is built in a buffer on the
// stack, so it costs one allocation, the string: it runs per request.
func (p *Proxy) summary(a *Annotation) string {
	var buf [320]byte // room for a long product name, escaped
	b := append(buf[:0], "verdict="...)
	b = append(b, a.Verdict.String()...)
	b = append(b, ", confidence="...)
	b = append(b, p.confSF[confidenceIndex(a.Confidence)]...)
	for _, m := range [...]struct{ key, val string }{
		{", product=", a.Product}, {", ja4=", a.JA4}, {", ja3=", a.JA3},
	} {
		if m.val != "" {
			b = append(b, m.key...)
			b = sfv.AppendString(b, truncate128(m.val))
		}
	}
	country := a.Country
	if country == "" {
		country = "ZZ"
	}
	b = append(b, ", country="...)
	b = sfv.AppendString(b, truncate128(country))
	b = append(b, ", asn="...)
	b = strconv.AppendUint(b, uint64(a.ASN), 10)
	return string(b)
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
