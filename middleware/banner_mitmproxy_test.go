package middleware

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// The banner end to end: real browsers load a page through a real
// mitmproxy from a server that captures the ClientHello, classifies it
// with the default classifier and wraps the response when the verdict is
// intercepted at DefaultMinConfidence or above, as the middleware's
// default does. The same browser without the proxy must get no banner.

// bnrTool finds an external program, failing under CI=true and skipping
// otherwise when it is missing.
func bnrTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not found (CI=true: the test must run)", name)
	}
	t.Skipf("%s not found", name)
	return ""
}

// bnrStart starts a program in its own process group and kills that
// group, by the program's id, when the test ends.
func bnrStart(t *testing.T, path string, args []string, env []string) *bytes.Buffer {
	t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	})
	return &out
}

// bnrWaitFile waits for a file to exist (mitmproxy writes its CA after
// it starts), failing the test after a minute.
func bnrWaitFile(t *testing.T, file string, ready func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !ready() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not ready after a minute", file)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// bnrMitmproxy starts mitmdump on a free loopback port and returns the
// port and its CA certificate file.
func bnrMitmproxy(t *testing.T) (int, string) {
	t.Helper()
	mitmdump := bnrTool(t, "mitmdump")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // another process could take it; mitmdump would then not come up and the test fails
	confdir := t.TempDir()
	out := bnrStart(t, mitmdump, []string{"--listen-host", "127.0.0.1", "--listen-port", strconv.Itoa(port), "--ssl-insecure", "--set", "confdir=" + confdir}, []string{"HOME=" + confdir})
	ca := filepath.Join(confdir, "mitmproxy-ca-cert.pem")
	bnrWaitFile(t, "mitmdump", func() bool {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			return false
		}
		c.Close()
		_, err = os.Stat(ca)
		return err == nil
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("mitmdump output:\n%s", bnrLastLines(out.String(), 30))
		}
	})
	return port, ca
}

// bnrClassifyingServer serves a page over TLS with ClientHello capture;
// it classifies every request and wraps the response as the middleware
// does by default. It returns the URL, the file of the CA that issued
// its certificate, and the verdicts so far.
func bnrClassifyingServer(t *testing.T) (string, string, func() []fingerprints.Verdict) {
	t.Helper()
	cls, err := fingerprints.NewClassifier(fingerprints.ClassifierConfig{})
	if err != nil {
		t.Fatal(err)
	}
	banner := bnrBanner(t, BannerConfig{})
	var (
		mu       sync.Mutex
		verdicts []fingerprints.Verdict
	)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if banner.ServeAsset(w, r) {
			return
		}
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		hello, _ := fingerprints.ClientHelloFromContext(r.Context())
		req := fingerprints.RequestFromHTTP(r, true)
		v := cls.Classify(hello, nil, &req)
		mu.Lock()
		verdicts = append(verdicts, v)
		mu.Unlock()
		if v.Verdict == fingerprints.OutcomeIntercepted && v.Confidence >= DefaultMinConfidence {
			var finish func()
			w, finish = banner.Wrap(w, r, &v)
			defer finish()
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<!doctype html><html><head><title>Shop</title></head><body><h1>Shop</h1><p>Content of the page.</p></body></html>")
	})
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = fingerprints.NewListener(srv.Listener, fingerprints.ListenerConfig{})
	srv.Config.ConnContext = fingerprints.ConnContext
	srv.EnableHTTP2 = true // serverOffersH2 above
	leaf, caFile := bnrTestPKI(t)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL, caFile, func() []fingerprints.Verdict {
		mu.Lock()
		defer mu.Unlock()
		return append([]fingerprints.Verdict(nil), verdicts...)
	}
}

func TestBannerChromiumBehindMitmproxy(t *testing.T) {
	chromium := bnrChromium(t)
	port, _ := bnrMitmproxy(t)
	url, _, verdicts := bnrClassifyingServer(t)

	direct := string(bnrBrowse(t, chromium, "--dump-dom", url+"/"))
	if strings.Contains(direct, "data-mitmwatch-banner") || !strings.Contains(direct, "Content of the page.") {
		t.Errorf("direct Chromium (verdicts %+v) got:\n%s", verdicts(), direct)
	}
	proxied := string(bnrBrowse(t, chromium,
		fmt.Sprintf("--proxy-server=http://127.0.0.1:%d", port), "--proxy-bypass-list=<-loopback>",
		"--dump-dom", url+"/"))
	if !strings.Contains(proxied, "data-mitmwatch-banner") || !strings.Contains(proxied, "Your connection to this site is being intercepted") {
		t.Errorf("Chromium behind mitmproxy (verdicts %+v) got no banner:\n%s", verdicts(), proxied)
	}
	for _, v := range verdicts() {
		if v.Verdict == fingerprints.OutcomeIntercepted && v.Product != "" && !strings.Contains(proxied, "<bdi>"+v.Product) {
			t.Errorf("the banner does not name %q:\n%s", v.Product, proxied)
		}
	}
	if !strings.Contains(proxied, "data-mitmwatch-ready") {
		t.Errorf("banner.js did not run through mitmproxy:\n%s", proxied)
	}
}

