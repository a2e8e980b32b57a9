package fingerprints

import (
	"strings"
	"testing"
)

// benchClaimInputs are realistic header sets plus attacker-sized ones.
var benchClaimInputs = []struct {
	name              string
	ua, ch, mob, plat string
}{
	{"chrome_windows_hints", cacheTestUA, cacheTestCH, "?0", `"Windows"`},
	{"chrome_android", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/133.0.0.0 Mobile Safari/537.36", "", "", ""},
	{"firefox_windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:134.0) Gecko/20100101 Firefox/134.0", "", "", ""},
	{"safari_iphone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", "", "", ""},
	{"webview_facebook", "Mozilla/5.0 (Linux; Android 12; SM-G991B Build/SP1A.210812.016; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/98.0.4758.87 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/353.0.0.34.116;]", "", "", ""},
	{"googlebot_smartphone", "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.204 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "", "", ""},
	{"curl", "curl/8.5.0", "", "", ""},
	{"garbage_8KiB", strings.Repeat("Ab(c; d/1 ", 820), `"` + strings.Repeat("x", 500), "?1", `"Windows"`},
	{"chrome_then_8KiB_tail", cacheTestUA + " " + strings.Repeat("bot", 2730), "", "", ""},
}

// BenchmarkParseClaim is the cost of a cache miss.
func BenchmarkParseClaim(b *testing.B) {
	for _, in := range benchClaimInputs {
		b.Run(in.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in.ua) + len(in.ch) + len(in.mob) + len(in.plat)))
			for b.Loop() {
				ParseClaim(in.ua, in.ch, in.mob, in.plat)
			}
		})
	}
}

// BenchmarkClaimCacheHit is the cost per request once a header set has been
// seen: it must be 0 allocations and well under a microsecond.
func BenchmarkClaimCacheHit(b *testing.B) {
	c := NewClaimCache(0)
	c.Get(cacheTestUA, cacheTestCH, "?0", `"Windows"`)
	b.ReportAllocs()
	for b.Loop() {
		c.Get(cacheTestUA, cacheTestCH, "?0", `"Windows"`)
	}
}

// BenchmarkClaimCacheHitParallel measures hits from all Ps at once, the
// shape of a busy server (shared read locks, per-shard counters).
func BenchmarkClaimCacheHitParallel(b *testing.B) {
	c := NewClaimCache(0)
	uas := make([]string, 64)
	for i := range uas {
		uas[i] = uniqueUA(i)
		c.Get(uas[i], cacheTestCH, "?0", `"Windows"`)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			c.Get(uas[i&63], cacheTestCH, "?0", `"Windows"`)
			i++
		}
	})
}

// BenchmarkClaimCacheMissChurn is the worst case for the cache: every call
// is a new User-Agent, so each parses, copies its key and evicts.
func BenchmarkClaimCacheMissChurn(b *testing.B) {
	const n = 8192
	uas := make([]string, n)
	for i := range uas {
		uas[i] = uniqueUA(i)
	}
	c := NewClaimCache(1024)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.Get(uas[i%n], "", "", "")
		i++
	}
}
