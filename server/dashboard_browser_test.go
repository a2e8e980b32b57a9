//go:build linux

package server

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mitmwatch/mitmwatch/alerts"
	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// TestDashboardInChromium loads the dashboard in headless Chromium against
// a memory store holding one intercepted network (Kazakhstan, AS9198, 60%
// of browser connections intercepted by mitmproxy, grade B) and checks
// the page the script built: the network's share, product and grade must
// be in the DOM. It signs in through the ?token= cookie flow, as an
// analyst would, and saves a screenshot (under $MITMWATCH_ARTIFACTS if
// set) for a person to look at.
func TestDashboardInChromium(t *testing.T) {
	chromium := requireChromium(t)

	now := time.Now()
	store := alerts.NewMemoryStore()
	grades := NewProductGrades(nil, 0)
	grades.Note("mitmproxy", fingerprints.GradeB)
	// Thirty minutes of Kazakhtelecom traffic, 6 of every 10 browser
	// connections intercepted, with a rising volume so the chart has a
	// shape; a clean German network; a US network with a little
	// interception; an unknown hello from Turkey; bots.
	kz := alerts.Observation{Country: "KZ", ASN: 9198, ASOrg: "JSC Kazakhtelecom", Browser: true}
	for m := range 30 {
		at := now.Add(-time.Duration(m) * time.Minute)
		n := 1 + (30-m)/6
		mitm := kz
		mitm.Verdict, mitm.Product, mitm.JA4 = alerts.VerdictIntercepted, "mitmproxy", ja4Mitmproxy
		feed(t, store, at, mitm, 6*n)
		clean := kz
		clean.Verdict = alerts.VerdictClean
		feed(t, store, at, clean, 4*n)
	}
	// Bots posing as browsers in the same network: left out of its share,
	// so they must be left out of its browser connections too.
	kzBots := kz
	kzBots.Verdict = alerts.VerdictSpoofed
	feed(t, store, now.Add(-3*time.Minute), kzBots, 70)
	feed(t, store, now.Add(-5*time.Minute), alerts.Observation{Country: "DE", ASN: 3320, ASOrg: "Deutsche Telekom AG", Browser: true, Verdict: alerts.VerdictClean}, 240)
	feed(t, store, now.Add(-5*time.Minute), alerts.Observation{Country: "DE", ASN: 3320, ASOrg: "Deutsche Telekom AG"}, 90)
	feed(t, store, now.Add(-12*time.Minute), alerts.Observation{Country: "US", ASN: 7922, ASOrg: "Comcast Cable Communications, LLC", Browser: true, Verdict: alerts.VerdictClean}, 194)
	feed(t, store, now.Add(-12*time.Minute), alerts.Observation{Country: "US", ASN: 7922, ASOrg: "Comcast Cable Communications, LLC", Browser: true,
		Verdict: alerts.VerdictIntercepted, Product: "mitmproxy", JA4: ja4Mitmproxy}, 6)
	feed(t, store, now.Add(-20*time.Minute), alerts.Observation{Country: "TR", ASN: 9121, ASOrg: "Turk Telekomunikasyon Anonim Sirketi", Browser: true,
		Verdict: alerts.VerdictUnknown, JA4: "t12d1209h2_d34a8e72043a_b39be8c56a14", Grade: fingerprints.GradeC,
		Reasons: fingerprints.Reasons(0).Add(fingerprints.ReasonNoALPN)}, 9)

	started := now.Add(-18 * time.Minute)
	feedAlerts := &fakeFeed{views: []AlertView{{
		ID: "kz-9198", Rule: "share above 20%", Country: "KZ", ASN: 9198, ASOrg: "JSC Kazakhtelecom", State: "firing",
		Summary: "60% of browser connections from KZ AS9198 intercepted (mitmproxy)", Share: 0.6, Started: started, Updated: started,
		Deliveries: []DeliveryView{
			{Sink: "slack", State: DeliveryDelivered, Attempts: 1, At: started},
			{Sink: "webhook:soc", State: DeliveryRetrying, Attempts: 3, At: started, LastError: "503 from https://soc.example/hook/abc"},
		},
	}, {
		// An alert about a whole ASN has no country; one about a country
		// has no ASN. Neither may show a placeholder for the missing part.
		ID: "asn-9198", Rule: "asn-share", ASN: 9198, ASOrg: "JSC Kazakhtelecom", State: "firing",
		Summary: "ASN share", Share: 0.6, Started: started, Updated: started,
	}, {
		ID: "cc-kz", Rule: "country-share", Country: "KZ", State: "firing",
		Summary: "country share", Share: 0.6, Started: started, Updated: started,
	}}}

	ln := loopback(t)
	runUntilCleanup(t, func(ctx context.Context) error {
		return ServeAdmin(ctx, AdminServerConfig{Listener: ln, Token: testToken, Store: store, Grades: grades.Grade, Alerts: feedAlerts})
	})
	pageURL := "http://" + ln.Addr().String() + "/?token=" + url.QueryEscape(testToken)

	dom := runChromium(t, chromium, "--virtual-time-budget=5000", "--dump-dom", pageURL)
	text := visibleText(dom)
	for _, want := range []string{
		`data-loaded="true"`, // the refresh ran to its end
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("DOM lacks %s", want)
		}
	}
	// The network row, in the order the table shows it.
	row := regexp.MustCompile(`KZ\s*AS9198\s*JSC Kazakhtelecom\s*([\d,]+)\s*([\d,]+)\s*60\.0%\s*B\s*mitmproxy`)
	if m := row.FindStringSubmatch(text); m == nil {
		t.Errorf("the KZ AS9198 row with 60.0%% and mitmproxy grade B is not on the page; text:\n%s", text)
	} else if conns, intercepted := atoiComma(t, m[1]), atoiComma(t, m[2]); intercepted*10 != conns*6 {
		// What the analyst reads: intercepted over browser connections
		// is the share the row shows, the bots left out of both.
		t.Errorf("the KZ row shows %d intercepted of %d browser connections, which is not its 60.0%% share", intercepted, conns)
	}
	for _, want := range []string{
		"Trend · KZ · AS9198 · JSC Kazakhtelecom", // the top network is charted
		"retrying", // alert delivery state
		"webhook:soc",
		"t12d1209h2_d34a8e72043a_b39be8c56a14", // the new unknown fingerprint
		"asn-share · AS9198 JSC Kazakhtelecom · since", // an ASN alert names the ASN and its organisation
		"country-share · KZ · since",                   // a country alert names the country only
	} {
		if !strings.Contains(text, want) {
			t.Errorf("page text lacks %q", want)
		}
	}
	// The new fingerprint's row shows its grade between the JA4 and the verdict.
	if !regexp.MustCompile(`t12d1209h2_d34a8e72043a_b39be8c56a14\s*C\s*unknown`).MatchString(text) {
		t.Errorf("the TR fingerprint's row does not show grade C; text:\n%s", text)
	}
	if strings.Contains(text, "??") {
		t.Errorf("the page shows a \"??\" placeholder:\n%s", text)
	}
	if strings.Contains(text, "Could not load") || strings.Contains(text, "Not signed in") {
		t.Errorf("the page shows an error:\n%s", text)
	}
	if !strings.Contains(dom, `class="share-line"`) {
		t.Error("the chart has no share line")
	}

	// A link to one country over 6 hours (what the page writes into its
	// address bar when an analyst picks a row) opens on that chart.
	dom = runChromium(t, chromium, "--virtual-time-budget=5000", "--dump-dom", pageURL+"#w=6h&scope=country&key=KZ&label=Kazakhstan")
	text = visibleText(dom)
	if !strings.Contains(text, "Trend · Kazakhstan") || !strings.Contains(text, "Intercepted share · last 6 hours") {
		t.Errorf("the #w=6h&scope=country&key=KZ link did not open the Kazakhstan chart over 6 hours:\n%s", text)
	}

	dir := os.Getenv("MITMWATCH_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "dashboard.png")
	os.Remove(shot)
	runChromium(t, chromium, "--virtual-time-budget=5000", "--hide-scrollbars", "--window-size=1440,1024",
		"--screenshot="+shot, pageURL)
	st, err := os.Stat(shot)
	if err != nil || st.Size() < 10000 {
		t.Fatalf("screenshot %s: %v (size %d)", shot, err, sizeOf(st))
	}
	t.Logf("dashboard screenshot: %s", shot)
}

