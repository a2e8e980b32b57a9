package fingerprints

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

const (
	cacheTestUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/133.0.0.0 Safari/537.36"
	cacheTestCH = `"Not(A:Brand";v="99", "Google Chrome";v="133", "Chromium";v="133"`
)

// uniqueUA returns a distinct, realistic User-Agent for i.
func uniqueUA(i int) string {
	return fmt.Sprintf("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/%d.0.0.0 Safari/537.36", 100+i)
}

func TestClaimCacheHitAndMiss(t *testing.T) {
	c := NewClaimCache(0)
	want := ParseClaim(cacheTestUA, cacheTestCH, "?0", `"Windows"`)
	for i := range 3 {
		if got := c.Get(cacheTestUA, cacheTestCH, "?0", `"Windows"`); got != want {
			t.Fatalf("call %d = %+v, want %+v", i, got, want)
		}
	}
	// Same UA, different hints: a different key, not a stale hit.
	brave := c.Get(cacheTestUA, `"Brave";v="133", "Chromium";v="133"`, "?0", `"Windows"`)
	if brave.Product != "brave" {
		t.Errorf("hints are part of the key: got product %q, want brave", brave.Product)
	}
	st := c.Stats()
	if st.Hits != 2 || st.Misses != 2 || st.Entries != 2 || st.Uncacheable != 0 || st.Evictions != 0 {
		t.Errorf("stats = %+v, want 2 hits, 2 misses, 2 entries", st)
	}
}

func TestClaimCacheCapacity(t *testing.T) {
	tests := []struct {
		name       string
		maxEntries int
		want       int
	}{
		{"zero_selects_default", 0, 4096},
		{"negative_selects_default", -5, 4096},
		{"small_exact", 10, 10},
		{"not_a_multiple_of_shards_rounds_down", 17, 16},
		{"one", 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewClaimCache(tt.maxEntries)
			if got := c.Stats().Capacity; got != tt.want {
				t.Fatalf("capacity %d, want %d", got, tt.want)
			}
			// Enough distinct UAs that every shard fills (a shard left
			// empty after n uniform inserts has probability < 1e-20).
			n := max(20*tt.want, 1000)
			for i := range n {
				c.Get(uniqueUA(i), "", "", "")
			}
			st := c.Stats()
			if st.Entries != tt.want {
				t.Errorf("after %d distinct UAs: %d entries, want exactly the capacity %d", n, st.Entries, tt.want)
			}
			if st.Evictions != uint64(n-st.Entries) {
				t.Errorf("evictions %d, want %d", st.Evictions, n-st.Entries)
			}
		})
	}
}

// TestClaimCacheKeepsHotEntries proves the CLOCK policy: an entry hit
// between insertions survives any number of one-off User-Agents (a FIFO or
// random policy would evict it within a few hundred).
func TestClaimCacheKeepsHotEntries(t *testing.T) {
	c := NewClaimCache(64)
	c.Get(cacheTestUA, "", "", "")
	for i := range 2000 {
		c.Get(uniqueUA(i), "", "", "")
		before := c.Stats().Hits
		c.Get(cacheTestUA, "", "", "")
		if c.Stats().Hits != before+1 {
			t.Fatalf("the hot UA was evicted after %d one-off UAs", i+1)
		}
	}
}

func TestClaimCacheDoesNotStoreLongHeaders(t *testing.T) {
	long := cacheTestUA + " " + strings.Repeat("x", maxCachedUALen)
	longHints := strings.Repeat(" ", maxCachedHintsLen) + cacheTestCH
	c := NewClaimCache(8)
	for range 2 {
		if got, want := c.Get(long, "", "", ""), ParseClaim(long, "", "", ""); got != want {
			t.Fatalf("long UA: %+v, want %+v", got, want)
		}
		if got, want := c.Get(cacheTestUA, longHints, "", ""), ParseClaim(cacheTestUA, longHints, "", ""); got != want {
			t.Fatalf("long hints: %+v, want %+v", got, want)
		}
	}
	st := c.Stats()
	if st.Entries != 0 || st.Uncacheable != 4 || st.Misses != 4 || st.Hits != 0 {
		t.Errorf("stats = %+v, want 0 entries, 4 uncacheable misses", st)
	}
	// Exactly at the bound is still cached.
	atBound := cacheTestUA + strings.Repeat("x", maxCachedUALen-len(cacheTestUA))
	c.Get(atBound, "", "", "")
	c.Get(atBound, "", "", "")
	if st := c.Stats(); st.Entries != 1 || st.Hits != 1 {
		t.Errorf("a %d-byte UA: stats = %+v, want cached", len(atBound), st)
	}
}