// bnrTestPKI makes a throwaway CA and a leaf for 127.0.0.1 signed by it,
// and returns the leaf's chain and the CA's PEM file. Firefox accepts a
// leaf from a CA that certutil marked trusted; a self-signed leaf it
// refuses even when trusted as a peer.
func bnrTestPKI(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mitmwatch banner test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{leafDER, caDER}, PrivateKey: leafKey}, caFile
}

// bnrFirefoxProfile writes a headless Firefox profile: no background
// traffic, proxy (when port > 0) for HTTPS including loopback, and the
// CA in caFile trusted to issue server certificates (through certutil).
func bnrFirefoxProfile(t *testing.T, proxyPort int, caFile string) string {
	t.Helper()
	certutil := bnrTool(t, "certutil")
	dir := t.TempDir()
	const dead = `"http://127.0.0.1:9/"` // the discard port: refuses at once
	prefs := []string{
		`"app.update.disabledForTesting", true`, `"app.update.url", ` + dead,
		`"app.normandy.enabled", false`, `"browser.shell.checkDefaultBrowser", false`,
		`"browser.startup.homepage_override.mstone", "ignore"`, `"browser.aboutwelcome.enabled", false`,
		`"browser.safebrowsing.malware.enabled", false`, `"browser.safebrowsing.phishing.enabled", false`,
		`"browser.safebrowsing.downloads.enabled", false`, `"browser.region.update.enabled", false`,
		`"datareporting.policy.dataSubmissionEnabled", false`, `"datareporting.healthreport.uploadEnabled", false`,
		`"toolkit.telemetry.enabled", false`, `"toolkit.telemetry.server", ` + dead,
		`"network.captive-portal-service.enabled", false`, `"network.connectivity-service.enabled", false`,
		`"network.http.http3.enable", false`, `"network.trr.mode", 5`, `"security.OCSP.enabled", 0`,
		`"services.settings.server", ` + dead, `"dom.push.connection.enabled", false`,
		`"extensions.update.enabled", false`, `"network.dns.disablePrefetch", true`, `"network.prefetch-next", false`,
	}
	if proxyPort > 0 {
		prefs = append(prefs, `"network.proxy.type", 1`, `"network.proxy.ssl", "127.0.0.1"`,
			fmt.Sprintf(`"network.proxy.ssl_port", %d`, proxyPort),
			`"network.proxy.allow_hijacking_localhost", true`, `"network.proxy.no_proxies_on", ""`)
	} else {
		prefs = append(prefs, `"network.proxy.type", 0`)
	}
	var js strings.Builder
	for _, p := range prefs {
		fmt.Fprintf(&js, "user_pref(%s);\n", p)
	}
	if err := os.WriteFile(filepath.Join(dir, "user.js"), []byte(js.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run := func(args ...string) {
		if out, err := exec.CommandContext(ctx, certutil, args...).CombinedOutput(); err != nil {
			t.Fatalf("certutil %v: %v\n%s", args, err, out)
		}
	}
	run("-N", "-d", "sql:"+dir, "--empty-password")
	run("-A", "-d", "sql:"+dir, "-n", "test CA", "-t", "C,,", "-i", caFile)
	return dir
}

// bnrFirefoxScreenshot loads url in headless Firefox and returns the
// screenshot file; Firefox exits once the page has loaded.
func bnrFirefoxScreenshot(t *testing.T, firefox, profile, file, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, firefox, "--headless", "--no-remote", "--profile", profile, "--window-size=1280,800", "--screenshot", file, url)
	cmd.Env = append(os.Environ(), "HOME="+profile, "MOZ_CRASHREPORTER_DISABLE=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if err != nil {
		t.Fatalf("firefox: %v\n%s", err, bnrLastLines(string(out), 20))
	}
	t.Logf("screenshot: %s", file)
}

func TestBannerFirefoxBehindMitmproxy(t *testing.T) {
	firefox := bnrTool(t, "firefox-esr")
	port, mitmCA := bnrMitmproxy(t)
	url, srvCert, verdicts := bnrClassifyingServer(t)
	artifacts := bnrArtifactDir(t)

	shot := filepath.Join(artifacts, "banner-firefox-mitmproxy.png")
	bnrFirefoxScreenshot(t, firefox, bnrFirefoxProfile(t, port, mitmCA), shot, url+"/")
	if n := bnrBannerPixels(t, shot); n < bnrMinBannerPixels {
		t.Errorf("Firefox behind mitmproxy: %d banner-coloured pixels, want at least %d (verdicts %+v)", n, bnrMinBannerPixels, verdicts())
	}

	shot = filepath.Join(artifacts, "banner-firefox-direct.png")
	bnrFirefoxScreenshot(t, firefox, bnrFirefoxProfile(t, 0, srvCert), shot, url+"/")
	if n := bnrBannerPixels(t, shot); n != 0 {
		t.Errorf("direct Firefox: %d banner-coloured pixels, want none (verdicts %+v)", n, verdicts())
	}
	seen := map[fingerprints.Outcome]int{}
	for _, v := range verdicts() {
		seen[v.Verdict]++
	}
	if seen[fingerprints.OutcomeIntercepted] != 1 || seen[fingerprints.OutcomeClean] != 1 {
		t.Errorf("verdicts %+v: want one intercepted (proxied) and one clean (direct)", verdicts())
	}
}
