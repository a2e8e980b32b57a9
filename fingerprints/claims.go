package fingerprints

import (
	"bytes"
	"fmt"
	"strings"
)

// This file turns what a client says about itself (User-Agent and the
// User-Agent client hints) into a [Claim]: the TLS stack family, product,
// major version and platform the request implies. The classifier compares a
// connection's ClientHello with the family claimed here, so the rules below
// decide false alarms; each one says why it is what it is.
//
// Why iOS browsers are safari-family: on iOS and iPadOS every browser is a
// shell around Apple's WebKit, which loads pages through Apple's networking
// and TLS stack (App Store Review Guideline 2.5.6: "Apps that browse the web
// must use the appropriate WebKit framework and WebKit JavaScript",
// https://developer.apple.com/app-store/review/guidelines/#software-requirements).
// Chrome (CriOS), Firefox (FxiOS), Edge (EdgiOS), Opera (OPiOS/OPT), the
// Google app (GSA) and in-app web views on an iPhone therefore send Apple's
// ClientHello, not BoringSSL's or NSS's. Their Product keeps the brand
// ("chrome", "firefox", …) but their Family is FamilySafari. (Since iOS 17.4
// the EU allows other engines through BrowserEngineKit; no shipping browser's
// User-Agent marks such a build yet, so a future one would need a new rule.)
//
// Why the client hints win over the User-Agent: Sec-CH-UA* headers are
// forbidden request headers (the Sec- prefix, Fetch standard), so page
// scripts cannot set them and only the browser engine itself writes them; and
// only Chromium-based engines send them. The User-Agent, by contrast, is
// routinely rewritten by UA-switcher extensions, enterprise policies and
// "desktop site" modes, none of which change the TLS stack. Brave is the
// extreme case: its User-Agent is Chrome's, byte for byte, and only its
// "Brave" brand in Sec-CH-UA tells it apart. So where a hint is present and
// well-formed it decides its field; a malformed hint is ignored as a whole,
// as RFC 8941 §4.2 requires of a structured field that fails to parse.

// Family is the TLS implementation family a client claim implies: the stack
// whose ClientHello the classifier expects to see.
type Family uint8

const (
	// FamilyOther is the zero value: not a browser stack we model (curl,
	// Go, Python, Java, okhttp, crawlers, legacy IE/EdgeHTML) or unknown.
	FamilyOther Family = iota
	// FamilyChromium is BoringSSL as built into Chromium and every browser
	// based on it (Chrome, Edge, Opera, Brave, Samsung Internet, Yandex,
	// Vivaldi, Android WebView, Electron).
	FamilyChromium
	// FamilyFirefox is NSS as used by Firefox on the desktop and on Android
	// (and by other Gecko browsers).
	FamilyFirefox
	// FamilySafari is Apple's TLS stack: Safari on macOS, and every browser
	// and web view on iOS/iPadOS whatever its brand, plus apps using
	// CFNetwork.
	FamilySafari
)

// String returns "other", "chromium", "firefox" or "safari".
func (f Family) String() string {
	switch f {
	case FamilyChromium:
		return "chromium"
	case FamilyFirefox:
		return "firefox"
	case FamilySafari:
		return "safari"
	case FamilyOther:
		return "other"
	}
	return fmt.Sprintf("Family(%d)", uint8(f))
}

