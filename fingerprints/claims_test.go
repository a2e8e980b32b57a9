package fingerprints

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// uaCase is one row of testdata/useragents/claims.json.
type uaCase struct {
	Name            string `json:"name"`
	Proves          string `json:"proves"`
	UserAgent       string `json:"user_agent"`
	SecCHUA         string `json:"sec_ch_ua"`
	SecCHUAMobile   string `json:"sec_ch_ua_mobile"`
	SecCHUAPlatform string `json:"sec_ch_ua_platform"`
	Source          string `json:"source"`
	Want            Claim  `json:"want"`
}

// uaTablePath is the repository-level table of real User-Agent strings.
var uaTablePath = filepath.Join("..", "testdata", "useragents", "claims.json")

func loadUATable(tb testing.TB) []uaCase {
	tb.Helper()
	b, err := os.ReadFile(uaTablePath)
	if err != nil {
		tb.Fatalf("reading the UA table: %v", err)
	}
	var file struct {
		Comment string   `json:"comment"`
		Cases   []uaCase `json:"cases"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields() // a misspelt field must not silently read as zero
	if err := dec.Decode(&file); err != nil {
		tb.Fatalf("decoding %s: %v", uaTablePath, err)
	}
	// The table is the main evidence for the rules: an empty or truncated
	// file must fail, not pass vacuously.
	if len(file.Cases) < 100 {
		tb.Fatalf("%s has %d cases, want at least 100", uaTablePath, len(file.Cases))
	}
	return file.Cases
}

func TestParseClaimTable(t *testing.T) {
	cache := NewClaimCache(0)
	seen := map[string]bool{}
	for _, tc := range loadUATable(t) {
		if seen[tc.Name] {
			t.Fatalf("duplicate case name %q", tc.Name)
		}
		seen[tc.Name] = true
		t.Run(tc.Name, func(t *testing.T) {
			got := ParseClaim(tc.UserAgent, tc.SecCHUA, tc.SecCHUAMobile, tc.SecCHUAPlatform)
			if got != tc.Want {
				t.Errorf("%s\nUA       %q\nSec-CH-UA %q mobile %q platform %q\ngot  %+v\nwant %+v",
					tc.Proves, tc.UserAgent, tc.SecCHUA, tc.SecCHUAMobile, tc.SecCHUAPlatform, got, tc.Want)
			}
			// The cache must answer exactly what the parser does, on
			// the miss and on the hit.
			for i := range 2 {
				if c := cache.Get(tc.UserAgent, tc.SecCHUA, tc.SecCHUAMobile, tc.SecCHUAPlatform); c != got {
					t.Errorf("cache call %d = %+v, ParseClaim = %+v", i, c, got)
				}
			}
		})
	}
}

// TestParseClaimFamilyRules pins the rules that decide false alarms, apart
// from the table, so that editing the table cannot silently drop them.
func TestParseClaimFamilyRules(t *testing.T) {
	const (
		crios   = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/123.0.6312.52 Mobile/15E148 Safari/604.1"
		chrome  = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
		firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:134.0) Gecko/20100101 Firefox/134.0"
		brave   = `"Brave";v="131", "Chromium";v="131", "Not_A Brand";v="24"`
	)
	tests := []struct {
		name              string
		ua, ch, mob, plat string
		family            Family
		product, platform string
		browser, bot      bool
	}{
		{"ios_chrome_is_apple_stack_not_boringssl", crios, "", "", "", FamilySafari, "chrome", "ios", true, false},
		{"brave_brand_beats_chrome_ua", chrome, brave, "?0", `"Windows"`, FamilyChromium, "brave", "windows", true, false},
		{"chromium_hints_beat_firefox_ua", firefox, brave, "", "", FamilyChromium, "brave", "windows", true, false},
		{"malformed_hints_do_not_beat_ua", firefox, brave + ",", "", "", FamilyFirefox, "firefox", "windows", true, false},
		{"curl_is_not_a_browser", "curl/8.5.0", "", "", "", FamilyOther, "curl", "", false, false},
		{"crawler_implies_no_stack", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "", "", "", FamilyOther, "googlebot", "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ParseClaim(tt.ua, tt.ch, tt.mob, tt.plat)
			if c.Family != tt.family || c.Product != tt.product || c.Platform != tt.platform || c.Browser != tt.browser || c.Bot != tt.bot {
				t.Errorf("got %+v, want family %v product %q platform %q browser %v bot %v",
					c, tt.family, tt.product, tt.platform, tt.browser, tt.bot)
			}
		})
	}
}

func TestParseClaimLongAndGarbage(t *testing.T) {
	chrome := "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/133.0.0.0 Safari/537.36"
	tests := []struct {
		name string
		ua   string
		want Claim
	}{
		{"garbage_8KiB_claims_nothing", strings.Repeat("A(b;c/1 ", 1024), Claim{}},
		{"binary_8KiB_is_ignored", strings.Repeat("\x00\xff", 4096), Claim{}},
		{"real_ua_with_8KiB_tail_still_parses", chrome + " " + strings.Repeat("x", 8192),
			Claim{Family: FamilyChromium, Product: "chrome", Major: 133, Platform: "windows", Browser: true}},
		{"token_past_the_2KiB_bound_is_not_seen", "Mozilla/5.0 (Windows NT 10.0) " + strings.Repeat("x", 2100) + " Chrome/133.0.0.0",
			Claim{Platform: "windows"}},
		{"control_char_past_the_bound_is_not_seen", chrome + strings.Repeat(" ", maxUAParse) + "\x00",
			Claim{Family: FamilyChromium, Product: "chrome", Major: 133, Platform: "windows", Browser: true}},
		{"huge_version_is_not_a_version", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99999999999999999999.0 Safari/537.36",
			Claim{Family: FamilyChromium, Product: "chrome", Major: 0, Platform: "linux", Browser: true}},
		{"unclosed_comment", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X AppleWebKit/605.1.15 Version/17.4 Safari/604.1",
			Claim{Family: FamilySafari, Product: "safari", Major: 17, Platform: "ios", Mobile: true, Browser: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseClaim(tt.ua, "", "", ""); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}

	t.Run("oversized_hints_are_ignored", func(t *testing.T) {
		ch := `"Brave";v="131", "Chromium";v="131"` + strings.Repeat(`, "Not A;Brand";v="1"`, 30)
		if len(ch) <= maxHintLen {
			t.Fatalf("test hint is only %d bytes", len(ch))
		}
		if got := ParseClaim(chrome, ch, "", ""); got.Product != "chrome" {
			t.Errorf("product %q: an oversized Sec-CH-UA was used", got.Product)
		}
	})
}

func TestParseClaimDoesNotAllocate(t *testing.T) {
	inputs := [][4]string{
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/133.0.0.0 Safari/537.36",
			`"Not(A:Brand";v="99", "Google Chrome";v="133", "Chromium";v="133"`, "?0", `"Windows"`},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/123.0.6312.52 Mobile/15E148 Safari/604.1", "", "", ""},
		{"Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.204 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "", "", ""},
		{"python-requests/2.31.0", "", "", ""},
		{strings.Repeat("garbage ", 1024), `"bad`, "?9", "x"},
	}
	for _, in := range inputs {
		if n := testing.AllocsPerRun(50, func() { ParseClaim(in[0], in[1], in[2], in[3]) }); n != 0 {
			t.Errorf("ParseClaim(%.40q…) allocates %.0f times per call", in[0], n)
		}
	}
}

