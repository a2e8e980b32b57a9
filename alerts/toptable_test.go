package alerts

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestWriteTopIsAReadableTable(t *testing.T) {
	st := NewMemoryStore()
	now := t0.Add(30 * time.Minute)
	feed(t, st, now.Add(-10*time.Minute), traffic("KZ", 9198, "JSC Kazakhtelecom", 120, 36, "Qaznet Trust Network", ja4X, 0)...)
	feed(t, st, now.Add(-5*time.Minute), traffic("DE", 3320, "Deutsche Telekom AG", 200, 2, "Kaspersky", ja4Z, 1000)...)
	feed(t, st, now.Add(-5*time.Minute), traffic("US", 7922, "An organisation name far longer than any table column should be", 50, 0, "", "", 2000)...)
	q := TopQuery{From: now.Add(-time.Hour), To: now, Group: GroupNetwork, Limit: 20}
	rows, err := st.Top(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteTop(&b, rows, q); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 6 { // title, blank, header, 3 rows
		t.Fatalf("%d lines:\n%s", len(lines), out)
	}
	if !strings.HasPrefix(lines[0], "Intercepted share of browser connections by network, ") || !strings.HasSuffix(lines[0], "(1 h)") {
		t.Errorf("title %q", lines[0])
	}
	for i, want := range [][]string{
		{"COUNTRY", "ASN", "AS ORGANISATION", "BROWSER", "INTERCEPTED", "SHARE", "CLIENTS", "TOP PRODUCT", "TOP FINGERPRINT"},
		{"KZ", "AS9198", "JSC Kazakhtelecom", "120", "36", "30.0%", "Qaznet Trust Network (36)", ja4X + " (36)"},
		{"DE", "AS3320", "Deutsche Telekom AG", "200", "2", "1.0%", "Kaspersky (2)"},
		{"US", "AS7922", "An organisation name far long…", "50", "0.0%", "-"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[2+i], w) {
				t.Errorf("line %q lacks %q", lines[2+i], w)
			}
		}
	}
	for _, l := range lines {
		if strings.HasSuffix(l, " ") {
			t.Errorf("trailing spaces in %q", l)
		}
	}
	// Columns line up: every row's SHARE cell starts where the header's does.
	col := strings.Index(lines[2], "SHARE")
	for _, l := range lines[3:] {
		if !strings.Contains(l[col:col+6], "%") {
			t.Errorf("misaligned row %q (SHARE at %d)", l, col)
		}
	}
}

func TestWriteTopGroupsAndEmptyWindow(t *testing.T) {
	var b bytes.Buffer
	q := TopQuery{From: t0, To: t0.Add(15 * time.Minute), Group: GroupCountry}
	if err := WriteTop(&b, nil, q); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "by country") || !strings.Contains(b.String(), "No browser connections in this window.") {
		t.Errorf("empty table:\n%s", b.String())
	}
	b.Reset()
	q.Group = GroupASN
	if err := WriteTop(&b, []NetworkStats{{ASN: 9198, ASOrg: "JSC Kazakhtelecom", Counts: Counts{Browser: 10, Intercepted: 5}, Share: 0.5}}, q); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); !strings.HasPrefix(strings.Split(out, "\n")[2], "ASN ") || strings.Contains(out, "COUNTRY") || !strings.Contains(out, "50.0%") {
		t.Errorf("asn table:\n%s", out)
	}
}
