package middleware

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

func TestNewBannerConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     BannerConfig
		wantErr string // "" means valid
	}{
		{name: "zero_value_is_valid", cfg: BannerConfig{}},
		{name: "custom_asset_path", cfg: BannerConfig{AssetPath: "/static/mitmwatch-v2/"}},
		{name: "root_asset_path", cfg: BannerConfig{AssetPath: "/"}},
		{name: "https_help_url", cfg: BannerConfig{HelpURL: "https://help.example/tls?lang=en&x=1"}},
		{name: "disabled_still_validates", cfg: BannerConfig{Disabled: true, AssetPath: "x"}, wantErr: "AssetPath"},
		{name: "asset_path_without_leading_slash", cfg: BannerConfig{AssetPath: "assets/"}, wantErr: "AssetPath"},
		{name: "asset_path_without_trailing_slash", cfg: BannerConfig{AssetPath: "/assets"}, wantErr: "AssetPath"},
		{name: "scheme_relative_asset_path_loads_from_another_host", cfg: BannerConfig{AssetPath: "//evil.example/"}, wantErr: "AssetPath"},
		{name: "dot_dot_asset_path", cfg: BannerConfig{AssetPath: "/a/../b/"}, wantErr: "AssetPath"},
		{name: "quote_in_asset_path_breaks_attribute", cfg: BannerConfig{AssetPath: `/a"onload="x/`}, wantErr: "AssetPath"},
		{name: "query_in_asset_path", cfg: BannerConfig{AssetPath: "/a?b=/"}, wantErr: "AssetPath"},
		{name: "javascript_help_url", cfg: BannerConfig{HelpURL: "javascript:alert(1)"}, wantErr: "HelpURL"},
		{name: "data_help_url", cfg: BannerConfig{HelpURL: "data:text/html,<script>alert(1)</script>"}, wantErr: "HelpURL"},
		{name: "relative_help_url", cfg: BannerConfig{HelpURL: "/help"}, wantErr: "HelpURL"},
		{name: "userinfo_help_url_hides_real_host", cfg: BannerConfig{HelpURL: "https://bank.example@evil.example/"}, wantErr: "HelpURL"},
		{name: "control_char_help_url", cfg: BannerConfig{HelpURL: "https://a.example/\n"}, wantErr: "HelpURL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := NewBanner(tt.cfg)
			if tt.wantErr == "" {
				if err != nil || b == nil {
					t.Fatalf("NewBanner = %v, %v; want a banner", b, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("NewBanner accepted %+v", tt.cfg)
			}
			if !errors.Is(err, ErrBannerConfig) || !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "middleware: ") {
				t.Errorf("error %q: want it to wrap ErrBannerConfig and ErrInvalidConfig and name %s", err, tt.wantErr)
			}
		})
	}
}

func TestNegotiateLocale(t *testing.T) {
	tests := []struct {
		header string
		want   string
	}{
		{"", "en"},
		{"ru", "ru"},
		{"ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", "ru"},
		{"kk-KZ,kk;q=0.9,ru;q=0.8", "kk"},
		{"en;q=0.5, kk;q=0.8, ru;q=0.7", "kk"},
		{"ja,zh-CN;q=0.5", "zh-Hans"}, // unsupported first choice skipped
		{"zh-TW", "zh-Hant"},
		{"zh-HK,zh;q=0.9", "zh-Hant"},
		{"zh_TW", "zh-Hant"},
		{"zh-Hant-CN", "zh-Hant"},
		{"zh-Hans-TW", "zh-Hans"},
		{"zh", "zh-Hans"},
		{"fa-IR,fa;q=0.9", "fa"},
		{"ar-EG", "ar"},
		{"TR-tr", "tr"},
		{"es-419,es;q=0.9", "es"},
		{"de-CH", "de"},
		{"fr-CA,en;q=0.9", "fr"},
		{"ru;q=0, en", "en"},              // q=0 means "not acceptable"
		{"ru;q=0.000,fa;q=0.001", "fa"},   // three decimals
		{"ru;q=0.5, tr;q=0.5", "ru"},      // a tie keeps the earlier
		{"ru;q=2, fa", "fa"},              // invalid q skipped
		{"ru;q=1.001, fa;q=0.1", "fa"},    // above 1 is invalid
		{"ru;q=0.1234, fa;q=0.1", "fa"},   // four decimals are invalid
		{"ru ; Q = 0.3 , ar;q=0.2", "ru"}, // spaces and an upper-case Q
		{"*", "en"},
		{"*;q=1, ar;q=0.1", "ar"},
		{"xx-YY, yy", "en"},
		{",,,;;;==,", "en"},
		{"en-US,en;q=0.9,ru;q=0.8", "en"},
		{strings.Repeat("xx,", 100) + "ru", "en"}, // only the first ranges are read
	}
	for _, tt := range tests {
		if got := bannerLocales()[negotiateLocale(tt.header)].tag; got != tt.want {
			t.Errorf("negotiateLocale(%q) = %s, want %s", tt.header, got, tt.want)
		}
	}
}

