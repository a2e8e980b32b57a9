package middleware

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// The banner in a real browser: headless Chromium loads pages from a TLS
// test server whose handler forces an intercepted verdict through Wrap.
// Screenshots go to $MITMWATCH_ARTIFACTS when set (for a human to look
// at), else to the test's temporary directory.

// bnrChromiumUA is a person's Chromium: headless Chromium's own
// "HeadlessChrome" User-Agent reads as a bot.
const bnrChromiumUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"

// bnrBannerRGB is the banner's background in banner.css (#8b1a1a).
var bnrBannerRGB = [3]uint8{0x8b, 0x1a, 0x1a}

// bnrChromium finds Chromium, skipping the test without it unless CI is
// set, where a missing browser is a failure.
func bnrChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found (CI=true: the browser tests must run)")
	}
	t.Skip("chromium not found")
	return ""
}

// bnrArtifactDir is where screenshots are kept.
func bnrArtifactDir(t *testing.T) string {
	if d := os.Getenv("MITMWATCH_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// bnrBrowse runs headless Chromium with args after the common flags and
// returns its standard output. The browser runs in its own process group,
// killed by that group's id if it outlives the time limit.
func bnrBrowse(t *testing.T, chromium string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	common := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir(),
		"--ignore-certificate-errors",
		"--user-agent=" + bnrChromiumUA,
	}
	cmd := exec.CommandContext(ctx, chromium, append(common, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if cmd.Process != nil {
		// Renderer and GPU helpers share the group; none may outlive
		// the test.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, bnrLastLines(stderr.String(), 20))
	}
	return stdout.Bytes()
}

func bnrLastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// bnrSite is the test site: pages wrapped with a forced verdict, the
// banner's assets, and test scripts; it counts requests by path.
type bnrSite struct {
	mu    sync.Mutex
	count map[string]int
}

func (s *bnrSite) hits(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count[path]
}

func newBnrSite(t *testing.T) (*bnrSite, string) {
	t.Helper()
	site := &bnrSite{count: map[string]int{}}
	plain := bnrBanner(t, BannerConfig{HelpURL: "https://help.example/intercepted"})
	nonced := bnrBanner(t, BannerConfig{Nonce: func(*http.Request) string { return "bnrTestNonce42" }})
	const page = `<!doctype html>
<html><head><meta charset="utf-8"><title>Test shop</title>%s</head>
<body>
<main><h1>Test shop</h1><p>Content of the page.</p></main>
%s
</body></html>`
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		site.mu.Lock()
		site.count[r.URL.Path]++
		site.mu.Unlock()
		b := plain
		if r.URL.Path == "/nonce" {
			b = nonced
		}
		if b.ServeAsset(w, r) {
			return
		}
		switch r.URL.Path {
		case "/click.js":
			// Runs after banner.js (both deferred, in document order),
			// on load: clicks the close button and records the outcome
			// on <html> for --dump-dom.
			w.Header().Set("Content-Type", "text/javascript")
			io.WriteString(w, `window.addEventListener("load", function () {
  var root = document.querySelector("[data-mitmwatch-banner]");
  var button = root.querySelector("[data-mitmwatch-dismiss]");
  var visible = !button.hidden;
  button.click();
  document.documentElement.setAttribute("data-test-result",
    "button-visible=" + visible + " hidden-after-click=" + root.hidden +
    " stored=" + sessionStorage.getItem("mitmwatch-banner-dismissed"));
});`)
			return
		case "/pre.js":
			// A dismissal remembered from an earlier page in this tab.
			w.Header().Set("Content-Type", "text/javascript")
			io.WriteString(w, `sessionStorage.setItem("mitmwatch-banner-dismissed", "1");`)
			return
		}
		v := &fingerprints.Verdict{Verdict: fingerprints.OutcomeIntercepted, Product: "mitmproxy", Vendor: "mitmproxy project", Confidence: 0.95}
		head, tail := "", ""
		switch r.URL.Path {
		case "/csp", "/dismiss", "/predismissed":
			w.Header().Set("Content-Security-Policy", "default-src 'self'")
		case "/csp-none":
			w.Header().Set("Content-Security-Policy", "default-src 'none'")
		case "/nonce":
			w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-bnrTestNonce42'; style-src 'nonce-bnrTestNonce42'")
		case "/xss":
			v.Product, v.Vendor = `<img src=/xss-probe onerror=alert(1)>`, `"><script src=/xss-probe></script>`
		case "/clean", "/spoofed", "/unknown":
			if err := v.Verdict.UnmarshalText([]byte(r.URL.Path[1:])); err != nil {
				t.Errorf("test bug: %v", err)
			}
		}
		switch r.URL.Path {
		case "/dismiss":
			tail = `<script src="/click.js" defer></script>`
		case "/predismissed":
			head = `<script src="/pre.js"></script>`
		}
		w, finish := b.Wrap(w, r, v)
		defer finish()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, page, head, tail)
	})
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	return site, srv.URL
}