// MarshalText implements encoding.TextMarshaler with the names of
// [Family.String], so a Family is a readable string in JSON and YAML.
func (f Family) MarshalText() ([]byte, error) {
	if f > FamilySafari {
		return nil, fmt.Errorf("fingerprints: invalid family %d", uint8(f))
	}
	return []byte(f.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler; it accepts the names
// [Family.String] returns.
func (f *Family) UnmarshalText(b []byte) error {
	switch string(b) {
	case "other":
		*f = FamilyOther
	case "chromium":
		*f = FamilyChromium
	case "firefox":
		*f = FamilyFirefox
	case "safari":
		*f = FamilySafari
	default:
		return fmt.Errorf("fingerprints: unknown family %q", b)
	}
	return nil
}

// Claim is what a request says about the client that sent it, from its
// User-Agent and client hints. It is a claim, not a fact: comparing it with
// the ClientHello is the classifier's job.
type Claim struct {
	// Family is the TLS stack the claim implies (see [Family]).
	Family Family `json:"family"`
	// Product is the claimed product in lowercase: browsers "chrome",
	// "chromium" (a Chromium build with no brand of its own), "edge",
	// "opera", "brave", "samsung", "yandex", "vivaldi", "webview" (an
	// embedded web view: Android WebView, WebView2, WKWebView), "electron",
	// "google" (the Google app on iOS), "firefox", "safari", "ie",
	// "edgehtml" (pre-Chromium Edge); libraries and tools "curl", "wget",
	// "go", "python", "okhttp", "dalvik", "java", "node", "dart", "perl",
	// "powershell", "cfnetwork"; crawlers "googlebot", "bingbot",
	// "applebot", "bot" (any other self-declared crawler). Empty when
	// unknown.
	Product string `json:"product"`
	// Major is the major version of the engine the claim implies, 0 when
	// unknown: the Chromium version for every Chromium-based browser
	// (Opera's OPR/117 runs Chromium 132: Major is 132, because the
	// Chromium version is what fixes the BoringSSL build and its
	// ClientHello), the Firefox version, Safari's Version/ for Safari, the
	// Safari or iOS version for every iOS browser, the library's own
	// version for tools (curl/8.5.0 → 8; Go's "/1.1" is the HTTP version,
	// so Go is 0), the crawler's version for crawlers (Googlebot/2.1 → 2).
	// Future versions parse like any other.
	Major int `json:"major"`
	// Platform is "windows", "macos", "linux", "android", "ios" (iPadOS
	// included) or "chromeos", empty when unknown. An iPad in desktop mode
	// sends a Macintosh User-Agent and is reported as "macos" unless an
	// iOS-only browser token gives it away; its Family is safari either way.
	Platform string `json:"platform"`
	// Mobile reports a phone-class claim: Sec-CH-UA-Mobile ?1, or a
	// User-Agent with the Mobile token or an iPhone/iPod. iPads and
	// Android tablets are not mobile.
	Mobile bool `json:"mobile"`
	// Browser is true for an interactive browser (or an in-app web view);
	// false for libraries, command-line tools, Electron apps, crawlers and
	// headless browsers.
	Browser bool `json:"browser"`
	// Bot is true when the client declares itself a crawler or automation:
	// a known crawler name, a "…bot", "crawler" or "spider" token, a
	// "(compatible; …; +http…)" contact comment, or a headless marker
	// (HeadlessChrome, PhantomJS).
	Bot bool `json:"bot"`
}

// Products (the fixed set Claim.Product takes its values from).
const (
	productChrome     = "chrome"
	productChromium   = "chromium"
	productEdge       = "edge"
	productOpera      = "opera"
	productBrave      = "brave"
	productSamsung    = "samsung"
	productYandex     = "yandex"
	productVivaldi    = "vivaldi"
	productWebView    = "webview"
	productElectron   = "electron"
	productGoogleApp  = "google"
	productFirefox    = "firefox"
	productSafari     = "safari"
	productIE         = "ie"
	productEdgeHTML   = "edgehtml"
	productCurl       = "curl"
	productWget       = "wget"
	productGo         = "go"
	productPython     = "python"
	productOkHTTP     = "okhttp"
	productDalvik     = "dalvik"
	productJava       = "java"
	productNode       = "node"
	productDart       = "dart"
	productPerl       = "perl"
	productPowerShell = "powershell"
	productCFNetwork  = "cfnetwork"
	productGooglebot  = "googlebot"
	productBingbot    = "bingbot"
	productApplebot   = "applebot"
	productBot        = "bot"
)

// Platforms (the fixed set Claim.Platform takes its values from).
const (
	platformWindows  = "windows"
	platformMacOS    = "macos"
	platformLinux    = "linux"
	platformAndroid  = "android"
	platformIOS      = "ios"
	platformChromeOS = "chromeos"
)

const (
	// maxUAParse bounds the work on one User-Agent: only its first 2 KiB
	// are examined. Real browser UAs are 100–300 bytes and in-app ones
	// rarely pass 600; the bound keeps an 8 KiB garbage header as cheap as
	// a 2 KiB one.
	maxUAParse = 2048
	// maxHintLen bounds each client hint. Chromium's Sec-CH-UA is about
	// 100 bytes; a longer value is not one a browser wrote and is ignored.
	maxHintLen = 512
	// maxVersionDigits bounds a parsed major version (999999), so that a
	// garbage version neither overflows nor claims a real release.
	maxVersionDigits = 6
)

// ParseClaim parses a request's User-Agent and the Sec-CH-UA,
// Sec-CH-UA-Mobile and Sec-CH-UA-Platform client hints (raw header values,
// empty when absent) into a [Claim]. It is pure, never panics, and does not
// allocate.
//
// Client hints win over the User-Agent where present and well-formed (see
// the comment at the top of this file for why): a Sec-CH-UA naming a
// Chromium engine makes the claim FamilyChromium, its brand sets Product
// ("Brave", "Microsoft Edge", …) and its "Chromium" brand sets Major;
// GREASE brands ("Not A(Brand", "Not)A;Brand", …) are skipped.
// Sec-CH-UA-Mobile and Sec-CH-UA-Platform set Mobile and Platform.
//
// A User-Agent containing control characters (forbidden in an HTTP field
// value, RFC 9110 §5.5) is not something a browser sends; it is ignored as
// if absent.
func ParseClaim(userAgent, secCHUA, secCHUAMobile, secCHUAPlatform string) Claim {
	c := parseUserAgent(userAgent)
	if h, ok := parseSecCHUA(secCHUA); ok && h.engine {
		applyBrands(&c, h)
	}
	if m, ok := parseMobileHint(secCHUAMobile); ok {
		c.Mobile = m
	}
	if p, ok := parsePlatformHint(secCHUAPlatform); ok {
		c.Platform = p
	}
	return c
}

// applyBrands lets a well-formed Sec-CH-UA naming a Chromium engine decide
// family, product and version.
func applyBrands(c *Claim, h brandInfo) {
	uaChromium := c.Family == FamilyChromium
	c.Family = FamilyChromium
	switch {
	case h.product != "":
		c.Product = h.product
	case uaChromium && c.Product != productChrome:
		// Only "Chromium" and GREASE brands, and a User-Agent that names a
		// specific derivative (Vivaldi, Electron, a WebView without its
		// brand): keep the User-Agent's more specific name.
	default:
		// Only the "Chromium" brand: a Chromium build that does not brand
		// itself (distribution Chromium, and browsers that hide their
		// name). It is not Google Chrome, whatever the User-Agent says.
		c.Product = productChromium
	}
	switch {
	case h.chromiumMajor > 0:
		c.Major = h.chromiumMajor
	case h.brandIsEngine && h.brandMajor > 0:
		// Chrome, Edge, WebView and HeadlessChrome share Chromium's
		// version numbers.
		c.Major = h.brandMajor
	case !uaChromium:
		c.Major = 0
	}
	if h.headless {
		c.Bot = true
	}
	c.Browser = !c.Bot && c.Product != productElectron
}

// parseUserAgent parses the User-Agent alone.
func parseUserAgent(ua string) Claim {
	if len(ua) > maxUAParse {
		ua = ua[:maxUAParse]
	}
	ua = strings.Trim(ua, " \t")
	if ua == "" || hasCTL(ua) {
		return Claim{}
	}
	// A lowercase copy on the stack for the case-insensitive searches
	// (crawler and library names are not consistently capitalised).
	var buf [maxUAParse]byte
	low := buf[:len(ua)]
	for i := 0; i < len(ua); i++ {
		b := ua[i]
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		low[i] = b
	}

	comment := firstComment(ua)
	var c Claim
	c.Platform, c.Mobile = platformFromComment(comment)
	if !c.Mobile && c.Platform != platformIOS {
		c.Mobile = hasWord(ua, "Mobile")
	}

	if !strings.HasPrefix(ua, "Mozilla/") {
		if lib, major, ok := library(ua, low); ok {
			c.Product, c.Major = lib, major
			switch lib {
			case productCFNetwork:
				// CFNetwork is Apple's URL loading system: Apple's TLS.
				c.Family = FamilySafari
			case productDalvik:
				c.Platform = platformAndroid
			}
			return c
		}
	} else {
		browserFromUA(&c, ua, comment)
		if c.Family == FamilyOther && c.Product == "" && !c.Browser {
			// A Mozilla/-prefixed tool with no engine token
			// (PowerShell's Invoke-WebRequest).
			if lib, major, ok := library(ua, low); ok {
				c.Product, c.Major = lib, major
				return c
			}
		}
	}

	if name, major, bot := crawler(ua, low); bot {
		c.Bot, c.Browser = true, false
		if name != "" {
			// A crawler's fetcher is not the browser its User-Agent
			// mentions (Googlebot's Chrome/W.X.Y.Z names its renderer,
			// not the stack that opened the connection, and anyone can
			// claim to be Googlebot): it implies no browser stack.
			c.Family, c.Product, c.Major = FamilyOther, name, major
		}
	}
	return c
}

// browserFromUA fills family, product, version and Browser from a
// Mozilla/-style User-Agent.
func browserFromUA(c *Claim, ua, comment string) {
	iosToken, iosProduct := iosBrowser(ua)
	if c.Platform == platformIOS || (c.Platform == platformMacOS && iosToken) {
		// Every iOS/iPadOS browser: Apple's stack (see the top of this
		// file). A Macintosh User-Agent carrying an iOS-only token is an
		// iPad in desktop mode.
		c.Family, c.Browser = FamilySafari, true
		switch {
		case iosProduct != "":
			c.Product = iosProduct
		case strings.Contains(ua, "Version/") && strings.Contains(ua, "Safari/"):
			c.Product = productSafari
		default:
			// No Safari token: an app's WKWebView (Instagram,
			// Facebook, …).
			c.Product = productWebView
		}
		c.Major = versionAfter(ua, "Version/")
		if c.Major == 0 && c.Platform == platformIOS {
			// Chrome, Firefox and the Google app on iOS carry no
			// Version/: their engine is the system's, whose version
			// is the OS's. (Desktop-mode Macintosh UAs freeze the
			// macOS version at 10_15_7, which says nothing.)
			c.Major = versionAfter(comment, " OS ")
		}
		c.Platform = platformIOS
		return
	}

	switch {
	case strings.Contains(ua, "Trident/") || strings.Contains(ua, "MSIE "):
		// Internet Explorer: Windows SChannel.
		c.Family, c.Product, c.Browser = FamilyOther, productIE, true
		c.Major = versionAfter(ua, "MSIE ")
		if c.Major == 0 {
			c.Major = versionAfter(ua, "rv:")
		}
	case strings.Contains(ua, "Edge/"):
		// EdgeHTML Edge (2015–2020) also says Chrome/ but used SChannel;
		// Chromium Edge says Edg/, EdgA/ or EdgiOS/, never Edge/.
		c.Family, c.Product, c.Browser = FamilyOther, productEdgeHTML, true
		c.Major = versionAfter(ua, "Edge/")
	case strings.Contains(ua, "Chrome/") || strings.Contains(ua, "Chromium/"):
		c.Family, c.Browser = FamilyChromium, true
		c.Major = versionAfter(ua, "Chrome/")
		if c.Major == 0 {
			c.Major = versionAfter(ua, "Chromium/")
		}
		c.Product = chromiumProduct(ua, comment)
		// An Electron app embeds Chromium but is not a browser; a
		// HeadlessChrome is caught as automation by crawler.
		c.Browser = c.Product != productElectron
	case strings.Contains(ua, "Firefox/") || isGecko(ua):
		// Firefox desktop and Android, ESR (same UA as the release of
		// that number) and Gecko forks: NSS. Format per MDN, "Firefox
		// user agent string reference": "Mozilla/5.0 (platform;
		// rv:geckoversion) Gecko/geckotrail Firefox/firefoxversion".
		c.Family, c.Browser = FamilyFirefox, true
		if strings.Contains(ua, "Firefox/") {
			c.Product = productFirefox
			c.Major = versionAfter(ua, "Firefox/")
		}
		if c.Major == 0 {
			c.Major = versionAfter(comment, "rv:")
		}
	case strings.Contains(ua, "AppleWebKit/") && c.Platform == platformMacOS:
		// Safari on macOS (and an iPad in desktop mode, which sends the
		// very same string), or a macOS app's WKWebView.
		c.Family, c.Browser = FamilySafari, true
		if strings.Contains(ua, "Version/") && strings.Contains(ua, "Safari/") {
			c.Product = productSafari
			c.Major = versionAfter(ua, "Version/")
		} else {
			c.Product = productWebView
		}
	case strings.Contains(ua, "AppleWebKit/") || strings.Contains(ua, "Gecko"):
		// Some other engine (WebKitGTK/Epiphany on Linux uses GnuTLS,
		// Android's pre-Chromium stock browser OpenSSL): a browser, but
		// not a stack we model.
		c.Browser = true
	}
}

// chromiumProduct names a Chromium-based browser from its User-Agent.
// Tokens per each vendor's published UA format: Edg/ (desktop) and EdgA/
// (Android) for Edge, OPR/ for Opera, SamsungBrowser/ for Samsung Internet,
// YaBrowser/ for Yandex; "; wv)" marks Android WebView ("Sites can continue
// to look for the wv token", Android Developers Blog, "User-Agent Reduction
// on Android WebView", 2024-12-06). Brave and most other derivatives send
// Chrome's string unchanged and are "chrome" here unless Sec-CH-UA names
// them.
func chromiumProduct(ua, comment string) string {
	switch {
	case strings.Contains(ua, "Edg/") || strings.Contains(ua, "EdgA/"):
		return productEdge
	case strings.Contains(ua, "OPR/"):
		return productOpera
	case strings.Contains(ua, "SamsungBrowser/"):
		return productSamsung
	case strings.Contains(ua, "YaBrowser/") || strings.Contains(ua, "YaSearchBrowser/"):
		return productYandex
	case strings.Contains(ua, "Vivaldi/"):
		return productVivaldi
	case strings.Contains(ua, "Electron/"):
		return productElectron
	case hasCommentToken(comment, "wv"):
		return productWebView
	case strings.Contains(comment, "Android") && strings.Contains(ua, "Version/4.0 Chrome/"):
		// Pre-Lollipop WebView: no wv token yet, but Version/4.0
		// before Chrome/.
		return productWebView
	}
	return productChrome
}

// iosBrowser reports whether ua carries a browser token that exists only
// on iOS/iPadOS, and the product it names.
func iosBrowser(ua string) (bool, string) {
	switch {
	case strings.Contains(ua, "CriOS/"):
		return true, productChrome
	case strings.Contains(ua, "FxiOS/"):
		return true, productFirefox
	case strings.Contains(ua, "EdgiOS/"):
		return true, productEdge
	case strings.Contains(ua, "OPiOS/") || strings.Contains(ua, "OPT/"):
		return true, productOpera
	case strings.Contains(ua, "GSA/"):
		return true, productGoogleApp
	case strings.Contains(ua, "YaBrowser/"):
		// Yandex exists on macOS too (as a Chromium browser); only
		// on an iPhone/iPad is it WebKit.
		return false, productYandex
	}
	return false, ""
}

// isGecko reports a Gecko User-Agent without a Firefox token ("rv:" and
// "Gecko/" but not the "like Gecko" every WebKit/Blink UA carries).
func isGecko(ua string) bool {
	return strings.Contains(ua, "Gecko/") && strings.Contains(ua, "rv:") && !strings.Contains(ua, "like Gecko")
}

// library recognises HTTP libraries and command-line tools by their
// product token, case-insensitively and as a whole token ("xcurl/1" is not
// curl, "nodejs" is not node), in one pass over the string. The first
// recognised token names the client ("Apache-HttpClient/4.5.14
// (Java/17.0.9)" is Apache HttpClient 4). Major is the version after the
// token's "/", if any.
func library(ua string, low []byte) (product string, major int, ok bool) {
	for i := 0; i < len(low); i++ {
		if i > 0 && low[i-1] != ' ' && low[i-1] != '(' && low[i-1] != ';' {
			continue
		}
		j := i
		for j < len(low) && low[j] != '/' && low[j] != ' ' && low[j] != ';' && low[j] != ')' {
			j++
		}
		product = libraryProduct(low[i:j])
		if product == "" {
			i = j
			continue
		}
		if product != productGo && j < len(ua) && ua[j] == '/' {
			major = parseMajor(ua[j+1:])
		}
		return product, major, true
	}
	return "", 0, false
}

// libraryProduct maps a lowercase product token to its library.
func libraryProduct(tok []byte) string {
	switch string(tok) { // no allocation: the compiler compares in place
	case "curl":
		return productCurl
	case "wget", "wget2":
		return productWget
	case "go-http-client":
		// Go's net/http: "Go-http-client/1.1" (net/http/request.go,
		// defaultUserAgent) or "/2.0" over HTTP/2 (h2_bundle.go,
		// http2defaultUserAgent); the number is the HTTP version.
		return productGo
	case "python-requests", "python-urllib", "python-urllib3", "python-httpx",
		"python", // aiohttp: "Python/3.12 aiohttp/3.9.5"
		"aiohttp", "httpie":
		return productPython
	case "okhttp":
		return productOkHTTP
	case "dalvik": // Android's HttpURLConnection
		return productDalvik
	case "java", "java-http-client", "apache-httpclient":
		return productJava
	case "node-fetch", "undici", "axios",
		"node": // Node's own fetch (undici) sends just "node"
		return productNode
	case "dart":
		return productDart
	case "libwww-perl":
		return productPerl
	case "windowspowershell", "powershell":
		return productPowerShell
	case "cfnetwork":
		return productCFNetwork
	}
	return ""
}

// crawler recognises self-declared crawlers, bots and headless browsers.
// name is the crawler's product for a crawler proper, "" for a headless
// browser (whose engine, and so family, is real).
func crawler(ua string, low []byte) (name string, major int, bot bool) {
	hasBot := bytes.Contains(low, []byte("bot"))
	for _, b := range [...]struct {
		token   string // lowercase
		product string
	}{
		// Google's crawler UAs: "Googlebot/2.1" alone or inside a
		// Chrome UA ("… Chrome/W.X.Y.Z Safari/537.36 (compatible;
		// Googlebot/2.1; +http://www.google.com/bot.html)"),
		// https://developers.google.com/search/docs/crawling-indexing/overview-google-crawlers
		{"googlebot", productGooglebot},
		{"bingbot", productBingbot},
		{"applebot", productApplebot},
	} {
		if !hasBot {
			break // every name below contains "bot"
		}
		if i := bytes.Index(low, []byte(b.token)); i >= 0 {
			rest := ua[i+len(b.token):]
			if strings.HasPrefix(rest, "/") {
				major = parseMajor(rest[1:])
			}
			return b.product, major, true
		}
	}
	if bytes.Contains(low, []byte("headlesschrome")) || bytes.Contains(low, []byte("phantomjs")) {
		return "", 0, true
	}
	if bytes.Contains(low, []byte("crawler")) || bytes.Contains(low, []byte("spider")) ||
		bytes.Contains(low, []byte("facebookexternalhit")) || (hasBot && hasBotWord(low)) ||
		(bytes.Contains(low, []byte("compatible;")) && bytes.Contains(low, []byte("+http"))) {
		return productBot, 0, true
	}
	return "", 0, false
}

// hasBotWord reports a word ending in "bot" (AhrefsBot/7.0, GPTBot,
// Slackbot-LinkExpanding, "bot;"): "bot" followed by a non-letter or the
// end. The Cubot phone brand ("CUBOT KINGKONG 9" in older Android UAs) is
// not a bot.
func hasBotWord(low []byte) bool {
	for off := 0; ; {
		i := bytes.Index(low[off:], []byte("bot"))
		if i < 0 {
			return false
		}
		i += off
		end := i + 3
		if (end == len(low) || !isLetter(low[end])) && !(i >= 2 && low[i-2] == 'c' && low[i-1] == 'u') {
			return true
		}
		off = end
	}
}

// firstComment returns the inside of the first parenthesised comment of ua
// (RFC 9110 §10.1.5 product comments), "" if none.
func firstComment(ua string) string {
	i := strings.IndexByte(ua, '(')
	if i < 0 {
		return ""
	}
	j := strings.IndexByte(ua[i+1:], ')')
	if j < 0 {
		return ua[i+1:]
	}
	return ua[i+1 : i+1+j]
}

// platformFromComment reads the platform from the User-Agent's first
// comment. The order matters: iPhone UAs say "like Mac OS X", Android and
// ChromeOS UAs say "Linux". Frozen values per Chromium's UA reduction
// (https://www.chromium.org/updates/ua-reduction/): "Windows NT 10.0; Win64;
// x64", "Macintosh; Intel Mac OS X 10_15_7", "X11; CrOS x86_64 14541.0.0",
// "X11; Linux x86_64", "Linux; Android 10; K".
func platformFromComment(comment string) (platform string, mobile bool) {
	switch {
	case strings.Contains(comment, "iPhone") || strings.Contains(comment, "iPod"):
		return platformIOS, true
	case strings.Contains(comment, "iPad"):
		return platformIOS, false
	case strings.Contains(comment, "Android"):
		return platformAndroid, false
	case strings.Contains(comment, "CrOS"):
		return platformChromeOS, false
	case strings.Contains(comment, "Windows"):
		return platformWindows, false
	case strings.Contains(comment, "Macintosh") || strings.Contains(comment, "Mac OS X"):
		return platformMacOS, false
	case strings.Contains(comment, "Linux"):
		return platformLinux, false
	}
	return "", false
}

// hasCommentToken reports whether tok is one of the "; "-separated tokens
// of a comment.
func hasCommentToken(comment, tok string) bool {
	for comment != "" {
		var t string
		t, comment, _ = strings.Cut(comment, ";")
		if strings.TrimSpace(t) == tok {
			return true
		}
	}
	return false
}

// hasWord reports whether w occurs in s with no letter directly before or
// after it ("Mobile Safari", "Mobile/15E148", "; Mobile;" but not
// "YandexMobileBot").
func hasWord(s, w string) bool {
	for off := 0; ; {
		i := strings.Index(s[off:], w)
		if i < 0 {
			return false
		}
		i += off
		end := i + len(w)
		if (i == 0 || !isLetter(s[i-1])) && (end == len(s) || !isLetter(s[end])) {
			return true
		}
		off = end
	}
}

// versionAfter parses the major version that follows the first occurrence
// of tok in s, 0 if none.
func versionAfter(s, tok string) int {
	i := strings.Index(s, tok)
	if i < 0 {
		return 0
	}
	return parseMajor(s[i+len(tok):])
}

// parseMajor parses the leading decimal digits of s ("133.0.0.0" → 133,
// "17_4" → 17). It returns 0 when s does not start with a digit or the
// number has more than maxVersionDigits digits.
func parseMajor(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b < '0' || b > '9' {
			return n
		}
		if i == maxVersionDigits {
			return 0
		}
		n = n*10 + int(b-'0')
	}
	return n
}

// hasCTL reports an ASCII control character other than HTAB, none of which
// may appear in an HTTP field value (RFC 9110 §5.5).
func hasCTL(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; (b < 0x20 && b != '\t') || b == 0x7f {
			return true
		}
	}
	return false
}

