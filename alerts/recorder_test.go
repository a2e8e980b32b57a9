package alerts

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// flakyStore wraps a MemoryStore, failing Apply while down is set and
// keeping every batch it was offered.
type flakyStore struct {
	*MemoryStore
	mu      sync.Mutex
	down    bool
	offered []*Batch
}

var errDown = errors.New("store down (test)")

func (f *flakyStore) Apply(ctx context.Context, b *Batch) error {
	f.mu.Lock()
	f.offered = append(f.offered, b)
	down := f.down
	f.mu.Unlock()
	if down {
		return errDown
	}
	return f.MemoryStore.Apply(ctx, b)
}

func (f *flakyStore) setDown(v bool) {
	f.mu.Lock()
	f.down = v
	f.mu.Unlock()
}

// total returns the store's counts over a wide window.
func total(t *testing.T, s Store) Counts {
	t.Helper()
	rows, err := s.Top(context.Background(), TopQuery{From: t0.Add(-24 * time.Hour), To: t0.Add(24 * time.Hour), Limit: -1, Group: GroupCountry})
	if err != nil {
		t.Fatal(err)
	}
	var c Counts
	for _, r := range rows {
		c.Add(r.Counts)
	}
	return c
}

func TestRecordNormalizesCountry(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "upper_case_kept", in: "KZ", want: "KZ"},
		{name: "lower_case_folded", in: "kz", want: "KZ"},
		{name: "empty_is_unknown", in: "", want: "ZZ"},
		{name: "three_letters_are_unknown", in: "KAZ", want: "ZZ"},
		{name: "hash_tag_brace_cannot_reach_a_key", in: "K{", want: "ZZ"},
		{name: "non_letters_are_unknown", in: "1\x00", want: "ZZ"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewMemoryStore()
			clk := newTestClock(t0)
			r, err := NewRecorder(s, RecorderConfig{Clock: clk.now})
			if err != nil {
				t.Fatal(err)
			}
			r.Record(Observation{Country: tc.in, ASN: 1, Browser: true, Verdict: VerdictClean})
			if err := r.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			rows, _ := s.Top(context.Background(), TopQuery{From: t0, To: t0.Add(time.Minute)})
			if len(rows) != 1 || rows[0].Country != tc.want {
				t.Fatalf("rows = %+v, want country %s", rows, tc.want)
			}
		})
	}
}

func TestRecordCountsVerdictsOfBrowsersOnly(t *testing.T) {
	tests := []struct {
		name     string
		o        Observation
		want     Counts
		products int
		ja4s     int
	}{
		{name: "non_browser_counts_as_a_connection_only",
			o:    Observation{Browser: false, Verdict: VerdictIntercepted, Product: "P", JA4: ja4X},
			want: Counts{Connections: 1}},
		{name: "intercepted_browser_counts_product_and_ja4",
			o:    Observation{Browser: true, Verdict: VerdictIntercepted, Product: "P", JA4: ja4X},
			want: Counts{Connections: 1, Browser: 1, Intercepted: 1}, products: 1, ja4s: 1},
		{name: "unknown_browser_counts_ja4_not_product",
			o:    Observation{Browser: true, Verdict: VerdictUnknown, Product: "P", JA4: ja4Y},
			want: Counts{Connections: 1, Browser: 1, Unknown: 1}, ja4s: 1},
		{name: "clean_browser_keeps_no_fingerprint",
			o:    Observation{Browser: true, Verdict: VerdictClean, JA4: ja4Y},
			want: Counts{Connections: 1, Browser: 1, Clean: 1}},
		{name: "out_of_range_verdict_counts_as_unknown",
			o:    Observation{Browser: true, Verdict: Verdict(200)},
			want: Counts{Connections: 1, Browser: 1, Unknown: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewMemoryStore()
			clk := newTestClock(t0)
			r, _ := NewRecorder(s, RecorderConfig{Clock: clk.now})
			tc.o.Country = "KZ"
			r.Record(tc.o)
			if err := r.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			rows, _ := s.Top(context.Background(), TopQuery{From: t0, To: t0.Add(time.Minute), MinBrowser: 0})
			var got NetworkStats
			if len(rows) == 1 {
				got = rows[0]
			} else if tc.want.Browser > 0 {
				t.Fatalf("rows = %+v", rows)
			}
			if tc.want.Browser == 0 {
				// Top leaves out networks without browser connections;
				// the series still shows the connection.
				pts, _ := s.Series(context.Background(), SeriesQuery{Country: "KZ", From: t0, To: t0.Add(time.Minute)})
				got.Counts = pts[0].Counts
			}
			if got.Counts != tc.want || len(got.Products) != tc.products || len(got.InterceptedJA4)+len(got.UnknownJA4) != tc.ja4s {
				t.Fatalf("got %+v, want counts %+v, %d products, %d JA4s", got, tc.want, tc.products, tc.ja4s)
			}
		})
	}
}

