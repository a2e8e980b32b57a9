package main

import (
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

func TestCaptureGo(t *testing.T) {
	srv, pki := newTestServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h, err := captureGo(ctx, srv, pki, "go-test")
	if err != nil {
		t.Fatal(err)
	}
	ch, err := fingerprints.ParseClientHello(h.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if ch.ServerName != "localhost" {
		t.Errorf("SNI = %q", ch.ServerName)
	}
	// The DefaultTransport clone keeps HTTP/2: ALPN h2 first.
	if len(ch.ALPN) == 0 || ch.ALPN[0] != "h2" {
		t.Errorf("ALPN = %q, want h2 first", ch.ALPN)
	}
	if ua := h.Request.Headers["User-Agent"]; len(ua) != 1 || !strings.HasPrefix(ua[0], "Go-http-client/") {
		t.Errorf("User-Agent = %q", ua)
	}
}

func TestCurlArgs(t *testing.T) {
	tests := []struct {
		name      string
		proxy     string
		wantProxy bool
	}{
		{"direct_has_no_proxy_flag", "", false},
		{"proxied_passes_the_proxy_with_-x", "http://127.0.0.1:8080", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := curlArgs("https://localhost:1/capture/x", tt.proxy, 30*time.Second)
			if args[len(args)-1] != "https://localhost:1/capture/x" {
				t.Errorf("URL is not the last argument: %q", args)
			}
			if !slices.Contains(args, "-k") || !slices.Contains(args, "30") {
				t.Errorf("missing -k or the time limit: %q", args)
			}
			i := slices.Index(args, "-x")
			if (i >= 0) != tt.wantProxy {
				t.Fatalf("-x present = %v, want %v: %q", i >= 0, tt.wantProxy, args)
			}
			if i >= 0 && args[i+1] != tt.proxy {
				t.Errorf("-x %q, want %q", args[i+1], tt.proxy)
			}
		})
	}
}

// TestExternalClients runs curl and python3 against the capture server when
// they are installed: the requests must arrive with the clients' own
// User-Agents and hellos naming localhost.
func TestExternalClients(t *testing.T) {
	srv, _ := newTestServer(t)
	tests := []struct {
		name    string
		program string
		args    func(url string) []string
		uaStart string
	}{
		{"curl_without_certificate_check", "curl", func(u string) []string { return curlArgs(u, "", 20*time.Second) }, "curl/"},
		{"python_urllib_unverified_context", "python3", func(u string) []string { return []string{"-c", pythonScript, u} }, "Python-urllib/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, err := exec.LookPath(tt.program)
			if err != nil {
				t.Skipf("%s not installed", tt.program)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			h, err := runAndAwait(ctx, srv, tt.name, path, tt.args(srv.URL(tt.name)), nil, "")
			if err != nil {
				t.Fatal(err)
			}
			if ua := h.Request.Headers["User-Agent"]; len(ua) != 1 || !strings.HasPrefix(ua[0], tt.uaStart) {
				t.Errorf("User-Agent = %q, want prefix %q", ua, tt.uaStart)
			}
			ch, err := fingerprints.ParseClientHello(h.Raw)
			if err != nil {
				t.Fatal(err)
			}
			if ch.ServerName != "localhost" {
				t.Errorf("SNI = %q", ch.ServerName)
			}
		})
	}
}

func TestRunAndAwaitReportsAClientThatNeverConnects(t *testing.T) {
	srv, _ := newTestServer(t)
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err = runAndAwait(ctx, srv, "never", sh, []string{"-c", "echo client said this"}, nil, "")
	if err == nil {
		t.Fatal("no error for a client that made no request")
	}
	if !strings.Contains(err.Error(), "client said this") {
		t.Errorf("error %q does not carry the client's output", err)
	}
}