func isLetter(b byte) bool { return ('a' <= b && b <= 'z') || ('A' <= b && b <= 'Z') }

// brandInfo is what a Sec-CH-UA brand list says.
type brandInfo struct {
	// engine: the list names a Chromium engine (the "Chromium" brand or a
	// brand known to be Chromium-based).
	engine bool
	// product is the most specific known brand's product, "" if only
	// "Chromium" (and GREASE or unknown brands) were listed.
	product string
	rank    int
	// brandMajor is that brand's version; brandIsEngine says the brand
	// numbers its versions like Chromium does.
	brandMajor    int
	brandIsEngine bool
	chromiumMajor int
	headless      bool
}

// parseSecCHUA parses a Sec-CH-UA value, an RFC 8941 sf-list of sf-strings
// with a "v" parameter (WICG User-Agent Client Hints, §"Sec-CH-UA";
// https://wicg.github.io/ua-client-hints/#sec-ch-ua), e.g.
//
//	"Not(A:Brand";v="99", "Google Chrome";v="133", "Chromium";v="133"
//
// ok is false when the value is absent, too long or does not parse: per RFC
// 8941 §4.2 a field that fails to parse is ignored as a whole. A list whose
// members are not strings is not a brand list and is malformed too.
func parseSecCHUA(s string) (h brandInfo, ok bool) {
	s = strings.Trim(s, " \t")
	if s == "" || len(s) > maxHintLen {
		return brandInfo{}, false
	}
	for {
		brand, rest, good := sfString(s)
		if !good {
			return brandInfo{}, false
		}
		var version string
		var hasV bool
		if rest, version, hasV, good = sfParams(rest); !good {
			return brandInfo{}, false
		}
		major := 0
		if hasV {
			major = parseMajor(version)
		}
		h.addBrand(brand, major)

		rest = strings.TrimLeft(rest, " \t")
		if rest == "" {
			return h, true
		}
		if rest[0] != ',' {
			return brandInfo{}, false
		}
		s = strings.TrimLeft(rest[1:], " \t")
		if s == "" {
			// A trailing comma: RFC 8941 §4.2.1 step 2.5.
			return brandInfo{}, false
		}
	}
}

