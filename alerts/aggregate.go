package alerts

import (
	"cmp"
	"slices"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// maxLabel caps the length of a product name or JA4 kept as a counter name
// (a JA4 is 36 characters), bounding what one observation can cost.
const maxLabel = 64

// cellKey is one network's minute inside an aggregate. The network is
// packed into an integer (ASN << 16 | country index) so the key hashes as
// two words, not as a string.
type cellKey struct {
	minute int64
	net    uint64
}

// Kinds of per-cell string counters.
const (
	subProduct uint8 = iota
	subInterceptedJA4
	subUnknownJA4
)

// subKey is a product or JA4 counter of one cell; cell indexes
// aggregate.rows, so the key stays small and cheap to hash.
type subKey struct {
	cell int32
	kind uint8
	name string
}

// clientKey is one distinct client hash in one cell.
type clientKey struct {
	cell int32
	hash uint64
}

// ja4ClientKey is one distinct client hash that carried an intercepted or
// unknown JA4 (clipped) in one cell. The verdict is not part of the key:
// the new_fingerprint rule counts a JA4's clients whatever its verdict.
type ja4ClientKey struct {
	cell int32
	name string
	hash uint64
}

type row struct {
	network Network
	minute  int64
	counts  Counts
}

// aggregate is the pre-aggregation of one shard between two flushes. All
// maps are flat (no per-cell maps) and are cleared, not reallocated, after
// each flush, so a steady stream of observations over the same networks
// allocates nothing.
type aggregate struct {
	cells   map[cellKey]int32
	rows    []row
	subs    map[subKey]uint64
	clients map[clientKey]struct{}
	// ja4Clients holds the clients of each cell's intercepted and unknown
	// browser JA4s.
	ja4Clients map[ja4ClientKey]struct{}
	// orgs holds the first AS organisation name seen per ASN.
	orgs map[uint32]string
	// notes holds, per clipped JA4 of intercepted and unknown browser
	// observations, the latest grade other than none and the union of
	// reasons; the shard's minutes and networks share one entry.
	notes map[string]JA4Note
}

func newAggregate() *aggregate {
	return &aggregate{
		cells:      make(map[cellKey]int32),
		subs:       make(map[subKey]uint64),
		clients:    make(map[clientKey]struct{}),
		ja4Clients: make(map[ja4ClientKey]struct{}),
		orgs:       make(map[uint32]string),
		notes:      make(map[string]JA4Note),
	}
}

// add counts one observation. country is the normalised code and
// countryIdx its index in the recorder's table.
func (a *aggregate) add(minute int64, country string, countryIdx uint16, o *Observation, client uint64, hasClient bool) {
	k := cellKey{minute: minute, net: uint64(o.ASN)<<16 | uint64(countryIdx)}
	ci, ok := a.cells[k]
	if !ok {
		ci = int32(len(a.rows))
		a.rows = append(a.rows, row{network: Network{Country: country, ASN: o.ASN}, minute: minute})
		a.cells[k] = ci
		if o.ASOrg != "" {
			if _, seen := a.orgs[o.ASN]; !seen {
				a.orgs[o.ASN] = o.ASOrg
			}
		}
	}
	a.rows[ci].counts.add(o.Browser, o.Verdict)
	if o.Browser && (o.Verdict == VerdictIntercepted || o.Verdict == VerdictUnknown) {
		kind := subUnknownJA4
		if o.Verdict == VerdictIntercepted {
			kind = subInterceptedJA4
			if o.Product != "" {
				a.subs[subKey{cell: ci, kind: subProduct, name: clip(o.Product)}]++
			}
		}
		if o.JA4 != "" {
			ja4 := clip(o.JA4)
			a.subs[subKey{cell: ci, kind: kind, name: ja4}]++
			if hasClient {
				a.ja4Clients[ja4ClientKey{cell: ci, name: ja4, hash: client}] = struct{}{}
			}
			if o.Grade != fingerprints.GradeNone || o.Reasons != 0 {
				// A known JA4 is updated in place: no allocation.
				a.notes[ja4] = a.notes[ja4].merge(JA4Note{Grade: o.Grade, Reasons: o.Reasons})
			}
		}
	}
	if hasClient {
		a.clients[clientKey{cell: ci, hash: client}] = struct{}{}
	}
}

func clip(s string) string {
	if len(s) > maxLabel {
		return s[:maxLabel]
	}
	return s
}

// observations returns how many observations the aggregate holds.
func (a *aggregate) observations() uint64 {
	var n uint64
	for i := range a.rows {
		n += a.rows[i].counts.Connections
	}
	return n
}

// appendBuckets appends one Bucket per cell to dst.
func (a *aggregate) appendBuckets(dst []Bucket) []Bucket {
	base := len(dst)
	for _, r := range a.rows {
		dst = append(dst, Bucket{Network: r.network, Minute: r.minute, Counts: r.counts})
	}
	for k, v := range a.subs {
		b := &dst[base+int(k.cell)]
		switch k.kind {
		case subProduct:
			b.Products = inc(b.Products, k.name, v)
		case subInterceptedJA4:
			b.InterceptedJA4 = inc(b.InterceptedJA4, k.name, v)
		case subUnknownJA4:
			b.UnknownJA4 = inc(b.UnknownJA4, k.name, v)
		}
	}
	for k := range a.clients {
		b := &dst[base+int(k.cell)]
		b.Clients = append(b.Clients, k.hash)
	}
	for k := range a.ja4Clients {
		b := &dst[base+int(k.cell)]
		if b.JA4Clients == nil {
			b.JA4Clients = make(map[string][]uint64)
		}
		b.JA4Clients[k.name] = append(b.JA4Clients[k.name], k.hash)
	}
	for i := base; i < len(dst); i++ {
		slices.Sort(dst[i].Clients)
		for _, hs := range dst[i].JA4Clients {
			slices.Sort(hs)
		}
	}
	return dst
}

func inc(m map[string]uint64, k string, v uint64) map[string]uint64 {
	if m == nil {
		m = make(map[string]uint64)
	}
	m[k] += v
	return m
}

// reset empties the aggregate, keeping the maps' and slice's capacity.
func (a *aggregate) reset() {
	clear(a.cells)
	clear(a.subs)
	clear(a.clients)
	clear(a.ja4Clients)
	clear(a.orgs)
	clear(a.notes)
	a.rows = a.rows[:0]
}

// sortBuckets orders buckets by network, then minute, so batches are
// deterministic.
func sortBuckets(bs []Bucket) {
	slices.SortFunc(bs, func(a, b Bucket) int {
		if c := cmp.Compare(a.Network.Country, b.Network.Country); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Network.ASN, b.Network.ASN); c != 0 {
			return c
		}
		return cmp.Compare(a.Minute, b.Minute)
	})
}
