package middleware

// The warning banner: configuration, the localized HTML fragment and the
// assets (banner.css, banner.js) it loads from the middleware's own path.
//
// # What the user sees
//
// For a connection whose verdict is intercepted, text/html responses get
// a short block right after the opening <body> tag: a headline saying the
// connection is being intercepted (naming the product when mitmwatch
// knows it), who can read the traffic, and what to do; an optional "What
// you can do" link (BannerConfig.HelpURL); and a close button. The block's
// root element carries the attribute data-mitmwatch-banner, the stable
// hook for operators' CSS and for tests. Dismissal is remembered for the
// browser tab in sessionStorage.
//
// # Content-Security-Policy
//
// The fragment contains no inline script and no inline style: it links
// banner.css and banner.js under BannerConfig.AssetPath, which
// [Banner.ServeAsset] serves, so a policy as strict as
// "default-src 'self'" allows it. Sites whose policy allows scripts only
// by nonce set BannerConfig.Nonce; the <link> and <script> then carry
// nonce="…". Without its stylesheet (blocked, or slow) the banner is still
// readable plain text, and without its script the close button stays
// hidden rather than doing nothing.
//
// # Language
//
// The language comes from Accept-Language (q-values honoured; unknown
// languages skipped; English otherwise): English, Russian, Kazakh,
// Chinese (Simplified, and Traditional for zh-Hant/TW/HK/MO), Persian,
// Turkish, Arabic, Spanish, German and French; Persian and Arabic are laid
// out right to left. Every character outside ASCII is written as a
// numeric character reference, so the injected bytes are ASCII and read
// correctly in a page of any ASCII-compatible charset.
//
// # Limits
//
// The banner is a courtesy for interception that leaves content alone
// (antivirus, corporate proxies, most middleboxes): an interceptor that
// rewrites pages can remove it, so it is never the only signal; the
// verdict also reaches the application and the alerts.

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// DefaultBannerAssetPath is where the banner's stylesheet and script are
// served when BannerConfig.AssetPath is empty. /.well-known/ is reserved
// for site-wide metadata (RFC 8615), so it rarely collides with an
// application's own routes.
const DefaultBannerAssetPath = "/.well-known/mitmwatch/"

// ErrBannerConfig is wrapped by every error NewBanner returns. It wraps
// ErrInvalidConfig, so errors.Is(err, ErrInvalidConfig) holds too.
var ErrBannerConfig = fmt.Errorf("%w: banner", ErrInvalidConfig)

// BannerConfig configures the warning banner. The zero value is a working
// configuration: the banner is enabled and its assets are served under
// DefaultBannerAssetPath.
type BannerConfig struct {
	// Disabled turns the banner off: Wrap always returns the writer it
	// was given and ServeAsset serves nothing. Default false.
	Disabled bool
	// AssetPath is the URL path prefix under which banner.css and
	// banner.js are served. It must start and end with "/", be a clean
	// path (no "//", "." or ".." segments) and use only letters, digits
	// and "-._~/". Default DefaultBannerAssetPath.
	AssetPath string
	// Nonce, when set, returns the CSP nonce of the response being
	// written; the banner's <link> and <script> then carry nonce="…".
	// It is called once per injected banner, from the goroutine that
	// writes the response. An empty result adds no attribute. Default
	// nil: no nonce attribute.
	Nonce func(r *http.Request) string
	// HelpURL, when set, is an absolute http or https URL the banner
	// links to as "What you can do" (opened in a new tab). Default
	// empty: no link.
	HelpURL string
}

// Banner renders the warning banner and serves its assets. It is built
// once by NewBanner and is safe for concurrent use.
type Banner struct {
	disabled  bool
	assetPath string
	nonce     func(r *http.Request) string

	// linkOpen is `<link rel="stylesheet" href="…"` and scriptOpen is
	// `<script src="…" defer`; the nonce attribute and the closing
	// characters are appended per response.
	linkOpen   []byte
	scriptOpen []byte
	locales    [numLocales]renderedLocale

	css, js bannerAsset
}

// renderedLocale is one language's fragment, escaped and rendered once.
type renderedLocale struct {
	// open starts the banner element up to the headline's text.
	open []byte
	// headline is the headline without a product; before and after
	// surround the product's name.
	headline, before, after []byte
	// rest closes the headline and holds the explanation, the advice,
	// the optional help link and the close button.
	rest []byte
}

// bannerAsset is one embedded file with its response headers.
type bannerAsset struct {
	body        string
	contentType string
	etag        string
}

// The assets are embedded as strings, which nothing can modify.
//
//go:embed banner_assets/banner.css
var bannerCSS string