// addBrand records one brand. brand is the sf-string's content still
// escaped; no real brand contains a backslash or quote, so comparing the
// escaped form is exact for every brand that matters.
func (h *brandInfo) addBrand(brand string, major int) {
	if isGREASEBrand(brand) {
		return
	}
	var product string
	rank, engineVersion := 0, false
	switch brand {
	case "Chromium":
		h.engine = true
		if h.chromiumMajor == 0 {
			h.chromiumMajor = major
		}
		return
	case "Google Chrome":
		product, rank, engineVersion = productChrome, 1, true
	case "HeadlessChrome":
		product, rank, engineVersion = productChrome, 1, true
		h.headless = true
	case "Microsoft Edge":
		product, rank, engineVersion = productEdge, 2, true
	case "Android WebView":
		product, rank, engineVersion = productWebView, 2, true
	case "Microsoft Edge WebView2":
		// Listed beside "Microsoft Edge": the more specific wins.
		product, rank, engineVersion = productWebView, 3, true
	case "Opera", "Opera GX":
		product, rank = productOpera, 2
	case "Brave":
		product, rank = productBrave, 2
	case "Samsung Internet":
		product, rank = productSamsung, 2
	case "YaBrowser", "Yowser":
		product, rank = productYandex, 2
	case "Vivaldi":
		product, rank = productVivaldi, 2
	default:
		// An unknown brand: it may be anything (the spec lets browsers
		// add arbitrary brands), so it proves no engine by itself.
		return
	}
	h.engine = true
	if rank > h.rank {
		h.product, h.rank = product, rank
		h.brandMajor, h.brandIsEngine = major, engineVersion
	}
}

