package alerts

import (
	"context"
	"testing"
	"time"
)

// ruleOf returns the validated, defaulted rule of cfg.
func ruleOf(t *testing.T, cfg RuleConfig) *rule {
	t.Helper()
	c := Config{Rules: []RuleConfig{cfg}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return newRule(c.withDefaults().Rules[0])
}

func measureAt(t *testing.T, r *rule, st Store, now time.Time) *measurement {
	t.Helper()
	m, err := r.measure(context.Background(), st, now)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestShareRuleNeedsShareAndVolumeWithinTheWindow(t *testing.T) {
	st := NewMemoryStore()
	now := t0.Add(30*time.Minute + 20*time.Second)
	in := now.Add(-2 * time.Minute)
	// KZ:9198: 100 browser connections, 30 intercepted → fires.
	feed(t, st, in, traffic("KZ", 9198, "JSC Kazakhtelecom", 100, 30, "Qaznet", ja4X, 0)...)
	// RU:8359: 100 connections, 15 intercepted: between resolve (10%) and fire (20%).
	feed(t, st, in, traffic("RU", 8359, "MTS", 100, 15, "", ja4X, 0)...)
	// DE:3320: 100 connections, 5 intercepted → clear.
	feed(t, st, in, traffic("DE", 3320, "Deutsche Telekom AG", 100, 5, "", ja4X, 0)...)
	// US:7922: 10 connections, all intercepted: too few to judge.
	feed(t, st, in, traffic("US", 7922, "Comcast", 10, 10, "Zscaler", ja4X, 0)...)
	// BR:28573: a burst before the window (6 minutes ago) does not count.
	feed(t, st, now.Add(-6*time.Minute), traffic("BR", 28573, "Claro", 100, 100, "", ja4X, 0)...)
	// Non-browser connections never make a share.
	feed(t, st, in, Observation{Country: "CN", ASN: 4134, Browser: false, Verdict: VerdictIntercepted})

	r := ruleOf(t, RuleConfig{Name: "net", Scope: ScopeNetwork, Window: 5 * time.Minute, MinConnections: 50, MinShare: 0.2})
	m := measureAt(t, r, st, now)
	want := map[Subject]condition{
		{Scope: ScopeNetwork, Country: "KZ", ASN: 9198}: condFiring,
		{Scope: ScopeNetwork, Country: "RU", ASN: 8359}: condHold,
		{Scope: ScopeNetwork, Country: "DE", ASN: 3320}: condClear,
		{Scope: ScopeNetwork, Country: "US", ASN: 7922}: condClear,
	}
	for s, c := range want {
		f := m.findings[s]
		if f == nil {
			t.Errorf("%s: no finding", s)
			continue
		}
		if f.cond != c {
			t.Errorf("%s: %s (share %.2f of %d), want %s", s, f.cond, f.row.Share, f.row.Browser, c)
		}
	}
	if _, ok := m.findings[Subject{Scope: ScopeNetwork, Country: "BR", ASN: 28573}]; ok {
		t.Error("traffic from before the window was counted")
	}
	if len(m.findings) != len(want) {
		t.Errorf("%d findings, want %d", len(m.findings), len(want))
	}
	if from := m.from; !from.Equal(now.Truncate(time.Minute).Add(-4 * time.Minute)) {
		t.Errorf("window starts %v: want the current minute and the 4 before it", from)
	}
}

func TestCountryScopeSumsItsNetworks(t *testing.T) {
	st := NewMemoryStore()
	now := t0.Add(10*time.Minute + 30*time.Second)
	// Each KZ network alone is below 200 connections; together they are not.
	feed(t, st, now, traffic("KZ", 9198, "JSC Kazakhtelecom", 150, 30, "Qaznet", ja4X, 0)...)
	feed(t, st, now, traffic("KZ", 29555, "Mobile Telecom-Service LLP", 150, 0, "", "", 1000)...)
	r := ruleOf(t, RuleConfig{Name: "country", Scope: ScopeCountry, Window: 15 * time.Minute, MinConnections: 200, MinShare: 0.1})
	m := measureAt(t, r, st, now)
	f := m.findings[Subject{Scope: ScopeCountry, Country: "KZ"}]
	if f == nil || f.cond != condFiring || f.row.Browser != 300 || f.row.Intercepted != 30 {
		t.Fatalf("KZ finding %+v", f)
	}
}

func TestSurgeRuleComparesWithTheNetworksOwnBaseline(t *testing.T) {
	st := NewMemoryStore()
	now := t0.Add(50 * time.Minute)
	in := now.Add(-time.Minute)
	day := now.Add(-12 * time.Hour) // inside the 24 h baseline, before the window
	// AS9198: baseline 2% (10 of 500), now 15% (30 of 200): 7.5× → surge.
	feed(t, st, day, traffic("KZ", 9198, "JSC Kazakhtelecom", 500, 10, "", ja4X, 0)...)
	feed(t, st, in, traffic("KZ", 9198, "JSC Kazakhtelecom", 200, 30, "", ja4X, 0)...)
	// AS3320: baseline 10%, now 15%: 1.5×, a normal day.
	feed(t, st, day, traffic("DE", 3320, "Deutsche Telekom AG", 500, 50, "", ja4X, 0)...)
	feed(t, st, in, traffic("DE", 3320, "Deutsche Telekom AG", 200, 30, "", ja4X, 0)...)
	// AS7922: no baseline traffic at all: no surge is judged.
	feed(t, st, in, traffic("US", 7922, "Comcast", 200, 60, "", ja4X, 0)...)
	// AS5: baseline 0%, now 3%: infinitely many times more, but under the
	// 5% floor (and above half of it: held, not clear).
	feed(t, st, day, traffic("FR", 5, "Tiny", 500, 0, "", "", 0)...)
	feed(t, st, in, traffic("FR", 5, "Tiny", 200, 6, "", ja4X, 0)...)

	r := ruleOf(t, RuleConfig{Name: "surge", Type: RuleSurge, Scope: ScopeASN, Window: 15 * time.Minute})
	m := measureAt(t, r, st, now)
	tests := []struct {
		asn       uint32
		cond      condition
		threshold float64
	}{
		{9198, condFiring, 0.1},
		{3320, condClear, 0.5},
		{7922, condClear, 0},
		{5, condHold, 0.05},
	}
	for _, tt := range tests {
		f := m.findings[Subject{Scope: ScopeASN, ASN: tt.asn}]
		if f == nil {
			t.Errorf("AS%d: no finding", tt.asn)
			continue
		}
		if f.cond != tt.cond || !approx(f.threshold, tt.threshold) {
			t.Errorf("AS%d: %s with threshold %.3f (share %.3f), want %s with %.3f", tt.asn, f.cond, f.threshold, f.row.Share, tt.cond, tt.threshold)
		}
	}
	if f := m.findings[Subject{Scope: ScopeASN, ASN: 9198}]; f.baseline == nil || !approx(f.baseline.Share, 0.02) {
		t.Errorf("AS9198 baseline %+v", f.baseline)
	}
	// An open incident is judged against the baseline it opened with,
	// not today's (which the surge itself inflates).
	inc := &Incident{Rule: "surge", Subject: Subject{Scope: ScopeASN, ASN: 9198}, Baseline: 0.02}
	if g := r.judge(m, inc); g.cond != condFiring {
		t.Errorf("judged against the frozen baseline: %s", g.cond)
	}
	inc.Baseline = 0.2 // had it opened at 20%, 15% is below 0.2×2.5
	if g := r.judge(m, inc); g.cond != condClear {
		t.Errorf("15%% against a 20%% baseline: %s, want clear", g.cond)
	}
}

func TestSurgeBaselineIsCachedNotReadEveryEvaluation(t *testing.T) {
	st := &countingStore{Store: NewMemoryStore()}
	r := ruleOf(t, RuleConfig{Name: "surge", Type: RuleSurge, Baseline: 24 * time.Hour})
	now := t0
	for i := range 8 { // 8 evaluations 15 s apart: 2 minutes
		measureAt(t, r, st, now.Add(time.Duration(i)*15*time.Second))
	}
	if st.tops != 8+1 {
		t.Errorf("%d Top queries for 8 evaluations, want 9 (one baseline read per hour)", st.tops)
	}
	measureAt(t, r, st, now.Add(61*time.Minute))
	if st.tops != 9+2 {
		t.Errorf("baseline not refreshed after an hour: %d Top queries", st.tops)
	}
}

type countingStore struct {
	Store
	tops int
}

func (s *countingStore) Top(ctx context.Context, q TopQuery) ([]NetworkStats, error) {
	s.tops++
	return s.Store.Top(ctx, q)
}

func TestNewFingerprintRuleCountsClientsInOneNetwork(t *testing.T) {
	st := NewMemoryStore()
	now := t0.Add(90 * time.Minute)
	const (
		fresh = "t13d0000h2_111111111111_222222222222"
		old   = "t13d0000h2_555555555555_666666666666"
	)
	unknown := func(ja4 string, n, base int) []Observation {
		out := make([]Observation, n)
		for i := range out {
			out[i] = Observation{Country: "KZ", ASN: 9198, ASOrg: "JSC Kazakhtelecom", Browser: true, Verdict: VerdictUnknown, JA4: ja4, Client: addrN(base + i)}
		}
		return out
	}
	// "old" was first seen 2 hours ago: not new any more.
	feed(t, st, now.Add(-2*time.Hour), unknown(old, 30, 0)...)
	feed(t, st, now.Add(-10*time.Minute), unknown(old, 30, 0)...)
	// "fresh" from 25 clients.
	feed(t, st, now.Add(-10*time.Minute), unknown(fresh, 25, 100)...)
	// "fresh" also appears in DE from 3 clients.
	feed(t, st, now.Add(-5*time.Minute), Observation{Country: "DE", ASN: 3320, Browser: true, Verdict: VerdictUnknown, JA4: fresh, Client: addrN(1)},
		Observation{Country: "DE", ASN: 3320, Browser: true, Verdict: VerdictUnknown, JA4: fresh, Client: addrN(2)},
		Observation{Country: "DE", ASN: 3320, Browser: true, Verdict: VerdictUnknown, JA4: fresh, Client: addrN(3)})

	r := ruleOf(t, RuleConfig{Name: "newfp", Type: RuleNewFingerprint, MinClients: 20})
	m := measureAt(t, r, st, now)
	kz := func(ja4 string) Subject { return Subject{Scope: ScopeNetwork, Country: "KZ", ASN: 9198, JA4: ja4} }
	if f := m.findings[kz(fresh)]; f == nil || f.cond != condFiring || f.ja4Clients < 24 || f.ja4Clients > 26 {
		t.Errorf("fresh in KZ: %+v", f)
	}
	if f := m.findings[Subject{Scope: ScopeNetwork, Country: "DE", ASN: 3320, JA4: fresh}]; f == nil || f.cond != condHold {
		t.Errorf("fresh in DE (3 clients): %+v", f)
	}
	if _, ok := m.findings[kz(old)]; ok {
		t.Error("a fingerprint first seen before the window counted as new")
	}
	// An open incident whose fingerprint is no longer new is gone.
	if g := r.judge(m, &Incident{Subject: kz(old)}); g.cond != condGone {
		t.Errorf("old fingerprint's incident: %s, want gone", g.cond)
	}
}

// TestNewFingerprintRuleCountsTheJA4sClients: the rule counts the
// distinct clients that carried the new JA4 in the network, not its
// connections and not the network's clients, so one client making many
// connections in a busy network does not fire.
func TestNewFingerprintRuleCountsTheJA4sClients(t *testing.T) {
	const ja4 = "t13d0000h2_777777777777_888888888888"
	now := t0.Add(30*time.Minute + 20*time.Second)
	tests := []struct {
		name string
		// busy is how many other clients the network has (clean).
		busy int
		// clients make conns connections each with the new unknown JA4.
		clients, conns int
		minClients     uint64
		cond           condition
	}{
		{name: "one_client_50_connections_in_a_busy_network_holds", busy: 1000, clients: 1, conns: 50, minClients: 3, cond: condHold},
		{name: "two_clients_in_a_busy_network_hold", busy: 1000, clients: 2, conns: 25, minClients: 3, cond: condHold},
		{name: "five_clients_in_a_busy_network_fire", busy: 1000, clients: 5, conns: 10, minClients: 3, cond: condFiring},
		{name: "five_clients_40_connections_in_a_quiet_network_hold_below_20", clients: 5, conns: 8, minClients: 20, cond: condHold},
	}
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					st, _, _ := kind.new(t)
					obs := traffic("TR", 9121, "Turk Telekom", tc.busy, 0, "", "", 0)
					for c := range tc.clients {
						for range tc.conns {
							obs = append(obs, Observation{Country: "TR", ASN: 9121, Browser: true, Verdict: VerdictUnknown, JA4: ja4, Client: addrN(100000 + c)})
						}
					}
					feed(t, st, now.Add(-5*time.Minute), obs...)
					r := ruleOf(t, RuleConfig{Name: "newfp", Type: RuleNewFingerprint, MinClients: tc.minClients})
					m := measureAt(t, r, st, now)
					f := m.findings[Subject{Scope: ScopeNetwork, Country: "TR", ASN: 9121, JA4: ja4}]
					if f == nil {
						t.Fatal("no finding for the new JA4")
					}
					if f.cond != tc.cond || f.ja4Clients != uint64(tc.clients) || f.ja4Conns != uint64(tc.clients*tc.conns) {
						t.Errorf("%s with %d clients of %d connections (network: %d clients), want %s with %d clients of %d",
							f.cond, f.ja4Clients, f.ja4Conns, f.row.Clients, tc.cond, tc.clients, tc.clients*tc.conns)
					}
					// The alert reports the JA4's clients, not the network's.
					a := r.alert(context.Background(), m, f, &Incident{ID: "i"}, &details{store: st, now: now})
					if a.Clients != uint64(tc.clients) {
						t.Errorf("alert clients = %d, want %d", a.Clients, tc.clients)
					}
				})
			}
		})
	}
}