func TestFamilyText(t *testing.T) {
	for f, name := range map[Family]string{FamilyOther: "other", FamilyChromium: "chromium", FamilyFirefox: "firefox", FamilySafari: "safari"} {
		if f.String() != name {
			t.Errorf("Family(%d).String() = %q, want %q", f, f.String(), name)
		}
		b, err := f.MarshalText()
		if err != nil || string(b) != name {
			t.Errorf("Family(%d).MarshalText() = %q, %v", f, b, err)
		}
		var back Family
		if err := back.UnmarshalText(b); err != nil || back != f {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v", b, back, err, f)
		}
	}
	if _, err := Family(9).MarshalText(); err == nil || !strings.HasPrefix(err.Error(), "fingerprints: ") {
		t.Errorf("MarshalText of an invalid family: err = %v", err)
	}
	if Family(9).String() != "Family(9)" {
		t.Errorf("String of an invalid family = %q", Family(9).String())
	}
	var f Family
	if err := f.UnmarshalText([]byte("boringssl")); err == nil {
		t.Error("UnmarshalText accepted an unknown family name")
	}

	// A Claim is readable JSON (the classifier logs it and the endpoint
	// serves it) and round-trips.
	c := Claim{Family: FamilySafari, Product: "chrome", Major: 17, Platform: "ios", Mobile: true, Browser: true}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"family":"safari","product":"chrome","major":17,"platform":"ios","mobile":true,"browser":true,"bot":false}`
	if string(b) != want {
		t.Errorf("json = %s\nwant   %s", b, want)
	}
	var back Claim
	if err := json.Unmarshal(b, &back); err != nil || back != c {
		t.Errorf("round trip = %+v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"family":"nss"}`), &back); err == nil || !strings.Contains(err.Error(), "fingerprints: unknown family") {
		t.Errorf("unknown family in JSON: err = %v", err)
	}
}

// TestIsGREASEBrand generates every GREASE brand Chromium's algorithm can
// produce (GetGreasedUserAgentBrandVersion: "Not" + c1 + "A" + c2 +
// "Brand", c1 and c2 from " ()-./:;=?_") and the historical " Not A;Brand".
func TestIsGREASEBrand(t *testing.T) {
	const chars = " ()-./:;=?_"
	for i := range len(chars) {
		for j := range len(chars) {
			b := "Not" + chars[i:i+1] + "A" + chars[j:j+1] + "Brand"
			if !isGREASEBrand(b) {
				t.Errorf("isGREASEBrand(%q) = false", b)
			}
		}
	}
	for _, b := range []string{" Not A;Brand", "Not A Brand", `Not\"A\\Brand`} {
		if !isGREASEBrand(b) {
			t.Errorf("isGREASEBrand(%q) = false", b)
		}
	}
	for _, b := range []string{"Chromium", "Google Chrome", "Brave", "Not A Browser", "Not A Brandy", "NotA", "", "Nota Brand X"} {
		if isGREASEBrand(b) {
			t.Errorf("isGREASEBrand(%q) = true for a real brand", b)
		}
	}
}

