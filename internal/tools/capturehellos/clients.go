package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"time"
)

// This file drives the non-browser clients: Go's net/http, curl and
// Python's urllib. Each fetches the capture URL once; the hello and request
// are then read from the server's by-name registry.

// captureGo fetches url with a clone of net/http's DefaultTransport, so the
// hello is the one an ordinary Go program sends (crypto/tls defaults, ALPN
// h2 and http/1.1). Trusting the test CA instead of skipping verification
// does not change the hello.
func captureGo(ctx context.Context, srv *captureServer, pki *testPKI, name string) (*hello, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.TLSClientConfig = &tls.Config{ServerName: "localhost", RootCAs: pki.certPool()}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL(name), nil)
	if err != nil {
		return nil, fmt.Errorf("capturehellos: %s: %w", name, err)
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("capturehellos: %s: %w", name, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("capturehellos: %s: status %s", name, resp.Status)
	}
	return awaitRequest(ctx, srv, name)
}

// curlArgs are curl's arguments for one capture: silent but showing errors,
// no certificate check (-k, as the brief's "curl -sk"), through proxy when
// it is not empty. The body goes to stdout, which is discarded.
func curlArgs(url, proxy string, timeout time.Duration) []string {
	args := []string{"-sS", "-k", "--max-time", fmt.Sprint(int(timeout.Seconds())), "-o", "/dev/null"}
	if proxy != "" {
		args = append(args, "-x", proxy)
	}
	return append(args, url)
}

// pythonScript fetches sys.argv[1] with urllib and an unverified SSL
// context (ssl._create_unverified_context: OpenSSL defaults, no
// certificate check), then prints the status.
const pythonScript = `import ssl, sys, urllib.request
ctx = ssl._create_unverified_context()
with urllib.request.urlopen(sys.argv[1], context=ctx, timeout=30) as r:
    r.read()
    print(r.status)
`

// runAndAwait runs a client program and returns the hello and request the
// server recorded for name.
func runAndAwait(ctx context.Context, srv *captureServer, name, path string, args, env []string, dir string) (*hello, error) {
	out, err := runProcess(ctx, path, args, env, dir)
	if err != nil {
		return nil, fmt.Errorf("%w\n%s", err, tail(out, 2000))
	}
	h, err := awaitRequest(ctx, srv, name)
	if err != nil {
		return nil, fmt.Errorf("%w\nclient output:\n%s", err, tail(out, 2000))
	}
	return h, nil
}

// awaitRequest waits briefly for the request of capture name: the client
// has already exited or got its response, so the handler has run or is
// about to.
func awaitRequest(ctx context.Context, srv *captureServer, name string) (*hello, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	h, err := srv.byName.wait(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("capturehellos: %s: no request reached the server: %w", name, err)
	}
	return &h, nil
}
