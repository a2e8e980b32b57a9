package alerts

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
)

// WriteTop writes rows of a [Store.Top] query as an aligned text table for
// a terminal (`mitmwatch top`): one line per country, ASN or network with
// browser connections, the intercepted share and its split, the estimated
// clients, and the most seen product and fingerprint.
func WriteTop(w io.Writer, rows []NetworkStats, q TopQuery) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	from, to := q.From.UTC(), q.To.UTC()
	layout := "2006-01-02 15:04"
	fmt.Fprintf(w, "Intercepted share of browser connections by %s, %s to %s UTC (%s)\n\n",
		q.Group, from.Format(layout), to.Format(layout), humanDuration(to.Sub(from)))
	if len(rows) == 0 {
		_, err := fmt.Fprintln(w, "No browser connections in this window.")
		return err
	}
	var head string
	switch q.Group {
	case GroupCountry:
		head = "COUNTRY\t"
	case GroupASN:
		head = "ASN\tAS ORGANISATION\t"
	default:
		head = "COUNTRY\tASN\tAS ORGANISATION\t"
	}
	fmt.Fprintln(tw, head+"BROWSER\tINTERCEPTED\tSHARE\tUNKNOWN\tSPOOFED\tCLIENTS\tTOP PRODUCT\tTOP FINGERPRINT")
	for _, r := range rows {
		var who string
		switch q.Group {
		case GroupCountry:
			who = r.Country + "\t"
		case GroupASN:
			who = asnCell(r.ASN) + "\t" + cut(r.ASOrg, 30) + "\t"
		default:
			who = r.Country + "\t" + asnCell(r.ASN) + "\t" + cut(r.ASOrg, 30) + "\t"
		}
		product, fp := "-", "-"
		if k := topKeys(r.Products, 1); len(k) > 0 {
			product = fmt.Sprintf("%s (%d)", cut(k[0], 24), r.Products[k[0]])
		}
		all := addMap(addMap(nil, r.InterceptedJA4), r.UnknownJA4)
		if k := topKeys(all, 1); len(k) > 0 {
			fp = fmt.Sprintf("%s (%d)", k[0], all[k[0]])
		}
		fmt.Fprintf(tw, "%s%d\t%d\t%.1f%%\t%d\t%d\t%d\t%s\t%s\n", who, r.Browser, r.Intercepted, 100*r.Share, r.Unknown, r.Spoofed, r.Clients, product, fp)
	}
	return tw.Flush()
}

func asnCell(asn uint32) string {
	if asn == 0 {
		return "-"
	}
	return "AS" + strconv.FormatUint(uint64(asn), 10)
}

// cut shortens s to n runes with an ellipsis, keeping the table narrow.
func cut(s string, n int) string {
	if s == "" {
		return "-"
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