func TestParseMajor(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"133.0.0.0", 133},
		{"17_4 like", 17},
		{"999.0", 999},
		{"999999.1", 999999},
		{"1234567", 0}, // more digits than any real version: not a version
		{"", 0},
		{"x1", 0},
		{"0.1", 0},
	}
	for _, tt := range tests {
		if got := parseMajor(tt.in); got != tt.want {
			t.Errorf("parseMajor(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestParseSecCHUA(t *testing.T) {
	tests := []struct {
		name, in      string
		ok, engine    bool
		product       string
		chromiumMajor int
	}{
		{"chrome", `"Not(A:Brand";v="99", "Google Chrome";v="133", "Chromium";v="133"`, true, true, "chrome", 133},
		{"surrounding_whitespace", "  \"Chromium\";v=\"133\"\t", true, true, "", 133},
		{"ows_around_commas", "\"Brave\";v=\"131\"\t,\t\"Chromium\";v=\"131\"", true, true, "brave", 131},
		{"space_after_semicolon", `"Chromium"; v="131"`, true, true, "", 131},
		{"version_missing", `"Chromium", "Google Chrome"`, true, true, "chrome", 0},
		{"version_not_a_string", `"Chromium";v=131`, true, true, "", 0},
		{"edge_webview2_beats_edge", `"Microsoft Edge";v="133", "Microsoft Edge WebView2";v="133", "Chromium";v="133"`, true, true, "webview", 133},
		{"empty", "", false, false, "", 0},
		{"only_commas", ",", false, false, "", 0},
		{"leading_comma", `, "Chromium";v="1"`, false, false, "", 0},
		{"bad_integer", `"Chromium";v="1";x=1.`, false, false, "", 0},
		{"bad_boolean", `"Chromium";x=?2`, false, false, "", 0},
		{"unterminated_binary", `"Chromium";x=:abc`, false, false, "", 0},
		{"key_starting_with_digit", `"Chromium";1x="a"`, false, false, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, ok := parseSecCHUA(tt.in)
			if ok != tt.ok || h.engine != tt.engine || h.product != tt.product || h.chromiumMajor != tt.chromiumMajor {
				t.Errorf("parseSecCHUA(%q) = %+v, %v", tt.in, h, ok)
			}
		})
	}
}

func TestParsePlatformAndMobileHints(t *testing.T) {
	for in, want := range map[string]string{
		`"Windows"`: "windows", `"macOS"`: "macos", `"Linux"`: "linux", `"Android"`: "android",
		`"iOS"`: "ios", `"Chrome OS"`: "chromeos", `"Chromium OS"`: "chromeos", ` "Windows" `: "windows",
		`"windows"`: "windows", `"Windows";x=1`: "windows",
		`"Unknown"`: "", `"Fuchsia"`: "", `Windows`: "", `"Windows" x`: "", `"Windows`: "", ``: "",
	} {
		p, ok := parsePlatformHint(in)
		if p != want || ok != (want != "") {
			t.Errorf("parsePlatformHint(%q) = %q, %v; want %q", in, p, ok, want)
		}
	}
	for in, want := range map[string][2]bool{
		"?1": {true, true}, "?0": {false, true}, " ?1 ": {true, true},
		"1": {false, false}, "?": {false, false}, "?10": {false, false}, "": {false, false}, "true": {false, false},
	} {
		m, ok := parseMobileHint(in)
		if m != want[0] || ok != want[1] {
			t.Errorf("parseMobileHint(%q) = %v, %v; want %v", in, m, ok, want)
		}
	}
}

// TestParseClaimAgreesWithClientHelloCorpus checks ParseClaim against the
// "family" the capture corpus (testdata/clienthello/*.json, written by
// internal/tools/capturehellos) records for each hello's User-Agent, with
// the request's own client hints where one was captured.
func TestParseClaimAgreesWithClientHelloCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "clienthello", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/clienthello/*.json: the corpus moved; update this test")
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var meta struct {
			Name      string `json:"name"`
			Family    string `json:"family"`
			UserAgent string `json:"user_agent"`
			Request   *struct {
				Headers map[string][]string `json:"headers"`
			} `json:"request"`
		}
		if err := json.Unmarshal(b, &meta); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		first := func(h string) string {
			if meta.Request == nil || len(meta.Request.Headers[h]) == 0 {
				return ""
			}
			return meta.Request.Headers[h][0]
		}
		t.Run(meta.Name, func(t *testing.T) {
			c := ParseClaim(meta.UserAgent, first("Sec-Ch-Ua"), first("Sec-Ch-Ua-Mobile"), first("Sec-Ch-Ua-Platform"))
			if c.Family.String() != meta.Family {
				t.Errorf("UA %q: family %v, corpus says %s (claim %+v)", meta.UserAgent, c.Family, meta.Family, c)
			}
		})
	}
}