// TestRecordDoesNotAllocate checks the steady state: once the networks and
// minute of a realistic mix have been seen, Record allocates nothing.
func TestRecordDoesNotAllocate(t *testing.T) {
	clk := newTestClock(t0)
	r, err := NewRecorder(NewMemoryStore(), RecorderConfig{Clock: clk.now, ClientKey: []byte("k")})
	if err != nil {
		t.Fatal(err)
	}
	obs := realisticMix(2048)
	for _, o := range obs {
		r.Record(o)
	}
	i := 0
	allocs := testing.AllocsPerRun(5000, func() {
		r.Record(obs[i%len(obs)])
		i++
	})
	if allocs != 0 {
		t.Fatalf("Record allocates %.2f times per call, want 0", allocs)
	}
	// And again after a flush cleared the maps (capacity is reused).
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, o := range obs {
		r.Record(o)
	}
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	allocs = testing.AllocsPerRun(5000, func() {
		r.Record(obs[i%len(obs)])
		i++
	})
	if allocs != 0 {
		t.Fatalf("after flushes Record allocates %.2f times per call, want 0", allocs)
	}
}

// realisticMix returns n observations: 50 networks with skewed traffic,
// 85% browsers, 90% clean, 5% intercepted (2 products, graded C, two
// reasons), 3% unknown (varied JA4s, one graded B, a reason), 2% spoofed,
// 1000 client addresses.
func realisticMix(n int) []Observation {
	countries := []string{"US", "DE", "KZ", "FR", "BR", "IN", "GB", "RU", "JP", "NL"}
	out := make([]Observation, n)
	for i := range out {
		x := uint32(i)*2654435761 + 12345
		net := int(x>>8) % 50
		if x%3 != 0 {
			net %= 8 // most traffic from a few networks
		}
		o := Observation{
			Country: countries[net%len(countries)],
			ASN:     uint32(1000 + net),
			ASOrg:   "Org",
			Browser: x%100 < 85,
			Verdict: VerdictClean,
			JA4:     "t13d1516h2_8daaf6152771_02713d6af862",
			Client:  addrN(int(x>>4) % 1000),
		}
		switch p := (x >> 16) % 100; {
		case p < 5:
			o.Verdict, o.Product = VerdictIntercepted, []string{"Qaznet", "AV"}[p%2]
			o.JA4 = "t12d130700_aaaaaaaaaaaa_bbbbbbbbbbbb"
			o.Grade = fingerprints.GradeC
			o.Reasons = fingerprints.Reasons(0).Add(fingerprints.ReasonProductHello).Add(fingerprints.ReasonLegacyCiphers)
		case p < 8:
			o.Verdict = VerdictUnknown
			o.JA4 = []string{"t13d1715h2_5b57614c22b0_3d5424432f57", "t13i1516h2_8daaf6152771_cb7bf5808d99"}[p%2]
			o.Grade = []fingerprints.Grade{fingerprints.GradeNone, fingerprints.GradeB}[p%2]
			o.Reasons = fingerprints.Reasons(0).Add(fingerprints.ReasonUnknownBrowser)
		case p < 10:
			o.Verdict = VerdictSpoofed
		}
		out[i] = o
	}
	return out
}

func TestRecorderRetriesWhileStoreIsDown(t *testing.T) {
	ctx := context.Background()
	s := &flakyStore{MemoryStore: NewMemoryStore()}
	clk := newTestClock(t0)
	r, _ := NewRecorder(s, RecorderConfig{Clock: clk.now})
	s.setDown(true)
	const perFlush = 100
	for range 5 {
		for i := range perFlush {
			r.Record(Observation{Country: "KZ", ASN: 9198, Browser: true, Verdict: VerdictIntercepted, Client: addrN(i)})
		}
		if err := r.Flush(ctx); !errors.Is(err, errDown) {
			t.Fatalf("Flush with the store down = %v, want errDown", err)
		}
		clk.add(20 * time.Second)
	}
	if st := r.Stats(); st.Pending != 5 || st.FlushErrors != 5 || st.Dropped != 0 {
		t.Fatalf("stats while down = %+v, want 5 pending, 5 errors, 0 dropped", st)
	}
	s.setDown(false)
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := total(t, s); got.Intercepted != 5*perFlush {
		t.Fatalf("intercepted = %d, want %d", got.Intercepted, 5*perFlush)
	}
	if st := r.Stats(); st.Pending != 0 || st.Flushes != 5 || st.Recorded != 5*perFlush {
		t.Fatalf("stats after recovery = %+v", st)
	}
	// Batches were offered oldest first with increasing Seq.
	var last uint64
	for _, b := range s.offered {
		if b.Seq < last {
			t.Fatalf("batch %d offered after %d", b.Seq, last)
		}
		last = b.Seq
	}
}