// isGREASEBrand reports Chromium's GREASE brand: "Not", "A" and "Brand"
// separated by punctuation ("Not(A:Brand", "Not)A;Brand", " Not A;Brand",
// "Not_A Brand", …). Chromium picks the separators from the set
// " ()-./:;=?_" by the major version (GetGreasedUserAgentBrandVersion in
// components/embedder_support/user_agent_utils.cc; WICG UA-CH §"GREASE-like
// UA Brand Lists"); whatever it picks, its letters spell NotABrand.
func isGREASEBrand(brand string) bool {
	const want = "notabrand"
	n := 0
	for i := 0; i < len(brand); i++ {
		b := brand[i]
		if !isLetter(b) {
			continue
		}
		if n == len(want) || b|0x20 != want[n] {
			return false
		}
		n++
	}
	return n == len(want)
}

// sfString parses an RFC 8941 §4.2.5 sf-string at the start of s and
// returns its content (still escaped) and the rest.
func sfString(s string) (content, rest string, ok bool) {
	if s == "" || s[0] != '"' {
		return "", "", false
	}
	for i := 1; i < len(s); i++ {
		switch b := s[i]; {
		case b == '\\':
			if i+1 == len(s) || (s[i+1] != '"' && s[i+1] != '\\') {
				return "", "", false
			}
			i++
		case b == '"':
			return s[1:i], s[i+1:], true
		case b < 0x20 || b > 0x7e:
			return "", "", false
		}
	}
	return "", "", false
}

