package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// This file drives the real browsers: Debian's chromium and firefox-esr,
// headless, each with a fresh profile in a temporary directory, sent to
// the capture URL directly or through mitmproxy.

// chromiumArgs returns Chromium's command line for one page load. The
// background-networking switches matter on a machine without network:
// without them Chromium hangs on lookups for its own services. QUIC is
// off so that the capture is the TCP ClientHello. With a proxy, the
// implicit bypass of loopback hosts is removed ("<-loopback>"), or
// Chromium would go to localhost directly.
func chromiumArgs(userDataDir, url, proxy string) []string {
	args := []string{
		"--headless",
		"--no-sandbox", // running as root in a container
		"--disable-gpu",
		"--disable-quic",
		"--no-first-run",
		"--no-default-browser-check",
		"--disable-background-networking",
		"--disable-component-update",
		"--disable-sync",
		"--disable-default-apps",
		"--disable-extensions",
		"--user-data-dir=" + userDataDir,
		// The test CA is not in Chromium's NSS store; skipping
		// verification does not change the ClientHello.
		"--ignore-certificate-errors",
	}
	if proxy != "" {
		args = append(args, "--proxy-server="+proxy, "--proxy-bypass-list=<-loopback>")
	}
	return append(args, "--dump-dom", url)
}

// firefoxArgs returns Firefox's command line: load url in a headless
// instance of profile and write a screenshot, which makes Firefox exit
// once the page has loaded.
func firefoxArgs(profile, url string) []string {
	return []string{"--headless", "--no-remote", "--profile", profile,
		"--screenshot", filepath.Join(profile, "capture.png"), url}
}

// pref is one user.js line: user_pref(Name, Value), Value in JavaScript
// syntax. Build it with boolPref, intPref or stringPref.
type pref struct {
	Name  string
	Value string
}

func boolPref(name string, v bool) pref     { return pref{name, strconv.FormatBool(v)} }
func intPref(name string, v int) pref       { return pref{name, strconv.Itoa(v)} }
func stringPref(name string, v string) pref { return pref{name, strconv.Quote(v)} }

// deadURL is where Firefox's background services are pointed: the discard
// port on loopback, which refuses at once, so nothing leaves the machine
// and nothing waits on a timeout.
const deadURL = "http://127.0.0.1:9/"

// firefoxPrefs returns the user.js preferences of a capture profile. They
// turn off Firefox's own traffic (updates, telemetry, captive-portal and
// connectivity checks, Safe Browsing, Normandy, remote settings, push,
// prefetching) and none of them changes the TLS ClientHello. With
// proxyPort > 0, HTTPS goes through the HTTP proxy on 127.0.0.1:proxyPort,
// loopback included (Firefox never proxies localhost otherwise).
func firefoxPrefs(proxyPort int) []pref {
	ps := []pref{
		boolPref("app.update.enabled", false),
		boolPref("app.update.auto", false),
		boolPref("app.update.disabledForTesting", true),
		stringPref("app.update.url", deadURL),
		boolPref("app.normandy.enabled", false),
		stringPref("app.normandy.api_url", deadURL),
		boolPref("app.shield.optoutstudies.enabled", false),
		boolPref("browser.aboutwelcome.enabled", false),
		boolPref("browser.discovery.enabled", false),
		boolPref("browser.newtabpage.enabled", false),
		boolPref("browser.newtabpage.activity-stream.feeds.telemetry", false),
		boolPref("browser.newtabpage.activity-stream.telemetry", false),
		boolPref("browser.ping-centre.telemetry", false),
		stringPref("browser.region.network.url", deadURL),
		boolPref("browser.region.update.enabled", false),
		boolPref("browser.safebrowsing.blockedURIs.enabled", false),
		boolPref("browser.safebrowsing.downloads.enabled", false),
		boolPref("browser.safebrowsing.downloads.remote.enabled", false),
		boolPref("browser.safebrowsing.malware.enabled", false),
		boolPref("browser.safebrowsing.phishing.enabled", false),
		stringPref("browser.safebrowsing.provider.google.updateURL", deadURL),
		stringPref("browser.safebrowsing.provider.google4.updateURL", deadURL),
		stringPref("browser.safebrowsing.provider.mozilla.updateURL", deadURL),
		boolPref("browser.search.update", false),
		boolPref("browser.shell.checkDefaultBrowser", false),
		stringPref("browser.startup.homepage_override.mstone", "ignore"),
		intPref("browser.startup.page", 0),
		boolPref("browser.urlbar.speculativeConnect.enabled", false),
		boolPref("datareporting.healthreport.uploadEnabled", false),
		boolPref("datareporting.policy.dataSubmissionEnabled", false),
		stringPref("datareporting.policy.firstRunURL", ""),
		boolPref("dom.push.connection.enabled", false),
		stringPref("dom.push.serverURL", deadURL),
		boolPref("extensions.getAddons.cache.enabled", false),
		boolPref("extensions.pocket.enabled", false),
		boolPref("extensions.systemAddon.update.enabled", false),
		boolPref("extensions.update.enabled", false),
		stringPref("geo.provider.network.url", deadURL),
		boolPref("identity.fxaccounts.enabled", false),
		stringPref("media.gmp-manager.url", deadURL),
		boolPref("network.captive-portal-service.enabled", false),
		boolPref("network.connectivity-service.enabled", false),
		boolPref("network.dns.disablePrefetch", true),
		boolPref("network.http.http3.enable", false), // capture TCP hellos only
		intPref("network.http.speculative-parallel-limit", 0),
		boolPref("network.prefetch-next", false),
		intPref("network.trr.mode", 5), // DNS over HTTPS off
		boolPref("privacy.trackingprotection.enabled", false),
		intPref("security.OCSP.enabled", 0), // no OCSP fetch; stapling (and its extension) untouched
		boolPref("security.remote_settings.crlite_filters.enabled", false),
		boolPref("security.remote_settings.intermediates.enabled", false),
		stringPref("services.settings.server", deadURL),
		boolPref("toolkit.telemetry.enabled", false),
		stringPref("toolkit.telemetry.server", deadURL),
		boolPref("toolkit.telemetry.unified", false),
	}
	if proxyPort > 0 {
		ps = append(ps,
			intPref("network.proxy.type", 1), // manual
			stringPref("network.proxy.ssl", "127.0.0.1"),
			intPref("network.proxy.ssl_port", proxyPort),
			boolPref("network.proxy.allow_hijacking_localhost", true),
			stringPref("network.proxy.no_proxies_on", ""),
		)
	} else {
		ps = append(ps, intPref("network.proxy.type", 0)) // direct, ignore system settings
	}
	return ps
}