// bnrBannerPixels counts the pixels of the banner's background colour in
// the top third of a screenshot.
func bnrBannerPixels(t *testing.T, file string) int {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot %s: %v", file, err)
	}
	bounds := img.Bounds()
	top := image.Rect(bounds.Min.X, bounds.Min.Y, bounds.Max.X, bounds.Min.Y+bounds.Dy()/3)
	n := 0
	for y := top.Min.Y; y < top.Max.Y; y++ {
		for x := top.Min.X; x < top.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if bnrNear(r>>8, bnrBannerRGB[0]) && bnrNear(g>>8, bnrBannerRGB[1]) && bnrNear(b>>8, bnrBannerRGB[2]) {
				n++
			}
		}
	}
	return n
}

func bnrNear(v uint32, want uint8) bool { return int(v)-int(want) <= 6 && int(want)-int(v) <= 6 }

// bnrMinBannerPixels is a banner's worth of its colour at 1280 pixels
// wide: at least 40 rows.
const bnrMinBannerPixels = 1280 * 40

func TestBannerInChromium(t *testing.T) {
	chromium := bnrChromium(t)
	site, base := newBnrSite(t)
	artifacts := bnrArtifactDir(t)

	// browse loads path and returns its DOM after the load event; with
	// a shot name it also saves a 1280x800 screenshot and returns its
	// file.
	browse := func(t *testing.T, path, shot string, extra ...string) (dom, file string) {
		args := append([]string{"--window-size=1280,800"}, extra...)
		if shot != "" {
			file = filepath.Join(artifacts, "banner-"+shot+".png")
			args = append(args, "--screenshot="+file)
			t.Logf("screenshot: %s", file)
		}
		return string(bnrBrowse(t, chromium, append(args, "--dump-dom", base+path)...)), file
	}
	dom := func(t *testing.T, path string) string {
		d, _ := browse(t, path, "")
		return d
	}

	t.Run("banner_in_dom_and_visible", func(t *testing.T) {
		d, shot := browse(t, "/", "en")
		for _, want := range []string{"data-mitmwatch-banner", "Your connection to this site is being intercepted by <bdi>mitmproxy</bdi>.", `href="https://help.example/intercepted"`, "data-mitmwatch-ready"} {
			if !strings.Contains(d, want) {
				t.Errorf("DOM lacks %q:\n%s", want, d)
			}
		}
		if n := bnrBannerPixels(t, shot); n < bnrMinBannerPixels {
			t.Errorf("%d banner-coloured pixels in the screenshot, want at least %d", n, bnrMinBannerPixels)
		}
	})

	t.Run("strict_csp_default_src_self", func(t *testing.T) {
		css, js := site.hits(DefaultBannerAssetPath+"banner.css"), site.hits(DefaultBannerAssetPath+"banner.js")
		d, shot := browse(t, "/csp", "csp")
		// data-mitmwatch-ready is set by banner.js: the script loaded
		// and ran under the policy.
		if !strings.Contains(d, "data-mitmwatch-banner") || !strings.Contains(d, "data-mitmwatch-ready") {
			t.Errorf("banner or its script missing under CSP:\n%s", d)
		}
		if n := bnrBannerPixels(t, shot); n < bnrMinBannerPixels {
			t.Errorf("%d banner-coloured pixels under CSP, want at least %d: not styled", n, bnrMinBannerPixels)
		}
		if site.hits(DefaultBannerAssetPath+"banner.css") == css || site.hits(DefaultBannerAssetPath+"banner.js") == js {
			t.Errorf("the browser did not request banner.css and banner.js")
		}
	})

	t.Run("control_csp_default_src_none_blocks_styling", func(t *testing.T) {
		// Proves the pixel check can fail: with the assets blocked the
		// banner is plain text, still in the DOM.
		d, shot := browse(t, "/csp-none", "csp-none")
		if n := bnrBannerPixels(t, shot); n >= bnrMinBannerPixels {
			t.Errorf("%d banner-coloured pixels with styles blocked; the check cannot tell", n)
		}
		if !strings.Contains(d, "data-mitmwatch-banner") || strings.Contains(d, "data-mitmwatch-ready") {
			t.Errorf("with scripts blocked, want the banner without data-mitmwatch-ready:\n%s", d)
		}
	})

	t.Run("nonce_hook_under_nonce_only_csp", func(t *testing.T) {
		d, shot := browse(t, "/nonce", "nonce")
		if !strings.Contains(d, "data-mitmwatch-ready") {
			t.Errorf("banner.js did not run under a nonce-only policy:\n%s", d)
		}
		if n := bnrBannerPixels(t, shot); n < bnrMinBannerPixels {
			t.Errorf("%d banner-coloured pixels under a nonce-only policy, want at least %d: not styled", n, bnrMinBannerPixels)
		}
	})

	t.Run("dismiss_button_hides_and_remembers", func(t *testing.T) {
		d := dom(t, "/dismiss")
		if !strings.Contains(d, `data-test-result="button-visible=true hidden-after-click=true stored=1"`) {
			t.Errorf("dismissal did not work:\n%s", d)
		}
	})

	t.Run("dismissed_earlier_in_tab_stays_hidden", func(t *testing.T) {
		d := dom(t, "/predismissed")
		i := strings.Index(d, "data-mitmwatch-banner")
		end := strings.Index(d[max(i, 0):], ">")
		if i < 0 || end < 0 || !strings.Contains(d[i:i+end], "hidden") {
			t.Errorf("banner not hidden after an earlier dismissal:\n%s", d)
		}
	})

	t.Run("xss_product_name_stays_text", func(t *testing.T) {
		d := dom(t, "/xss")
		if !strings.Contains(d, "&lt;img src=/xss-probe onerror=alert(1)&gt;") {
			t.Errorf("product name not shown as text:\n%s", d)
		}
		if strings.Contains(d, "<img") || strings.Contains(d, `<script src="/xss-probe"`) {
			t.Errorf("product name became markup:\n%s", d)
		}
		if n := site.hits("/xss-probe"); n != 0 {
			t.Errorf("the browser requested /xss-probe %d times: injected markup ran", n)
		}
	})

	t.Run("rtl_for_accept_language_fa", func(t *testing.T) {
		d, shot := browse(t, "/", "fa", "--accept-lang=fa")
		if !strings.Contains(d, `lang="fa" dir="rtl"`) || !strings.Contains(d, "اتصال شما به این وب‌سایت توسط") {
			t.Errorf("Persian right-to-left banner missing:\n%s", d)
		}
		if n := bnrBannerPixels(t, shot); n < bnrMinBannerPixels {
			t.Errorf("%d banner-coloured pixels, want at least %d", n, bnrMinBannerPixels)
		}
	})

	t.Run("never_for_clean_spoofed_unknown", func(t *testing.T) {
		for _, path := range []string{"/clean", "/spoofed", "/unknown"} {
			if d := dom(t, path); strings.Contains(d, "mitmwatch") || !strings.Contains(d, "Content of the page.") {
				t.Errorf("%s:\n%s", path, d)
			}
		}
	})
}