func TestNegotiateLocaleDoesNotAllocate(t *testing.T) {
	h := "fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5, zh-Hant-TW;q=0.4"
	if n := testing.AllocsPerRun(100, func() { negotiateLocale(h) }); n != 0 {
		t.Errorf("negotiateLocale allocates %v times", n)
	}
}

// TestBannerMessagesComplete holds every language to the same shape.
func TestBannerMessagesComplete(t *testing.T) {
	msgs := bannerLocales()
	seen := map[string]bool{}
	for i, m := range msgs {
		if m.tag == "" || seen[m.tag] {
			t.Errorf("locale %d: tag %q empty or repeated", i, m.tag)
		}
		seen[m.tag] = true
		for field, s := range map[string]string{"intercepted": m.intercepted, "interceptedBy": m.interceptedBy, "explain": m.explain, "advice": m.advice, "help": m.help, "dismiss": m.dismiss} {
			if strings.TrimSpace(s) == "" {
				t.Errorf("%s: %s is empty", m.tag, field)
			}
		}
		if strings.Count(m.interceptedBy, productPlaceholder) != 1 {
			t.Errorf("%s: interceptedBy must hold %s exactly once", m.tag, productPlaceholder)
		}
		if m.rtl != (m.tag == "fa" || m.tag == "ar") {
			t.Errorf("%s: rtl = %v", m.tag, m.rtl)
		}
	}
	for _, tag := range []string{"en", "ru", "kk", "zh-Hans", "fa", "tr", "ar", "es"} {
		if !seen[tag] {
			t.Errorf("required language %s missing", tag)
		}
	}
	if msgs[localeEN].tag != "en" {
		t.Errorf("locale 0 is %s, want the English fallback", msgs[localeEN].tag)
	}
}

// bnrParsed is the banner fragment as a browser's parser sees it.
type bnrParsed struct {
	root     *html.Node // the element with data-mitmwatch-banner
	elements []*html.Node
	text     string // the banner's text content
}

func bnrAttr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// bnrParse parses frag as the content of a <body> and collects what the
// tests look at.
func bnrParse(t *testing.T, frag []byte) bnrParsed {
	t.Helper()
	body := &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body}
	nodes, err := html.ParseFragment(bytes.NewReader(frag), body)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	var p bnrParsed
	var text strings.Builder
	var walk func(n *html.Node, inBanner bool)
	walk = func(n *html.Node, inBanner bool) {
		if n.Type == html.ElementNode {
			p.elements = append(p.elements, n)
			if _, ok := bnrAttr(n, "data-mitmwatch-banner"); ok {
				if p.root != nil {
					t.Errorf("two banner roots")
				}
				p.root, inBanner = n, true
			}
		}
		if n.Type == html.TextNode && inBanner {
			text.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inBanner)
		}
	}
	for _, n := range nodes {
		walk(n, false)
	}
	if p.root == nil {
		t.Fatalf("no data-mitmwatch-banner element in %q", frag)
	}
	p.text = text.String()
	return p
}

// TestBannerFragmentEveryLanguage renders each language and checks that
// the bytes are ASCII, that a parser reads back exactly the message's
// text, and the lang and dir attributes.
func TestBannerFragmentEveryLanguage(t *testing.T) {
	b := bnrBanner(t, BannerConfig{HelpURL: "https://help.example/tls?a=1&b=2"})
	for i, m := range bannerLocales() {
		t.Run(m.tag, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Accept-Language", m.tag)
			if got := negotiateLocale(m.tag); got != i {
				t.Fatalf("Accept-Language %q picks locale %d, want %d", m.tag, got, i)
			}
			for _, product := range []string{"", "ESET security products"} {
				frag := b.render(r, product)
				for j, c := range frag {
					if c >= 0x80 {
						t.Fatalf("non-ASCII byte %#x at %d", c, j)
					}
				}
				p := bnrParse(t, frag)
				headline := m.intercepted
				if product != "" {
					headline = strings.Replace(m.interceptedBy, productPlaceholder, product, 1)
				}
				want := headline + m.explain + m.advice + " " + m.help + "\u00d7"
				if p.text != want {
					t.Errorf("text:\n got %q\nwant %q", p.text, want)
				}
				dir := "ltr"
				if m.rtl {
					dir = "rtl"
				}
				if lang, _ := bnrAttr(p.root, "lang"); lang != m.tag {
					t.Errorf("lang = %q, want %q", lang, m.tag)
				}
				if d, _ := bnrAttr(p.root, "dir"); d != dir {
					t.Errorf("dir = %q, want %q", d, dir)
				}
				if role, _ := bnrAttr(p.root, "role"); role != "alert" {
					t.Errorf("role = %q, want alert", role)
				}
				for _, e := range p.elements {
					if e.Data == "a" {
						if href, _ := bnrAttr(e, "href"); href != "https://help.example/tls?a=1&b=2" {
							t.Errorf("help link href = %q", href)
						}
					}
					if _, ok := bnrAttr(e, "style"); ok {
						t.Errorf("<%s> has an inline style: a strict CSP would block it", e.Data)
					}
				}
			}
		})
	}
}

