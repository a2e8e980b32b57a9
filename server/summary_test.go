package server

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/dunglas/httpsfv"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

func newSummaryProxy(t testing.TB) *Proxy {
	t.Helper()
	return newTestProxy(t, ProxyConfig{Upstreams: []string{"http://127.0.0.1:1"}, Headers: []string{HeaderSummary}})
}

// TestSummaryHeaderValue: the Mitmwatch-Summary value for the cases an
// upstream meets, byte for byte.
func TestSummaryHeaderValue(t *testing.T) {
	const ja4, ja3 = "t13d1516h2_8daaf6152771_02713d6af862", "0123456789abcdef0123456789abcdef"
	p := newSummaryProxy(t)
	tests := []struct {
		name string
		a    Annotation
		want string
	}{
		{"clean_unknown_place",
			Annotation{Verdict: fingerprints.OutcomeClean, Confidence: 0.95, JA4: ja4, JA3: ja3},
			`verdict=clean, confidence=0.95, ja4="` + ja4 + `", ja3="` + ja3 + `", country="ZZ", asn=0`},
		{"intercepted_with_product_and_place",
			Annotation{Verdict: fingerprints.OutcomeIntercepted, Product: "mitmproxy", Confidence: 0.95, JA4: ja4, JA3: ja3, Country: "KZ", ASN: 9198},
			`verdict=intercepted, confidence=0.95, product="mitmproxy", ja4="` + ja4 + `", ja3="` + ja3 + `", country="KZ", asn=9198`},
		{"no_hello_no_fingerprints",
			Annotation{Verdict: fingerprints.OutcomeUnknown, Country: "DE", ASN: 3320},
			`verdict=unknown, confidence=0.0, country="DE", asn=3320`},
		{"confidence_one_is_1.0", Annotation{Verdict: fingerprints.OutcomeSpoofed, Confidence: 1},
			`verdict=spoofed, confidence=1.0, country="ZZ", asn=0`},
		{"confidence_trailing_zero_dropped", Annotation{Verdict: fingerprints.OutcomeSpoofed, Confidence: 0.5},
			`verdict=spoofed, confidence=0.5, country="ZZ", asn=0`},
		{"confidence_rounded_to_hundredths", Annotation{Verdict: fingerprints.OutcomeSpoofed, Confidence: 0.854},
			`verdict=spoofed, confidence=0.85, country="ZZ", asn=0`},
		{"confidence_out_of_range_clamped", Annotation{Verdict: fingerprints.OutcomeSpoofed, Confidence: 7},
			`verdict=spoofed, confidence=1.0, country="ZZ", asn=0`},
		{"confidence_nan_is_zero", Annotation{Verdict: fingerprints.OutcomeSpoofed, Confidence: math.NaN()},
			`verdict=spoofed, confidence=0.0, country="ZZ", asn=0`},
		{"product_escaped_and_made_ascii",
			Annotation{Verdict: fingerprints.OutcomeIntercepted, Product: "Evil \"Proxy\"\r\nX-Injected: 1 \\ ☃", Confidence: 0.9},
			`verdict=intercepted, confidence=0.9, product="Evil \"Proxy\"??X-Injected: 1 \\ ???", country="ZZ", asn=0`},
		{"product_cut_at_128_bytes",
			Annotation{Verdict: fingerprints.OutcomeIntercepted, Product: strings.Repeat("p", 300), Confidence: 0.9},
			`verdict=intercepted, confidence=0.9, product="` + strings.Repeat("p", 128) + `", country="ZZ", asn=0`},
		{"largest_asn", Annotation{Verdict: fingerprints.OutcomeClean, ASN: math.MaxUint32},
			`verdict=clean, confidence=0.0, country="ZZ", asn=4294967295`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.summary(&tt.a); got != tt.want {
				t.Errorf("summary =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestSummaryHeaderIsCanonicalRFC8941: every summary parses as an RFC 8941
// dictionary with an independent implementation (github.com/dunglas/httpsfv),
// the members carry the annotation's values with their types, and the
// library serialises the parsed dictionary back to the same bytes: the
// value is the canonical form, not just a parseable one.
func TestSummaryHeaderIsCanonicalRFC8941(t *testing.T) {
	p := newSummaryProxy(t)
	for i := 0; i <= 100; i++ {
		a := Annotation{Verdict: fingerprints.Outcome(i % 4), Confidence: float64(i) / 100,
			Product: []string{"", "mitmproxy", `a"b\c`, "Ünïcode"}[i%4], JA4: "t13d1516h2_8daaf6152771_02713d6af862",
			JA3: []string{"", "0123456789abcdef0123456789abcdef"}[i%2], Country: []string{"", "KZ"}[i%2], ASN: uint32(i * 1000)}
		checkSummary(t, p, &a)
	}
}

// FuzzSummaryHeader: whatever an Annotate function or a signature file
// puts in an annotation, the summary is one valid, canonical RFC 8941
// dictionary that says the same, and the memo gives the same summary.
func FuzzSummaryHeader(f *testing.F) {
	f.Add(uint8(1), 0.95, "mitmproxy", "t13d1516h2_8daaf6152771_02713d6af862", "0123456789abcdef0123456789abcdef", "KZ", uint32(9198))
	f.Add(uint8(0), math.Inf(-1), "", "", "", "", uint32(0))
	f.Add(uint8(3), 0.5, "x\"\\\r\n\x00é", "ja4\"", "\\", "Z\nZ", uint32(math.MaxUint32))
	p := newSummaryProxy(f)
	f.Fuzz(func(t *testing.T, verdict uint8, conf float64, product, ja4, ja3, country string, asn uint32) {
		a := Annotation{Verdict: fingerprints.Outcome(verdict % 4), Confidence: conf, Product: product,
			JA4: ja4, JA3: ja3, Country: country, ASN: asn}
		checkSummary(t, p, &a)
		// The memo, shared across inputs, gives what formatting gives.
		want := p.summary(&a)
		for range 2 {
			if got := p.cachedSummary(&a); got != want {
				t.Fatalf("memo gave %q, want %q", got, want)
			}
		}
	})
}

// checkSummary parses p's summary of a with httpsfv and compares.
func checkSummary(t *testing.T, p *Proxy, a *Annotation) {
	t.Helper()
	got := p.summary(a)
	d, err := httpsfv.UnmarshalDictionary([]string{got})
	if err != nil {
		t.Fatalf("summary %q is not an RFC 8941 dictionary: %v", got, err)
	}
	again, err := httpsfv.Marshal(d)
	if err != nil || again != got {
		t.Fatalf("summary %q serialises back as %q (%v): not canonical", got, again, err)
	}
	member := func(key string) any {
		m, ok := d.Get(key)
		if !ok {
			return nil
		}
		it, ok := m.(httpsfv.Item)
		if !ok || len(it.Params.Names()) > 0 {
			t.Fatalf("summary %q: %s is %#v, want a bare item", got, key, m)
		}
		return it.Value
	}
	if v := member("verdict"); v != httpsfv.Token(a.Verdict.String()) {
		t.Errorf("summary %q: verdict %#v, want token %s", got, v, a.Verdict)
	}
	if v, ok := member("confidence").(float64); !ok || v != float64(confidenceIndex(a.Confidence))/100 {
		t.Errorf("summary %q: confidence %#v, want %v", got, member("confidence"), a.Confidence)
	}
	if v := member("asn"); v != int64(a.ASN) {
		t.Errorf("summary %q: asn %#v, want %d", got, v, a.ASN)
	}
	country := a.Country
	if country == "" {
		country = "ZZ"
	}
	for key, in := range map[string]string{"product": a.Product, "ja4": a.JA4, "ja3": a.JA3, "country": country} {
		v := member(key)
		if in == "" {
			if v != nil {
				t.Errorf("summary %q: %s present for an empty value", got, key)
			}
			continue
		}
		if want := printable(cutHeaderValue(in)); v != want {
			t.Errorf("summary %q: %s %#v, want %q", got, key, v, want)
		}
	}
	if n := len(d.Names()); n > 7 {
		t.Errorf("summary %q has %d members", got, n)
	}
}

// printable is s with every byte outside printable ASCII as '?', what an
// sf-string can say of it.
func printable(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}

// TestSummaryAllocatesOnce: the summary is sized before it is written, so
// a request pays one allocation for it, however long its values (up to
// the 128-byte cut) when nothing needs escaping.
func TestSummaryAllocatesOnce(t *testing.T) {
	p := newSummaryProxy(t)
	long := strings.Repeat("p", 200)
	for _, a := range []Annotation{
		{Verdict: fingerprints.OutcomeClean, Confidence: 0.95, JA4: "t13d1516h2_8daaf6152771_02713d6af862", JA3: "0123456789abcdef0123456789abcdef"},
		{Verdict: fingerprints.OutcomeIntercepted, Confidence: 1, Product: long, JA4: long, JA3: long, Country: "KZ", ASN: 4294967295},
		{Verdict: fingerprints.OutcomeUnknown},
	} {
		if n := testing.AllocsPerRun(100, func() { _ = p.summary(&a) }); n != 1 {
			t.Errorf("summary %.40q… allocates %v times, want 1", p.summary(&a), n)
		}
	}
}

// summaryMembers parses a Mitmwatch-Summary header an upstream received
// into its members' bare values, failing t when it cannot.
func summaryMembers(t *testing.T, lines []string) map[string]any {
	t.Helper()
	m, err := parseSummary(lines)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// parseSummary parses a Mitmwatch-Summary header (exactly one field line)
// into its members' bare values, for an upstream in a test.
func parseSummary(lines []string) (map[string]any, error) {
	if len(lines) != 1 {
		return nil, fmt.Errorf("%s = %q, want one value", HeaderSummary, lines)
	}
	d, err := httpsfv.UnmarshalDictionary(lines)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", HeaderSummary, lines[0], err)
	}
	out := map[string]any{}
	for _, k := range d.Names() {
		m, _ := d.Get(k)
		if it, ok := m.(httpsfv.Item); ok {
			out[k] = it.Value
		}
	}
	return out, nil
}

// TestAnnotationValuesSizedToTheHeadersSent: the values of a request's
// annotation headers share one array, as long as the number of headers
// sent, not of those that could be: one verdict header costs 16 bytes a
// request, not the 128 of room for all eight.
func TestAnnotationValuesSizedToTheHeadersSent(t *testing.T) {
	a := Annotation{Detected: true, Verdict: fingerprints.OutcomeClean, Confidence: 0.95}
	for _, tt := range []struct {
		name    string
		headers []string
		want    int64 // bytes per request
	}{
		{"verdict", []string{HeaderVerdict}, 16},
		{"verdict_confidence_asn", []string{HeaderVerdict, HeaderConfidence, HeaderASN}, 48}, // their texts are not allocated
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestProxy(t, ProxyConfig{Upstreams: []string{"http://127.0.0.1:1"}, Headers: tt.headers})
			h := http.Header{}
			p.addAnnotation(h, &a) // the map's room
			const runs = 1000
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for range runs {
				clear(h)
				p.addAnnotation(h, &a)
			}
			runtime.ReadMemStats(&after)
			if got := int64(after.TotalAlloc-before.TotalAlloc) / runs; got != tt.want {
				t.Errorf("%d bytes per request, want %d", got, tt.want)
			}
		})
	}
}

// TestSummaryMemoAgreesWithFormatting: whatever the memo holds, the
// summary it gives is the one formatting gives. 4 000 annotations over
// more shapes than the memo has slots, so that slots are replaced, and
// pairs that differ only in a field the slot index leaves out (country,
// product, JA3, confidence), so that a slot is asked for an annotation it
// does not hold.
func TestSummaryMemoAgreesWithFormatting(t *testing.T) {
	p := newSummaryProxy(t)
	ja4s := []string{"t13d1516h2_8daaf6152771_02713d6af862", "t13d2911h2_c36778b98fa1_1f22a2ca17c4", ""}
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range 4000 {
		a := Annotation{Detected: true, Verdict: fingerprints.Outcome(rnd.IntN(4)), JA4: ja4s[rnd.IntN(len(ja4s))],
			ASN: uint32(rnd.IntN(1500)), Country: []string{"KZ", "DE", ""}[rnd.IntN(3)],
			Product: []string{"", "mitmproxy", "Kaspersky"}[rnd.IntN(3)], JA3: []string{"", "0123456789abcdef0123456789abcdef"}[rnd.IntN(2)],
			Confidence: float64(rnd.IntN(3)) / 2}
		if i%3 == 0 {
			a.ASN = 9198 // a busy network: its annotations hit
		}
		want := p.summary(&a)
		for range 2 { // the first may format, the second finds it
			if got := p.cachedSummary(&a); got != want {
				t.Fatalf("annotation %+v: summary %q, want %q", a, got, want)
			}
		}
	}
}

// TestSummaryMemoHitAllocatesNothing: a connection's later requests, with
// the annotation of its first, get the remembered summary for free.
func TestSummaryMemoHitAllocatesNothing(t *testing.T) {
	p := newSummaryProxy(t)
	a := Annotation{Detected: true, Verdict: fingerprints.OutcomeClean, Confidence: 0.95,
		JA4: "t13d1516h2_8daaf6152771_02713d6af862", JA3: "0123456789abcdef0123456789abcdef", Country: "KZ", ASN: 9198}
	first := p.cachedSummary(&a)
	if n := testing.AllocsPerRun(100, func() {
		if p.cachedSummary(&a) != first {
			t.Fatal("the memo changed its answer")
		}
	}); n != 0 {
		t.Errorf("a remembered summary costs %v allocations, want 0", n)
	}
}

// TestSummaryMemoConcurrent: requests on all cores share the memo (run
// with -race); two annotations that share a slot index take turns in it.
func TestSummaryMemoConcurrent(t *testing.T) {
	p := newSummaryProxy(t)
	base := Annotation{Detected: true, Verdict: fingerprints.OutcomeIntercepted, Confidence: 0.95,
		JA4: "t13d2911h2_c36778b98fa1_1f22a2ca17c4", ASN: 9198}
	other := base
	other.Country, other.Product = "KZ", "mitmproxy" // same slot: the index leaves both out
	want := [2]string{p.summary(&base), p.summary(&other)}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				a := [2]*Annotation{&base, &other}[(i+g)&1]
				if got := p.cachedSummary(a); got != want[(i+g)&1] {
					t.Errorf("goroutine %d: %q, want %q", g, got, want[(i+g)&1])
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestSingleHeadersAndSummaryAgreeOnUnsafeBytes: a product name with bytes
// outside printable ASCII reads the same in Mitmwatch-Product as in the
// summary's product member, so an upstream that switches from one to the
// other sees no change.
func TestSingleHeadersAndSummaryAgreeOnUnsafeBytes(t *testing.T) {
	p := newTestProxy(t, ProxyConfig{Upstreams: []string{"http://127.0.0.1:1"}, Headers: []string{HeaderProduct, HeaderSummary}})
	for _, product := range []string{"Kaspersky ☃", "a\r\nb", "tab\there", "plain"} {
		a := Annotation{Detected: true, Verdict: fingerprints.OutcomeIntercepted, Confidence: 0.9, Product: product}
		h := http.Header{}
		p.addAnnotation(h, &a)
		sum, err := parseSummary(h[HeaderSummary])
		if err != nil {
			t.Fatal(err)
		}
		if single := h.Get(HeaderProduct); single != sum["product"] {
			t.Errorf("product %q: %s %q, summary's product %q", product, HeaderProduct, single, sum["product"])
		}
	}
}