func TestRecorderOverflowIsCountedAndLogged(t *testing.T) {
	ctx := context.Background()
	s := &flakyStore{MemoryStore: NewMemoryStore()}
	s.setDown(true)
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	clk := newTestClock(t0)
	r, _ := NewRecorder(s, RecorderConfig{
		Clock: clk.now, BufferLimit: 2, Registerer: reg,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	for k := range 5 {
		for range 10 * (k + 1) { // batches of 10, 20, 30, 40, 50
			r.Record(Observation{Country: "KZ", ASN: 9198, Browser: true, Verdict: VerdictClean})
		}
		_ = r.Flush(ctx)
	}
	s.setDown(false)
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// The three oldest batches (10+20+30) were dropped; the two newest
	// (40+50) were kept and stored.
	if st := r.Stats(); st.Dropped != 60 || st.Recorded != 150 || st.Pending != 0 {
		t.Fatalf("stats = %+v, want 60 dropped of 150", st)
	}
	if got := total(t, s); got.Clean != 90 {
		t.Fatalf("stored clean = %d, want 90", got.Clean)
	}
	if n := strings.Count(logs.String(), "pending buffer full"); n != 3 {
		t.Fatalf("%d overflow log lines, want 3:\n%s", n, logs.String())
	}
	if got := gathered(t, reg, "mitmwatch_alerts_dropped_total"); got != 60 {
		t.Fatalf("mitmwatch_alerts_dropped_total = %v, want 60", got)
	}
}

func TestRecorderCloseFlushes(t *testing.T) {
	s := NewMemoryStore()
	clk := newTestClock(t0)
	// A flush interval longer than the test: only Close can store counts.
	r, _ := NewRecorder(s, RecorderConfig{Clock: clk.now, FlushInterval: time.Hour})
	r.Start()
	for range 42 {
		r.Record(Observation{Country: "KZ", Browser: true, Verdict: VerdictIntercepted})
	}
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := total(t, s); got.Intercepted != 42 {
		t.Fatalf("intercepted after Close = %d, want 42", got.Intercepted)
	}
	if err := r.Close(context.Background()); err == nil {
		t.Fatal("second Close: no error")
	}
	r.Record(Observation{Country: "KZ", Browser: true})
	if st := r.Stats(); st.Dropped != 1 {
		t.Fatalf("Record after Close: dropped = %d, want 1", st.Dropped)
	}
}

func TestRecorderCloseDeadlineCountsDropped(t *testing.T) {
	s := &flakyStore{MemoryStore: NewMemoryStore()}
	s.setDown(true)
	var logs bytes.Buffer
	clk := newTestClock(t0)
	r, _ := NewRecorder(s, RecorderConfig{Clock: clk.now, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	for range 9 {
		r.Record(Observation{Country: "KZ", Browser: true})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := r.Close(ctx)
	if err == nil || !strings.Contains(err.Error(), "9 observations") {
		t.Fatalf("Close with the store down = %v, want an error naming 9 observations", err)
	}
	if st := r.Stats(); st.Dropped != 9 || st.Pending != 0 {
		t.Fatalf("stats = %+v, want 9 dropped", st)
	}
	if !strings.Contains(logs.String(), "observations dropped") {
		t.Fatalf("no log line for the drop:\n%s", logs.String())
	}
}

func TestRecorderBackgroundFlush(t *testing.T) {
	s := NewMemoryStore()
	r, _ := NewRecorder(s, RecorderConfig{FlushInterval: 5 * time.Millisecond})
	r.Start()
	r.Start() // a second Start is a no-op
	defer r.Close(context.Background())
	r.Record(Observation{Country: "KZ", Browser: true, Verdict: VerdictIntercepted})
	// Poll without a timing assertion: the flusher must get there.
	deadline := time.Now().Add(30 * time.Second)
	for r.Stats().Flushes == 0 {
		if time.Now().After(deadline) {
			t.Fatal("background flusher never flushed")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRecorderConcurrentRecordAndFlushIsExact(t *testing.T) {
	s := NewMemoryStore()
	clk := newTestClock(t0)
	r, _ := NewRecorder(s, RecorderConfig{Clock: clk.now})
	const workers, each = 8, 5000
	var wg sync.WaitGroup
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
				_ = r.Flush(context.Background())
			}
		}
	}()
	obs := realisticMix(1024)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				r.Record(obs[(w*each+i)%len(obs)])
			}
		}()
	}
	wg.Wait()
	close(stop)
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	var want Counts
	for w := range workers {
		for i := range each {
			o := obs[(w*each+i)%len(obs)]
			want.add(o.Browser, o.Verdict)
		}
	}
	rows, _ := s.Top(context.Background(), TopQuery{From: t0, To: t0.Add(time.Minute), Limit: -1, MinBrowser: 1})
	var got Counts
	for _, row := range rows {
		got.Add(row.Counts)
	}
	if got != want {
		t.Fatalf("stored %+v, want %+v", got, want)
	}
}

func TestNewRecorderConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		store Store
		cfg   RecorderConfig
		field string
	}{
		{name: "nil_store", store: nil, field: "store"},
		{name: "negative_flush_interval", store: NewMemoryStore(), cfg: RecorderConfig{FlushInterval: -1}, field: "FlushInterval"},
		{name: "negative_flush_timeout", store: NewMemoryStore(), cfg: RecorderConfig{FlushTimeout: -1}, field: "FlushTimeout"},
		{name: "negative_retention", store: NewMemoryStore(), cfg: RecorderConfig{Retention: -time.Hour}, field: "Retention"},
		{name: "retention_shorter_than_a_bucket", store: NewMemoryStore(), cfg: RecorderConfig{Retention: time.Second}, field: "Retention"},
		{name: "negative_buffer_limit", store: NewMemoryStore(), cfg: RecorderConfig{BufferLimit: -1}, field: "BufferLimit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewRecorder(tc.store, tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.field) || !strings.HasPrefix(err.Error(), "alerts: ") {
				t.Fatalf("err = %v, want an alerts: error naming %s", err, tc.field)
			}
		})
	}
}