// TestBannerRTLForPersian is the example: Accept-Language fa
// lays the banner out right to left, with the product's name isolated.
func TestBannerRTLForPersian(t *testing.T) {
	b := bnrBanner(t, BannerConfig{})
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Accept-Language", "fa-IR,fa;q=0.9,en-US;q=0.8")
	frag := b.render(r, "mitmproxy")
	if !bytes.Contains(frag, []byte(`lang="fa" dir="rtl"`)) {
		t.Errorf("fragment %q is not lang=fa dir=rtl", frag)
	}
	if !bytes.Contains(frag, []byte("<bdi>mitmproxy</bdi>")) {
		t.Errorf("product name not isolated in <bdi>: %q", frag)
	}
}

// TestBannerEscapesDynamicValues feeds markup through every dynamic
// value: the product, the vendor and the CSP nonce. The parsed fragment
// must hold exactly the banner's own elements, no attribute it did not
// write, and the hostile strings as plain text.
func TestBannerEscapesDynamicValues(t *testing.T) {
	tests := []struct {
		name            string
		product, vendor string
		nonce           string
		wantText        string // in the headline
	}{
		{name: "img_onerror_in_product", product: `<img src=x onerror=alert(1)>`, wantText: `<img src=x onerror=alert(1)>`},
		{name: "script_in_vendor", product: "Proxy", vendor: `</strong><script>alert(1)</script>`, wantText: `Proxy (</strong><script>alert(1)</script>)`},
		{name: "attribute_breakout_in_product", product: `" onmouseover="alert(1)`, wantText: `" onmouseover="alert(1)`},
		{name: "single_quote_and_ampersand", product: `A&B's <b>proxy</b>`, wantText: `A&B's <b>proxy</b>`},
		{name: "entity_in_product_stays_text", product: `&lt;script&gt;`, wantText: `&lt;script&gt;`},
		{name: "nonce_attribute_breakout", product: "Proxy", nonce: `abc"><script>alert(1)</script>`, wantText: "Proxy"},
		{name: "bidi_override_reorders_sentence", product: "\u202egnp.exe\u2066", wantText: "gnp.exe"},
		{name: "control_chars_dropped", product: "Pro\x00xy\x1b[31m\u0085", wantText: "Proxy[31m"},
		{name: "invalid_utf8", product: "Pro\xffxy", wantText: "Pro\ufffdxy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nonce := tt.nonce
			b := bnrBanner(t, BannerConfig{Nonce: func(*http.Request) string { return nonce }})
			r := httptest.NewRequest("GET", "/", nil)
			v := &fingerprints.Verdict{Verdict: fingerprints.OutcomeIntercepted, Product: tt.product, Vendor: tt.vendor}
			frag := b.render(r, productLabel(v))
			p := bnrParse(t, frag)
			allowed := map[string][]string{
				"link":   {"rel", "href", "nonce"},
				"div":    {"data-mitmwatch-banner", "role", "lang", "dir", "data-mitmwatch-banner-text"},
				"p":      nil,
				"strong": nil,
				"bdi":    nil,
				"button": {"type", "data-mitmwatch-dismiss", "hidden", "aria-label", "title"},
				"script": {"src", "defer", "nonce"},
			}
			var names []string
			for _, e := range p.elements {
				names = append(names, e.Data)
				keys, ok := allowed[e.Data]
				if !ok {
					t.Errorf("unexpected element <%s>", e.Data)
					continue
				}
				for _, a := range e.Attr {
					found := false
					for _, k := range keys {
						found = found || a.Key == k
					}
					if !found {
						t.Errorf("unexpected attribute %s on <%s>", a.Key, e.Data)
					}
				}
				if e.Data == "script" && e.FirstChild != nil {
					t.Errorf("<script> has inline content %q", e.FirstChild.Data)
				}
			}
			if want := "link div div p strong bdi p p button script"; strings.Join(names, " ") != want {
				t.Errorf("elements %q, want %q", strings.Join(names, " "), want)
			}
			if !strings.Contains(p.text, tt.wantText) {
				t.Errorf("text %q does not contain %q", p.text, tt.wantText)
			}
			for _, e := range p.elements {
				if n, ok := bnrAttr(e, "nonce"); ok && n != tt.nonce {
					t.Errorf("nonce = %q, want %q", n, tt.nonce)
				}
			}
			for _, bad := range []string{"\u202e", "\u2066", "&#x202e;", "\x00", "\x1b"} {
				if bytes.Contains(frag, []byte(bad)) {
					t.Errorf("fragment contains %q", bad)
				}
			}
		})
	}
}

