package alerts

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

// condition is where a subject stands against a rule.
type condition uint8

const (
	// condClear: below the resolve line, or too little traffic to judge.
	condClear condition = iota
	// condHold: between the resolve line and the firing line (hysteresis):
	// an open incident stays open, none opens.
	condHold
	// condFiring: at or above the firing line with enough traffic.
	condFiring
	// condGone: a new_fingerprint subject that is no longer new; its
	// incident closes without a notice.
	condGone
)

var conditionNames = [...]string{"clear", "hold", "firing", "gone"}

func (c condition) String() string { return conditionNames[c] }

// rule is a validated [RuleConfig] with its defaults, plus the surge
// baseline cache.
type rule struct {
	cfg   RuleConfig
	group Group

	mu         sync.Mutex
	baseAt     time.Time // when the cached baseline was read
	baseFrom   time.Time
	baseTo     time.Time
	baseline   map[Subject]NetworkStats
	baseRefill time.Duration
}

func newRule(cfg RuleConfig) *rule {
	r := &rule{cfg: cfg}
	switch cfg.Scope {
	case ScopeCountry:
		r.group = GroupCountry
	case ScopeASN:
		r.group = GroupASN
	default:
		r.group = GroupNetwork
	}
	r.baseRefill = max(cfg.Baseline/24, time.Minute)
	return r
}

// finding is one subject's measurement by a rule.
type finding struct {
	subject Subject
	cond    condition
	// row is the subject's window (zero counts when it had no traffic).
	row NetworkStats
	// threshold is the share that fires (surge: from the baseline).
	threshold float64
	// baseline is the surge baseline row, if the subject has one.
	baseline *NetworkStats
	// ja4Conns and ja4Clients are the new fingerprint's browser
	// connections and distinct clients in the network (new_fingerprint
	// only).
	ja4Conns, ja4Clients uint64
	sighting             *FingerprintSighting
}

// measurement is a rule's view of the store at one evaluation.
type measurement struct {
	from, to time.Time
	findings map[Subject]*finding
	// baseFrom and baseTo bound the surge baseline window.
	baseFrom, baseTo time.Time
}

// subjectOf returns the subject of a Top row in scope.
func subjectOf(scope string, row *NetworkStats) Subject {
	switch scope {
	case ScopeCountry:
		return Subject{Scope: scope, Country: row.Country}
	case ScopeASN:
		return Subject{Scope: scope, ASN: row.ASN}
	default:
		return Subject{Scope: ScopeNetwork, Country: row.Country, ASN: row.ASN}
	}
}

// window returns the rule's window ending at now: the current (partial)
// minute and the Window/1min - 1 whole minutes before it.
func (r *rule) window(now time.Time) (from, to time.Time) {
	return now.Truncate(time.Minute).Add(time.Minute - r.cfg.Window), now
}

