package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Capture groups, as selected with -only. A capture through mitmproxy
// belongs to group "mitmproxy" only, whatever its browser.
const (
	groupUTLS      = "utls"
	groupGo        = "go"
	groupCurl      = "curl"
	groupPython    = "python"
	groupChromium  = "chromium"
	groupFirefox   = "firefox"
	groupMitmproxy = "mitmproxy"
)

// allGroups returns the groups in run order: the in-process and quick
// clients first, the browsers last.
func allGroups() []string {
	return []string{groupUTLS, groupGo, groupCurl, groupPython, groupChromium, groupFirefox, groupMitmproxy}
}

// job is one capture.
type job struct {
	group string
	// label names the capture before it runs (a browser's name holds its
	// major version, known only once the browser has been asked).
	label string
	run   func(r *runner, ctx context.Context) (*metadata, []byte, error)
}

// jobs returns the captures of the selected groups, in run order.
func jobs(groups map[string]bool) []job {
	var js []job
	for _, g := range allGroups() {
		if !groups[g] {
			continue
		}
		switch g {
		case groupUTLS:
			for _, p := range parrots() {
				js = append(js, job{g, p.Name, func(r *runner, ctx context.Context) (*metadata, []byte, error) {
					return r.parrot(ctx, p)
				}})
			}
		case groupGo:
			js = append(js, job{g, "go-crypto-tls", (*runner).goClient})
		case groupCurl:
			js = append(js, job{g, "curl-openssl", func(r *runner, ctx context.Context) (*metadata, []byte, error) {
				return r.curl(ctx, false)
			}})
		case groupPython:
			js = append(js, job{g, "python-urllib", (*runner).python})
		case groupChromium:
			js = append(js, job{g, "chromium-<major>-direct", func(r *runner, ctx context.Context) (*metadata, []byte, error) {
				return r.chromium(ctx, false)
			}})
		case groupFirefox:
			js = append(js, job{g, "firefox-esr-<major>-direct", func(r *runner, ctx context.Context) (*metadata, []byte, error) {
				return r.firefox(ctx, false)
			}})
		case groupMitmproxy:
			js = append(js,
				job{g, "chromium-<major>-mitmproxy", func(r *runner, ctx context.Context) (*metadata, []byte, error) {
					return r.chromium(ctx, true)
				}},
				job{g, "firefox-esr-<major>-mitmproxy", func(r *runner, ctx context.Context) (*metadata, []byte, error) {
					return r.firefox(ctx, true)
				}},
				job{g, "curl-mitmproxy", func(r *runner, ctx context.Context) (*metadata, []byte, error) {
					return r.curl(ctx, true)
				}},
			)
		}
	}
	return js
}

// runner holds what the captures share: the capture server and its PKI, a
// temporary directory, the tool versions asked so far and, once a capture
// needs it, a running mitmdump.
type runner struct {
	srv     *captureServer
	pki     *testPKI
	tmp     string
	log     *slog.Logger
	timeout time.Duration // per client program run
	date    string

	mu       sync.Mutex
	versions map[string]string
	mitm     *mitmProxy
	mitmErr  error
}

// close stops mitmdump if it was started.
func (r *runner) close() {
	if r.mitm != nil {
		r.mitm.Stop()
	}
}

// version runs "path args..." once and caches the one-line result. A
// failure is logged and recorded as the version ("unknown: ..."): the
// capture itself is still good.
func (r *runner) version(ctx context.Context, path string, args ...string) string {
	key := path + " " + strings.Join(args, " ")
	r.mu.Lock()
	defer r.mu.Unlock()
	if v, ok := r.versions[key]; ok {
		return v
	}
	v, err := toolVersion(ctx, path, args...)
	if err != nil {
		r.log.Warn("cannot get version", "cmd", key, "err", err)
		v = "unknown: " + err.Error()
	}
	r.versions[key] = v
	return v
}

// mitmproxy returns the shared mitmdump, starting it on first use.
func (r *runner) mitmproxy(ctx context.Context) (*mitmProxy, string, error) {
	path, err := lookPath("mitmdump")
	if err != nil {
		return nil, "", err
	}
	ver := r.version(ctx, path, "--version")
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mitm == nil && r.mitmErr == nil {
		r.log.Info("starting mitmdump")
		r.mitm, r.mitmErr = startMitmproxy(ctx, path, filepath.Join(r.tmp, "mitmproxy"))
	}
	return r.mitm, ver, r.mitmErr
}

// newDir makes a fresh directory under the run's temporary directory.
func (r *runner) newDir(prefix string) (string, error) {
	d, err := os.MkdirTemp(r.tmp, prefix+"-")
	if err != nil {
		return "", fmt.Errorf("capturehellos: %w", err)
	}
	return d, nil
}