//go:embed banner_assets/banner.js
var bannerJS string

// NewBanner validates cfg and renders the banner in every language.
func NewBanner(cfg BannerConfig) (*Banner, error) {
	b := &Banner{disabled: cfg.Disabled, nonce: cfg.Nonce}
	b.assetPath = cfg.AssetPath
	if b.assetPath == "" {
		b.assetPath = DefaultBannerAssetPath
	}
	if err := validAssetPath(b.assetPath); err != nil {
		return nil, fmt.Errorf("%w: AssetPath %q: %s", ErrBannerConfig, cfg.AssetPath, err)
	}
	helpURL, err := validHelpURL(cfg.HelpURL)
	if err != nil {
		return nil, fmt.Errorf("%w: HelpURL %q: %s", ErrBannerConfig, cfg.HelpURL, err)
	}

	b.css = newBannerAsset(bannerCSS, "text/css; charset=utf-8")
	b.js = newBannerAsset(bannerJS, "text/javascript; charset=utf-8")
	// The version query changes whenever the assets do, so a browser
	// holding an older copy under max-age fetches the new one.
	b.linkOpen = []byte(`<link rel="stylesheet" href="` + b.assetPath + `banner.css?v=` + b.css.version() + `"`)
	b.scriptOpen = []byte(`<script src="` + b.assetPath + `banner.js?v=` + b.js.version() + `" defer`)

	msgs := bannerLocales()
	for i := range msgs {
		b.locales[i] = renderLocale(&msgs[i], helpURL)
	}
	return b, nil
}

// validAssetPath reports why p cannot be the asset prefix. The prefix is
// written into an attribute and resolved by the browser against the page,
// so it must be an absolute path on the page's own origin: a leading "//"
// would be a URL on another host.
func validAssetPath(p string) error {
	if !strings.HasPrefix(p, "/") || !strings.HasSuffix(p, "/") {
		return errors.New(`must start and end with "/"`)
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~/", c) >= 0) {
			return fmt.Errorf("character %q not allowed (letters, digits and -._~/ only)", c)
		}
	}
	if p != "/" && path.Clean(p)+"/" != p {
		return errors.New(`must be a clean path without "//", "." or ".." segments`)
	}
	return nil
}

// validHelpURL parses and normalises the help link.
func validHelpURL(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", errors.New("not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", errors.New("scheme must be http or https")
	}
	if u.Host == "" {
		return "", errors.New("must be an absolute URL with a host")
	}
	if u.User != nil {
		// "https://bank.example@evil.example/" reads as one host and
		// goes to another: never show such a link to a user who is
		// being warned about an attack.
		return "", errors.New("must not contain user information")
	}
	return u.String(), nil
}

