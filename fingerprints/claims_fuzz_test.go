package fingerprints

import "testing"

// FuzzParseClaim checks that no input panics, that Product and Platform
// stay within their fixed sets, and that the cache agrees with the parser.
// Seeds: testdata/fuzz/FuzzParseClaim plus the cases below.
func FuzzParseClaim(f *testing.F) {
	f.Add(cacheTestUA, cacheTestCH, "?0", `"Windows"`)
	f.Add("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/123.0.6312.52 Mobile/15E148 Safari/604.1", "", "", "")
	f.Add("Mozilla/5.0 (Android 14; Mobile; rv:134.0) Gecko/134.0 Firefox/134.0", "", "", "")
	f.Add("Apache-HttpClient/4.5.14 (Java/17.0.9)", `"Chromium";v="1";a=?1;b=:aGk=:;c=-1.5;d=t/x`, "?1", `"Chromium OS"`)
	f.Add("", `"Not\"A\\Brand";v="99"`, "", "")

	// The fixed sets Claim.Product and Claim.Platform may take: a value
	// outside them would mean input bytes leaked into the claim.
	claimProducts := map[string]bool{
		"": true, productChrome: true, productChromium: true, productEdge: true, productOpera: true,
		productBrave: true, productSamsung: true, productYandex: true, productVivaldi: true,
		productWebView: true, productElectron: true, productGoogleApp: true, productFirefox: true,
		productSafari: true, productIE: true, productEdgeHTML: true, productCurl: true,
		productWget: true, productGo: true, productPython: true, productOkHTTP: true,
		productDalvik: true, productJava: true, productNode: true, productDart: true,
		productPerl: true, productPowerShell: true, productCFNetwork: true,
		productGooglebot: true, productBingbot: true, productApplebot: true, productBot: true,
	}
	claimPlatforms := map[string]bool{
		"": true, "windows": true, "macos": true, "linux": true, "android": true, "ios": true, "chromeos": true,
	}
	cache := NewClaimCache(128)
	f.Fuzz(func(t *testing.T, ua, ch, mob, plat string) {
		c := ParseClaim(ua, ch, mob, plat)
		if !claimProducts[c.Product] {
			t.Errorf("Product %q is not in the fixed set", c.Product)
		}
		if !claimPlatforms[c.Platform] {
			t.Errorf("Platform %q is not in the fixed set", c.Platform)
		}
		if c.Family > FamilySafari {
			t.Errorf("Family %d out of range", c.Family)
		}
		if c.Major < 0 || c.Major > 999999 {
			t.Errorf("Major %d out of range", c.Major)
		}
		if c.Browser && c.Bot {
			t.Errorf("a claim cannot be both an interactive browser and a bot: %+v", c)
		}
		if again := ParseClaim(ua, ch, mob, plat); again != c {
			t.Errorf("not deterministic: %+v then %+v", c, again)
		}
		if cached := cache.Get(ua, ch, mob, plat); cached != c {
			t.Errorf("cache %+v, parser %+v", cached, c)
		}
	})
}