func TestRecordIgnoresInvalidClient(t *testing.T) {
	s := NewMemoryStore()
	clk := newTestClock(t0)
	r, _ := NewRecorder(s, RecorderConfig{Clock: clk.now})
	r.Record(Observation{Country: "KZ", Browser: true, Client: netip.Addr{}})
	r.Record(Observation{Country: "KZ", Browser: true, Client: netip.MustParseAddr("2001:db8::1")})
	_ = r.Close(context.Background())
	rows, _ := s.Top(context.Background(), TopQuery{From: t0, To: t0.Add(time.Minute)})
	if len(rows) != 1 || rows[0].Clients != 1 || rows[0].Browser != 2 {
		t.Fatalf("rows = %+v, want 2 browser connections and 1 client", rows)
	}
}

func TestRecorderSendsASNamesOncePerHour(t *testing.T) {
	ctx := context.Background()
	s := &flakyStore{MemoryStore: NewMemoryStore()}
	clk := newTestClock(t0)
	r, _ := NewRecorder(s, RecorderConfig{Clock: clk.now})
	steps := []struct {
		advance time.Duration
		org     string
		sent    bool
	}{
		{advance: 0, org: "JSC Kazakhtelecom", sent: true},
		{advance: time.Minute, org: "JSC Kazakhtelecom", sent: false},
		{advance: time.Minute, org: "Kazakhtelecom (renamed)", sent: true},
		{advance: 2 * time.Hour, org: "Kazakhtelecom (renamed)", sent: true},
	}
	for i, st := range steps {
		clk.add(st.advance)
		r.Record(Observation{Country: "KZ", ASN: 9198, ASOrg: st.org, Browser: true})
		if err := r.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		b := s.offered[len(s.offered)-1]
		if name, ok := b.ASOrgs[9198]; ok != st.sent || (ok && name != st.org) {
			t.Fatalf("step %d: batch AS names %v, want sent=%v (%s)", i, b.ASOrgs, st.sent, st.org)
		}
	}
}