// TestClaimCacheCopiesKeys proves the cache keeps its own copy of the
// header strings, not the caller's (possibly a slice of a larger request
// buffer it would otherwise keep alive).
func TestClaimCacheCopiesKeys(t *testing.T) {
	buf := []byte("garbage-before|" + cacheTestUA + "|garbage-after")
	ua := string(buf)[len("garbage-before|") : len(buf)-len("|garbage-after")]
	c := NewClaimCache(16)
	c.Get(ua, "", "", "")
	for i := range c.shards {
		for _, e := range c.shards[i].entries {
			if e.key.ua != ua {
				t.Fatalf("stored key %q, want %q", e.key.ua, ua)
			}
			if unsafe.StringData(e.key.ua) == unsafe.StringData(ua) {
				t.Fatal("the cache kept the caller's string, not a copy")
			}
			return
		}
	}
	t.Fatal("no entry stored")
}

func TestClaimCacheZeroValueAndNil(t *testing.T) {
	want := ParseClaim(cacheTestUA, "", "", "")

	var zero ClaimCache
	if got := zero.Get(cacheTestUA, "", "", ""); got != want {
		t.Errorf("zero value: %+v, want %+v", got, want)
	}
	zero.Get(cacheTestUA, "", "", "")
	if st := zero.Stats(); st.Capacity != 4096 || st.Hits != 1 || st.Misses != 1 {
		t.Errorf("zero value stats = %+v, want capacity 4096, 1 hit, 1 miss", st)
	}

	var nilCache *ClaimCache
	if got := nilCache.Get(cacheTestUA, "", "", ""); got != want {
		t.Errorf("nil cache: %+v, want %+v", got, want)
	}
	if st := nilCache.Stats(); st != (ClaimCacheStats{}) {
		t.Errorf("nil cache stats = %+v, want zero", st)
	}
}

func TestClaimCacheHitDoesNotAllocate(t *testing.T) {
	c := NewClaimCache(0)
	c.Get(cacheTestUA, cacheTestCH, "?0", `"Windows"`)
	if n := testing.AllocsPerRun(100, func() { c.Get(cacheTestUA, cacheTestCH, "?0", `"Windows"`) }); n != 0 {
		t.Errorf("a hit allocates %.0f times", n)
	}
	if c.Stats().Hits < 100 {
		t.Errorf("the measured calls were not hits: %+v", c.Stats())
	}
}

// TestClaimCacheConcurrent hammers a cache smaller than the working set
// from many goroutines (run with -race): every answer must equal the
// parser's, and the bound must hold.
func TestClaimCacheConcurrent(t *testing.T) {
	const distinct = 200
	uas := make([]string, distinct)
	want := make([]Claim, distinct)
	for i := range uas {
		uas[i] = uniqueUA(i % 50)
		if i%2 == 1 {
			uas[i] = strings.Replace(uas[i], "Windows NT 10.0; Win64; x64", "X11; Linux x86_64", 1) + fmt.Sprint(" n/", i)
		}
		want[i] = ParseClaim(uas[i], "", "", "")
	}
	c := NewClaimCache(64)
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 2000 {
				i := (n*7 + g*13) % distinct
				if got := c.Get(uas[i], "", "", ""); got != want[i] {
					errs <- fmt.Sprintf("goroutine %d: %q → %+v, want %+v", g, uas[i], got, want[i])
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	st := c.Stats()
	if st.Entries > 64 {
		t.Errorf("%d entries, over the capacity 64", st.Entries)
	}
	if st.Hits+st.Misses != 8*2000 {
		t.Errorf("hits+misses = %d, want %d", st.Hits+st.Misses, 8*2000)
	}
}
