package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestChromiumArgs(t *testing.T) {
	const url = "https://localhost:1/capture/x"
	required := []string{"--headless", "--no-sandbox", "--disable-quic", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir=/p", "--ignore-certificate-errors"}
	tests := []struct {
		name      string
		proxy     string
		wantProxy []string
	}{
		{"direct_sets_no_proxy", "", nil},
		{"proxied_removes_the_implicit_loopback_bypass", "http://127.0.0.1:9", []string{"--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := chromiumArgs("/p", url, tt.proxy)
			for _, r := range append(required, tt.wantProxy...) {
				if !slices.Contains(args, r) {
					t.Errorf("missing %s in %q", r, args)
				}
			}
			if tt.proxy == "" && slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--proxy") }) {
				t.Errorf("direct run has proxy flags: %q", args)
			}
			if args[len(args)-1] != url || args[len(args)-2] != "--dump-dom" {
				t.Errorf("want ... --dump-dom URL at the end: %q", args)
			}
		})
	}
}

// prefMap indexes prefs by name, failing on duplicates (Firefox would keep
// the last one, silently).
func prefMap(t *testing.T, ps []pref) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, p := range ps {
		if _, dup := m[p.Name]; dup {
			t.Errorf("pref %s set twice", p.Name)
		}
		m[p.Name] = p.Value
	}
	return m
}

func TestFirefoxPrefs(t *testing.T) {
	tests := []struct {
		name      string
		proxyPort int
		want      map[string]string
		absent    []string
	}{
		{"direct_forces_no_proxy", 0,
			map[string]string{"network.proxy.type": "0"},
			[]string{"network.proxy.ssl", "network.proxy.ssl_port", "network.proxy.allow_hijacking_localhost"}},
		{"proxied_sends_https_to_the_proxy_localhost_included", 8080,
			map[string]string{
				"network.proxy.type":                      "1",
				"network.proxy.ssl":                       `"127.0.0.1"`,
				"network.proxy.ssl_port":                  "8080",
				"network.proxy.allow_hijacking_localhost": "true",
			}, nil},
	}
	background := map[string]string{
		"app.update.enabled":                     "false",
		"toolkit.telemetry.enabled":              "false",
		"network.captive-portal-service.enabled": "false",
		"browser.safebrowsing.malware.enabled":   "false",
		"app.normandy.enabled":                   "false",
		"network.http.http3.enable":              "false",
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := prefMap(t, firefoxPrefs(tt.proxyPort))
			for k, v := range background {
				if m[k] != v {
					t.Errorf("%s = %q, want %q (background traffic)", k, m[k], v)
				}
			}
			for k, v := range tt.want {
				if m[k] != v {
					t.Errorf("%s = %q, want %q", k, m[k], v)
				}
			}
			for _, k := range tt.absent {
				if _, ok := m[k]; ok {
					t.Errorf("%s set on a direct run", k)
				}
			}
		})
	}
}

func TestUserJS(t *testing.T) {
	got := userJS([]pref{boolPref("a.b", true), intPref("c", 5), stringPref("d", `say "hi"`)})
	for _, want := range []string{
		`user_pref("a.b", true);`,
		`user_pref("c", 5);`,
		`user_pref("d", "say \"hi\"");`,
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("user.js lacks line %s:\n%s", want, got)
		}
	}
}

func TestBrowserVersion(t *testing.T) {
	tests := []struct {
		name, out, prefix  string
		wantLine, wantFull string
		wantMajor          int
		wantErr            bool
	}{
		{"chromium_line_after_wrapper_script_noise",
			"/usr/bin/chromium: 9: [: 25275432960: unexpected operator; Chromium 156.0.8078.79 built on Debian GNU/Linux 12 (bookworm)", "Chromium ",
			"Chromium 156.0.8078.79 built on Debian GNU/Linux 12 (bookworm)", "156.0.8078.79", 156, false},
		{"firefox_esr_suffix_kept_in_full_version",
			"Mozilla Firefox 153.7.0esr", "Mozilla Firefox ",
			"Mozilla Firefox 153.7.0esr", "153.7.0esr", 153, false},
		{"no_line_with_the_product", "something else", "Chromium ", "", "", 0, true},
		{"product_without_a_number", "Chromium beta", "Chromium ", "", "", 0, true},
		{"product_without_a_version", "Chromium ", "Chromium ", "", "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line, full, major, err := browserVersion(tt.out, tt.prefix)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if line != tt.wantLine || full != tt.wantFull || major != tt.wantMajor {
				t.Errorf("got (%q, %q, %d), want (%q, %q, %d)", line, full, major, tt.wantLine, tt.wantFull, tt.wantMajor)
			}
		})
	}
}

func TestSetupFirefoxProfileTrustsTheCA(t *testing.T) {
	certutil, err := exec.LookPath("certutil")
	if err != nil {
		t.Skip("certutil (libnss3-tools) not installed")
	}
	pki, err := newTestPKI(time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	profile := filepath.Join(t.TempDir(), "profile")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := setupFirefoxProfile(ctx, profile, firefoxPrefs(0), pki.CAPEM); err != nil {
		t.Fatal(err)
	}
	js, err := os.ReadFile(filepath.Join(profile, "user.js"))
	if err != nil || !strings.Contains(string(js), `user_pref("network.proxy.type", 0);`) {
		t.Errorf("user.js not written: %v\n%s", err, js)
	}
	out, err := exec.Command(certutil, "-L", "-d", "sql:"+profile).CombinedOutput()
	if err != nil {
		t.Fatalf("certutil -L: %v\n%s", err, out)
	}
	var found bool
	for l := range strings.Lines(string(out)) {
		if strings.HasPrefix(l, "capturehellos CA") {
			found = true
			if f := strings.Fields(l); f[len(f)-1] != "C,," {
				t.Errorf("CA trust flags %q, want C,,", f[len(f)-1])
			}
		}
	}
	if !found {
		t.Errorf("CA not in the profile's NSS database:\n%s", out)
	}
}