func TestBannerNonceHook(t *testing.T) {
	b := bnrBanner(t, BannerConfig{Nonce: func(r *http.Request) string { return r.Header.Get("X-Test-Nonce") }})
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-Test-Nonce", "rAnd0m+/=")
	frag := string(b.render(r, ""))
	if strings.Count(frag, `nonce="rAnd0m+/="`) != 2 {
		t.Errorf("want the nonce on <link> and <script>: %s", frag)
	}
	r.Header.Del("X-Test-Nonce")
	if frag := string(b.render(r, "")); strings.Contains(frag, "nonce") {
		t.Errorf("empty nonce still written: %s", frag)
	}
	if frag := string(bnrBanner(t, BannerConfig{}).render(r, "")); strings.Contains(frag, "nonce") {
		t.Errorf("nonce without a hook: %s", frag)
	}
}

func TestProductLabel(t *testing.T) {
	tests := []struct{ product, vendor, want string }{
		{"mitmproxy", "mitmproxy project", "mitmproxy"},
		{"Barracuda Web Security Gateway", "Barracuda Networks", "Barracuda Web Security Gateway"},
		{"Kazakhstan state interception system (Qaznet Trust Network)", "Government of Kazakhstan", "Kazakhstan state interception system (Qaznet Trust Network) (Government of Kazakhstan)"},
		{"Dr.Web", "Doctor Web", "Dr.Web (Doctor Web)"},
		{"G DATA", "G DATA", "G DATA"},
		{"", "Kaspersky", "Kaspersky"},
		{"  ", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		v := &fingerprints.Verdict{Product: tt.product, Vendor: tt.vendor}
		if got := productLabel(v); got != tt.want {
			t.Errorf("productLabel(%q, %q) = %q, want %q", tt.product, tt.vendor, got, tt.want)
		}
	}
}

func TestBannerLongProductNameIsCut(t *testing.T) {
	b := bnrBanner(t, BannerConfig{})
	r := httptest.NewRequest("GET", "/", nil)
	frag := b.render(r, strings.Repeat("Я", 5000))
	p := bnrParse(t, frag)
	if got := strings.Count(p.text, "Я"); got != maxProductRunes || !strings.Contains(p.text, "Я\u2026") {
		t.Errorf("headline holds %d runes of the name, want %d and an ellipsis", got, maxProductRunes)
	}
}

func TestServeAsset(t *testing.T) {
	b := bnrBanner(t, BannerConfig{AssetPath: "/assets/mw/"})
	tests := []struct {
		name       string
		method     string
		path       string
		header     map[string]string
		wantServed bool
		wantStatus int
		wantType   string
		wantBody   string
	}{
		{name: "css", method: "GET", path: "/assets/mw/banner.css", wantServed: true, wantStatus: 200, wantType: "text/css; charset=utf-8", wantBody: bannerCSS},
		{name: "js", method: "GET", path: "/assets/mw/banner.js", wantServed: true, wantStatus: 200, wantType: "text/javascript; charset=utf-8", wantBody: bannerJS},
		{name: "head_has_no_body", method: "HEAD", path: "/assets/mw/banner.js", wantServed: true, wantStatus: 200, wantType: "text/javascript; charset=utf-8"},
		{name: "conditional_get_not_modified", method: "GET", path: "/assets/mw/banner.css", header: map[string]string{"If-None-Match": b.css.etag}, wantServed: true, wantStatus: 304},
		{name: "stale_etag_gets_file", method: "GET", path: "/assets/mw/banner.css", header: map[string]string{"If-None-Match": `"old"`}, wantServed: true, wantStatus: 200, wantType: "text/css; charset=utf-8", wantBody: bannerCSS},
		{name: "post_not_allowed", method: "POST", path: "/assets/mw/banner.js", wantServed: true, wantStatus: 405},
		{name: "other_file_under_prefix_left_to_app", method: "GET", path: "/assets/mw/other.js"},
		{name: "traversal_left_to_app", method: "GET", path: "/assets/mw/../mw/banner.js"},
		{name: "prefix_itself_left_to_app", method: "GET", path: "/assets/mw/"},
		{name: "default_path_not_served_when_moved", method: "GET", path: "/.well-known/mitmwatch/banner.js"},
		{name: "app_path", method: "GET", path: "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "https://site.example"+tt.path, nil)
			r.URL.Path = tt.path // keep "..", as a raw client could send it
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			served := b.ServeAsset(rec, r)
			if served != tt.wantServed {
				t.Fatalf("ServeAsset = %v, want %v", served, tt.wantServed)
			}
			if !served {
				if rec.Body.Len() != 0 || len(rec.Header()) != 0 {
					t.Errorf("wrote a response for a path it does not serve")
				}
				return
			}
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d", rec.Code, tt.wantStatus)
			}
			if tt.wantType != "" {
				h := rec.Header()
				if got := h.Get("Content-Type"); got != tt.wantType {
					t.Errorf("Content-Type %q, want %q", got, tt.wantType)
				}
				if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("ETag") == "" || h.Get("Cache-Control") == "" {
					t.Errorf("headers %v: want nosniff, ETag and Cache-Control", h)
				}
			}
			if tt.wantStatus == 405 && rec.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("405 without Allow: GET, HEAD")
			}
			if tt.wantBody != "" && rec.Body.String() != tt.wantBody {
				t.Errorf("body is not the asset")
			}
			if tt.method == "HEAD" && rec.Body.Len() != 0 {
				t.Errorf("HEAD has a body")
			}
		})
	}
	if (&Banner{disabled: true, assetPath: "/"}).ServeAsset(httptest.NewRecorder(), httptest.NewRequest("GET", "/banner.js", nil)) {
		t.Errorf("a disabled banner served an asset")
	}
}