// measure reads the rule's window from st and judges every subject with
// traffic (new_fingerprint: every new JA4 in every network it was seen in)
// as if no incident were open.
func (r *rule) measure(ctx context.Context, st Store, now time.Time) (*measurement, error) {
	from, to := r.window(now)
	m := &measurement{from: from, to: to, findings: map[Subject]*finding{}}
	rows, err := st.Top(ctx, TopQuery{From: from, To: to, Group: r.group, Limit: -1, MinBrowser: 1,
		JA4Clients: r.cfg.Type == RuleNewFingerprint})
	if err != nil {
		return nil, fmt.Errorf("alerts: rule %s: %w", r.cfg.Name, err)
	}
	switch r.cfg.Type {
	case RuleShare:
		for i := range rows {
			f := &finding{subject: subjectOf(r.cfg.Scope, &rows[i]), row: rows[i], threshold: r.cfg.MinShare}
			f.cond = r.shareCondition(f.row, r.cfg.MinShare, r.cfg.ResolveBelow)
			m.findings[f.subject] = f
		}
	case RuleSurge:
		base, err := r.baselineRows(ctx, st, from, now)
		if err != nil {
			return nil, err
		}
		m.baseFrom, m.baseTo = r.baseFrom, r.baseTo
		for i := range rows {
			f := &finding{subject: subjectOf(r.cfg.Scope, &rows[i]), row: rows[i]}
			if b, ok := base[f.subject]; ok && b.People() >= r.cfg.MinBaselineConnections {
				f.baseline = &b
				f.threshold = max(b.Share*r.cfg.SurgeFactor, r.cfg.MinShare)
				f.cond = r.shareCondition(f.row, f.threshold, r.surgeResolveLine(b.Share))
			} // without a trusted baseline no surge is judged: condClear
			m.findings[f.subject] = f
		}
	case RuleNewFingerprint:
		sightings, err := st.NewFingerprints(ctx, FingerprintQuery{Since: from, Limit: -1})
		if err != nil {
			return nil, fmt.Errorf("alerts: rule %s: %w", r.cfg.Name, err)
		}
		byNet := make(map[Network]*NetworkStats, len(rows))
		for i := range rows {
			byNet[Network{Country: rows[i].Country, ASN: rows[i].ASN}] = &rows[i]
		}
		for i := range sightings {
			s := &sightings[i]
			for _, n := range s.Networks {
				subj := Subject{Scope: ScopeNetwork, Country: n.Country, ASN: n.ASN, JA4: s.JA4}
				f := &finding{subject: subj, sighting: s, cond: condHold}
				if row := byNet[n.Network]; row != nil {
					f.row = *row
					f.ja4Conns = row.InterceptedJA4[s.JA4] + row.UnknownJA4[s.JA4]
					// The distinct clients whose browser connections
					// carried the JA4 in this network over the window
					// (a HyperLogLog estimate), not the network's clients:
					// one client's many connections count once.
					f.ja4Clients = row.JA4Clients[s.JA4]
				}
				if f.ja4Clients >= r.cfg.MinClients {
					f.cond = condFiring
				}
				m.findings[subj] = f
			}
		}
	}
	return m, nil
}

// shareCondition judges a window's share against a firing line and a
// lower resolve line. Too little traffic is clear: an incident is about a
// subject with enough browser connections to judge.
func (r *rule) shareCondition(row NetworkStats, fire, resolve float64) condition {
	switch {
	case row.People() < r.cfg.MinConnections:
		return condClear
	case row.Share >= fire:
		return condFiring
	case row.Share < resolve:
		return condClear
	default:
		return condHold
	}
}

// surgeResolveLine is the share below which a surge over baseline counts
// as recovered: ResolveBelow × the baseline, and at least half the
// MinShare floor (so a zero baseline can still recover).
func (r *rule) surgeResolveLine(baseline float64) float64 {
	return max(baseline*r.cfg.ResolveBelow, r.cfg.MinShare/2)
}

// judge returns the finding for an open incident's subject: the fresh
// measurement, judged against the baseline frozen in the incident for
// surge rules. A subject without traffic in the window is clear (a new
// fingerprint no longer new is gone).
func (r *rule) judge(m *measurement, inc *Incident) *finding {
	f, ok := m.findings[inc.Subject]
	if !ok {
		cond := condClear
		if r.cfg.Type == RuleNewFingerprint {
			cond = condGone
		}
		return &finding{subject: inc.Subject, cond: cond}
	}
	if r.cfg.Type == RuleSurge {
		g := *f
		g.threshold = max(inc.Baseline*r.cfg.SurgeFactor, r.cfg.MinShare)
		g.cond = r.shareCondition(g.row, g.threshold, r.surgeResolveLine(inc.Baseline))
		return &g
	}
	return f
}

