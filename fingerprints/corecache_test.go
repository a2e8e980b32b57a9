package fingerprints

import (
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// TestCoreCacheAgreesOnEveryCapture: for every hello in testdata, the
// cache's answer is CoreFingerprints', when the shape is new and when it
// is remembered.
func TestCoreCacheAgreesOnEveryCapture(t *testing.T) {
	var c coreCache
	files := captureFiles(t)
	for round := range 2 {
		for _, name := range files {
			_, h := readCapture(t, name)
			if got, want := c.fingerprints(h), h.CoreFingerprints(); got != want {
				t.Errorf("%s, round %d: cached %+v, want %+v", filepath.Base(name), round, got, want)
			}
		}
	}
	st := c.stats()
	if st.Hits < uint64(len(files)) || st.Misses == 0 || st.Misses > uint64(len(files)) || st.Uncacheable != 0 {
		t.Errorf("stats %+v after two rounds of %d hellos: want every hello of the second round a hit", st, len(files))
	}
}

// TestCoreCacheKeyCoversEveryInput: a hello that differs from a
// remembered one in any field JA3 or JA4 reads gets its own fingerprints,
// not the remembered ones; one that differs only in GREASE values or in
// what neither reads gets the remembered ones. The cache has one slot, so
// every lookup meets the base hello's entry.
func TestCoreCacheKeyCoversEveryInput(t *testing.T) {
	_, base := readCapture(t, filepath.Join("..", "testdata", "clienthello", "chromium-156-direct.hex"))
	if !slices.ContainsFunc(base.CipherSuites, IsGREASE) || len(base.ALPN) == 0 || len(base.ECPointFormats) == 0 {
		t.Fatal("the base hello must have GREASE, ALPN and EC point formats for these cases")
	}
	tests := []struct {
		name   string
		change func(h *ClientHello)
		same   bool // the fingerprints stay the base's
	}{
		{name: "legacy_version", change: func(h *ClientHello) { h.Version = 0x0301 }},
		{name: "supported_versions", change: func(h *ClientHello) { h.SupportedVersions = []uint16{0x0303} }},
		{name: "alpn_first_value", change: func(h *ClientHello) { h.ALPN = []string{"http/1.1", "h2"} }},
		{name: "alpn_none", change: func(h *ClientHello) { h.ALPN = nil }},
		{name: "cipher_dropped", change: func(h *ClientHello) { h.CipherSuites = h.CipherSuites[:len(h.CipherSuites)-1] }},
		{name: "cipher_order", change: func(h *ClientHello) { swapLastTwo(h.CipherSuites) }},
		{name: "extension_dropped", change: func(h *ClientHello) {
			h.Extensions = slices.DeleteFunc(h.Extensions, func(e Extension) bool { return e.Type == ExtServerName })
		}},
		{name: "extension_added", change: func(h *ClientHello) {
			h.Extensions = append(h.Extensions, Extension{Type: 0x4469})
		}},
		{name: "group_changed", change: func(h *ClientHello) { h.SupportedGroups[len(h.SupportedGroups)-1]++ }},
		{name: "group_order", change: func(h *ClientHello) { swapLastTwo(h.SupportedGroups) }},
		{name: "point_format_value", change: func(h *ClientHello) { h.ECPointFormats[0] ^= 2 }},
		{name: "point_format_added", change: func(h *ClientHello) { h.ECPointFormats = append(h.ECPointFormats, 1) }},
		{name: "signature_algorithm", change: func(h *ClientHello) { h.SignatureAlgorithms[0]++ }},
		{name: "signature_algorithm_order", change: func(h *ClientHello) { swapLastTwo(h.SignatureAlgorithms) }},
		{name: "signature_algorithms_none", change: func(h *ClientHello) { h.SignatureAlgorithms = nil }},
		{name: "other_grease_values", same: true, change: func(h *ClientHello) {
			for _, list := range [][]uint16{h.CipherSuites, h.SupportedGroups, h.SupportedVersions} {
				for i, v := range list {
					if IsGREASE(v) {
						list[i] = v ^ 0x1010
					}
				}
			}
		}},
		{name: "server_name_and_random", same: true, change: func(h *ClientHello) {
			h.ServerName, h.Random = "other.example", make([]byte, 32)
		}},
		{name: "key_share_groups", same: true, change: func(h *ClientHello) { h.KeyShareGroups = []uint16{0x001d} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := coreCache{size: 1}
			want := base.CoreFingerprints()
			if got := c.fingerprints(base); got != want {
				t.Fatalf("base: %+v, want %+v", got, want)
			}
			h := cloneHello(base)
			tt.change(h)
			own := h.CoreFingerprints()
			if (own == want) != tt.same {
				t.Fatalf("the change leaves the fingerprints the same: %v, want %v (the case tests nothing)", own == want, tt.same)
			}
			if got := c.fingerprints(h); got != own {
				t.Errorf("cached %+v, want the hello's own %+v", got, own)
			}
			if st := c.stats(); tt.same != (st.Hits == 1) {
				t.Errorf("stats %+v: want a hit %v", st, tt.same)
			}
		})
	}
}

// TestCoreCacheShuffledExtensions: a hello whose extensions come in
// another order, as Chrome's do on every connection, takes its JA4 from
// the cache and gets the JA3 of its own order.
func TestCoreCacheShuffledExtensions(t *testing.T) {
	_, base := readCapture(t, filepath.Join("..", "testdata", "clienthello", "chromium-156-direct.hex"))
	var c coreCache
	c.fingerprints(base)
	rng := rand.New(rand.NewPCG(5, 6))
	const conns = 50
	for i := range conns {
		// The same Chromium's next connection: another extension order,
		// other GREASE values (reshuffle, as in the classifier's tests).
		h, err := ParseHandshake(reshuffle(base, rng))
		if err != nil {
			t.Fatal(err)
		}
		want := h.CoreFingerprints()
		if want.JA4 != base.JA4() {
			t.Fatalf("connection %d: reshuffling changed JA4", i)
		}
		if got := c.fingerprints(h); got != want {
			t.Errorf("connection %d: cached %+v, want the hello's own %+v", i, got, want)
		}
	}
	if st := c.stats(); st.Misses != 1 || st.Reordered < conns-1 || st.Hits+st.Reordered != conns {
		t.Errorf("stats %+v: want the first hello a miss and the %d reshuffled ones JA4 hits, their JA3 computed", st, conns)
	}
	// The entry keeps the order it was made for.
	hits := c.stats().Hits
	if got := c.fingerprints(base); got != base.CoreFingerprints() {
		t.Errorf("base after the shuffled hellos: %+v", got)
	}
	if st := c.stats(); st.Hits != hits+1 {
		t.Errorf("stats %+v: want the base's order a hit", st)
	}
}

// TestCoreCacheTooLargeIsComputed: a hello with more extensions than a
// key holds is fingerprinted without the cache, and correctly.
func TestCoreCacheTooLargeIsComputed(t *testing.T) {
	_, base := readCapture(t, filepath.Join("..", "testdata", "clienthello", "chromium-156-direct.hex"))
	h := cloneHello(base)
	for i := range maxCoreExts {
		h.Extensions = append(h.Extensions, Extension{Type: uint16(0x5000 + i)})
	}
	var c coreCache
	for range 2 {
		if got, want := c.fingerprints(h), h.CoreFingerprints(); got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
	}
	if st := c.stats(); st.Uncacheable != 2 || st.Hits+st.Misses != 0 {
		t.Errorf("stats %+v: want two uncacheable lookups", st)
	}
}

// TestCoreCacheConcurrent: lookups from many goroutines, of shapes that
// evict each other from a small table, all get their own hello's
// fingerprints (run with -race).
func TestCoreCacheConcurrent(t *testing.T) {
	var hellos []*ClientHello
	for _, name := range captureFiles(t) {
		_, h := readCapture(t, name)
		hellos = append(hellos, h)
	}
	want := make([]Fingerprints, len(hellos))
	for i, h := range hellos {
		want[i] = h.CoreFingerprints()
	}
	c := coreCache{size: 4}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				k := (g*7 + i) % len(hellos)
				if got := c.fingerprints(hellos[k]); got != want[k] {
					t.Errorf("hello %d: %+v, want %+v", k, got, want[k])
					return
				}
			}
		})
	}
	wg.Wait()
}

