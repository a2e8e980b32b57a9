package alerts

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// Store keeps the recorder's aggregates and answers queries over them. Two
// implementations ship: [MemoryStore] (one node, no setup) and [RedisStore]
// (many nodes sharing Redis standalone, Sentinel or Cluster).
type Store interface {
	// Apply adds a batch's counts. It must be safe to call again with the
	// same batch after an error: a store applies each batch at most once
	// per network, keyed by (Batch.Node, Batch.Seq), and batches of one
	// node arrive in increasing Seq order.
	Apply(ctx context.Context, b *Batch) error
	// Top ranks countries, ASNs or networks by intercepted share over a
	// window.
	Top(ctx context.Context, q TopQuery) ([]NetworkStats, error)
	// Series returns the counts of one country, ASN or network over a
	// window, one point per step.
	Series(ctx context.Context, q SeriesQuery) ([]Point, error)
	// NewFingerprints lists the intercepted or unknown JA4s first seen
	// since a time, and where.
	NewFingerprints(ctx context.Context, q FingerprintQuery) ([]FingerprintSighting, error)
}

// Group says what the rows of a query are: networks (country and ASN),
// countries, or ASNs.
type Group uint8

const (
	// GroupNetwork: one row per (country, ASN).
	GroupNetwork Group = iota
	// GroupCountry: one row per country, all its ASNs summed.
	GroupCountry
	// GroupASN: one row per ASN, all its countries summed.
	GroupASN
)

var groupNames = [...]string{"network", "country", "asn"}

// String returns "network", "country" or "asn".
func (g Group) String() string {
	if int(g) < len(groupNames) {
		return groupNames[g]
	}
	return fmt.Sprintf("group(%d)", uint8(g))
}

// ParseGroup parses the form of [Group.String].
func ParseGroup(s string) (Group, error) {
	for i, n := range groupNames {
		if s == n {
			return Group(i), nil
		}
	}
	return 0, fmt.Errorf("alerts: unknown group %q (want network, country or asn)", s)
}

// TopQuery asks for the rows with the highest intercepted share.
type TopQuery struct {
	// From and To bound the window [From, To); every UTC minute that
	// overlaps it counts. Required, From before To.
	From, To time.Time
	// Group selects the rows. Default GroupNetwork.
	Group Group
	// Limit caps the rows returned. Default 10; negative means no limit.
	Limit int
	// MinBrowser leaves out rows with fewer browser connections, so one
	// intercepted connection out of one does not top the list. Default 1.
	MinBrowser uint64
	// JA4Clients asks for [NetworkStats].JA4Clients too: the distinct
	// clients per intercepted or unknown JA4, which the new_fingerprint
	// rule judges. Off by default, as it is the dearest part of a query:
	// a HyperLogLog union per JA4 and network over the window.
	JA4Clients bool
}

// NetworkStats is one row of [Store.Top].
type NetworkStats struct {
	// Country is empty for GroupASN rows.
	Country string `json:"country,omitempty"`
	// ASN is 0 for GroupCountry rows (and for unknown ASNs).
	ASN uint32 `json:"asn,omitempty"`
	// ASOrg is the organisation name stored for ASN, if any.
	ASOrg string `json:"as_org,omitempty"`
	Counts
	// Share is Intercepted / Browser.
	Share float64 `json:"share"`
	// Clients estimates the distinct clients (HyperLogLog, about 1%
	// error); for country and ASN rows it is the sum over their networks.
	Clients uint64 `json:"clients"`
	// Products counts intercepted browser connections per product.
	Products map[string]uint64 `json:"products,omitempty"`
	// InterceptedJA4 and UnknownJA4 count browser connections per JA4 for
	// those two verdicts.
	InterceptedJA4 map[string]uint64 `json:"intercepted_ja4,omitempty"`
	UnknownJA4     map[string]uint64 `json:"unknown_ja4,omitempty"`
	// JA4Clients estimates, per JA4 of InterceptedJA4 and UnknownJA4, the
	// distinct clients whose browser connections carried it (either
	// verdict; HyperLogLog, about 1% error); for country and ASN rows it
	// is the sum over their networks, like Clients. A JA4 seen only from
	// connections without a client address has no entry. Nil unless
	// [TopQuery].JA4Clients asked for it.
	JA4Clients map[string]uint64 `json:"ja4_clients,omitempty"`
}