// baselineRows returns the surge baseline per subject: the Baseline span
// before the window, cached for baseRefill because it moves slowly and is
// the most expensive read of an evaluation.
func (r *rule) baselineRows(ctx context.Context, st Store, from, now time.Time) (map[Subject]NetworkStats, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.baseline != nil && now.Sub(r.baseAt) < r.baseRefill && !now.Before(r.baseAt) {
		return r.baseline, nil
	}
	bFrom, bTo := from.Add(-r.cfg.Baseline), from
	rows, err := st.Top(ctx, TopQuery{From: bFrom, To: bTo, Group: r.group, Limit: -1, MinBrowser: 1})
	if err != nil {
		return nil, fmt.Errorf("alerts: rule %s: baseline: %w", r.cfg.Name, err)
	}
	base := make(map[Subject]NetworkStats, len(rows))
	for i := range rows {
		base[subjectOf(r.cfg.Scope, &rows[i])] = rows[i]
	}
	r.baseline, r.baseAt, r.baseFrom, r.baseTo = base, now, bFrom, bTo
	return base, nil
}

// FingerprintNote is what is known about a JA4 beyond the store's
// counts: the interceptor's TLS grade and the reasons of its verdicts.
type FingerprintNote struct {
	// Grade is "A", "B", "C" or "F" (NDSS 2017 scale); "" when unknown.
	Grade string
	// Reasons are the verdicts' reasons, as sentences.
	Reasons []string
}

// Alert details limits.
const (
	topProducts     = 5
	topFingerprints = 5
	sampleReasons   = 5
	// firstSeenLookback and firstSeenLimit bound the read of the
	// fingerprint index for the first-seen times of an alert's
	// fingerprints: the newest 1000 JA4s of the last 31 days (the store
	// has no per-JA4 lookup; a fingerprint outside them has no
	// first_seen in the alert, and only the grade and reasons of the
	// local describe).
	firstSeenLookback = 31 * 24 * time.Hour
	firstSeenLimit    = 1000
)

// details fills the parts of an alert that need more than the window's
// counts: grades and reasons (from describe, this process's notes, and
// from the store's fingerprint index, which has every node's) and
// first-seen times (from the index), the index read at most once per
// evaluation.
type details struct {
	store     Store
	describe  func(ja4 string) (FingerprintNote, bool)
	now       time.Time
	firstSeen map[string]time.Time
	notes     map[string]FingerprintNote
	loaded    bool
}

// load reads the fingerprint index once.
func (d *details) load(ctx context.Context) {
	if d.loaded {
		return
	}
	d.loaded = true
	d.firstSeen = map[string]time.Time{}
	d.notes = map[string]FingerprintNote{}
	fps, err := d.store.NewFingerprints(ctx, FingerprintQuery{Since: d.now.Add(-firstSeenLookback), Limit: firstSeenLimit})
	if err != nil {
		return // without the index the alert just lacks first-seen times and the store's notes
	}
	for _, f := range fps {
		d.firstSeen[f.JA4] = f.FirstSeen
		if f.Grade != "" || len(f.Reasons) > 0 {
			d.notes[f.JA4] = FingerprintNote{Grade: f.Grade, Reasons: f.Reasons}
		}
	}
}

func (d *details) first(ctx context.Context, ja4 string) (time.Time, bool) {
	d.load(ctx)
	t, ok := d.firstSeen[ja4]
	return t, ok
}

// note returns what is known about ja4: the grade this process noted, or
// else the store's; the store's reasons (every node's), then any this
// process noted that the store does not have yet, without duplicates.
func (d *details) note(ctx context.Context, ja4 string) (FingerprintNote, bool) {
	d.load(ctx)
	stored, inStore := d.notes[ja4]
	var local FingerprintNote
	inLocal := false
	if d.describe != nil {
		local, inLocal = d.describe(ja4)
	}
	if !inStore && !inLocal {
		return FingerprintNote{}, false
	}
	out := FingerprintNote{Grade: local.Grade}
	if out.Grade == "" {
		out.Grade = stored.Grade
	}
	out.Reasons = append(out.Reasons, stored.Reasons...)
	for _, r := range local.Reasons {
		if !slices.Contains(out.Reasons, r) {
			out.Reasons = append(out.Reasons, r)
		}
	}
	return out, true
}

