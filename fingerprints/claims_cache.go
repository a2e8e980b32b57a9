package fingerprints

import (
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
)

const (
	// defaultClaimCacheEntries is the capacity of a ClaimCache built with
	// NewClaimCache(0) or used as a zero value.
	defaultClaimCacheEntries = 4096
	// maxCachedUALen: User-Agents longer than this are parsed but never
	// cached, so that a stream of long garbage UAs cannot pin
	// entries × 8 KiB of memory or evict the real ones wholesale.
	maxCachedUALen = 512
	// maxCachedHintsLen bounds the three hints together for the same
	// reason (Chromium's three low-entropy hints total about 150 bytes).
	maxCachedHintsLen = 256
	// claimCacheShards splits the cache so that concurrent misses on
	// different User-Agents do not queue on one lock.
	claimCacheShards = 16
)

// ClaimCache memoises [ParseClaim]. User-Agent strings repeat heavily (a
// few hundred distinct values cover most traffic), so the parse is paid
// once per distinct header set, not once per request.
//
// A hit does not allocate. The cache holds at most its capacity in
// entries, each key at most maxCachedUALen+maxCachedHintsLen bytes (about
// 3 MiB for 4096 entries in the worst case); User-Agents over 512 bytes
// are parsed on every call and never stored. When a shard is full the
// entry to replace is chosen by the CLOCK algorithm (second chance): an
// entry hit since the hand last passed survives, so a flood of one-off
// User-Agents cycles through the cold entries and leaves the hot ones.
//
// The zero value is ready to use with the default capacity of 4096; a nil
// *ClaimCache parses every call without caching. A ClaimCache is safe for
// concurrent use and must not be copied after first use.
type ClaimCache struct {
	once   sync.Once
	max    int
	seed   maphash.Seed
	shards []claimShard

	uncacheable atomic.Uint64
}

// ClaimCacheStats are a ClaimCache's counters since it was created.
type ClaimCacheStats struct {
	// Hits counts calls answered from the cache.
	Hits uint64 `json:"hits"`
	// Misses counts calls that had to parse, Uncacheable included.
	Misses uint64 `json:"misses"`
	// Uncacheable counts calls whose headers were too long to cache.
	Uncacheable uint64 `json:"uncacheable"`
	// Evictions counts entries replaced to make room.
	Evictions uint64 `json:"evictions"`
	// Entries is the number of entries held now.
	Entries int `json:"entries"`
	// Capacity is the most entries the cache will hold.
	Capacity int `json:"capacity"`
}

// claimKey is the cache key: the four header values as given.
type claimKey struct {
	ua, ch, mobile, platform string
}

type claimEntry struct {
	key   claimKey
	claim Claim
	// ref is the CLOCK reference bit, set (atomically, under the read
	// lock) by a hit and cleared by the sweeping hand.
	ref uint32
}

type claimShard struct {
	mu      sync.RWMutex
	index   map[claimKey]int // position in entries
	entries []claimEntry
	cap     int
	hand    int

	hits, misses, evictions atomic.Uint64
	// keep shards' hot counters on separate cache lines.
	_ [64]byte
}

// NewClaimCache returns a cache holding at most maxEntries parsed claims;
// maxEntries <= 0 selects 4096.
func NewClaimCache(maxEntries int) *ClaimCache {
	c := &ClaimCache{max: maxEntries}
	c.once.Do(c.init)
	return c
}

func (c *ClaimCache) init() {
	if c.max <= 0 {
		c.max = defaultClaimCacheEntries
	}
	n := min(claimCacheShards, c.max)
	c.seed = maphash.MakeSeed()
	c.shards = make([]claimShard, n)
	for i := range c.shards {
		s := &c.shards[i]
		s.cap = c.max / n
		s.index = make(map[claimKey]int)
	}
}

// Get returns ParseClaim(userAgent, secCHUA, secCHUAMobile,
// secCHUAPlatform), from the cache when it was seen before.
func (c *ClaimCache) Get(userAgent, secCHUA, secCHUAMobile, secCHUAPlatform string) Claim {
	if c == nil {
		return ParseClaim(userAgent, secCHUA, secCHUAMobile, secCHUAPlatform)
	}
	c.once.Do(c.init)
	s := &c.shards[maphash.String(c.seed, userAgent)%uint64(len(c.shards))]
	if len(userAgent) > maxCachedUALen || len(secCHUA)+len(secCHUAMobile)+len(secCHUAPlatform) > maxCachedHintsLen {
		c.uncacheable.Add(1)
		s.misses.Add(1)
		return ParseClaim(userAgent, secCHUA, secCHUAMobile, secCHUAPlatform)
	}
	k := claimKey{userAgent, secCHUA, secCHUAMobile, secCHUAPlatform}

	s.mu.RLock()
	if i, ok := s.index[k]; ok {
		e := &s.entries[i]
		if atomic.LoadUint32(&e.ref) == 0 {
			atomic.StoreUint32(&e.ref, 1)
		}
		claim := e.claim
		s.mu.RUnlock()
		s.hits.Add(1)
		return claim
	}
	s.mu.RUnlock()

	s.misses.Add(1)
	claim := ParseClaim(userAgent, secCHUA, secCHUAMobile, secCHUAPlatform)
	s.insert(k, claim)
	return claim
}

// insert stores a parsed claim, replacing a cold entry when the shard is
// full.
func (s *claimShard) insert(k claimKey, claim Claim) {
	// Copy the strings: the caller's may be slices of a larger request
	// buffer that the cache must not keep alive.
	k = claimKey{strings.Clone(k.ua), strings.Clone(k.ch), strings.Clone(k.mobile), strings.Clone(k.platform)}

	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.index[k]; ok {
		return // another goroutine parsed the same headers meanwhile
	}
	if len(s.entries) < s.cap {
		s.entries = append(s.entries, claimEntry{key: k, claim: claim})
		s.index[k] = len(s.entries) - 1
		return
	}
	// CLOCK: advance the hand, clearing reference bits, to the first
	// entry not hit since the last pass. Ends within one full turn.
	for {
		e := &s.entries[s.hand]
		if atomic.LoadUint32(&e.ref) == 0 {
			break
		}
		atomic.StoreUint32(&e.ref, 0)
		s.hand = (s.hand + 1) % len(s.entries)
	}
	e := &s.entries[s.hand]
	delete(s.index, e.key)
	e.key, e.claim = k, claim
	atomic.StoreUint32(&e.ref, 0)
	s.index[k] = s.hand
	s.hand = (s.hand + 1) % len(s.entries)
	s.evictions.Add(1)
}

// Stats returns the cache's counters. The counts are read without
// stopping concurrent Gets, so under load they are a close snapshot rather
// than an exact one.
func (c *ClaimCache) Stats() ClaimCacheStats {
	if c == nil {
		return ClaimCacheStats{}
	}
	c.once.Do(c.init)
	st := ClaimCacheStats{Uncacheable: c.uncacheable.Load(), Capacity: 0}
	for i := range c.shards {
		s := &c.shards[i]
		st.Hits += s.hits.Load()
		st.Misses += s.misses.Load()
		st.Evictions += s.evictions.Load()
		st.Capacity += s.cap
		s.mu.RLock()
		st.Entries += len(s.entries)
		s.mu.RUnlock()
	}
	return st
}
