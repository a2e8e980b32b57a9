package server

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/mitmwatch/mitmwatch/fingerprints"
	"github.com/mitmwatch/mitmwatch/middleware"
)

// goClientHello returns the record-framed ClientHello crypto/tls sends with
// cfg, captured over a pipe (no network).
func goClientHello(t *testing.T, cfg *tls.Config) []byte {
	t.Helper()
	client, server := net.Pipe()
	go func() {
		tls.Client(client, cfg).Handshake() // fails when server closes
		client.Close()
	}()
	defer server.Close()
	hdr := make([]byte, 5)
	if _, err := io.ReadFull(server, hdr); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, int(hdr[3])<<8|int(hdr[4]))
	if _, err := io.ReadFull(server, body); err != nil {
		t.Fatal(err)
	}
	return append(hdr, body...)
}

func parsedHello(t *testing.T, cfg *tls.Config) *fingerprints.ClientHello {
	t.Helper()
	h, err := fingerprints.ParseClientHello(goClientHello(t, cfg))
	if err != nil {
		t.Fatalf("crypto/tls hello does not parse: %v", err)
	}
	return h
}

func TestNewReport(t *testing.T) {
	withSNI := parsedHello(t, &tls.Config{ServerName: "example.com", NextProtos: []string{"h2", "http/1.1"}})
	byIP := parsedHello(t, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12})

	type fields struct {
		TLSVersion string
		ALPN       []string
		SNI        string
		UserAgent  string
		Source     middleware.Source
		Error      string
	}
	tests := []struct {
		name    string
		hello   *fingerprints.ClientHello
		err     error
		want    fields
		wantFPs bool
	}{
		{
			name:    "tls13_hello_with_sni_and_alpn_reports_offered_values",
			hello:   withSNI,
			want:    fields{TLSVersion: "TLS 1.3", ALPN: []string{"h2", "http/1.1"}, SNI: "example.com", UserAgent: "ua", Source: middleware.SourceListener},
			wantFPs: true,
		},
		{
			name:    "tls12_only_hello_without_sni_has_empty_alpn_list_not_null",
			hello:   byIP,
			want:    fields{TLSVersion: "TLS 1.2", ALPN: []string{}, UserAgent: "ua", Source: middleware.SourceListener},
			wantFPs: true,
		},
		{
			name:  "capture_error_is_reported_without_fingerprints",
			err:   fmt.Errorf("capture: %w", fingerprints.ErrMalformed),
			want:  fields{ALPN: []string{}, UserAgent: "ua", Source: middleware.SourceNone, Error: "capture: " + fingerprints.ErrMalformed.Error()},
			hello: withSNI, // ignored when err is set
		},
		{
			name: "missing_hello_is_an_error_not_an_empty_success",
			want: fields{ALPN: []string{}, UserAgent: "ua", Source: middleware.SourceNone, Error: middleware.ErrNoFingerprint.Error()},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NewReport(tt.hello, tt.err, "ua")
			if tt.wantFPs {
				if got.Fingerprints != tt.hello.Fingerprints() {
					t.Errorf("fingerprints %+v, want %+v", got.Fingerprints, tt.hello.Fingerprints())
				}
				if got.JA4 == "" || got.JA3Hash == "" {
					t.Errorf("empty fingerprints: %+v", got.Fingerprints)
				}
			} else if got.Fingerprints != (fingerprints.Fingerprints{}) {
				t.Errorf("fingerprints %+v, want none", got.Fingerprints)
			}
			f := fields{got.TLSVersion, got.ALPN, got.SNI, got.UserAgent, got.Source, got.Error}
			gotJSON, _ := json.Marshal(f)
			wantJSON, _ := json.Marshal(tt.want)
			if string(gotJSON) != string(wantJSON) {
				t.Errorf("report\n got %s\nwant %s", gotJSON, wantJSON)
			}
			// Before classification: no verdict is claimed.
			if got.Verdict.Verdict.Verdict != fingerprints.OutcomeUnknown || got.Country != middleware.UnknownCountry {
				t.Errorf("verdict %v country %q", got.Verdict.Verdict.Verdict, got.Country)
			}
		})
	}
}

// TestReportJSONNames pins the JSON names the endpoint promises.
func TestReportJSONNames(t *testing.T) {
	h := parsedHello(t, &tls.Config{ServerName: "example.com", NextProtos: []string{"h2"}})
	b, err := json.Marshal(NewReport(h, nil, "Mozilla/5.0"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"ja3", "ja3_hash", "ja3n", "ja4", "ja4_r", "tls_version", "sni", "user_agent", "verdict", "source", "country"} {
		if s, ok := m[k].(string); !ok || s == "" {
			t.Errorf("%q is %#v, want a non-empty string", k, m[k])
		}
	}
	if a, ok := m["alpn"].([]any); !ok || len(a) != 1 || a[0] != "h2" {
		t.Errorf(`"alpn" is %#v, want ["h2"]`, m["alpn"])
	}
	// CLI-only and error fields stay out of a successful endpoint answer.
	for _, k := range []string{"time", "remote_addr", "parsed", "saved_as", "error"} {
		if _, ok := m[k]; ok {
			t.Errorf("%q present in an endpoint report", k)
		}
	}
}

func TestNewParsed(t *testing.T) {
	h := parsedHello(t, &tls.Config{ServerName: "example.com"})
	p := NewParsed(h)
	if len(p.CipherSuites) != len(h.CipherSuites) || p.CipherSuites[0] != fmt.Sprintf("0x%04x", h.CipherSuites[0]) {
		t.Errorf("cipher suites %v for %#04x", p.CipherSuites, h.CipherSuites)
	}
	if !slices.Contains(p.CipherSuites, "0x1301") { // TLS_AES_128_GCM_SHA256, RFC 8446 §B.4
		t.Errorf("cipher suites %v lack 0x1301", p.CipherSuites)
	}
	if !slices.Contains(p.Extensions, "0x0000") || !slices.Contains(p.SupportedVersions, "0x0304") {
		t.Errorf("extensions %v / versions %v lack server_name / TLS 1.3", p.Extensions, p.SupportedVersions)
	}
	if p.Length != len(h.Raw) || p.RecordVersion == "" {
		t.Errorf("length %d record version %q for a %d-byte record-framed hello", p.Length, p.RecordVersion, len(h.Raw))
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	// Byte lists are numbers, not base64 strings.
	if !strings.Contains(string(b), `"compression_methods":[0]`) {
		t.Errorf("compression methods not a number list: %s", b)
	}
}