// sfParams parses RFC 8941 §4.2.3.2 parameters (";key=value"…) at the
// start of s and returns the rest and the value of a "v" parameter that is
// an sf-string.
func sfParams(s string) (rest, v string, hasV, ok bool) {
	for s != "" && s[0] == ';' {
		s = strings.TrimLeft(s[1:], " ")
		k := 0
		for k < len(s) && isKeyChar(s[k], k == 0) {
			k++
		}
		if k == 0 {
			return "", "", false, false
		}
		key := s[:k]
		s = s[k:]
		if s == "" || s[0] != '=' {
			continue // a bare key is boolean true
		}
		s = s[1:]
		if s != "" && s[0] == '"' {
			var val string
			var good bool
			if val, s, good = sfString(s); !good {
				return "", "", false, false
			}
			if key == "v" {
				v, hasV = val, true
			}
			continue
		}
		var good bool
		if s, good = sfBareNonString(s); !good {
			return "", "", false, false
		}
	}
	return s, v, hasV, true
}

// isKeyChar reports a character allowed in an RFC 8941 key: lcalpha or "*"
// first, then also DIGIT, "_", "-", ".".
func isKeyChar(b byte, first bool) bool {
	if ('a' <= b && b <= 'z') || b == '*' {
		return true
	}
	return !first && (('0' <= b && b <= '9') || b == '_' || b == '-' || b == '.')
}