// TestDashboardEmptyInChromium checks that a fresh install explains its
// empty panels in words instead of showing blank tables: no traffic yet,
// no alert feed.
func TestDashboardEmptyInChromium(t *testing.T) {
	chromium := requireChromium(t)
	ln := loopback(t)
	runUntilCleanup(t, func(ctx context.Context) error {
		return ServeAdmin(ctx, AdminServerConfig{Listener: ln, Store: alerts.NewMemoryStore()})
	})
	dom := runChromium(t, chromium, "--virtual-time-budget=5000", "--dump-dom", "http://"+ln.Addr().String()+"/")
	text := visibleText(dom)
	for _, want := range []string{
		"No browser connections in the last hour",
		"No interception product identified in the last hour.",
		"No new intercepted or unknown fingerprints in the last 24 hours.",
		"No alert feed configured",
		"Select a network or a country to see its intercepted share over time.",
		"updated ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("page text lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "Could not load") {
		t.Errorf("the page shows an error:\n%s", text)
	}
}

// atoiComma parses a count as the page prints it ("1,234").
func atoiComma(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.ReplaceAll(s, ",", ""))
	if err != nil {
		t.Fatalf("count %q: %v", s, err)
	}
	return n
}

func sizeOf(st os.FileInfo) int64 {
	if st == nil {
		return 0
	}
	return st.Size()
}