func TestAlertDetails(t *testing.T) {
	st := NewMemoryStore()
	now := t0.Add(40 * time.Minute)
	obs := traffic("KZ", 9198, "JSC Kazakhtelecom", 100, 30, "Qaznet", ja4X, 0)
	for i := 30; i < 40; i++ {
		obs[i].Verdict, obs[i].JA4 = VerdictUnknown, ja4Y
	}
	for i := 40; i < 45; i++ {
		obs[i].Verdict, obs[i].Product, obs[i].JA4 = VerdictIntercepted, "Kaspersky", ja4Z
	}
	feed(t, st, now.Add(-3*time.Minute), obs...)
	r := ruleOf(t, RuleConfig{Name: "net", Scope: ScopeNetwork})
	m := measureAt(t, r, st, now)
	f := m.findings[kzNet]
	notes := map[string]FingerprintNote{
		ja4X: {Grade: "F", Reasons: []string{"The hello offers export cipher suites."}},
		ja4Z: {Grade: "C", Reasons: []string{"The hello offers export cipher suites.", "The hello offers no TLS 1.3."}},
	}
	describe := func(ja4 string) (FingerprintNote, bool) { n, ok := notes[ja4]; return n, ok }
	d := &details{store: st, describe: describe, now: now}
	inc := &Incident{ID: "i1", OpenedAt: now.Add(-time.Minute)}
	a := r.alert(context.Background(), m, f, inc, d)
	if a.Country != "KZ" || a.ASN != 9198 || a.ASOrg != "JSC Kazakhtelecom" || a.Connections != 100 || a.Intercepted != 35 || a.Unknown != 10 || !approx(a.Share, 0.35) {
		t.Errorf("numbers %+v", a)
	}
	if len(a.TopProducts) != 2 || a.TopProducts[0] != (ProductCount{"Qaznet", 30}) || a.TopProducts[1] != (ProductCount{"Kaspersky", 5}) {
		t.Errorf("products %+v", a.TopProducts)
	}
	if len(a.TopFingerprints) != 3 {
		t.Fatalf("fingerprints %+v", a.TopFingerprints)
	}
	x, y, z := a.TopFingerprints[0], a.TopFingerprints[1], a.TopFingerprints[2]
	if x.JA4 != ja4X || x.Verdict != "intercepted" || x.Connections != 30 || x.Grade != "F" || x.FirstSeen == nil {
		t.Errorf("top fingerprint %+v", x)
	}
	if y.JA4 != ja4Y || y.Verdict != "unknown" || y.Grade != "" || z.JA4 != ja4Z || z.Grade != "C" {
		t.Errorf("fingerprints %+v %+v", y, z)
	}
	if len(a.Reasons) != 2 {
		t.Errorf("reasons %q, want the 2 distinct sentences", a.Reasons)
	}
	if !a.WindowStart.Equal(m.from) || !a.WindowEnd.Equal(now) || !a.FirstSeen.Equal(inc.OpenedAt) {
		t.Errorf("times %v %v %v", a.WindowStart, a.WindowEnd, a.FirstSeen)
	}
}

func approx(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
