package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/pires/go-proxyproto"
)

// PROXY protocol v1 and v2 from trusted and untrusted peers, end to end:
// TCP → ProxyProtocolListener → capture listener → TLS → middleware.
func TestProxyProtocolListener(t *testing.T) {
	geo, err := NewGeo(GeoConfig{Static: []StaticGeo{{CIDR: "192.0.2.0/24", Country: "KZ", ASN: 9198, Org: "JSC Kazakhtelecom"}}})
	if err != nil {
		t.Fatal(err)
	}
	const loopbackTrusted, elsewhereTrusted = "127.0.0.1/32", "198.51.100.0/24"
	tests := []struct {
		name       string
		trusted    string
		version    byte   // 0: no PROXY header
		wantRemote string // "" when the connection must be refused
		wantLog    string
	}{
		{"trusted_lb_v1_header_gives_the_client_address", loopbackTrusted, 1, "192.0.2.10", ""},
		{"trusted_lb_v2_header_gives_the_client_address", loopbackTrusted, 2, "192.0.2.10", ""},
		{"trusted_lb_without_header_is_refused_not_guessed", loopbackTrusted, 0, "", "trusted load balancer sent no PROXY header"},
		{"untrusted_peer_sends_v1_header_to_choose_its_address", elsewhereTrusted, 1, "", "PROXY header from an untrusted peer refused"},
		{"untrusted_peer_sends_v2_header_to_choose_its_address", elsewhereTrusted, 2, "", "PROXY header from an untrusted peer refused"},
		{"untrusted_peer_without_header_is_served_as_itself", elsewhereTrusted, 0, "127.0.0.1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs mwLogBuffer
			logger := slog.New(slog.NewJSONHandler(&logs, nil))
			var seen mwSeen
			h, _ := mwNew(t, Config{Geo: geo}, seen.handler("ok", "text/plain"))
			addr, tlsCfg := mwServer(t, h, func(ln net.Listener) net.Listener {
				pl, err := ProxyProtocolListener(ln, []string{tt.trusted}, logger)
				if err != nil {
					t.Fatal(err)
				}
				return pl
			})
			tr := &http.Transport{
				TLSClientConfig:   tlsCfg,
				DisableKeepAlives: true,
				DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
					var d net.Dialer
					c, err := d.DialContext(ctx, network, addr)
					if err != nil || tt.version == 0 {
						return c, err
					}
					hdr := proxyproto.HeaderProxyFromAddrs(tt.version,
						&net.TCPAddr{IP: net.ParseIP("192.0.2.10"), Port: 5555},
						&net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 443})
					if _, err := hdr.WriteTo(c); err != nil {
						c.Close()
						return nil, err
					}
					return c, nil
				},
			}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr}

			req, _ := http.NewRequest("GET", "https://localhost"+DefaultEndpointPath, nil)
			resp, err := c.Do(req)
			if tt.wantRemote == "" {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("connection served (status %d), want it refused", resp.StatusCode)
				}
				// The refusal is logged once, when the server reads.
				if !mwEventually(func() bool { return strings.Contains(logs.String(), tt.wantLog) }) {
					t.Errorf("log lacks %q:\n%s", tt.wantLog, logs.String())
				}
				if strings.Contains(tt.name, "untrusted") && strings.Contains(logs.String(), "127.0.0.1") {
					t.Errorf("an untrusted peer's address was logged:\n%s", logs.String())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var v Verdict
			err = json.NewDecoder(resp.Body).Decode(&v)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if v.Source != SourceListener || v.JA4 == "" {
				t.Errorf("no capture behind the PROXY listener: source %q ja4 %q error %q", v.Source, v.JA4, v.Error)
			}
			wantCountry := UnknownCountry
			if tt.wantRemote == "192.0.2.10" {
				wantCountry = "KZ"
			}
			if v.Country != wantCountry {
				t.Errorf("country %q, want %q", v.Country, wantCountry)
			}
			// The application sees the same address.
			mwGet(t, c, "/", "x")
			seen.mu.Lock()
			remote := seen.remote
			seen.mu.Unlock()
			if host, _, _ := net.SplitHostPort(remote); host != tt.wantRemote {
				t.Errorf("handler RemoteAddr %q, want host %s", remote, tt.wantRemote)
			}
			if logs.String() != "" {
				t.Errorf("unexpected log:\n%s", logs.String())
			}
		})
	}
}

func TestProxyProtocolListenerConfig(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, trusted := range [][]string{nil, {}, {"not a cidr"}} {
		if _, err := ProxyProtocolListener(ln, trusted, nil); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("trusted %q: %v, want ErrInvalidConfig", trusted, err)
		}
	}
}

// mwEventually polls cond for up to a few seconds (no timing is asserted:
// it only waits for a server goroutine to get there).
func mwEventually(cond func() bool) bool {
	for range 300 {
		if cond() {
			return true
		}
		mwSleep()
	}
	return cond()
}
