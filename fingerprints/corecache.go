package fingerprints

import (
	"bytes"
	"hash/maphash"
	"slices"
	"sync"
	"sync/atomic"
)

// Sizes of a coreCache.
const (
	// defaultCoreCacheSlots is the number of hello shapes a Classifier's
	// cache holds (a power of two). A site sees a few hundred shapes for
	// most of its traffic: each browser version, each TLS library and each
	// interception product has one.
	defaultCoreCacheSlots = 1024
	// maxCoreKey bounds a shape key; a hello whose key would be longer
	// (hundreds of ciphers or extensions, which only a hostile or broken
	// client sends) is fingerprinted without the cache.
	maxCoreKey = 512
	// maxCoreExts bounds the extension list a key is built from.
	maxCoreExts = 64
)

// coreCache remembers [ClientHello.CoreFingerprints] per hello shape: the
// fields JA3 and JA4 are computed from, GREASE values left out. Every
// connection of a client sends a hello of the same shape (the random, the
// session ID, the key shares and the server name change; none of them
// enters JA3 or JA4), so on a busy edge almost every connection finds its
// fingerprints here instead of formatting, sorting and hashing them
// (docs/benchmarks.md has the figures).
//
// The key holds the extension types sorted, so that Chrome, which
// shuffles its extensions per connection, finds its JA4 too; JA3, which
// is in wire order, is reused only when the order is the one the entry was
// computed for, and computed again otherwise.
//
// It is a two-way set-associative table of immutable entries behind
// atomic pointers: a lookup takes no lock and a hit allocates nothing. A
// miss computes the fingerprints and evicts the earlier stored of its set, so
// two hot shapes whose keys hash to one set both stay, and a flood of unique
// shapes costs three small allocations per connection more than no cache
// (the entry, its key and its extension list) and evicts, but it cannot
// grow the table or make an answer wrong: an entry is used only when its
// whole key is equal.
type coreCache struct {
	once  sync.Once
	size  int // slots; 0 means defaultCoreCacheSlots
	seed  maphash.Seed
	slots []atomic.Pointer[coreEntry]

	hits, reordered, misses, uncacheable atomic.Uint64
}

// coreEntry is one remembered shape. It is never modified once stored.
type coreEntry struct {
	key []byte
	// wire is the non-GREASE extension types in the order fps.JA3 was
	// computed for.
	wire []uint16
	fps  Fingerprints
}

// CoreCacheStats are the counters of a Classifier's fingerprint cache
// since the Classifier was created.
type CoreCacheStats struct {
	// Hits counts hellos whose JA3 and JA4 both came from the cache.
	Hits uint64 `json:"hits"`
	// Reordered counts hellos whose JA4 came from the cache and whose JA3
	// was computed, as their extensions came in another order (Chrome).
	Reordered uint64 `json:"reordered"`
	// Misses counts hellos of a shape the cache did not hold.
	Misses uint64 `json:"misses"`
	// Uncacheable counts hellos too large to be keyed, fingerprinted
	// without the cache.
	Uncacheable uint64 `json:"uncacheable"`
}

func (c *coreCache) init() {
	n := c.size
	if n <= 0 {
		n = defaultCoreCacheSlots
	}
	c.seed = maphash.MakeSeed()
	c.slots = make([]atomic.Pointer[coreEntry], n)
}

// fingerprints returns h.CoreFingerprints(), from the cache when h's
// shape is in it.
func (c *coreCache) fingerprints(h *ClientHello) Fingerprints {
	var (
		wbuf, sbuf [maxCoreExts]uint16
		kbuf       [maxCoreKey]byte
	)
	wire := wbuf[:0]
	for i := range h.Extensions {
		if t := h.Extensions[i].Type; !IsGREASE(t) {
			if len(wire) == maxCoreExts {
				c.uncacheable.Add(1)
				return h.CoreFingerprints()
			}
			wire = append(wire, t)
		}
	}
	key, ok := appendCoreKey(kbuf[:0], h, append(sbuf[:0], wire...))
	if !ok {
		c.uncacheable.Add(1)
		return h.CoreFingerprints()
	}
	c.once.Do(c.init)
	// The key's set: two adjacent slots (one in a one-slot table).
	i := maphash.Bytes(c.seed, key) & uint64(len(c.slots)-1)
	set := c.slots[i&^1 : min(i|1, uint64(len(c.slots)-1))+1]
	for w := range set {
		e := set[w].Load()
		if e == nil || !bytes.Equal(e.key, key) {
			continue
		}
		if slices.Equal(e.wire, wire) {
			c.hits.Add(1)
			return e.fps
		}
		c.reordered.Add(1)
		f := e.fps
		f.JA3, f.JA3Hash = h.coreJA3()
		return f
	}
	c.misses.Add(1)
	f := h.CoreFingerprints()
	// The new entry goes first and the first moves second, evicting the
	// second: two shapes that share a set and take turns both stay (with
	// one slot each they would evict each other every time), and a hit
	// writes nothing. Concurrent misses may lose or repeat an entry,
	// which costs a later miss, never a wrong answer.
	if len(set) > 1 {
		set[1].Store(set[0].Load())
	}
	set[0].Store(&coreEntry{key: bytes.Clone(key), wire: slices.Clone(wire), fps: f})
	return f
}

func (c *coreCache) stats() CoreCacheStats {
	return CoreCacheStats{
		Hits:        c.hits.Load(),
		Reordered:   c.reordered.Load(),
		Misses:      c.misses.Load(),
		Uncacheable: c.uncacheable.Load(),
	}
}

// appendCoreKey appends h's shape to b: every input of JA3 and JA4 but the
// order of the extensions, each list with its length so that no two
// shapes share a key. exts is the non-GREASE extension types, sorted here
// in place. ok is false when the key would exceed maxCoreKey.
func appendCoreKey(b []byte, h *ClientHello, exts []uint16) (key []byte, ok bool) {
	if 6+2*4+1+2*(len(h.CipherSuites)+len(exts)+len(h.SupportedGroups)+len(h.SignatureAlgorithms))+
		len(h.ECPointFormats) > maxCoreKey {
		return b, false
	}
	b = appendU16(b, h.Version)
	b = appendU16(b, h.MaxVersion())
	b = appendALPN(b, h.ALPN)
	b = appendU16List(b, h.CipherSuites)
	// Insertion sort: a hello has about 16 extensions, and slices.Sort's
	// generic entry point costs more than the sort at that size.
	for i := 1; i < len(exts); i++ {
		for j := i; j > 0 && exts[j] < exts[j-1]; j-- {
			exts[j], exts[j-1] = exts[j-1], exts[j]
		}
	}
	b = appendU16List(b, exts)
	b = appendU16List(b, h.SupportedGroups)
	b = appendU16List(b, h.SignatureAlgorithms)
	b = append(b, byte(len(h.ECPointFormats)))
	return append(b, h.ECPointFormats...), len(h.ECPointFormats) <= 0xff
}

func appendU16(b []byte, v uint16) []byte { return append(b, byte(v>>8), byte(v)) }

// appendU16List appends the count of list's non-GREASE values, then the
// values.
func appendU16List(b []byte, list []uint16) []byte {
	at := len(b)
	b = append(b, 0, 0)
	n := 0
	for _, v := range list {
		if !IsGREASE(v) {
			b = appendU16(b, v)
			n++
		}
	}
	b[at], b[at+1] = byte(n>>8), byte(n)
	return b
}
