package alerts

import (
	"context"
	"math"
	"reflect"
	"testing"
	"time"
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

func TestStoreContract(t *testing.T) {
	ctx := context.Background()
	window := TopQuery{From: t0, To: t0.Add(3 * time.Minute), Limit: -1}
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			t.Run("counts_exact_after_one_flush", func(t *testing.T) {
				s := scenarioStore(t, kind, false)
				got, err := s.Top(ctx, window)
				if err != nil {
					t.Fatal(err)
				}
				for i := range got {
					checkClients(t, got[i].Country, &got[i].Clients, scenarioClients[Network{got[i].Country, got[i].ASN}], 0.02)
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
					checkClients(t, got[i].Country, &got[i].Clients, scenarioClients[Network{got[i].Country, got[i].ASN}], 0.02)
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
				got, err := s.Top(ctx, TopQuery{From: t0, To: t0.Add(time.Minute)})
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 2 || got[0].Intercepted != 21 || got[1].Clean != 9 {
					t.Fatalf("Top = %+v, want KZ 21 intercepted (3 batches), DE 9 clean", got)
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
