package server

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"testing"
)

func TestOpenURL(t *testing.T) {
	tests := []struct {
		name string
		addr string
		want string
	}{
		{"loopback_v4_is_kept", "127.0.0.1:8443", "https://127.0.0.1:8443/"},
		{"unspecified_v4_becomes_localhost", "0.0.0.0:8443", "https://localhost:8443/"},
		{"unspecified_v6_becomes_localhost", "[::]:8443", "https://localhost:8443/"},
		{"loopback_v6_is_bracketed", "[::1]:8443", "https://[::1]:8443/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, err := net.ResolveTCPAddr("tcp", tt.addr)
			if err != nil {
				t.Fatal(err)
			}
			if got := openURL(addr); got != tt.want {
				t.Errorf("openURL(%s) = %q, want %q", tt.addr, got, tt.want)
			}
		})
	}
}

// Old clients are worth fingerprinting: a TLS 1.0-only client completes a
// handshake (Go's server default would refuse it).
func TestServeAcceptsTLS10(t *testing.T) {
	addr, pool := startDemo(t, &syncBuffer{})
	c, err := tls.Dial("tcp", addr, &tls.Config{
		RootCAs: pool, ServerName: "localhost",
		MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10,
	})
	if err != nil {
		t.Fatalf("TLS 1.0 handshake: %v", err)
	}
	defer c.Close()
	if v := c.ConnectionState().Version; v != tls.VersionTLS10 {
		t.Errorf("negotiated %s", tls.VersionName(v))
	}
}

// When serving stops for a reason other than cancellation (here the
// listener is closed under the server, so Accept fails), RunDemo says so
// instead of returning nil as after a shutdown.
func TestRunDemoReportsServeFailure(t *testing.T) {
	dir, _ := testCert(t)
	ln := loopback(t)
	ln.Close()
	err := RunDemo(context.Background(), DemoConfig{Listener: ln, AdminListener: loopback(t), CertDir: dir})
	if !errors.Is(err, net.ErrClosed) {
		t.Fatalf("RunDemo on a closed listener returned %v, want net.ErrClosed", err)
	}
}