// cloneHello copies the fields the fingerprints read, so that a test can
// change them without touching the original.
func cloneHello(h *ClientHello) *ClientHello {
	c := *h
	c.CipherSuites = slices.Clone(h.CipherSuites)
	c.Extensions = slices.Clone(h.Extensions)
	c.ALPN = slices.Clone(h.ALPN)
	c.SupportedGroups = slices.Clone(h.SupportedGroups)
	c.ECPointFormats = slices.Clone(h.ECPointFormats)
	c.SignatureAlgorithms = slices.Clone(h.SignatureAlgorithms)
	c.SupportedVersions = slices.Clone(h.SupportedVersions)
	c.KeyShareGroups = slices.Clone(h.KeyShareGroups)
	return &c
}

func swapLastTwo(s []uint16) {
	// The last two non-GREASE values, so that the swap is visible.
	i, j := -1, -1
	for k := len(s) - 1; k >= 0 && j < 0; k-- {
		if IsGREASE(s[k]) {
			continue
		}
		if i < 0 {
			i = k
		} else {
			j = k
		}
	}
	s[i], s[j] = s[j], s[i]
}

// BenchmarkCoreCache is Classifier.CoreFingerprints for a hello whose
// shape is remembered (hit), the same shape with its extensions in another
// order (reordered: Chrome on every new connection), a hello the cache
// cannot hold, and shapes that keep evicting each other (miss). Compare with BenchmarkCoreFingerprints, the computation
// without the cache.
//
//	go test ./fingerprints -run '^$' -bench 'CoreCache|CoreFingerprints$' -benchmem -count 6
func BenchmarkCoreCache(b *testing.B) {
	h, _ := ParseClientHello(chrome133Record(b))
	shuffled := cloneHello(h)
	slices.Reverse(shuffled.Extensions)
	big := cloneHello(h)
	for i := range maxCoreExts {
		big.Extensions = append(big.Extensions, Extension{Type: uint16(0x5000 + i)})
	}
	for _, bc := range []struct {
		name string
		h    *ClientHello
	}{{"hit", h}, {"reordered", shuffled}, {"uncacheable", big}} {
		b.Run(bc.name, func(b *testing.B) {
			var c coreCache
			c.fingerprints(h)
			b.ReportAllocs()
			for b.Loop() {
				_ = c.fingerprints(bc.h)
			}
		})
	}
	// Two shapes taking turns in one slot: every lookup misses.
	other := cloneHello(h)
	other.CipherSuites = other.CipherSuites[:len(other.CipherSuites)-1]
	b.Run("miss", func(b *testing.B) {
		c := coreCache{size: 1}
		pair := [2]*ClientHello{h, other}
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			_ = c.fingerprints(pair[i&1])
			i++
		}
		if st := c.stats(); st.Hits+st.Reordered != 0 {
			b.Fatalf("stats %+v: want only misses", st)
		}
	})
}

// TestCoreCacheTwoShapesInOneSetBothStay: two shapes whose keys land in
// the same set, taking turns as two client stacks' connections do, are
// both remembered after their first miss. A table of two slots is one set,
// so every seed puts them together; with one slot per key (direct mapping)
// they would evict each other whenever their hashes picked the same slot,
// which one of the eight seeds here all but surely does.
func TestCoreCacheTwoShapesInOneSetBothStay(t *testing.T) {
	_, a := readCapture(t, filepath.Join("..", "testdata", "clienthello", "chromium-156-direct.hex"))
	_, b := readCapture(t, filepath.Join("..", "testdata", "clienthello", "firefox-esr-153-direct.hex"))
	for seed := range 8 {
		c := coreCache{size: 2}
		for range 10 {
			c.fingerprints(a)
			c.fingerprints(b)
		}
		if st := c.stats(); st.Misses != 2 || st.Hits != 18 {
			t.Fatalf("table %d: stats %+v, want 2 misses then 18 hits", seed, st)
		}
	}
}