// base fills the fields every capture shares.
func (r *runner) base(name, client, family, product, version, via string) *metadata {
	return &metadata{
		Name:         name,
		Client:       client,
		Family:       family,
		Product:      product,
		Version:      version,
		Via:          via,
		ToolVersions: map[string]string{},
		Date:         r.date,
	}
}

// fromRequest sets the User-Agent and request of m from h.
func fromRequest(m *metadata, h *hello) {
	m.Request = h.Request
	m.UserAgent = strings.Join(h.Request.Headers["User-Agent"], ", ")
	m.UserAgentSource = uaRequest
}

func (r *runner) parrot(ctx context.Context, p parrot) (*metadata, []byte, error) {
	raw, hsErr, err := captureParrot(ctx, r.srv, p, 15*time.Second)
	if err != nil {
		return nil, nil, err
	}
	uv := moduleVersion("github.com/refraction-networking/utls")
	m := r.base(p.Name, "utls", p.Family, p.Product, p.Version, viaDirect)
	m.UserAgent, m.UserAgentSource = p.UserAgent, uaAssigned
	m.CapturedWith = fmt.Sprintf("utls %s %s parrot dialed over loopback by internal/tools/capturehellos (no HTTP request)", uv, p.IDName)
	if p.resumes() {
		m.CapturedWith += "; a resumption: sent after a first full handshake with the same server, offering its TLS 1.3 session ticket in pre_shared_key"
	}
	m.ToolVersions["go"] = runtime.Version()
	m.ToolVersions["utls"] = uv
	if hsErr != nil {
		m.HandshakeError = hsErr.Error()
	}
	return m, raw, nil
}

func (r *runner) goClient(ctx context.Context) (*metadata, []byte, error) {
	const name = "go-crypto-tls"
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	h, err := captureGo(ctx, r.srv, r.pki, name)
	if err != nil {
		return nil, nil, err
	}
	m := r.base(name, "go-net-http", familyOther, "Go net/http", runtime.Version(), viaDirect)
	fromRequest(m, h)
	m.CapturedWith = "Go net/http DefaultTransport clone (crypto/tls defaults) fetching the capture URL over loopback, by internal/tools/capturehellos"
	m.ToolVersions["go"] = runtime.Version()
	return m, h.Raw, nil
}

func (r *runner) curl(ctx context.Context, viaProxy bool) (*metadata, []byte, error) {
	path, err := lookPath("curl")
	if err != nil {
		return nil, nil, err
	}
	name, via, proxy := "curl-openssl", viaDirect, ""
	var mitmVer string
	if viaProxy {
		mp, v, err := r.mitmproxy(ctx)
		if err != nil {
			return nil, nil, err
		}
		name, via, proxy, mitmVer = "curl-mitmproxy", viaMitmproxy, mp.ProxyURL(), v
	}
	ver := r.version(ctx, path, "--version")
	firstLine, _, _ := strings.Cut(ver, "; ")
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	h, err := runAndAwait(ctx, r.srv, name, path, curlArgs(r.srv.URL(name), proxy, r.timeout), nil, "")
	if err != nil {
		return nil, nil, err
	}
	m := r.base(name, "curl", familyOther, "curl", wordAfter(firstLine, "curl"), via)
	fromRequest(m, h)
	m.ToolVersions["curl"] = firstLine
	m.CapturedWith = "Debian curl (OpenSSL), curl -sS -k, over loopback, by internal/tools/capturehellos"
	if viaProxy {
		m.ToolVersions["mitmproxy"] = mitmVer
		m.CapturedWith = "Debian curl -x through Debian mitmdump --ssl-insecure over loopback, by internal/tools/capturehellos; the ClientHello is mitmproxy's (its OpenSSL), the request is curl's as forwarded"
	}
	return m, h.Raw, nil
}

func (r *runner) python(ctx context.Context) (*metadata, []byte, error) {
	const name = "python-urllib"
	path, err := lookPath("python3")
	if err != nil {
		return nil, nil, err
	}
	ver := r.version(ctx, path, "-c", "import ssl, sys; print(sys.version.split()[0]); print(ssl.OPENSSL_VERSION)")
	pyVer, sslVer, _ := strings.Cut(ver, "; ")
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	h, err := runAndAwait(ctx, r.srv, name, path, []string{"-c", pythonScript, r.srv.URL(name)}, nil, "")
	if err != nil {
		return nil, nil, err
	}
	m := r.base(name, "python-urllib", familyOther, "Python urllib", pyVer, viaDirect)
	fromRequest(m, h)
	m.ToolVersions["python"] = pyVer
	m.ToolVersions["openssl"] = sslVer
	m.CapturedWith = "python3 urllib.request with ssl._create_unverified_context() (OpenSSL defaults) over loopback, by internal/tools/capturehellos"
	return m, h.Raw, nil
}