// TestRecorderMergesJA4NotesAcrossShards: observations of one JA4 from
// many networks (so many shards) and minutes make one note in the batch:
// the reasons of all of them, the grade of the one that had it.
func TestRecorderMergesJA4NotesAcrossShards(t *testing.T) {
	const ja4 = "t13d0000h2_333333333333_444444444444"
	long := strings.Repeat("n", 100) // clipped to maxLabel, like its counter
	r1 := fingerprints.Reasons(0).Add(fingerprints.ReasonMissingGREASE)
	r2 := fingerprints.Reasons(0).Add(fingerprints.ReasonCipherOrder)
	r3 := fingerprints.Reasons(0).Add(fingerprints.ReasonNoALPN)
	tests := []struct {
		name string
		obs  []Observation
		want map[string]JA4Note
		// shards is the least number of shards that must hold a note
		// before the flush.
		shards int
	}{
		{name: "reasons_of_every_network_and_the_one_grade", shards: 2,
			obs: func() []Observation {
				var out []Observation
				for asn := range uint32(64) { // 64 networks: more than one shard on any machine
					o := Observation{Country: "KZ", ASN: 1000 + asn, Browser: true, Verdict: VerdictUnknown, JA4: ja4, Reasons: r1}
					switch asn {
					case 17:
						o.Verdict, o.Reasons = VerdictIntercepted, r2
					case 40:
						o.Grade, o.Reasons = fingerprints.GradeC, r3
					}
					out = append(out, o)
				}
				return out
			}(),
			want: map[string]JA4Note{ja4: {Grade: fingerprints.GradeC, Reasons: r1 | r2 | r3}}},
		{name: "a_later_grade_replaces_an_earlier_one_none_does_not",
			obs: []Observation{
				{Country: "KZ", ASN: 1, Browser: true, Verdict: VerdictUnknown, JA4: ja4, Grade: fingerprints.GradeB},
				{Country: "KZ", ASN: 1, Browser: true, Verdict: VerdictUnknown, JA4: ja4, Grade: fingerprints.GradeF},
				{Country: "KZ", ASN: 1, Browser: true, Verdict: VerdictUnknown, JA4: ja4, Reasons: r1},
			},
			want: map[string]JA4Note{ja4: {Grade: fingerprints.GradeF, Reasons: r1}}},
		{name: "clean_spoofed_non_browser_and_ja4less_observations_note_nothing",
			obs: []Observation{
				{Country: "KZ", ASN: 1, Browser: true, Verdict: VerdictClean, JA4: ja4, Grade: fingerprints.GradeA, Reasons: r1},
				{Country: "KZ", ASN: 1, Browser: true, Verdict: VerdictSpoofed, JA4: ja4, Grade: fingerprints.GradeA, Reasons: r1},
				{Country: "KZ", ASN: 1, Browser: false, Verdict: VerdictUnknown, JA4: ja4, Grade: fingerprints.GradeA, Reasons: r1},
				{Country: "KZ", ASN: 1, Browser: true, Verdict: VerdictIntercepted, Grade: fingerprints.GradeA, Reasons: r1},
			}},
		{name: "an_observation_without_grade_or_reasons_makes_no_entry",
			obs: []Observation{{Country: "KZ", ASN: 1, Browser: true, Verdict: VerdictUnknown, JA4: ja4}}},
		{name: "the_note_is_keyed_by_the_clipped_ja4",
			obs:  []Observation{{Country: "KZ", ASN: 1, Browser: true, Verdict: VerdictUnknown, JA4: long, Reasons: r1}},
			want: map[string]JA4Note{long[:maxLabel]: {Reasons: r1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &flakyStore{MemoryStore: NewMemoryStore()}
			clk := newTestClock(t0)
			r, err := NewRecorder(s, RecorderConfig{Clock: clk.now})
			if err != nil {
				t.Fatal(err)
			}
			for i, o := range tc.obs {
				if i == len(tc.obs)/2 {
					clk.add(time.Minute) // two minutes, one note
				}
				r.Record(o)
			}
			noted := 0
			for i := range r.shards {
				if len(r.shards[i].cur.notes) > 0 {
					noted++
				}
			}
			if noted < tc.shards {
				t.Fatalf("notes in %d shards, want at least %d", noted, tc.shards)
			}
			if err := r.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			if len(s.offered) != 1 {
				t.Fatalf("%d batches, want 1", len(s.offered))
			}
			if got := s.offered[0].JA4Notes; !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("JA4Notes = %v, want %v", got, tc.want)
			}
			// The shards' notes were cleared: the next batch has none.
			r.Record(Observation{Country: "KZ", ASN: 1, Browser: true, Verdict: VerdictUnknown, JA4: ja4})
			if err := r.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := s.offered[1].JA4Notes; got != nil {
				t.Fatalf("second batch JA4Notes = %v, want none", got)
			}
		})
	}
}