func newBannerAsset(body, contentType string) bannerAsset {
	sum := sha256.Sum256([]byte(body))
	return bannerAsset{body: body, contentType: contentType, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
}

// version is the ETag without its quotes.
func (a *bannerAsset) version() string { return a.etag[1 : len(a.etag)-1] }

// renderLocale renders one language's fragment. Static text goes through
// asciiHTML like the dynamic values, so no character of it can open
// markup.
func renderLocale(m *bannerMessages, helpURL string) renderedLocale {
	dir := "ltr"
	if m.rtl {
		dir = "rtl"
	}
	var rl renderedLocale
	rl.open = fmt.Appendf(nil, `<div data-mitmwatch-banner role="alert" lang="%s" dir="%s"><div data-mitmwatch-banner-text><p><strong>`, m.tag, dir)
	rl.headline = asciiHTML(nil, m.intercepted)
	before, after, _ := strings.Cut(m.interceptedBy, productPlaceholder)
	// <bdi> isolates the product's direction: a Latin name inside
	// Persian or Arabic text, or the reverse, keeps its own order.
	rl.before = append(asciiHTML(nil, before), "<bdi>"...)
	rl.after = asciiHTML([]byte("</bdi>"), after)

	rest := []byte("</strong></p><p>")
	rest = asciiHTML(rest, m.explain)
	rest = append(rest, "</p><p>"...)
	rest = asciiHTML(rest, m.advice)
	if helpURL != "" {
		rest = append(rest, ` <a href="`...)
		rest = asciiHTML(rest, helpURL)
		rest = append(rest, `" target="_blank" rel="noopener noreferrer">`...)
		rest = asciiHTML(rest, m.help)
		rest = append(rest, "</a>"...)
	}
	rest = append(rest, `</p></div><button type="button" data-mitmwatch-dismiss hidden aria-label="`...)
	rest = asciiHTML(rest, m.dismiss)
	rest = append(rest, `" title="`...)
	rest = asciiHTML(rest, m.dismiss)
	rest = append(rest, `">&#xd7;</button></div>`...)
	rl.rest = rest
	return rl
}

// render returns the fragment for request r naming product (which may be
// empty).
func (b *Banner) render(r *http.Request, product string) []byte {
	loc := &b.locales[negotiateLocale(r.Header.Get("Accept-Language"))]
	nonce := ""
	if b.nonce != nil {
		nonce = b.nonce(r)
	}
	size := len(b.linkOpen) + len(b.scriptOpen) + len(loc.open) + len(loc.before) + len(loc.after) + len(loc.rest) + 2*len(nonce) + 8*len(product) + 64
	buf := make([]byte, 0, size)
	buf = append(buf, b.linkOpen...)
	buf = appendNonce(buf, nonce)
	buf = append(buf, '>')
	buf = append(buf, loc.open...)
	if product == "" {
		buf = append(buf, loc.headline...)
	} else {
		buf = append(buf, loc.before...)
		buf = appendProductName(buf, product)
		buf = append(buf, loc.after...)
	}
	buf = append(buf, loc.rest...)
	buf = append(buf, b.scriptOpen...)
	buf = appendNonce(buf, nonce)
	buf = append(buf, "></script>"...)
	return buf
}

func appendNonce(buf []byte, nonce string) []byte {
	if nonce == "" {
		return buf
	}
	buf = append(buf, ` nonce="`...)
	buf = asciiHTML(buf, nonce)
	return append(buf, '"')
}

// productLabel names the interceptor for the headline: the product, with
// the vendor in parentheses when the product's name does not already
// contain the vendor's first word ("Barracuda Web Security Gateway", but
// "Kazakhstan state interception system (Government of Kazakhstan)").
// It is empty when neither is known.
func productLabel(v *fingerprints.Verdict) string {
	p, vendor := strings.TrimSpace(v.Product), strings.TrimSpace(v.Vendor)
	if p == "" {
		return vendor
	}
	if vendor == "" {
		return p
	}
	first, _, _ := strings.Cut(vendor, " ")
	if containsFold(p, first) {
		return p
	}
	return p + " (" + vendor + ")"
}

func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// maxProductRunes bounds the product's name in the headline.
const maxProductRunes = 100

// appendProductName escapes the interceptor's name into buf. The name
// comes from the signature database, but it is treated as hostile all the
// same: markup is escaped, control characters dropped, and bidirectional
// formatting characters removed so that a name cannot reorder the
// sentence around it (a "Trojan Source" style trick, CVE-2021-42574).
// Long names are cut with an ellipsis.
func appendProductName(buf []byte, name string) []byte {
	n := 0
	for _, r := range name {
		if r < 0x20 || r >= 0x7f && r < 0xa0 || isBidiControl(r) {
			continue
		}
		if n == maxProductRunes {
			return append(buf, "&#x2026;"...)
		}
		n++
		buf = appendRuneHTML(buf, r)
	}
	return buf
}

// isBidiControl reports the explicit directional formatting characters
// of Unicode's bidirectional algorithm (UAX #9).
func isBidiControl(r rune) bool {
	switch {
	case r == 0x061c, r == 0x200e, r == 0x200f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// asciiHTML appends s to buf escaped for HTML text and for double- or
// single-quoted attribute values, with every non-ASCII character as a
// numeric character reference. Invalid UTF-8 becomes U+FFFD.
func asciiHTML(buf []byte, s string) []byte {
	for _, r := range s {
		buf = appendRuneHTML(buf, r)
	}
	return buf
}

func appendRuneHTML(buf []byte, r rune) []byte {
	switch r {
	case '&':
		return append(buf, "&amp;"...)
	case '<':
		return append(buf, "&lt;"...)
	case '>':
		return append(buf, "&gt;"...)
	case '"':
		return append(buf, "&#34;"...)
	case '\'':
		return append(buf, "&#39;"...)
	}
	if r < utf8.RuneSelf && r >= 0x20 && r != 0x7f {
		return append(buf, byte(r))
	}
	if r < 0x20 || r == 0x7f {
		// Control characters are not allowed as character references
		// either; a space keeps words apart.
		return append(buf, ' ')
	}
	buf = append(buf, "&#x"...)
	const hexDigits = "0123456789abcdef"
	var tmp [8]byte
	i := len(tmp)
	for v := uint32(r); ; v >>= 4 {
		i--
		tmp[i] = hexDigits[v&0xf]
		if v < 0x10 {
			break
		}
	}
	buf = append(buf, tmp[i:]...)
	return append(buf, ';')
}

// maxAcceptLanguageRanges bounds the work spent on one Accept-Language
// header; browsers send a handful of ranges.
const maxAcceptLanguageRanges = 32

// negotiateLocale picks the banner's language from an Accept-Language
// header (RFC 9110 section 12.5.4): the supported language with the
// highest q-value, the earlier one on a tie; ranges with q=0, invalid
// q-values, "*" and unsupported languages are skipped; English when
// nothing matches. It does not allocate.
func negotiateLocale(header string) int {
	best, bestQ := localeEN, -1
	for n := 0; header != "" && n < maxAcceptLanguageRanges; n++ {
		var item string
		item, header, _ = strings.Cut(header, ",")
		tag, params, _ := strings.Cut(item, ";")
		tag = strings.TrimSpace(tag)
		q := 1000
		if params != "" {
			var ok bool
			if q, ok = parseQ(params); !ok {
				continue
			}
		}
		if q == 0 || q <= bestQ {
			continue
		}
		if loc, ok := localeForTag(tag); ok {
			best, bestQ = loc, q
		}
	}
	return best
}

// parseQ reads the weight parameter "q=0.8" as thousandths. Other
// parameters are ignored.
func parseQ(params string) (int, bool) {
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, v, ok := strings.Cut(p, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		return parseQValue(strings.TrimSpace(v))
	}
	return 1000, true
}

// parseQValue parses RFC 9110's qvalue: "0" [ "." 0*3DIGIT ] or
// "1" [ "." 0*3("0") ].
func parseQValue(v string) (int, bool) {
	if v == "" || len(v) > 5 || (v[0] != '0' && v[0] != '1') {
		return 0, false
	}
	q := int(v[0]-'0') * 1000
	if len(v) == 1 {
		return q, true
	}
	if v[1] != '.' {
		return 0, false
	}
	scale := 100
	for i := 2; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' || (q == 1000 && c != '0') {
			return 0, false
		}
		q += int(c-'0') * scale
		scale /= 10
	}
	return q, true
}

// localeForTag maps a language tag ("ru", "zh-TW", "fa-IR", "ES") to a
// locale.
func localeForTag(tag string) (int, bool) {
	primary, rest, _ := strings.Cut(tag, "-")
	if strings.ContainsRune(primary, '_') {
		// Some clients write "zh_TW".
		primary, rest, _ = strings.Cut(tag, "_")
	}
	switch strings.ToLower(primary) {
	case "en":
		return localeEN, true
	case "ru":
		return localeRU, true
	case "kk":
		return localeKK, true
	case "zh":
		return chineseLocale(rest), true
	case "fa":
		return localeFA, true
	case "tr":
		return localeTR, true
	case "ar":
		return localeAR, true
	case "es":
		return localeES, true
	case "de":
		return localeDE, true
	case "fr":
		return localeFR, true
	}
	return 0, false
}

// chineseLocale picks Traditional or Simplified Chinese from the subtags
// after "zh": an explicit script wins, then the region (Taiwan, Hong Kong
// and Macau write Traditional); Simplified otherwise.
func chineseLocale(subtags string) int {
	region := localeZHHans
	for subtags != "" {
		var s string
		s, subtags, _ = cutAny(subtags)
		switch {
		case strings.EqualFold(s, "hant"):
			return localeZHHant
		case strings.EqualFold(s, "hans"):
			return localeZHHans
		case strings.EqualFold(s, "tw"), strings.EqualFold(s, "hk"), strings.EqualFold(s, "mo"):
			region = localeZHHant
		}
	}
	return region
}

// cutAny cuts s at the first "-" or "_".
func cutAny(s string) (before, after string, found bool) {
	if i := strings.IndexAny(s, "-_"); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}

// ServeAsset serves banner.css and banner.js when r.URL.Path is
// AssetPath followed by one of those names, and reports whether it
// answered. Other paths, under AssetPath or not, are left to the caller.
// GET and HEAD get the file, with conditional requests (ETag) answered by
// http.ServeContent; other methods get 405. A disabled Banner serves
// nothing.
func (b *Banner) ServeAsset(w http.ResponseWriter, r *http.Request) bool {
	if b == nil || b.disabled {
		return false
	}
	name, ok := strings.CutPrefix(r.URL.Path, b.assetPath)
	if !ok {
		return false
	}
	var a *bannerAsset
	switch name {
	case "banner.css":
		a = &b.css
	case "banner.js":
		a = &b.js
	default:
		return false
	}
	h := w.Header()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return true
	}
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", "public, max-age=86400")
	h.Set("ETag", a.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	http.ServeContent(w, r, "", time.Time{}, strings.NewReader(a.body))
	return true
}