// sfBareNonString skips an RFC 8941 bare item other than a string: an
// integer or decimal, a token, a byte sequence or a boolean.
func sfBareNonString(s string) (rest string, ok bool) {
	if s == "" {
		return "", false
	}
	switch b := s[0]; {
	case b == '-' || ('0' <= b && b <= '9'):
		i := 0
		if b == '-' {
			i++
		}
		start, dot := i, -1
		for i < len(s) && (('0' <= s[i] && s[i] <= '9') || (s[i] == '.' && dot < 0)) {
			if s[i] == '.' {
				dot = i
			}
			i++
		}
		digits := i - start
		if digits == 0 || digits > 16 || dot == i-1 || dot == start {
			return "", false
		}
		return s[i:], true
	case isLetter(b) || b == '*':
		i := 1
		for i < len(s) && isTokenChar(s[i]) {
			i++
		}
		return s[i:], true
	case b == ':':
		j := strings.IndexByte(s[1:], ':')
		if j < 0 {
			return "", false
		}
		for _, c := range []byte(s[1 : 1+j]) {
			if !isLetter(c) && !('0' <= c && c <= '9') && c != '+' && c != '/' && c != '=' {
				return "", false
			}
		}
		return s[j+2:], true
	case b == '?':
		if len(s) < 2 || (s[1] != '0' && s[1] != '1') {
			return "", false
		}
		return s[2:], true
	}
	return "", false
}

