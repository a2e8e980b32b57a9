package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// mitmProxy is a running mitmdump: a real TLS-intercepting proxy. Clients
// send it CONNECT localhost:<port>; it answers their TLS with a certificate
// from its own CA and opens its own TLS connection to the capture server,
// so the server sees mitmproxy's ClientHello (Python's OpenSSL binding)
// while the HTTP request still carries the browser's User-Agent: the
// situation mitmwatch exists to detect.
type mitmProxy struct {
	proc    *process
	port    int
	confdir string
}

// mitmdumpArgs listens on 127.0.0.1:port only; --ssl-insecure accepts the
// capture server's certificate (from a CA mitmproxy does not know), and
// confdir keeps mitmproxy's generated CA out of the user's ~/.mitmproxy.
func mitmdumpArgs(port int, confdir string) []string {
	return []string{
		"--listen-host", "127.0.0.1",
		"--listen-port", strconv.Itoa(port),
		"--ssl-insecure",
		"--set", "confdir=" + confdir,
	}
}

// startMitmproxy starts mitmdump on a free loopback port and waits until it
// accepts connections and has written its CA certificate.
func startMitmproxy(ctx context.Context, path, confdir string) (*mitmProxy, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(confdir, 0o700); err != nil {
		return nil, fmt.Errorf("capturehellos: mitmproxy confdir: %w", err)
	}
	proc, err := startProcess(path, mitmdumpArgs(port, confdir), []string{"HOME=" + confdir}, confdir)
	if err != nil {
		return nil, err
	}
	m := &mitmProxy{proc: proc, port: port, confdir: confdir}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := waitListening(ctx, "127.0.0.1:"+strconv.Itoa(port), proc.done); err != nil {
		_ = proc.stop(2 * time.Second)
		return nil, fmt.Errorf("capturehellos: mitmdump did not start: %w\n%s", err, tail(proc.output.Bytes(), 2000))
	}
	if _, err := os.Stat(m.CACertFile()); err != nil {
		_ = proc.stop(2 * time.Second)
		return nil, fmt.Errorf("capturehellos: mitmdump CA: %w", err)
	}
	return m, nil
}

// ProxyURL is the proxy address in the form browsers and curl take.
func (m *mitmProxy) ProxyURL() string { return "http://127.0.0.1:" + strconv.Itoa(m.port) }

// Port is the port mitmdump listens on (on 127.0.0.1).
func (m *mitmProxy) Port() int { return m.port }

// CACertFile is mitmproxy's CA certificate (PEM), created on first start.
func (m *mitmProxy) CACertFile() string {
	return filepath.Join(m.confdir, "mitmproxy-ca-cert.pem")
}

// Output returns what mitmdump printed so far (one line per flow).
func (m *mitmProxy) Output() []byte { return m.proc.output.Bytes() }

// Stop terminates mitmdump.
func (m *mitmProxy) Stop() { _ = m.proc.stop(5 * time.Second) }

// freePort asks the kernel for a free loopback port. Another process could
// take it before mitmdump binds it; mitmdump would then fail to start,
// which is reported.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("capturehellos: free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitListening polls addr until a TCP connection succeeds, ctx is done, or
// exited is closed (the server process died).
func waitListening(ctx context.Context, addr string, exited <-chan struct{}) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("capturehellos: %s not listening: %w", addr, ctx.Err())
		case <-exited:
			return fmt.Errorf("capturehellos: process exited before listening on %s", addr)
		case <-tick.C:
		}
	}
}
