package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
)

// startExample runs the example's run on a loopback port until the test
// ends and returns its address.
func startExample(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, ln, t.TempDir(), slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run returned %v after cancel", err)
		}
	})
	return ln.Addr().String()
}

func get(t *testing.T, addr, path string) (*http.Response, string) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{
		// The example's certificate is self-signed; the test is about
		// what the server answers, not about its certificate.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"},
	}}
	defer c.CloseIdleConnections()
	resp, err := c.Get("https://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// The example serves its page with the verdict from the capture listener,
// and the middleware's endpoint.
func TestExampleServes(t *testing.T) {
	addr := startExample(t)
	resp, body := get(t, addr, "/")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-verdict="clean"`) || !strings.Contains(body, "fingerprint from listener") {
		t.Errorf("page: %d\n%s", resp.StatusCode, body)
	}
	if strings.Contains(body, "data-mitmwatch-banner") {
		t.Error("banner on a clean connection")
	}
	resp, body = get(t, addr, "/.well-known/tls-interception")
	var v map[string]any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("endpoint: %v\n%s", err, body)
	}
	if resp.Header.Get("Cache-Control") != "no-store" || v["source"] != "listener" || v["ja4"] == "" || v["verdict"] != "clean" {
		t.Errorf("endpoint: %s %v", resp.Header.Get("Cache-Control"), v)
	}
}