// userJS renders prefs in user.js syntax.
func userJS(prefs []pref) string {
	var b strings.Builder
	b.WriteString("// Written by mitmwatch internal/tools/capturehellos.\n")
	for _, p := range prefs {
		fmt.Fprintf(&b, "user_pref(%q, %s);\n", p.Name, p.Value)
	}
	return b.String()
}

// setupFirefoxProfile writes user.js into profile and creates its NSS
// database with caPEM trusted to issue server certificates ("C,,"), using
// certutil from libnss3-tools.
func setupFirefoxProfile(ctx context.Context, profile string, prefs []pref, caPEM []byte) error {
	if err := os.MkdirAll(profile, 0o700); err != nil {
		return fmt.Errorf("capturehellos: profile: %w", err)
	}
	if err := os.WriteFile(filepath.Join(profile, "user.js"), []byte(userJS(prefs)), 0o600); err != nil {
		return fmt.Errorf("capturehellos: profile: %w", err)
	}
	caFile := filepath.Join(profile, "capture-ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		return fmt.Errorf("capturehellos: profile: %w", err)
	}
	certutil, err := lookPath("certutil")
	if err != nil {
		return err
	}
	db := "sql:" + profile
	for _, args := range [][]string{
		{"-N", "-d", db, "--empty-password"},
		{"-A", "-d", db, "-n", "capturehellos CA", "-t", "C,,", "-i", caFile},
	} {
		if out, err := runProcess(ctx, certutil, args, nil, ""); err != nil {
			return fmt.Errorf("%w: %s", err, tail(out, 500))
		}
	}
	return nil
}

// browserVersion finds, in the one-line "--version" output of toolVersion
// (lines joined by "; "), the line that starts with prefix, such as
// "Chromium 156.0.8078.79 built on Debian GNU/Linux 12 (bookworm)" or
// "Mozilla Firefox 153.7.0esr", and returns that line, the version (the
// first word after prefix) and its major number. Other lines are noise
// from wrapper scripts (Debian's chromium script warns on stderr).
func browserVersion(out, prefix string) (line, full string, major int, err error) {
	for l := range strings.SplitSeq(out, "; ") {
		rest, ok := strings.CutPrefix(l, prefix)
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			break
		}
		m, _, _ := strings.Cut(f[0], ".")
		major, err := strconv.Atoi(m)
		if err != nil || major <= 0 {
			return "", "", 0, fmt.Errorf("capturehellos: version %q: not a version number", f[0])
		}
		return l, f[0], major, nil
	}
	return "", "", 0, fmt.Errorf("capturehellos: no %q version line in %q", prefix, out)
}
