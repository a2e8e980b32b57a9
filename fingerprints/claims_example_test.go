package fingerprints_test

import (
	"fmt"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// Chrome on an iPhone is WebKit on Apple's TLS stack: the product is
// chrome, the family the classifier must expect is safari.
func ExampleParseClaim() {
	c := fingerprints.ParseClaim(
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/123.0.6312.52 Mobile/15E148 Safari/604.1",
		"", "", "")
	fmt.Println(c.Family, c.Product, c.Major, c.Platform, c.Mobile)
	// Output: safari chrome 17 ios true
}

// Brave sends Chrome's User-Agent unchanged; its client hints say Brave,
// and the hints win.
func ExampleParseClaim_clientHints() {
	c := fingerprints.ParseClaim(
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		`"Brave";v="131", "Chromium";v="131", "Not_A Brand";v="24"`,
		"?0",
		`"Windows"`)
	fmt.Println(c.Family, c.Product, c.Major, c.Platform, c.Browser)
	// Output: chromium brave 131 windows true
}

// Tools and crawlers are claims too, just not browser ones.
func ExampleParseClaim_notABrowser() {
	for _, ua := range []string{
		"curl/8.5.0",
		"Go-http-client/2.0",
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
	} {
		c := fingerprints.ParseClaim(ua, "", "", "")
		fmt.Printf("%s %s browser=%v bot=%v\n", c.Family, c.Product, c.Browser, c.Bot)
	}
	// Output:
	// other curl browser=false bot=false
	// other go browser=false bot=false
	// other googlebot browser=false bot=true
}

// A ClaimCache answers repeated header sets without parsing them again.
func ExampleClaimCache() {
	cache := fingerprints.NewClaimCache(0) // 4096 entries
	ua := "Mozilla/5.0 (Android 14; Mobile; rv:134.0) Gecko/134.0 Firefox/134.0"
	for range 3 {
		cache.Get(ua, "", "", "")
	}
	c := cache.Get(ua, "", "", "")
	st := cache.Stats()
	fmt.Println(c.Family, c.Product, c.Major, c.Platform)
	fmt.Println("hits", st.Hits, "misses", st.Misses, "entries", st.Entries)
	// Output:
	// firefox firefox 134 android
	// hits 3 misses 1 entries 1
}
