package alerts

import (
	"reflect"
	"strings"
	"testing"
)

func TestAggregateBuckets(t *testing.T) {
	a := newAggregate()
	kz := Observation{ASN: 9198, ASOrg: "JSC Kazakhtelecom", Browser: true, Verdict: VerdictIntercepted, Product: "Qaznet", JA4: ja4X}
	a.add(10, "KZ", countryIndex("KZ"), &kz, 7, true)
	a.add(10, "KZ", countryIndex("KZ"), &kz, 7, true) // same client again
	a.add(10, "KZ", countryIndex("KZ"), &kz, 9, true)
	long := Observation{ASN: 1, Browser: true, Verdict: VerdictUnknown, JA4: strings.Repeat("j", 500)}
	a.add(11, "DE", countryIndex("DE"), &long, 0, false)
	got := a.appendBuckets(nil)
	sortBuckets(got)
	want := []Bucket{
		{Network: Network{"DE", 1}, Minute: 11, Counts: Counts{Connections: 1, Browser: 1, Unknown: 1},
			UnknownJA4: map[string]uint64{strings.Repeat("j", maxLabel): 1}},
		{Network: Network{"KZ", 9198}, Minute: 10, Counts: Counts{Connections: 3, Browser: 3, Intercepted: 3},
			Products: map[string]uint64{"Qaznet": 3}, InterceptedJA4: map[string]uint64{ja4X: 3}, Clients: []uint64{7, 9}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("buckets =\n%+v\nwant\n%+v", got, want)
	}
	if a.orgs[9198] != "JSC Kazakhtelecom" || a.observations() != 4 {
		t.Fatalf("orgs %v, observations %d", a.orgs, a.observations())
	}
	a.reset()
	if len(a.rows) != 0 || len(a.cells) != 0 || len(a.subs) != 0 || len(a.clients) != 0 || len(a.orgs) != 0 || cap(a.rows) == 0 {
		t.Fatal("reset left data or dropped the rows' capacity")
	}
}