// alert builds the data of an event about f.
func (r *rule) alert(ctx context.Context, m *measurement, f *finding, inc *Incident, d *details) Alert {
	row := &f.row
	a := Alert{
		Incident:       inc.ID,
		Rule:           r.cfg.Name,
		RuleType:       r.cfg.Type,
		Scope:          f.subject.Scope,
		Country:        f.subject.Country,
		ASN:            f.subject.ASN,
		ASOrg:          row.ASOrg,
		Connections:    row.People(),
		AllConnections: row.Connections,
		Intercepted:    row.Intercepted,
		Unknown:        row.Unknown,
		Share:          row.Share,
		Threshold:      f.threshold,
		Clients:        row.Clients,
		WindowStart:    m.from.UTC(),
		WindowEnd:      m.to.UTC(),
		FirstSeen:      inc.OpenedAt.UTC(),
		TopProducts:    []ProductCount{},
		Reasons:        []string{},
	}
	if r.cfg.Type == RuleSurge {
		b := &Baseline{Share: inc.Baseline, Factor: r.cfg.SurgeFactor, WindowStart: m.baseFrom.UTC(), WindowEnd: m.baseTo.UTC()}
		if f.baseline != nil {
			b.Connections = f.baseline.People()
		}
		a.Baseline = b
	}
	if r.cfg.Type == RuleNewFingerprint {
		a.Clients = f.ja4Clients
	}
	for _, name := range topKeys(row.Products, topProducts) {
		a.TopProducts = append(a.TopProducts, ProductCount{Name: name, Connections: row.Products[name]})
	}
	// Fingerprints: the new one first for new_fingerprint rules, then the
	// most seen intercepted and unknown JA4s.
	type fpc struct {
		ja4, verdict string
		n            uint64
	}
	var fps []fpc
	for ja4, n := range row.InterceptedJA4 {
		fps = append(fps, fpc{ja4, VerdictIntercepted.String(), n})
	}
	for ja4, n := range row.UnknownJA4 {
		fps = append(fps, fpc{ja4, VerdictUnknown.String(), n})
	}
	slices.SortFunc(fps, func(x, y fpc) int {
		if x.ja4 == f.subject.JA4 || y.ja4 == f.subject.JA4 {
			return cmpBool(y.ja4 == f.subject.JA4, x.ja4 == f.subject.JA4)
		}
		if c := cmp.Compare(y.n, x.n); c != 0 {
			return c
		}
		return cmp.Compare(x.ja4+x.verdict, y.ja4+y.verdict)
	})
	if f.subject.JA4 != "" && !slices.ContainsFunc(fps, func(x fpc) bool { return x.ja4 == f.subject.JA4 }) {
		fps = slices.Insert(fps, 0, fpc{f.subject.JA4, VerdictUnknown.String(), f.ja4Conns})
	}
	a.TopFingerprints = []FingerprintCount{}
	seenReason := map[string]bool{}
	for _, x := range fps[:min(len(fps), topFingerprints)] {
		fc := FingerprintCount{JA4: x.ja4, Verdict: x.verdict, Connections: x.n}
		if t, ok := d.first(ctx, x.ja4); ok {
			t := t.UTC()
			fc.FirstSeen = &t
		}
		if note, ok := d.note(ctx, x.ja4); ok {
			fc.Grade = note.Grade
			for _, s := range note.Reasons {
				if len(a.Reasons) < sampleReasons && !seenReason[s] {
					seenReason[s] = true
					a.Reasons = append(a.Reasons, s)
				}
			}
		}
		a.TopFingerprints = append(a.TopFingerprints, fc)
	}
	return a
}

// topKeys returns up to n keys of m with the largest values (ties by key).
func topKeys(m map[string]uint64, n int) []string {
	keys := slices.SortedFunc(maps.Keys(m), func(a, b string) int {
		if c := cmp.Compare(m[b], m[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return keys[:min(len(keys), n)]
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	default:
		return -1
	}
}
