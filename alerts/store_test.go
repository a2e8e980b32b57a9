package alerts

import (
	"context"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// scenarioStore records the shared scenario into a fresh store of kind,
// flushing once at the end or after every minute.
func scenarioStore(t *testing.T, kind storeKind, flushEachMinute bool) Store {
	t.Helper()
	s, _, _ := kind.new(t)
	clk := newTestClock(t0)
	r, err := NewRecorder(s, RecorderConfig{Clock: clk.now, ClientKey: []byte("test")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	between := func() {}
	if flushEachMinute {
		between = func() {
			if err := r.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	recordScenario(r, clk, between)
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if st := r.Stats(); st.Recorded != 383 || st.Dropped != 0 || st.Pending != 0 {
		t.Fatalf("recorder stats %+v, want 383 recorded, none dropped or pending", st)
	}
	return s
}

// checkClients compares HyperLogLog estimates within tol (relative, at
// least ±1) and zeroes them so the rest can be compared exactly.
func checkClients(t *testing.T, name string, got *uint64, want uint64, tol float64) {
	t.Helper()
	d := math.Max(1, tol*float64(want))
	if math.Abs(float64(*got)-float64(want)) > d {
		t.Errorf("%s: clients = %d, want %d ± %.0f", name, *got, want, d)
	}
	*got = 0
}

// checkJA4Clients compares a row's per-JA4 client estimates with want
// within tol as checkClients does, and clears them so the rest can be
// compared exactly.
func checkJA4Clients(t *testing.T, name string, got *map[string]uint64, want map[string]uint64, tol float64) {
	t.Helper()
	if len(*got) != len(want) {
		t.Errorf("%s: JA4 clients = %v, want %v", name, *got, want)
	}
	for ja4, w := range want {
		g, ok := (*got)[ja4]
		if !ok {
			t.Errorf("%s: no JA4 clients for %s", name, ja4)
			continue
		}
		checkClients(t, name+" "+ja4, &g, w, tol)
	}
	*got = nil
}

var scenarioNetworks = []NetworkStats{
	{Country: "US", ASN: 0, Counts: Counts{Connections: 1, Browser: 1, Intercepted: 1}, Share: 1},
	{Country: "KZ", ASN: 9198, ASOrg: "JSC Kazakhtelecom",
		Counts:         Counts{Connections: 120, Browser: 100, Clean: 60, Intercepted: 30, Unknown: 10},
		Share:          0.3,
		Products:       map[string]uint64{"Qaznet": 30},
		InterceptedJA4: map[string]uint64{ja4X: 30},
		UnknownJA4:     map[string]uint64{ja4Y: 10}},
	{Country: "KZ", ASN: 29555, ASOrg: "Mobile Telecom-Service LLP",
		Counts:         Counts{Connections: 50, Browser: 50, Clean: 45, Intercepted: 5},
		Share:          0.1,
		Products:       map[string]uint64{"Qaznet": 5},
		InterceptedJA4: map[string]uint64{ja4X: 5}},
	{Country: "DE", ASN: 3320, ASOrg: "Deutsche Telekom AG",
		Counts:     Counts{Connections: 212, Browser: 212, Clean: 200, Spoofed: 2, Unknown: 10},
		UnknownJA4: map[string]uint64{ja4Z: 10}},
}

var scenarioClients = map[Network]uint64{
	{"US", 0}: 0, {"KZ", 9198}: 40, {"KZ", 29555}: 50, {"DE", 3320}: 111,
}

// scenarioJA4Clients are the scenario's distinct clients per intercepted
// or unknown browser JA4 (KZ:9198's ja4Y non-browser connections do not
// count).
var scenarioJA4Clients = map[Network]map[string]uint64{
	{"KZ", 9198}: {ja4X: 30, ja4Y: 10}, {"KZ", 29555}: {ja4X: 5}, {"DE", 3320}: {ja4Z: 10},
}

func TestStoreContract(t *testing.T) {
	ctx := context.Background()
	window := TopQuery{From: t0, To: t0.Add(3 * time.Minute), Limit: -1, JA4Clients: true}
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			t.Run("counts_exact_after_one_flush", func(t *testing.T) {
				s := scenarioStore(t, kind, false)
				got, err := s.Top(ctx, window)
				if err != nil {
					t.Fatal(err)
				}
				for i := range got {
					n := Network{got[i].Country, got[i].ASN}
					checkClients(t, n.String(), &got[i].Clients, scenarioClients[n], 0.02)
					checkJA4Clients(t, n.String(), &got[i].JA4Clients, scenarioJA4Clients[n], 0.02)
				}
				if !reflect.DeepEqual(got, scenarioNetworks) {
					t.Fatalf("Top =\n%+v\nwant\n%+v", got, scenarioNetworks)
				}
			})
			t.Run("counts_exact_after_a_flush_per_minute", func(t *testing.T) {
				s := scenarioStore(t, kind, true)
				got, err := s.Top(ctx, window)
				if err != nil {
					t.Fatal(err)
				}
				for i := range got {
					n := Network{got[i].Country, got[i].ASN}
					checkClients(t, n.String(), &got[i].Clients, scenarioClients[n], 0.02)
					checkJA4Clients(t, n.String(), &got[i].JA4Clients, scenarioJA4Clients[n], 0.02)
				}
				if !reflect.DeepEqual(got, scenarioNetworks) {
					t.Fatalf("Top =\n%+v\nwant\n%+v", got, scenarioNetworks)
				}
			})
			s := scenarioStore(t, kind, true)
			t.Run("top_groups_countries_summing_their_asns", func(t *testing.T) {
				q := window
				q.Group = GroupCountry
				got, err := s.Top(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				want := []struct {
					country     string
					browser, ic uint64
					clients     uint64
				}{{"US", 1, 1, 0}, {"KZ", 150, 35, 90}, {"DE", 212, 0, 111}}
				if len(got) != len(want) {
					t.Fatalf("Top by country = %+v", got)
				}
				for i, w := range want {
					g := got[i]
					if g.Country != w.country || g.ASN != 0 || g.ASOrg != "" || g.Browser != w.browser || g.Intercepted != w.ic {
						t.Errorf("row %d = %+v, want %s browser %d intercepted %d", i, g, w.country, w.browser, w.ic)
					}
					checkClients(t, w.country, &g.Clients, w.clients, 0.02)
				}
				if got[1].Products["Qaznet"] != 35 || got[1].InterceptedJA4[ja4X] != 35 {
					t.Errorf("KZ breakdown = %v %v, want Qaznet 35, ja4X 35", got[1].Products, got[1].InterceptedJA4)
				}
				// 30 clients in KZ:9198 and 5 in KZ:29555, summed like Clients.
				checkJA4Clients(t, "KZ", &got[1].JA4Clients, map[string]uint64{ja4X: 35, ja4Y: 10}, 0.02)
			})
			t.Run("top_groups_asns_without_country", func(t *testing.T) {
				q := window
				q.Group = GroupASN
				got, err := s.Top(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				var asns []uint32
				for _, g := range got {
					if g.Country != "" {
						t.Errorf("ASN row %d has country %q", g.ASN, g.Country)
					}
					asns = append(asns, g.ASN)
				}
				if !reflect.DeepEqual(asns, []uint32{0, 9198, 29555, 3320}) || got[1].ASOrg != "JSC Kazakhtelecom" {
					t.Fatalf("Top by ASN = %+v", got)
				}
			})
			t.Run("min_browser_drops_tiny_networks_and_limit_caps", func(t *testing.T) {
				q := window
				q.MinBrowser, q.Limit = 10, 2
				got, err := s.Top(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 2 || got[0].ASN != 9198 || got[1].ASN != 29555 {
					t.Fatalf("Top(MinBrowser 10, Limit 2) = %+v, want KZ:9198, KZ:29555", got)
				}
			})
			t.Run("window_reads_only_its_minutes", func(t *testing.T) {
				q := TopQuery{From: t0.Add(time.Minute), To: t0.Add(90 * time.Second)}
				got, err := s.Top(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 2 || got[0].ASN != 29555 || got[1].ASN != 3320 || got[1].Connections != 101 {
					t.Fatalf("Top(minute 1) = %+v, want KZ:29555 then DE:3320 with 101 connections", got)
				}
			})
			t.Run("series", func(t *testing.T) {
				tests := []struct {
					name string
					q    SeriesQuery
					want []Counts
				}{
					{name: "country_per_minute_with_empty_minute",
						q:    SeriesQuery{Group: GroupCountry, Country: "KZ", From: t0, To: t0.Add(3 * time.Minute)},
						want: []Counts{{120, 100, 60, 30, 0, 10}, {50, 50, 45, 5, 0, 0}, {}}},
					{name: "country_in_two_minute_steps",
						q:    SeriesQuery{Group: GroupCountry, Country: "KZ", From: t0, To: t0.Add(3 * time.Minute), Step: 2 * time.Minute},
						want: []Counts{{170, 150, 105, 35, 0, 10}, {}}},
					{name: "one_asn",
						q:    SeriesQuery{Group: GroupASN, ASN: 3320, From: t0, To: t0.Add(3 * time.Minute)},
						want: []Counts{{101, 101, 100, 0, 1, 0}, {101, 101, 100, 0, 1, 0}, {10, 10, 0, 0, 0, 10}}},
					{name: "one_network_other_country_same_asn_excluded",
						q:    SeriesQuery{Country: "KZ", ASN: 3320, From: t0, To: t0.Add(3 * time.Minute)},
						want: []Counts{{}, {}, {}}},
				}
				for _, tc := range tests {
					t.Run(tc.name, func(t *testing.T) {
						pts, err := s.Series(ctx, tc.q)
						if err != nil {
							t.Fatal(err)
						}
						if len(pts) != len(tc.want) {
							t.Fatalf("%d points, want %d: %+v", len(pts), len(tc.want), pts)
						}
						step := tc.q.Step
						if step == 0 {
							step = time.Minute
						}
						for i, p := range pts {
							if !p.Start.Equal(t0.Add(time.Duration(i) * step)) {
								t.Errorf("point %d starts %v", i, p.Start)
							}
							if p.Counts != tc.want[i] {
								t.Errorf("point %d counts %+v, want %+v", i, p.Counts, tc.want[i])
							}
						}
					})
				}
				pts, err := s.Series(ctx, SeriesQuery{Group: GroupCountry, Country: "KZ", From: t0, To: t0.Add(2 * time.Minute), Step: 2 * time.Minute})
				if err != nil {
					t.Fatal(err)
				}
				checkClients(t, "KZ two minutes", &pts[0].Clients, 90, 0.02)
			})
			t.Run("new_fingerprints_first_seen_and_where", func(t *testing.T) {
				got, err := s.NewFingerprints(ctx, FingerprintQuery{Since: t0})
				if err != nil {
					t.Fatal(err)
				}
				m1, m2 := t0.Add(time.Minute), t0.Add(2*time.Minute)
				want := []FingerprintSighting{
					{JA4: ja4Z, FirstSeen: m2, LastSeen: m2, Networks: []FingerprintNetwork{
						{Network: Network{"DE", 3320}, ASOrg: "Deutsche Telekom AG", FirstSeen: m2}}},
					{JA4: ja4X, FirstSeen: t0, LastSeen: m1, Networks: []FingerprintNetwork{
						{Network: Network{"KZ", 9198}, ASOrg: "JSC Kazakhtelecom", FirstSeen: t0},
						{Network: Network{"KZ", 29555}, ASOrg: "Mobile Telecom-Service LLP", FirstSeen: m1}}},
					{JA4: ja4Y, FirstSeen: t0, LastSeen: t0, Networks: []FingerprintNetwork{
						{Network: Network{"KZ", 9198}, ASOrg: "JSC Kazakhtelecom", FirstSeen: t0}}},
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("NewFingerprints =\n%+v\nwant\n%+v", got, want)
				}
				got, err = s.NewFingerprints(ctx, FingerprintQuery{Since: m1.Add(10 * time.Second)})
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 1 || got[0].JA4 != ja4Z {
					t.Fatalf("NewFingerprints(since minute 1) = %+v, want only ja4Z", got)
				}
				got, err = s.NewFingerprints(ctx, FingerprintQuery{Since: t0, Limit: 1})
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 1 || got[0].JA4 != ja4Z {
					t.Fatalf("NewFingerprints(limit 1) = %+v, want only the newest, ja4Z", got)
				}
			})
			t.Run("ja4_notes_shared_by_nodes", func(t *testing.T) {
				// Batches of nodes A and B noting JA4s; each case applies
				// them in order to a fresh store and reads the index.
				r1, r2 := fingerprints.ReasonMissingGREASE, fingerprints.ReasonCipherOrder
				rs := func(r ...fingerprints.Reason) fingerprints.Reasons {
					var out fingerprints.Reasons
					for _, x := range r {
						out = out.Add(x)
					}
					return out
				}
				type applied struct {
					node  string
					seq   uint64
					notes map[string]JA4Note
				}
				type want struct {
					grade   string
					reasons []fingerprints.Reason
				}
				tests := []struct {
					name    string
					batches []applied
					want    map[string]want
				}{
					{name: "grade_of_one_node_reasons_of_both",
						batches: []applied{
							{"a", 1, map[string]JA4Note{ja4X: {Grade: fingerprints.GradeC, Reasons: rs(r1)}}},
							{"b", 1, map[string]JA4Note{ja4X: {Grade: fingerprints.GradeNone, Reasons: rs(r2)}}},
						},
						want: map[string]want{ja4X: {"C", []fingerprints.Reason{r1, r2}}}},
					{name: "order_of_the_nodes_does_not_matter",
						batches: []applied{
							{"b", 1, map[string]JA4Note{ja4X: {Reasons: rs(r2)}}},
							{"a", 1, map[string]JA4Note{ja4X: {Grade: fingerprints.GradeC, Reasons: rs(r1)}}},
						},
						want: map[string]want{ja4X: {"C", []fingerprints.Reason{r1, r2}}}},
					{name: "a_batch_applied_twice_changes_nothing",
						batches: []applied{
							{"a", 1, map[string]JA4Note{ja4X: {Grade: fingerprints.GradeC, Reasons: rs(r1)}}},
							{"b", 1, map[string]JA4Note{ja4X: {Grade: fingerprints.GradeC, Reasons: rs(r2)}}},
							{"a", 1, map[string]JA4Note{ja4X: {Grade: fingerprints.GradeC, Reasons: rs(r1)}}},
							{"a", 1, map[string]JA4Note{ja4X: {Grade: fingerprints.GradeC, Reasons: rs(r1)}}},
						},
						want: map[string]want{ja4X: {"C", []fingerprints.Reason{r1, r2}}}},
					{name: "a_later_grade_replaces_an_earlier_one",
						batches: []applied{
							{"a", 1, map[string]JA4Note{ja4X: {Grade: fingerprints.GradeB}}},
							{"a", 2, map[string]JA4Note{ja4X: {Grade: fingerprints.GradeF}}},
						},
						want: map[string]want{ja4X: {"F", nil}}},
					{name: "high_reason_bits_round_trip",
						// ReasonNoALPN is the highest reason defined; bit 31
						// makes the stored number negative in Redis (Lua's
						// bit.bor is signed) and must not cost the others.
						batches: []applied{
							{"a", 1, map[string]JA4Note{ja4X: {Reasons: rs(fingerprints.ReasonNoALPN) | 1<<31}}},
							{"b", 1, map[string]JA4Note{ja4X: {Reasons: rs(fingerprints.ReasonNoHello) | 1<<30}}},
						},
						want: map[string]want{ja4X: {"", []fingerprints.Reason{fingerprints.ReasonNoHello, fingerprints.ReasonNoALPN}}}},
					{name: "notes_stay_with_their_ja4",
						batches: []applied{
							{"a", 1, map[string]JA4Note{ja4X: {Grade: fingerprints.GradeC}, ja4Y: {Reasons: rs(r2)}}},
							{"b", 1, map[string]JA4Note{ja4Z: {}}},
						},
						want: map[string]want{ja4X: {"C", nil}, ja4Y: {"", []fingerprints.Reason{r2}}, ja4Z: {}}},
				}
				for _, tc := range tests {
					t.Run(tc.name, func(t *testing.T) {
						s, _, _ := kind.new(t)
						for _, a := range tc.batches {
							// One unknown connection per noted JA4, so the index has it.
							bk := Bucket{Network: Network{"KZ", 9198}, Minute: minuteOf(t0), UnknownJA4: map[string]uint64{}}
							for ja4 := range a.notes {
								bk.Counts.Add(Counts{Connections: 1, Browser: 1, Unknown: 1})
								bk.UnknownJA4[ja4] = 1
							}
							b := &Batch{Node: a.node, Seq: a.seq, Time: t0, Retention: DefaultRetention, JA4Notes: a.notes, Buckets: []Bucket{bk}}
							if err := s.Apply(ctx, b); err != nil {
								t.Fatal(err)
							}
						}
						got, err := s.NewFingerprints(ctx, FingerprintQuery{Since: t0})
						if err != nil {
							t.Fatal(err)
						}
						if len(got) != len(tc.want) {
							t.Fatalf("NewFingerprints = %+v, want %d JA4s", got, len(tc.want))
						}
						for _, fs := range got {
							w, ok := tc.want[fs.JA4]
							if !ok {
								t.Errorf("unexpected JA4 %s", fs.JA4)
								continue
							}
							var wantReasons []string
							for _, r := range w.reasons {
								wantReasons = append(wantReasons, r.String())
							}
							if fs.Grade != w.grade || !reflect.DeepEqual(fs.Reasons, wantReasons) {
								t.Errorf("%s: grade %q reasons %q, want %q %q", fs.JA4, fs.Grade, fs.Reasons, w.grade, wantReasons)
							}
						}
					})
				}
			})
			t.Run("ja4_grade_follows_the_newest_minute", func(t *testing.T) {
				// Batches carry minutes; a batch retried late, or a node
				// catching up, must not put back the grade of an older
				// minute over a newer one. Reasons still add up.
				r1, r2 := fingerprints.ReasonMissingGREASE, fingerprints.ReasonCipherOrder
				type applied struct {
					node   string
					minute int64 // after t0
					grade  fingerprints.Grade
					reason fingerprints.Reason
				}
				tests := []struct {
					name      string
					batches   []applied
					wantGrade string
				}{
					{"older_minute_applied_later_keeps_the_newer_grade",
						[]applied{{"a", 5, fingerprints.GradeF, r1}, {"b", 0, fingerprints.GradeB, r2}}, "F"},
					{"newer_minute_replaces_the_grade",
						[]applied{{"a", 0, fingerprints.GradeB, r1}, {"b", 5, fingerprints.GradeF, r2}}, "F"},
					{"same_minute_the_later_batch_wins",
						[]applied{{"a", 5, fingerprints.GradeB, r1}, {"b", 5, fingerprints.GradeF, r2}}, "F"},
					{"an_older_minute_may_grade_an_ungraded_ja4",
						[]applied{{"a", 5, fingerprints.GradeNone, r1}, {"b", 0, fingerprints.GradeC, r2}}, "C"},
				}
				for _, tc := range tests {
					t.Run(tc.name, func(t *testing.T) {
						s, _, _ := kind.new(t)
						for i, a := range tc.batches {
							m := minuteOf(t0) + a.minute
							b := &Batch{Node: a.node, Seq: uint64(i + 1), Time: minuteTime(m), Retention: DefaultRetention,
								JA4Notes: map[string]JA4Note{ja4X: {Grade: a.grade, Reasons: fingerprints.Reasons(0).Add(a.reason)}},
								Buckets: []Bucket{{Network: Network{"KZ", 9198}, Minute: m,
									Counts: Counts{Connections: 1, Browser: 1, Unknown: 1}, UnknownJA4: map[string]uint64{ja4X: 1}}}}
							if err := s.Apply(ctx, b); err != nil {
								t.Fatal(err)
							}
						}
						got, err := s.NewFingerprints(ctx, FingerprintQuery{Since: t0})
						if err != nil {
							t.Fatal(err)
						}
						want := []string{r1.String(), r2.String()}
						slices.Sort(want)
						if len(got) != 1 {
							t.Fatalf("NewFingerprints = %+v, want ja4X only", got)
						}
						reasons := slices.Sorted(slices.Values(got[0].Reasons))
						if got[0].Grade != tc.wantGrade || !reflect.DeepEqual(reasons, want) {
							t.Errorf("grade %q reasons %q, want %q %q", got[0].Grade, got[0].Reasons, tc.wantGrade, want)
						}
					})
				}
			})
			t.Run("retried_or_older_batch_is_not_counted_twice", func(t *testing.T) {
				s, _, _ := kind.new(t)
				b := func(seq uint64) *Batch {
					return &Batch{Node: "n1", Seq: seq, Time: t0, Retention: DefaultRetention, Buckets: []Bucket{
						{Network: Network{"KZ", 9198}, Minute: minuteOf(t0), Counts: Counts{Connections: 7, Browser: 7, Intercepted: 7}},
						{Network: Network{"DE", 3320}, Minute: minuteOf(t0), Counts: Counts{Connections: 3, Browser: 3, Clean: 3}},
					}}
				}
				for _, seq := range []uint64{1, 1, 2, 2, 1} {
					if err := s.Apply(ctx, b(seq)); err != nil {
						t.Fatal(err)
					}
				}
				// Another node's batch with the same Seq does count.
				other := b(2)
				other.Node = "n2"
				if err := s.Apply(ctx, other); err != nil {
					t.Fatal(err)
				}
				got, err := s.Top(ctx, TopQuery{From: t0, To: t0.Add(time.Minute), JA4Clients: true})
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 2 || got[0].Intercepted != 21 || got[1].Clean != 9 {
					t.Fatalf("Top = %+v, want KZ 21 intercepted (3 batches), DE 9 clean", got)
				}
			})
			t.Run("ja4_clients_distinct_per_ja4_across_minutes", func(t *testing.T) {
				s := ja4ClientsStore(t, kind)
				kz, kz2 := Network{"KZ", 9198}, Network{"KZ", 29555}
				three := TopQuery{From: t0, To: t0.Add(3 * time.Minute), Limit: -1, JA4Clients: true}
				lastMinute := TopQuery{From: t0.Add(2 * time.Minute), To: t0.Add(3 * time.Minute), Limit: -1, JA4Clients: true}
				byCountry := three
				byCountry.Group = GroupCountry
				tests := []struct {
					name string
					q    TopQuery
					row  Network // ASN 0 for a country row
					ja4  string
					// conns is the JA4's browser connections in the row;
					// clients 0 means no JA4Clients entry.
					conns, clients uint64
				}{
					{name: "one_client_making_51_connections_from_two_nodes_counts_once", q: three, row: kz, ja4: ja4Bot, conns: 51, clients: 1},
					{name: "the_same_seven_clients_every_minute_count_seven", q: three, row: kz, ja4: ja4X, conns: 21, clients: 7},
					{name: "intercepted_and_unknown_share_one_client_set", q: three, row: kz, ja4: ja4Y, conns: 8, clients: 6},
					{name: "other_network_counts_its_own_clients", q: three, row: kz2, ja4: ja4X, conns: 3, clients: 3},
					{name: "country_row_sums_its_networks", q: byCountry, row: Network{Country: "KZ"}, ja4: ja4X, conns: 24, clients: 10},
					{name: "window_counts_only_its_minutes", q: lastMinute, row: kz, ja4: ja4Y, conns: 4, clients: 4},
					{name: "connections_without_a_client_address_have_no_entry", q: three, row: kz, ja4: ja4Z, conns: 5},
				}
				for _, tc := range tests {
					t.Run(tc.name, func(t *testing.T) {
						rows, err := s.Top(ctx, tc.q)
						if err != nil {
							t.Fatal(err)
						}
						var row *NetworkStats
						for i := range rows {
							if rows[i].Country == tc.row.Country && rows[i].ASN == tc.row.ASN {
								row = &rows[i]
							}
						}
						if row == nil {
							t.Fatalf("no row %s in %+v", tc.row, rows)
						}
						if conns := row.InterceptedJA4[tc.ja4] + row.UnknownJA4[tc.ja4]; conns != tc.conns {
							t.Errorf("%s connections = %d, want %d", tc.ja4, conns, tc.conns)
						}
						got, ok := row.JA4Clients[tc.ja4]
						if tc.clients == 0 {
							if ok {
								t.Errorf("JA4Clients[%s] = %d, want no entry", tc.ja4, got)
							}
							return
						}
						if !ok {
							t.Fatalf("no JA4Clients entry for %s: %v", tc.ja4, row.JA4Clients)
						}
						checkClients(t, tc.ja4, &got, tc.clients, 0.02)
					})
				}
				t.Run("the_network_counts_all_its_clients", func(t *testing.T) {
					rows, err := s.Top(ctx, three)
					if err != nil {
						t.Fatal(err)
					}
					for i := range rows {
						if rows[i].Country == "KZ" && rows[i].ASN == 9198 {
							// 1000 clean, the bot, ja4X's 7 and ja4Y's 6
							checkClients(t, "KZ:9198", &rows[i].Clients, 1014, 0.02)
							return
						}
					}
					t.Fatalf("no KZ:9198 row in %+v", rows)
				})
			})
			t.Run("ja4_clients_union_over_more_than_1000_minutes", func(t *testing.T) {
				// One batch of 1100 minutes with one client each: 700
				// clients over the first 1000 minutes, 100 new ones in the
				// last 100 (the Redis store merges more than 1000 HLLs in
				// chunks; a lost chunk would count 700).
				s, _, _ := kind.new(t)
				const minutes, distinct = 1100, 800
				end := minuteOf(t0) + 1
				b := &Batch{Node: "n1", Seq: 1, Time: t0, Retention: DefaultRetention}
				for i := range minutes {
					c := i % 700
					if i >= 1000 {
						c = i - 300
					}
					h := splitmix64(uint64(c))
					b.Buckets = append(b.Buckets, Bucket{
						Network: Network{"KZ", 9198}, Minute: end - minutes + int64(i),
						Counts:     Counts{Connections: 1, Browser: 1, Unknown: 1},
						UnknownJA4: map[string]uint64{ja4Z: 1}, Clients: []uint64{h}, JA4Clients: map[string][]uint64{ja4Z: {h}},
					})
				}
				if err := s.Apply(ctx, b); err != nil {
					t.Fatal(err)
				}
				rows, err := s.Top(ctx, TopQuery{From: minuteTime(end - minutes), To: minuteTime(end), JA4Clients: true})
				if err != nil {
					t.Fatal(err)
				}
				if len(rows) != 1 || rows[0].UnknownJA4[ja4Z] != minutes {
					t.Fatalf("Top = %+v, want KZ:9198 with %d ja4Z connections", rows, minutes)
				}
				checkClients(t, "clients", &rows[0].Clients, distinct, 0.03)
				got := rows[0].JA4Clients[ja4Z]
				checkClients(t, "ja4Z clients", &got, distinct, 0.03)
			})
			t.Run("ja4_clients_only_when_asked", func(t *testing.T) {
				s, _, _ := kind.new(t)
				hs := []uint64{splitmix64(1), splitmix64(2), splitmix64(3)}
				b := &Batch{Node: "n1", Seq: 1, Time: t0, Retention: DefaultRetention, Buckets: []Bucket{{
					Network: Network{"KZ", 9198}, Minute: minuteOf(t0),
					Counts:         Counts{Connections: 3, Browser: 3, Intercepted: 3},
					InterceptedJA4: map[string]uint64{ja4X: 3}, Clients: hs, JA4Clients: map[string][]uint64{ja4X: hs},
				}}}
				if err := s.Apply(ctx, b); err != nil {
					t.Fatal(err)
				}
				for _, asked := range []bool{false, true} {
					rows, err := s.Top(ctx, TopQuery{From: t0, To: t0.Add(time.Minute), JA4Clients: asked})
					if err != nil {
						t.Fatal(err)
					}
					if len(rows) != 1 || rows[0].InterceptedJA4[ja4X] != 3 {
						t.Fatalf("JA4Clients %v: Top = %+v, want KZ:9198 with 3 ja4X connections", asked, rows)
					}
					if got := rows[0].JA4Clients; asked && got[ja4X] != 3 || !asked && got != nil {
						t.Errorf("JA4Clients %v: row's JA4Clients = %v", asked, got)
					}
				}
			})
			t.Run("unique_clients_approximate", func(t *testing.T) {
				s, _, _ := kind.new(t)
				clk := newTestClock(t0)
				r, err := NewRecorder(s, RecorderConfig{Clock: clk.now})
				if err != nil {
					t.Fatal(err)
				}
				const n = 5000
				for round := range 3 {
					for i := range n {
						r.Record(Observation{Country: "KZ", ASN: 9198, Browser: true, Verdict: VerdictClean, Client: addrN(i)})
					}
					clk.add(time.Minute) // three minutes, same clients: the union counts each once
					_ = round
				}
				if err := r.Close(ctx); err != nil {
					t.Fatal(err)
				}
				got, err := s.Top(ctx, TopQuery{From: t0, To: t0.Add(3 * time.Minute)})
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 1 || got[0].Connections != 3*n {
					t.Fatalf("Top = %+v", got)
				}
				checkClients(t, "KZ", &got[0].Clients, n, 0.03)
			})
			t.Run("bad_queries_are_errors", func(t *testing.T) {
				if _, err := s.Top(ctx, TopQuery{From: t0, To: t0}); err == nil {
					t.Error("Top with an empty window: no error")
				}
				if _, err := s.Series(ctx, SeriesQuery{From: t0, To: t0.Add(time.Hour), Step: 90 * time.Second}); err == nil {
					t.Error("Series with a 90 s step: no error")
				}
				if _, err := s.NewFingerprints(ctx, FingerprintQuery{}); err == nil {
					t.Error("NewFingerprints without Since: no error")
				}
			})
		})
	}
}

// ja4Bot is a new unknown JA4 that one client sends many times.
const ja4Bot = "t13d0000h2_999999999999_000000000000"

// ja4ClientsStore records, with a flush per minute, three minutes from t0
// in a busy network (KZ:9198, 1000 clean clients a minute):
//
//	ja4Bot  unknown      one client, 50 connections over the 3 minutes,
//	                     and once more through a second recorder (node)
//	ja4X    intercepted  the same 7 clients each minute; also 3 of them
//	                     in KZ:29555 in minute 0
//	ja4Y    unknown      clients 0-3 in minute 0; intercepted: 2-5 in
//	                     minute 2 (6 distinct)
//	ja4Z    unknown      5 connections without a client address
func ja4ClientsStore(t *testing.T, kind storeKind) Store {
	t.Helper()
	s, _, _ := kind.new(t)
	ctx := context.Background()
	clk := newTestClock(t0)
	newRec := func() *Recorder {
		r, err := NewRecorder(s, RecorderConfig{Clock: clk.now, ClientKey: []byte("test")})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r, other := newRec(), newRec()
	kz := Observation{Country: "KZ", ASN: 9198, Browser: true}
	rec := func(r *Recorder, v Verdict, ja4 string, client int) {
		o := kz
		o.Verdict, o.JA4 = v, ja4
		if client >= 0 {
			o.Client = addrN(client)
		}
		r.Record(o)
	}
	for m := range 3 {
		clk.set(t0.Add(time.Duration(m)*time.Minute + 10*time.Second))
		for i := range 1000 {
			rec(r, VerdictClean, "", i)
		}
		for range []int{17, 17, 16}[m] {
			rec(r, VerdictUnknown, ja4Bot, 5000)
		}
		for i := range 7 {
			rec(r, VerdictIntercepted, ja4X, 6000+i)
		}
		switch m {
		case 0:
			for i := range 4 {
				rec(r, VerdictUnknown, ja4Y, 7000+i)
			}
			for i := range 3 {
				r.Record(Observation{Country: "KZ", ASN: 29555, Browser: true, Verdict: VerdictIntercepted, JA4: ja4X, Client: addrN(6000 + i)})
			}
		case 1:
			rec(other, VerdictUnknown, ja4Bot, 5000)
			for range 5 {
				rec(r, VerdictUnknown, ja4Z, -1)
			}
		case 2:
			for i := 2; i < 6; i++ {
				rec(r, VerdictIntercepted, ja4Y, 7000+i)
			}
		}
		for _, r := range []*Recorder{r, other} {
			if err := r.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, r := range []*Recorder{r, other} {
		if err := r.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// splitmix64 spreads i over 64 bits like the recorder's keyed hash.
func splitmix64(i uint64) uint64 {
	z := i + 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}