// isTokenChar reports an RFC 9110 tchar, or ":" or "/" (RFC 8941 sf-token).
func isTokenChar(b byte) bool {
	if isLetter(b) || ('0' <= b && b <= '9') {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~:/", b) >= 0
}

// parseMobileHint parses Sec-CH-UA-Mobile, an sf-boolean: "?1" or "?0".
func parseMobileHint(s string) (mobile, ok bool) {
	switch strings.Trim(s, " \t") {
	case "?1":
		return true, true
	case "?0":
		return false, true
	}
	return false, false
}

// parsePlatformHint parses Sec-CH-UA-Platform, an sf-string naming one of
// "Android", "Chrome OS", "Chromium OS", "iOS", "Linux", "macOS", "Windows"
// or "Unknown" (WICG UA-CH §"Sec-CH-UA-Platform"; MDN lists the same set).
// "Unknown" and anything else leaves the User-Agent's platform in place.
func parsePlatformHint(s string) (platform string, ok bool) {
	s = strings.Trim(s, " \t")
	if s == "" || len(s) > maxHintLen {
		return "", false
	}
	v, rest, good := sfString(s)
	if !good {
		return "", false
	}
	if rest, _, _, good = sfParams(rest); !good || strings.TrimLeft(rest, " \t") != "" {
		return "", false
	}
	switch {
	case strings.EqualFold(v, "Windows"):
		return platformWindows, true
	case strings.EqualFold(v, "macOS"):
		return platformMacOS, true
	case strings.EqualFold(v, "Linux"):
		return platformLinux, true
	case strings.EqualFold(v, "Android"):
		return platformAndroid, true
	case strings.EqualFold(v, "iOS"):
		return platformIOS, true
	case strings.EqualFold(v, "Chrome OS"), strings.EqualFold(v, "Chromium OS"):
		return platformChromeOS, true
	}
	return "", false
}