func (r *runner) chromium(ctx context.Context, viaProxy bool) (*metadata, []byte, error) {
	path, err := lookPath("chromium")
	if err != nil {
		return nil, nil, err
	}
	ver, full, major, err := browserVersion(r.version(ctx, path, "--version"), "Chromium ")
	if err != nil {
		return nil, nil, err
	}
	via, proxy, mitmVer := viaDirect, "", ""
	if viaProxy {
		mp, v, err := r.mitmproxy(ctx)
		if err != nil {
			return nil, nil, err
		}
		via, proxy, mitmVer = viaMitmproxy, mp.ProxyURL(), v
	}
	name := "chromium-" + strconv.Itoa(major) + "-" + via
	dir, err := r.newDir(name)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	h, err := runAndAwait(ctx, r.srv, name, path, chromiumArgs(dir, r.srv.URL(name), proxy), []string{"HOME=" + dir}, dir)
	if err != nil {
		return nil, nil, r.withMitmOutput(err, viaProxy)
	}
	m := r.base(name, "chromium", familyChromium, "Chromium", full, via)
	fromRequest(m, h)
	m.ToolVersions["chromium"] = ver
	m.CapturedWith = "Debian chromium, headless (--dump-dom), fresh profile, directly over loopback, by internal/tools/capturehellos"
	if viaProxy {
		m.ToolVersions["mitmproxy"] = mitmVer
		m.CapturedWith = "Debian chromium, headless (--dump-dom), fresh profile, through Debian mitmdump --ssl-insecure over loopback, by internal/tools/capturehellos; the ClientHello is mitmproxy's (its OpenSSL), the request is Chromium's as forwarded"
	}
	return m, h.Raw, nil
}

func (r *runner) firefox(ctx context.Context, viaProxy bool) (*metadata, []byte, error) {
	path, err := lookPath("firefox-esr")
	if err != nil {
		return nil, nil, err
	}
	ver, full, major, err := browserVersion(r.version(ctx, path, "--version"), "Mozilla Firefox ")
	if err != nil {
		return nil, nil, err
	}
	via, proxyPort, mitmVer, caPEM := viaDirect, 0, "", r.pki.CAPEM
	if viaProxy {
		mp, v, err := r.mitmproxy(ctx)
		if err != nil {
			return nil, nil, err
		}
		via, proxyPort, mitmVer = viaMitmproxy, mp.Port(), v
		// Through the proxy Firefox verifies mitmproxy's certificates,
		// so it must trust mitmproxy's CA, as an intercepted user's
		// browser does.
		if caPEM, err = os.ReadFile(mp.CACertFile()); err != nil {
			return nil, nil, fmt.Errorf("capturehellos: mitmproxy CA: %w", err)
		}
	}
	name := "firefox-esr-" + strconv.Itoa(major) + "-" + via
	profile, err := r.newDir(name)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	if err := setupFirefoxProfile(ctx, profile, firefoxPrefs(proxyPort), caPEM); err != nil {
		return nil, nil, err
	}
	h, err := runAndAwait(ctx, r.srv, name, path, firefoxArgs(profile, r.srv.URL(name)), []string{"HOME=" + profile, "MOZ_HEADLESS=1"}, profile)
	if err != nil {
		return nil, nil, r.withMitmOutput(err, viaProxy)
	}
	m := r.base(name, "firefox-esr", familyFirefox, "Firefox ESR", full, via)
	fromRequest(m, h)
	m.ToolVersions["firefox-esr"] = ver
	m.CapturedWith = "Debian firefox-esr, headless (--screenshot), fresh profile trusting the capture CA via certutil, directly over loopback, by internal/tools/capturehellos"
	if viaProxy {
		m.ToolVersions["mitmproxy"] = mitmVer
		m.CapturedWith = "Debian firefox-esr, headless (--screenshot), fresh profile trusting mitmproxy's CA via certutil, through Debian mitmdump --ssl-insecure over loopback, by internal/tools/capturehellos; the ClientHello is mitmproxy's (its OpenSSL), the request is Firefox's as forwarded"
	}
	return m, h.Raw, nil
}

// withMitmOutput appends mitmdump's recent output to a failed proxied
// capture's error: the reason is usually there.
func (r *runner) withMitmOutput(err error, viaProxy bool) error {
	if !viaProxy || r.mitm == nil {
		return err
	}
	return fmt.Errorf("%w\nmitmdump output:\n%s", err, tail(r.mitm.Output(), 2000))
}

// moduleVersion is the version of a dependency compiled into this binary,
// from its build information.
func moduleVersion(path string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == path {
				if d.Replace != nil {
					return d.Replace.Version
				}
				return d.Version
			}
		}
	}
	return "unknown"
}

// wordAfter returns the word following word in s ("curl 7.88.1 (x86…)",
// "curl" → "7.88.1"), or "" if there is none.
func wordAfter(s, word string) string {
	f := strings.Fields(s)
	for i := 0; i+1 < len(f); i++ {
		if f[i] == word {
			return f[i+1]
		}
	}
	return ""
}
