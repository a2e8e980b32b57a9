package server

// The end-to-end test: the real `mitmwatch serve` binary, twice, sharing
// a real redis-server, in front of a test upstream; traffic from utls
// parrots, Go bots, headless Chromium directly and through mitmproxy;
// then the dashboard (API and page, rendered by Chromium) and the one
// signed webhook alert. See TestEndToEnd.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dunglas/httpsfv"
	utls "github.com/refraction-networking/utls"
	"golang.org/x/net/http2"

	"github.com/mitmwatch/mitmwatch/alerts"
	"github.com/mitmwatch/mitmwatch/internal/redistest"
	"github.com/mitmwatch/mitmwatch/internal/selfsigned"
)

// e2eChromeFlags are the headless Chromium flags that work on this closed
// network; the profile directory is added per run.
var e2eChromeFlags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
	// The edges serve a self-signed certificate and mitmproxy its own.
	"--ignore-certificate-errors",
}

// e2eRequire finds an external tool; a missing one skips the test, or
// fails it under CI=true (CI must never pass by skipping).
func e2eRequire(t *testing.T, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		if redistest.InCI() {
			t.Fatalf("%s not found (CI=true: the end-to-end test must run): %v", tool, err)
		}
		t.Skipf("%s not found: %v", tool, err)
	}
	return p
}

// e2eProc is an external process of the test, killed by its PID.
type e2eProc struct {
	name string
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{}
	err  error // valid after done
}