// TestBannerFragmentLinksServedAssets follows the <link> and <script>
// URLs of the fragment to ServeAsset.
func TestBannerFragmentLinksServedAssets(t *testing.T) {
	for _, path := range []string{"", "/static/mw/"} {
		b := bnrBanner(t, BannerConfig{AssetPath: path})
		p := bnrParse(t, b.render(httptest.NewRequest("GET", "/", nil), ""))
		for _, e := range p.elements {
			attr := map[string]string{"link": "href", "script": "src"}[e.Data]
			if attr == "" {
				continue
			}
			u, _ := bnrAttr(e, attr)
			rec := httptest.NewRecorder()
			if !b.ServeAsset(rec, httptest.NewRequest("GET", "https://site.example"+u, nil)) || rec.Code != 200 {
				t.Errorf("<%s %s=%q> is not served (%d)", e.Data, attr, u, rec.Code)
			}
			body, _ := io.ReadAll(rec.Body)
			if e.Data == "link" && string(body) != bannerCSS || e.Data == "script" && string(body) != bannerJS {
				t.Errorf("<%s> loads the wrong asset", e.Data)
			}
		}
	}
}

// TestBannerAssetsMatchFragment ties the CSS and script to the
// attributes the fragment writes, so renaming one side fails here.
func TestBannerAssetsMatchFragment(t *testing.T) {
	frag := string(bnrBanner(t, BannerConfig{}).render(httptest.NewRequest("GET", "/", nil), ""))
	for _, hook := range []string{"data-mitmwatch-banner", "data-mitmwatch-banner-text", "data-mitmwatch-dismiss"} {
		if !strings.Contains(frag, hook) {
			t.Errorf("fragment lacks %s", hook)
		}
		if !strings.Contains(bannerCSS, "["+hook) {
			t.Errorf("banner.css does not style [%s", hook)
		}
	}
	for _, hook := range []string{"[data-mitmwatch-banner]", "[data-mitmwatch-dismiss]", "sessionStorage"} {
		if !strings.Contains(bannerJS, hook) {
			t.Errorf("banner.js lacks %s", hook)
		}
	}
	for _, forbidden := range []string{"eval(", "innerHTML", "document.write", "new Function"} {
		if strings.Contains(bannerJS, forbidden) {
			t.Errorf("banner.js uses %s", forbidden)
		}
	}
}
