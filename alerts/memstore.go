package alerts

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// MemoryStore is the embedded [Store]: everything in this process's memory,
// the default for a single node. It prunes minute buckets older than the
// batches' Retention as batches arrive. The zero value is not usable; call
// [NewMemoryStore].
type MemoryStore struct {
	mu     sync.RWMutex
	nets   map[Network]map[int64]*memBucket
	fps    map[string]*memFingerprint
	orgs   map[uint32]string
	acks   map[string]uint64 // node → last applied Seq
	oldest int64             // minutes before this were pruned
	// oldestJA4Clients: minutes before this lost their per-JA4 clients.
	oldestJA4Clients int64
}

type memBucket struct {
	counts      Counts
	products    map[string]uint64
	intercepted map[string]uint64
	unknown     map[string]uint64
	clients     hll
	// ja4Clients holds the clients per intercepted or unknown JA4.
	ja4Clients map[string]*hll
}

type memFingerprint struct {
	first, last int64
	nets        map[Network]int64 // first-seen minute per network
	// note is the grade other than none of the newest minute and the
	// union of reasons of the batches' JA4Notes; noteAt is the minute of
	// that grade (the last minute of the JA4 in the batch that gave it).
	note   JA4Note
	noteAt int64
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty memory store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{
		nets: make(map[Network]map[int64]*memBucket),
		fps:  make(map[string]*memFingerprint),
		orgs: make(map[uint32]string),
		acks: make(map[string]uint64),
	}
}