// e2eStart starts a process whose output goes to a buffer (and to
// logPath, if set). As in internal/redistest, it forks from a goroutine
// locked to its thread, so that Pdeathsig kills the child only when the
// test process dies (go.dev/issue/27505); t.Cleanup ends it by PID.
func e2eStart(t *testing.T, name, bin string, args ...string) *e2eProc {
	t.Helper()
	p := &e2eProc{name: name, log: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the child
		if err := p.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop sends SIGTERM, waits up to 15 s, then SIGKILL; it returns the
// process's exit error.
func (p *e2eProc) stop(t *testing.T) error {
	select {
	case <-p.done:
		return p.err
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		t.Errorf("%s (pid %d) ignored SIGTERM for 15 s; killing it", p.name, p.cmd.Process.Pid)
		p.cmd.Process.Kill()
		<-p.done
	}
	return p.err
}

// waitLog waits (bounded) for a log line containing substr and returns it.
func (p *e2eProc) waitLog(t *testing.T, substr string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, line := range strings.Split(p.log.String(), "\n") {
			if strings.Contains(line, substr) {
				return line
			}
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited (%v) before logging %q:\n%s", p.name, p.err, substr, p.log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not log %q within %s:\n%s", p.name, substr, timeout, p.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// e2eEdge is one `mitmwatch serve` process.
type e2eEdge struct {
	*e2eProc
	addr, admin string // host:port
}

// startE2EEdge writes a configuration and starts the binary on it; the
// edge listens on free loopback ports, read back from its JSON log.
func startE2EEdge(t *testing.T, bin, dir, name, yaml string) *e2eEdge {
	t.Helper()
	cfgPath := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	p := e2eStart(t, name, bin, "serve", "--config", cfgPath, "--cert-dir", filepath.Join(dir, "certs"))
	e := &e2eEdge{e2eProc: p}
	var line struct {
		Addr string `json:"addr"`
		URL  string `json:"url"`
	}
	if err := json.Unmarshal([]byte(p.waitLog(t, `"edge: listening"`, 30*time.Second)), &line); err != nil {
		t.Fatal(err)
	}
	e.addr = line.Addr
	if err := json.Unmarshal([]byte(p.waitLog(t, `"admin: dashboard at`, 10*time.Second)), &line); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(line.URL)
	if err != nil {
		t.Fatal(err)
	}
	e.admin = u.Host
	return e
}

// e2eUpstream is the application behind the edges: it answers a small
// HTML page and remembers the verdict header of every path it served.
type e2eUpstream struct {
	*httptest.Server
	mu       sync.Mutex
	verdicts map[string][]string // path → Mitmwatch-Verdict values seen (checked against Mitmwatch-Summary)
}

func newE2EUpstream(t *testing.T) *e2eUpstream {
	u := &e2eUpstream{verdicts: map[string][]string{}}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The summary must say the same verdict; if not, the summary is
		// what is remembered, so the comparison below fails with it.
		seen := r.Header.Get(HeaderVerdict)
		if m, err := parseSummary(r.Header.Values(HeaderSummary)); err != nil {
			seen = "bad summary: " + err.Error()
		} else if m["verdict"] != httpsfv.Token(seen) {
			seen = "summary " + r.Header.Get(HeaderSummary)
		}
		u.mu.Lock()
		u.verdicts[r.URL.Path] = append(u.verdicts[r.URL.Path], seen)
		u.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<!doctype html><html><head><title>app</title></head><body><p>the application</p></body></html>")
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *e2eUpstream) verdictsOf(path string) []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.verdicts[path]...)
}

// e2eReceiver is the webhook receiver: it checks each delivery's Standard
// Webhooks signature with the alerts package's verifier and keeps the
// events.
type e2eReceiver struct {
	*httptest.Server
	mu      sync.Mutex
	events  []alerts.Event
	badSigs []string
}

func newE2EReceiver(t *testing.T, secret string) *e2eReceiver {
	signer, err := alerts.NewSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	r := &e2eReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if err := signer.Verify(req.Header, body, time.Now(), 5*time.Minute); err != nil {
			r.badSigs = append(r.badSigs, err.Error())
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var ev alerts.Event
		if err := json.Unmarshal(body, &ev); err != nil {
			r.badSigs = append(r.badSigs, "undecodable body: "+err.Error())
			http.Error(w, "bad body", 400)
			return
		}
		r.events = append(r.events, ev)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.Close)
	return r
}

// alertsOf returns the received events of type typ, and the rejected
// deliveries.
func (r *e2eReceiver) alertsOf(typ string) (evs []alerts.Event, bad []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.events {
		if e.Type == typ {
			evs = append(evs, e)
		}
	}
	return evs, append([]string(nil), r.badSigs...)
}

// utlsGet fetches path from addr over a connection whose ClientHello is
// the utls parrot id, in HTTP/2 or HTTP/1.1 as the server picks from the
// parrot's ALPN, and closes the connection.
func utlsGet(t *testing.T, addr, path string, id utls.ClientHelloID, ua string) {
	t.Helper()
	raw, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(20 * time.Second))
	// The edges' self-signed certificate is not what this client is
	// about: it checks detection, so it skips verification.
	uc := utls.UClient(raw, &utls.Config{ServerName: "localhost", InsecureSkipVerify: true}, id)
	if err := uc.Handshake(); err != nil {
		t.Fatalf("utls %s handshake: %v", id.Str(), err)
	}
	req, _ := http.NewRequest("GET", "https://localhost"+path, nil)
	req.Header.Set("User-Agent", ua)
	var resp *http.Response
	if uc.ConnectionState().NegotiatedProtocol == "h2" {
		cc, err := (&http2.Transport{}).NewClientConn(uc)
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		resp, err = cc.RoundTrip(req)
		if err != nil {
			t.Fatalf("utls %s h2 request: %v", id.Str(), err)
		}
	} else {
		if err := req.Write(uc); err != nil {
			t.Fatal(err)
		}
		if resp, err = http.ReadResponse(bufio.NewReader(uc), req); err != nil {
			t.Fatalf("utls %s request: %v", id.Str(), err)
		}
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("utls %s %s: status %d", id.Str(), path, resp.StatusCode)
	}
}

// goGet fetches path from addr with Go's TLS stack on a fresh connection.
// Without a proxy it is a bot: Chrome's User-Agent and nothing else of a
// browser. Through proxy (trusting proxyCA for the intercepted leg) it
// plays a person's browser behind mitmproxy: h2 offered, no SNI (an IP
// host, as the Chromium runs), and a browser's request headers, which a
// match on mitmproxy's generic OpenSSL hello needs to mean interception.
func goGet(t *testing.T, addr, path, ua string, edgeCA *x509.CertPool, proxy *url.URL, proxyCA *x509.CertPool) {
	t.Helper()
	tr := &http.Transport{DisableKeepAlives: true, TLSClientConfig: &tls.Config{RootCAs: edgeCA, ServerName: "localhost"}}
	req, _ := http.NewRequest("GET", "https://"+addr+path, nil)
	if proxy != nil {
		tr.Proxy = http.ProxyURL(proxy)
		tr.TLSClientConfig = &tls.Config{RootCAs: proxyCA}
		tr.ForceAttemptHTTP2 = true
		req.Header = browserHeaders()
	}
	defer tr.CloseIdleConnections()
	req.Header.Set("User-Agent", ua)
	resp, err := (&http.Client{Transport: tr, Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("GET %s%s (proxy %v): %v", addr, path, proxy, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s%s: status %d", addr, path, resp.StatusCode)
	}
}

// chromium runs headless Chromium with a fresh profile and extra
// arguments, and returns its stdout.
func chromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	all := append(append([]string{}, e2eChromeFlags...), "--user-data-dir="+t.TempDir())
	cmd := exec.CommandContext(ctx, bin, append(all, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

// e2ePersonUA is what a person's Chromium 156 sends; headless Chromium's
// own User-Agent says HeadlessChrome, which mitmwatch rightly calls a bot.
const e2ePersonUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"

// TestEndToEnd runs two edges sharing one Redis behind which a test
// upstream serves, sends traffic whose verdicts are known, and checks
// what a SOC analyst would see: the dashboard's share for the network
// that geo.static places loopback in, the rendered dashboard, and exactly
// one signed webhook alert.
func TestEndToEnd(t *testing.T) {
	if testing.Short() && !redistest.InCI() {
		t.Skip("end-to-end test: builds the binary, starts Redis, mitmproxy and Chromium")
	}
	redistest.Require(t)
	chromeBin := e2eRequire(t, "chromium")
	mitmBin := e2eRequire(t, "mitmdump")
	goBin := e2eRequire(t, "go")
	start := time.Now()
	dir := t.TempDir()

	// The binary, built once.
	bin := filepath.Join(dir, "mitmwatch")
	build := exec.Command(goBin, "build", "-o", bin, "./cmd/mitmwatch")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built in %s", time.Since(start).Round(time.Millisecond))

	rdb, err := redistest.Start(redistest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Stop() })

	key := make([]byte, 32)
	rand.Read(key)
	secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
	up := newE2EUpstream(t)
	hook := newE2EReceiver(t, secret)

	// Both edges share the self-signed certificate (made here so that
	// they do not race to create it) and trust it in the Go clients.
	cert, err := selfsigned.LoadOrCreate(filepath.Join(dir, "certs"))
	if err != nil {
		t.Fatal(err)
	}
	edgeCA := x509.NewCertPool()
	edgeCA.AddCert(cert.Leaf)

	const evaluateEvery = time.Second
	// Ports free a moment ago (the configuration refuses port 0 for both
	// listeners); the edges log the addresses they listen on, which the
	// test reads back.
	cfg := `listen: 127.0.0.1:%d
upstream: %s
admin:
  listen: 127.0.0.1:%d
geo:
  static:
    - {cidr: 127.0.0.0/8, country: KZ, asn: 9198, org: JSC Kazakhtelecom}
store:
  client_key: e2e-shared-client-key-0123456789
  redis:
    addrs: [%s]
alerts:
  evaluate_every: %s
  rules:
    - {name: e2e-asn, scope: asn, window: 5m, min_connections: 10, min_share: 0.2}
  webhooks:
    - {url: %s/hook, format: standard, secret: %s}
logging:
  format: json
  level: info
shutdown:
  timeout: 10s
`
	var edges []*e2eEdge
	for _, name := range []string{"edge1", "edge2"} {
		yaml := fmt.Sprintf(cfg, freeLoopbackPort(t), up.URL, freeLoopbackPort(t), rdb.Addr, evaluateEvery, hook.URL, secret)
		edges = append(edges, startE2EEdge(t, bin, dir, name, yaml))
	}

	mitmConf := filepath.Join(dir, "mitmproxy")
	mitmPort := freeLoopbackPort(t)
	mitm := e2eStart(t, "mitmdump", mitmBin, "--listen-host", "127.0.0.1", "--listen-port", fmt.Sprint(mitmPort),
		"--ssl-insecure", "--set", "confdir="+mitmConf)
	mitmCA := waitMitmproxy(t, mitm, mitmPort, filepath.Join(mitmConf, "mitmproxy-ca-cert.pem"))
	mitmURL := &url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", mitmPort)}
	t.Logf("processes up after %s", time.Since(start).Round(time.Millisecond))

	// Traffic, spread over both edges. Each Go and utls request is its
	// own connection, so their counts are exact.
	const (
		nUTLS      = 6 // clean: parrots with their own browser's User-Agent
		nBots      = 4 // spoofed: Go's TLS under Chrome's User-Agent
		nGoViaMITM = 6 // intercepted: Go through mitmproxy (mitmproxy's hello)
	)
	parrots := []struct {
		id utls.ClientHelloID
		ua string
	}{
		{utls.HelloChrome_131, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"},
		{utls.HelloChrome_133, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/133.0.0.0 Safari/537.36"},
	}
	for i := range nUTLS {
		p := parrots[i%len(parrots)]
		utlsGet(t, edges[i%2].addr, fmt.Sprintf("/utls/%d", i), p.id, p.ua)
	}
	for i := range nBots {
		goGet(t, edges[i%2].addr, fmt.Sprintf("/bot/%d", i), e2ePersonUA, edgeCA, nil, nil)
	}
	for i := range nGoViaMITM {
		goGet(t, edges[i%2].addr, fmt.Sprintf("/go-mitm/%d", i), e2ePersonUA, nil, mitmURL, mitmCA)
	}
	// Real Chromium, once per edge directly and once through mitmproxy.
	// Chromium opens a spare connection that carries no request (not
	// counted: verdicts are per request's connection), so each run counts
	// one or, if the spare is used, two connections.
	for i, e := range edges {
		chromium(t, chromeBin, "--user-agent="+e2ePersonUA, "--virtual-time-budget=3000", "--dump-dom",
			fmt.Sprintf("https://%s/chromium/direct/%d", e.addr, i))
		chromium(t, chromeBin, "--user-agent="+e2ePersonUA, "--virtual-time-budget=3000", "--dump-dom",
			"--proxy-server="+mitmURL.String(), "--proxy-bypass-list=<-loopback>",
			fmt.Sprintf("https://%s/chromium/mitm/%d", e.addr, i))
	}
	t.Logf("traffic sent after %s", time.Since(start).Round(time.Millisecond))

	// What the upstream was told, request by request.
	for _, c := range []struct {
		prefix string
		n      int
		want   string
	}{
		{"/utls/", nUTLS, "clean"},
		{"/bot/", nBots, "spoofed"},
		{"/go-mitm/", nGoViaMITM, "intercepted"},
		{"/chromium/direct/", 2, "clean"},
		{"/chromium/mitm/", 2, "intercepted"},
	} {
		for i := range c.n {
			if got := up.verdictsOf(fmt.Sprintf("%s%d", c.prefix, i)); len(got) != 1 || got[0] != c.want {
				t.Errorf("upstream saw %s%d with %s %q, want [%q]", c.prefix, i, HeaderVerdict, got, c.want)
			}
		}
	}

	// The dashboard API (either edge: they read the same Redis) reports
	// the network with the share the traffic implies.
	row := waitTopRow(t, edges[1].admin, nUTLS+nBots+nGoViaMITM+4)
	t.Logf("dashboard row: %+v", row)
	if row.Country != "KZ" || row.ASN != 9198 || row.ASOrg != "JSC Kazakhtelecom" {
		t.Errorf("top network %s/%d %q, want KZ/9198 JSC Kazakhtelecom", row.Country, row.ASN, row.ASOrg)
	}
	if row.Spoofed != nBots || row.Unknown != 0 {
		t.Errorf("spoofed %d unknown %d, want %d and 0", row.Spoofed, row.Unknown, nBots)
	}
	// Two Chromium runs per verdict, one or two connections each.
	if row.Clean < nUTLS+2 || row.Clean > nUTLS+4 {
		t.Errorf("clean %d, want %d to %d", row.Clean, nUTLS+2, nUTLS+4)
	}
	if row.Intercepted < nGoViaMITM+2 || row.Intercepted > nGoViaMITM+4 {
		t.Errorf("intercepted %d, want %d to %d", row.Intercepted, nGoViaMITM+2, nGoViaMITM+4)
	}
	if row.Browser != row.Clean+row.Intercepted+row.Spoofed+row.Unknown {
		t.Errorf("browser %d is not the sum of its verdicts %+v", row.Browser, row.Counts)
	}
	// Spoofed connections are bots: the share leaves them out.
	if want := float64(row.Intercepted) / float64(row.Browser-row.Spoofed); math.Abs(row.Share-want) > 1e-9 || row.Spoofed == 0 {
		t.Errorf("share %v with %d spoofed, want intercepted/(browser-spoofed) = %v", row.Share, row.Spoofed, want)
	}
	if row.TopProduct == nil || !strings.Contains(strings.ToLower(row.TopProduct.Name), "mitmproxy") {
		t.Errorf("top product %+v, want mitmproxy", row.TopProduct)
	}

	// Headless Chromium renders the dashboard, which shows the network.
	dashURL := "http://" + edges[0].admin + "/"
	dom := string(chromium(t, chromeBin, "--virtual-time-budget=8000", "--dump-dom", dashURL))
	for _, want := range []string{"AS9198", "JSC Kazakhtelecom", "mitmproxy"} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered dashboard lacks %q", want)
		}
	}
	artifacts := os.Getenv("MITMWATCH_ARTIFACTS")
	if artifacts == "" {
		artifacts = t.TempDir()
	} else if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(artifacts, "e2e-dashboard.png")
	chromium(t, chromeBin, "--virtual-time-budget=8000", "--window-size=1400,1000", "--screenshot="+shot, dashURL)
	if fi, err := os.Stat(shot); err != nil || fi.Size() == 0 {
		t.Errorf("no screenshot at %s: %v", shot, err)
	} else {
		t.Logf("dashboard screenshot: %s", shot)
	}

	// Exactly one signed alert for the whole cluster: wait for it, then
	// for a few more evaluation periods to prove no node sends another.
	deadline := time.Now().Add(30 * time.Second)
	for {
		evs, _ := hook.alertsOf(alerts.EventAlert)
		if len(evs) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 30 s; edge1 log:\n%s", alerts.EventAlert, edges[0].log)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(4 * evaluateEvery)
	evs, bad := hook.alertsOf(alerts.EventAlert)
	if len(bad) > 0 {
		t.Errorf("deliveries with a bad signature or body: %v", bad)
	}
	if len(evs) != 1 {
		t.Fatalf("received %d %s events, want exactly 1: %+v", len(evs), alerts.EventAlert, evs)
	}
	a := evs[0].Data
	if a.Rule != "e2e-asn" || a.ASN != 9198 || a.Share < 0.2 || a.Connections < 10 {
		t.Errorf("alert %+v: want rule e2e-asn on AS9198 with a share of at least 0.2 over 10+ connections", a)
	}
	t.Logf("alert: %s", a.Summary)

	// Graceful shutdown of one edge: exit status 0, aggregates flushed.
	if err := edges[0].stop(t); err != nil {
		t.Errorf("edge1 exit: %v\n%s", err, edges[0].log)
	}
	for _, step := range []string{"edge: draining requests", "recorder: flush aggregates done",
		"alerts: close evaluator and outbox done", "redis: close done", `"edge: stopped"`} {
		if !strings.Contains(edges[0].log.String(), step) {
			t.Errorf("edge1 shutdown log lacks %q", step)
		}
	}
	t.Logf("end-to-end test took %s", time.Since(start).Round(time.Millisecond))
}

// freeLoopbackPort returns a loopback port free a moment ago.
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	ln := loopback(t)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitMitmproxy waits for mitmdump to accept connections and write its
// CA certificate, and returns a pool trusting that CA.
func waitMitmproxy(t *testing.T, p *e2eProc, port int, caFile string) *x509.CertPool {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		pem, err := os.ReadFile(caFile)
		if err == nil {
			if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
				c.Close()
				pool := x509.NewCertPool()
				if !pool.AppendCertsFromPEM(pem) {
					t.Fatalf("no certificate in %s", caFile)
				}
				return pool
			}
		}
		select {
		case <-p.done:
			t.Fatalf("mitmdump exited: %v\n%s", p.err, p.log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("mitmdump not ready within 30 s:\n%s", p.log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitTopRow polls the dashboard API until the top network has at least
// minBrowser browser connections (the recorders flush every second) and
// returns that row.
func waitTopRow(t *testing.T, admin string, minBrowser int) networkRow {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var top topResponse
		resp, err := http.Get("http://" + admin + "/api/top?window=1h")
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&top)
			resp.Body.Close()
		}
		if err == nil && len(top.Rows) > 0 && top.Rows[0].Browser >= uint64(minBrowser) {
			return top.Rows[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("dashboard API never reported %d browser connections (err %v, last %+v)", minBrowser, err, top)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