// requireChromium returns Chromium's path; without it the test fails
// under CI=true (a browser test must not pass by skipping) and skips
// elsewhere. $MITMWATCH_CHROMIUM overrides the search.
func requireChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("MITMWATCH_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found (CI=true: the dashboard browser test must run)")
	}
	t.Skip("chromium not found; install it or set MITMWATCH_CHROMIUM")
	return ""
}

// runChromium runs headless Chromium with a fresh profile and the given
// extra arguments (the URL last) and returns its stdout. Chromium and its
// helpers run in their own process group, killed by its id when the run
// ends or times out; Pdeathsig kills Chromium if the test binary dies.
func runChromium(t *testing.T, path string, args ...string) string {
	t.Helper()
	profile := t.TempDir()
	full := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
		"--disable-sync", "--disable-default-apps", "--disable-extensions", "--mute-audio",
		"--user-data-dir=" + profile,
	}, args...)
	cmd := exec.Command(path, full...)
	cmd.Env = append(envWithoutProxy(os.Environ()), "HOME="+profile)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}

	done := make(chan error, 1)
	started := make(chan error, 1)
	go func() {
		// Pdeathsig fires when the forking thread exits: keep it.
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		done <- cmd.Wait()
	}()
	if err := <-started; err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	pgid := cmd.Process.Pid
	defer syscall.Kill(-pgid, syscall.SIGKILL) // helpers left behind
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("chromium %s: %v\nstderr:\n%s", strings.Join(args, " "), err, chromiumTail(stderr.String(), 3000))
		}
	case <-time.After(90 * time.Second):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
		t.Fatalf("chromium did not finish in 90 s\nstderr:\n%s", chromiumTail(stderr.String(), 3000))
	}
	return stdout.String()
}

func envWithoutProxy(env []string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch strings.ToLower(k) {
		case "http_proxy", "https_proxy", "all_proxy", "no_proxy":
			continue
		}
		out = append(out, kv)
	}
	return out
}

func chromiumTail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

var (
	tagRE    = regexp.MustCompile(`(?s)<[^>]*>`)
	scriptRE = regexp.MustCompile(`(?s)<(script|style|title)[^>]*>.*?</(script|style|title)>`)
	spaceRE  = regexp.MustCompile(`\s+`)
)

// visibleText flattens dumped HTML to its text, one space between nodes.
func visibleText(dom string) string {
	s := scriptRE.ReplaceAllString(dom, " ")
	s = tagRE.ReplaceAllString(s, " ")
	s = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&quot;", `"`, "&#39;", "'", "&nbsp;", " ").Replace(s)
	return strings.TrimSpace(spaceRE.ReplaceAllString(s, " "))
}