// SeriesQuery asks for one country, ASN or network over time.
type SeriesQuery struct {
	// Group says which of Country and ASN select: GroupNetwork both,
	// GroupCountry only Country, GroupASN only ASN. Default GroupNetwork.
	Group   Group
	Country string
	ASN     uint32
	// From and To bound the window as in [TopQuery].
	From, To time.Time
	// Step is the width of each point, a whole number of minutes.
	// Default 1 minute.
	Step time.Duration
}

// Point is one step of a series; steps without data have zero counts.
type Point struct {
	Start time.Time `json:"start"`
	Counts
	// Clients estimates distinct clients in the step (summed over networks
	// for country and ASN series).
	Clients uint64 `json:"clients"`
}

// FingerprintQuery asks for the JA4s first seen since a time.
type FingerprintQuery struct {
	// Since is the earliest first-seen time to report. Required.
	Since time.Time
	// Limit caps the fingerprints returned, newest first. Default 100;
	// negative means no limit.
	Limit int
}

// FingerprintSighting is one JA4 that intercepted or unknown browser
// connections carried.
type FingerprintSighting struct {
	JA4 string `json:"ja4"`
	// FirstSeen and LastSeen are the minutes it was first and last seen
	// anywhere (within the retention).
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// Networks says where it was seen, earliest first.
	Networks []FingerprintNetwork `json:"networks"`
	// Grade is the interceptor's TLS grade ("A", "B", "C", "F") of the
	// newest minute with a graded observation, on any node; "" when none
	// had one.
	Grade string `json:"grade,omitempty"`
	// Reasons are the union of the reasons of its verdicts, on all nodes,
	// as sentences; nil when none were recorded.
	Reasons []string `json:"reasons,omitempty"`
}

// setNote fills Grade and Reasons from a stored note (bits of reasons
// this build does not know are left out).
func (fs *FingerprintSighting) setNote(n JA4Note) {
	if n.Grade != fingerprints.GradeNone {
		fs.Grade = n.Grade.String()
	}
	if rs := n.Reasons.Strings(); len(rs) > 0 {
		fs.Reasons = rs
	}
}

// FingerprintNetwork is a network a fingerprint was seen in.
type FingerprintNetwork struct {
	Network
	ASOrg     string    `json:"as_org,omitempty"`
	FirstSeen time.Time `json:"first_seen"`
}

func (q *TopQuery) normalize() error {
	if q.From.IsZero() || q.To.IsZero() || !q.To.After(q.From) {
		return fmt.Errorf("alerts: top query window [%v, %v) is empty", q.From, q.To)
	}
	if int(q.Group) >= len(groupNames) {
		return fmt.Errorf("alerts: top query: unknown group %d", q.Group)
	}
	if q.Limit == 0 {
		q.Limit = 10
	}
	if q.MinBrowser == 0 {
		q.MinBrowser = 1
	}
	return nil
}

func (q *SeriesQuery) normalize() error {
	if q.From.IsZero() || q.To.IsZero() || !q.To.After(q.From) {
		return fmt.Errorf("alerts: series query window [%v, %v) is empty", q.From, q.To)
	}
	if int(q.Group) >= len(groupNames) {
		return fmt.Errorf("alerts: series query: unknown group %d", q.Group)
	}
	if q.Step == 0 {
		q.Step = time.Minute
	}
	if q.Step < time.Minute || q.Step%time.Minute != 0 {
		return fmt.Errorf("alerts: series query: step %v is not a whole number of minutes", q.Step)
	}
	return nil
}