// Apply adds b under one lock, so it is all or nothing; a batch whose Seq
// is not above the node's last applied one is ignored (a retry).
func (s *MemoryStore) Apply(ctx context.Context, b *Batch) error {
	if b == nil {
		return errors.New("alerts: memory store: nil batch")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if b.Seq <= s.acks[b.Node] {
		return nil
	}
	s.acks[b.Node] = b.Seq
	// noted is the last minute of each noted JA4 in the batch, the
	// minute its grade speaks for.
	var noted map[string]int64
	if len(b.JA4Notes) > 0 {
		noted = make(map[string]int64, len(b.JA4Notes))
	}
	for i := range b.Buckets {
		bk := &b.Buckets[i]
		byMin := s.nets[bk.Network]
		if byMin == nil {
			byMin = make(map[int64]*memBucket)
			s.nets[bk.Network] = byMin
		}
		m := byMin[bk.Minute]
		if m == nil {
			m = &memBucket{}
			byMin[bk.Minute] = m
		}
		m.counts.Add(bk.Counts)
		m.products = addMap(m.products, bk.Products)
		m.intercepted = addMap(m.intercepted, bk.InterceptedJA4)
		m.unknown = addMap(m.unknown, bk.UnknownJA4)
		for _, c := range bk.Clients {
			m.clients.add(c)
		}
		for ja4, hs := range bk.JA4Clients {
			h := m.ja4Clients[ja4]
			if h == nil {
				if m.ja4Clients == nil {
					m.ja4Clients = make(map[string]*hll)
				}
				h = &hll{}
				m.ja4Clients[ja4] = h
			}
			for _, c := range hs {
				h.add(c)
			}
		}
		for _, ja4s := range []map[string]uint64{bk.InterceptedJA4, bk.UnknownJA4} {
			for ja4 := range ja4s {
				s.sawFingerprint(ja4, bk.Network, bk.Minute)
				if _, ok := b.JA4Notes[ja4]; ok {
					if at, seen := noted[ja4]; !seen || bk.Minute > at {
						noted[ja4] = bk.Minute
					}
				}
			}
		}
	}
	for ja4, note := range b.JA4Notes {
		// Notes ride with the fingerprint index: a JA4 the buckets did
		// not index has nowhere to keep them.
		f := s.fps[ja4]
		if f == nil {
			continue
		}
		f.note.Reasons |= note.Reasons
		if note.Grade == fingerprints.GradeNone {
			continue
		}
		// The grade of the newest minute wins, as in fingerprintLua.
		if at := noted[ja4]; f.note.Grade == fingerprints.GradeNone || at >= f.noteAt {
			f.note.Grade, f.noteAt = note.Grade, at
		}
	}
	for asn, name := range b.ASOrgs {
		s.orgs[asn] = name
	}
	if b.Retention > 0 {
		s.prune(minuteOf(b.Time.Add(-b.Retention)), minuteOf(b.Time.Add(-min(b.Retention, JA4ClientRetention))))
	}
	return nil
}

func (s *MemoryStore) sawFingerprint(ja4 string, n Network, minute int64) {
	f := s.fps[ja4]
	if f == nil {
		f = &memFingerprint{first: minute, last: minute, nets: make(map[Network]int64)}
		s.fps[ja4] = f
	}
	f.first = min(f.first, minute)
	f.last = max(f.last, minute)
	if m, ok := f.nets[n]; !ok || minute < m {
		f.nets[n] = minute
	}
}

// prune drops buckets of minutes before cutoff and fingerprints not seen
// since, and the per-JA4 clients of minutes before ja4Cutoff (their
// shorter JA4ClientRetention), as Redis's TTLs would; one walk for both.
func (s *MemoryStore) prune(cutoff, ja4Cutoff int64) {
	if cutoff <= s.oldest && ja4Cutoff <= s.oldestJA4Clients {
		return
	}
	s.oldest, s.oldestJA4Clients = max(s.oldest, cutoff), max(s.oldestJA4Clients, ja4Cutoff)
	for n, byMin := range s.nets {
		for m, b := range byMin {
			switch {
			case m < cutoff:
				delete(byMin, m)
			case m < ja4Cutoff:
				b.ja4Clients = nil
			}
		}
		if len(byMin) == 0 {
			delete(s.nets, n)
		}
	}
	for ja4, f := range s.fps {
		if f.last < cutoff {
			delete(s.fps, ja4)
		}
	}
}

// window sums each network's buckets over minutes [first, end) for the
// networks keep accepts; withJA4, it also counts each JA4's clients.
func (s *MemoryStore) window(first, end int64, keep func(Network) bool, withJA4 bool) []networkWindow {
	var out []networkWindow
	for n, byMin := range s.nets {
		if keep != nil && !keep(n) {
			continue
		}
		w := networkWindow{network: n}
		var u hll
		var ja4u map[string]*hll
		found := false
		for m, b := range byMin {
			if m < first || m >= end {
				continue
			}
			found = true
			w.counts.Add(b.counts)
			w.products = addMap(w.products, b.products)
			w.intercepted = addMap(w.intercepted, b.intercepted)
			w.unknown = addMap(w.unknown, b.unknown)
			u.merge(&b.clients)
			if !withJA4 {
				continue
			}
			for ja4, h := range b.ja4Clients {
				if ja4u == nil {
					ja4u = make(map[string]*hll)
				}
				if ja4u[ja4] == nil {
					ja4u[ja4] = &hll{}
				}
				ja4u[ja4].merge(h)
			}
		}
		if found {
			w.clients = u.count()
			if len(ja4u) > 0 {
				w.ja4Clients = make(map[string]uint64, len(ja4u))
				for ja4, h := range ja4u {
					w.ja4Clients[ja4] = h.count()
				}
			}
			out = append(out, w)
		}
	}
	return out
}

// Top implements [Store.Top].
func (s *MemoryStore) Top(ctx context.Context, q TopQuery) ([]NetworkStats, error) {
	if err := q.normalize(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	first, end := minuteRange(q.From, q.To)
	s.mu.RLock()
	defer s.mu.RUnlock()
	return rankTop(q, s.window(first, end, nil, q.JA4Clients), s.orgs), nil
}

// Series implements [Store.Series].
func (s *MemoryStore) Series(ctx context.Context, q SeriesQuery) ([]Point, error) {
	if err := q.normalize(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	first, end := minuteRange(q.From, q.To)
	step := int64(q.Step / time.Minute)
	pts := seriesPoints(first, end, step)
	s.mu.RLock()
	defer s.mu.RUnlock()
	for n, byMin := range s.nets {
		if !q.matches(n) {
			continue
		}
		us := make([]hll, len(pts))
		for m, b := range byMin {
			if m < first || m >= end {
				continue
			}
			i := (m - first) / step
			pts[i].Counts.Add(b.counts)
			us[i].merge(&b.clients)
		}
		for i := range us {
			pts[i].Clients += us[i].count()
		}
	}
	return pts, nil
}

// NewFingerprints implements [Store.NewFingerprints].
func (s *MemoryStore) NewFingerprints(ctx context.Context, q FingerprintQuery) ([]FingerprintSighting, error) {
	if err := q.normalize(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	since := minuteOf(q.Since)
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []FingerprintSighting
	for ja4, f := range s.fps {
		if f.first < since {
			continue
		}
		fs := FingerprintSighting{JA4: ja4, FirstSeen: minuteTime(f.first), LastSeen: minuteTime(f.last)}
		fs.setNote(f.note)
		for n, m := range f.nets {
			fs.Networks = append(fs.Networks, FingerprintNetwork{Network: n, ASOrg: s.orgs[n.ASN], FirstSeen: minuteTime(m)})
		}
		out = append(out, fs)
	}
	return sortSightings(out, q.Limit), nil
}
