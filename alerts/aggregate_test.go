package alerts

import (
	"reflect"
	"strings"
	"testing"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

func TestAggregateBuckets(t *testing.T) {
	a := newAggregate()
	kz := Observation{ASN: 9198, ASOrg: "JSC Kazakhtelecom", Browser: true, Verdict: VerdictIntercepted, Product: "Qaznet", JA4: ja4X,
		Grade: fingerprints.GradeC, Reasons: fingerprints.Reasons(0).Add(fingerprints.ReasonProductHello)}
	a.add(10, "KZ", countryIndex("KZ"), &kz, 7, true)
	a.add(10, "KZ", countryIndex("KZ"), &kz, 7, true) // same client again
	a.add(10, "KZ", countryIndex("KZ"), &kz, 9, true)
	kzUnknown := Observation{ASN: 9198, Browser: true, Verdict: VerdictUnknown, JA4: ja4X, Reasons: fingerprints.Reasons(0).Add(fingerprints.ReasonNoALPN)}
	a.add(10, "KZ", countryIndex("KZ"), &kzUnknown, 3, true) // same JA4, other verdict: one client set
	kzClean := Observation{ASN: 9198, Browser: true, Verdict: VerdictClean, JA4: ja4Y, Grade: fingerprints.GradeA}
	a.add(10, "KZ", countryIndex("KZ"), &kzClean, 5, true) // clean JA4s are not tracked
	kzBot := Observation{ASN: 9198, Browser: false, Verdict: VerdictUnknown, JA4: ja4Z}
	a.add(10, "KZ", countryIndex("KZ"), &kzBot, 5, true) // nor non-browser ones
	long := Observation{ASN: 1, Browser: true, Verdict: VerdictUnknown, JA4: strings.Repeat("j", 500)}
	a.add(11, "DE", countryIndex("DE"), &long, 0, false)
	a.add(11, "DE", countryIndex("DE"), &long, 4, true)
	got := a.appendBuckets(nil)
	sortBuckets(got)
	want := []Bucket{
		{Network: Network{"DE", 1}, Minute: 11, Counts: Counts{Connections: 2, Browser: 2, Unknown: 2},
			UnknownJA4: map[string]uint64{strings.Repeat("j", maxLabel): 2}, Clients: []uint64{4},
			JA4Clients: map[string][]uint64{strings.Repeat("j", maxLabel): {4}}},
		{Network: Network{"KZ", 9198}, Minute: 10, Counts: Counts{Connections: 6, Browser: 5, Clean: 1, Intercepted: 3, Unknown: 1},
			Products: map[string]uint64{"Qaznet": 3}, InterceptedJA4: map[string]uint64{ja4X: 3}, UnknownJA4: map[string]uint64{ja4X: 1},
			Clients: []uint64{3, 5, 7, 9}, JA4Clients: map[string][]uint64{ja4X: {3, 7, 9}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("buckets =\n%+v\nwant\n%+v", got, want)
	}
	if a.orgs[9198] != "JSC Kazakhtelecom" || a.observations() != 8 {
		t.Fatalf("orgs %v, observations %d", a.orgs, a.observations())
	}
	// ja4X's intercepted observations' grade and reason, and the unknown
	// one's reason; the clean ja4Y is not noted.
	wantNotes := map[string]JA4Note{ja4X: {Grade: fingerprints.GradeC,
		Reasons: fingerprints.Reasons(0).Add(fingerprints.ReasonProductHello).Add(fingerprints.ReasonNoALPN)}}
	if !reflect.DeepEqual(a.notes, wantNotes) {
		t.Fatalf("notes %v, want %v", a.notes, wantNotes)
	}
	a.reset()
	if len(a.rows) != 0 || len(a.cells) != 0 || len(a.subs) != 0 || len(a.clients) != 0 || len(a.ja4Clients) != 0 || len(a.orgs) != 0 || len(a.notes) != 0 || cap(a.rows) == 0 {
		t.Fatal("reset left data or dropped the rows' capacity")
	}
}