// matches reports whether network n belongs to the series.
func (q *SeriesQuery) matches(n Network) bool {
	switch q.Group {
	case GroupCountry:
		return n.Country == q.Country
	case GroupASN:
		return n.ASN == q.ASN
	default:
		return n.Country == q.Country && n.ASN == q.ASN
	}
}

func (q *FingerprintQuery) normalize() error {
	if q.Since.IsZero() {
		return fmt.Errorf("alerts: fingerprint query: Since is required")
	}
	if q.Limit == 0 {
		q.Limit = 100
	}
	return nil
}

// networkWindow is one network's sums over a query window, what both stores
// compute before the shared grouping and ranking.
type networkWindow struct {
	network     Network
	counts      Counts
	clients     uint64
	products    map[string]uint64
	intercepted map[string]uint64
	unknown     map[string]uint64
	// ja4Clients estimates the distinct clients per intercepted or
	// unknown JA4 over the window (the union of its minutes).
	ja4Clients map[string]uint64
}

// rankTop groups per-network sums by q.Group, filters and sorts them by
// intercepted share (then intercepted count, then name), and applies the
// limit. orgs names ASNs.
func rankTop(q TopQuery, nets []networkWindow, orgs map[uint32]string) []NetworkStats {
	type key struct {
		country string
		asn     uint32
	}
	rows := make(map[key]*NetworkStats)
	for _, n := range nets {
		k := key{country: n.network.Country, asn: n.network.ASN}
		switch q.Group {
		case GroupCountry:
			k.asn = 0
		case GroupASN:
			k.country = ""
		}
		r := rows[k]
		if r == nil {
			r = &NetworkStats{Country: k.country, ASN: k.asn}
			if q.Group != GroupCountry {
				r.ASOrg = orgs[k.asn]
			}
			rows[k] = r
		}
		r.Counts.Add(n.counts)
		r.Clients += n.clients
		r.Products = addMap(r.Products, n.products)
		r.InterceptedJA4 = addMap(r.InterceptedJA4, n.intercepted)
		r.UnknownJA4 = addMap(r.UnknownJA4, n.unknown)
		r.JA4Clients = addMap(r.JA4Clients, n.ja4Clients)
	}
	out := make([]NetworkStats, 0, len(rows))
	for _, r := range rows {
		if r.Browser < q.MinBrowser {
			continue
		}
		r.Share = r.InterceptedShare()
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b NetworkStats) int {
		if c := cmp.Compare(b.Share, a.Share); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Intercepted, a.Intercepted); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Country, b.Country); c != 0 {
			return c
		}
		return cmp.Compare(a.ASN, b.ASN)
	})
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out
}

func addMap(dst, src map[string]uint64) map[string]uint64 {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = make(map[string]uint64, len(src))
	}
	for k, v := range src {
		dst[k] += v
	}
	return dst
}

// seriesPoints returns empty points covering [first, end) minutes in steps
// of stepMin minutes.
func seriesPoints(first, end, stepMin int64) []Point {
	n := (end - first + stepMin - 1) / stepMin
	pts := make([]Point, n)
	for i := range pts {
		pts[i].Start = minuteTime(first + int64(i)*stepMin)
	}
	return pts
}

// sortSightings orders fingerprints newest first (then by JA4) and applies
// the limit.
func sortSightings(out []FingerprintSighting, limit int) []FingerprintSighting {
	slices.SortFunc(out, func(a, b FingerprintSighting) int {
		if c := b.FirstSeen.Compare(a.FirstSeen); c != 0 {
			return c
		}
		return cmp.Compare(a.JA4, b.JA4)
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	for i := range out {
		slices.SortFunc(out[i].Networks, func(a, b FingerprintNetwork) int {
			if c := a.FirstSeen.Compare(b.FirstSeen); c != 0 {
				return c
			}
			if c := cmp.Compare(a.Country, b.Country); c != 0 {
				return c
			}
			return cmp.Compare(a.ASN, b.ASN)
		})
	}
	return out
}
