package server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// testPair is a certificate written to disk by writeCertPair.
type testPair struct {
	CertPair
	leaf *x509.Certificate
}

// writeCertPair writes a fresh self-signed ECDSA certificate for names
// into dir as <base>.pem and <base>.key, replacing any previous pair by
// rename (as certificate tools do), and returns it.
func writeCertPair(t *testing.T, dir, base string, names ...string) testPair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	p := testPair{CertPair: CertPair{
		CertFile: filepath.Join(dir, base+".pem"),
		KeyFile:  filepath.Join(dir, base+".key"),
	}, leaf: leaf}
	writeFileAtomic(t, p.KeyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
	writeFileAtomic(t, p.CertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	return p
}

func writeFileAtomic(t *testing.T, name string, data []byte) {
	t.Helper()
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, name); err != nil {
		t.Fatal(err)
	}
}

// handshakeCert completes a real TLS handshake with a server whose
// certificates come from m, sending sni (none if empty) and alpn, and
// returns the leaf the server presented.
func handshakeCert(t *testing.T, m *CertManager, sni string, alpn ...string) (*x509.Certificate, error) {
	t.Helper()
	ln := loopback(t)
	defer ln.Close()
	srvErr := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			srvErr <- err
			return
		}
		defer c.Close()
		tc := tls.Server(c, &tls.Config{GetCertificate: m.GetCertificate, NextProtos: m.NextProtos()})
		tc.SetDeadline(time.Now().Add(20 * time.Second))
		srvErr <- tc.Handshake()
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{
		ServerName: sni,
		NextProtos: alpn,
		// The test compares the presented certificate byte for byte
		// with the expected one, which proves more than a chain check.
		InsecureSkipVerify: true,
	})
	if err != nil {
		<-srvErr
		return nil, err
	}
	defer c.Close()
	if err := <-srvErr; err != nil {
		return nil, err
	}
	return c.ConnectionState().PeerCertificates[0], nil
}

// certMetricValue reads a counter or gauge.
func certMetricValue(t *testing.T, c prometheus.Metric) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}

// newTestLogger logs text at debug level into w.
func newTestLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func TestCertManagerChoosesBySNI(t *testing.T) {
	dir := t.TempDir()
	a := writeCertPair(t, dir, "a", "a.example.test")
	b := writeCertPair(t, dir, "b", "b.example.test", "alias.example.test")
	w := writeCertPair(t, dir, "w", "*.wild.example.test")
	m, err := NewCertManager(CertManagerConfig{Pairs: []CertPair{a.CertPair, b.CertPair, w.CertPair}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		sni  string
		want testPair
	}{
		{"exact_first_name", "a.example.test", a},
		{"exact_second_pair", "b.example.test", b},
		{"second_dns_name_of_a_pair", "alias.example.test", b},
		{"name_compared_without_case_and_trailing_dot", "B.Example.Test.", b},
		{"wildcard_covers_one_label", "x.wild.example.test", w},
		{"wildcard_does_not_cover_two_labels_so_default", "x.y.wild.example.test", a},
		{"wildcard_does_not_cover_its_own_apex_so_default", "wild.example.test", a},
		{"no_sni_gets_the_default_first_pair", "", a},
		{"unknown_name_gets_the_default", "other.test", a},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := handshakeCert(t, m, tt.sni)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Raw, tt.want.leaf.Raw) {
				t.Errorf("served %v, want %v", got.DNSNames, tt.want.leaf.DNSNames)
			}
		})
	}
}

func TestCertManagerReload(t *testing.T) {
	dir := t.TempDir()
	a := writeCertPair(t, dir, "a", "a.example.test")
	reg := prometheus.NewRegistry()
	log := &syncBuffer{}
	m, err := NewCertManager(CertManagerConfig{
		Pairs:        []CertPair{a.CertPair},
		PollInterval: -1,
		Logger:       newTestLogger(log),
		Registerer:   reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Reload(); err != nil {
		t.Fatalf("Reload without changes: %v", err)
	}
	if n := certMetricValue(t, m.reloads); n != 0 {
		t.Errorf("reloads after an unchanged Reload = %v, want 0", n)
	}

	// Replaced by rename: the new certificate is served.
	a2 := writeCertPair(t, dir, "a", "a.example.test")
	if err := m.Reload(); err != nil {
		t.Fatal(err)
	}
	if got, err := handshakeCert(t, m, "a.example.test"); err != nil || !bytes.Equal(got.Raw, a2.leaf.Raw) {
		t.Fatalf("after replacing the files: err %v, served the old certificate: %v", err, err == nil && bytes.Equal(got.Raw, a.leaf.Raw))
	}
	if n := certMetricValue(t, m.reloads); n != 1 {
		t.Errorf("reloads = %v, want 1", n)
	}

	// A half-written certificate: the reload fails, logs, and the
	// previous certificate stays.
	if err := os.WriteFile(a.CertFile, []byte("-----BEGIN CERTIFICATE-----\ntruncated"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := m.Reload(); err == nil {
		t.Fatal("Reload of a broken certificate returned nil")
	}
	if got, err := handshakeCert(t, m, "a.example.test"); err != nil || !bytes.Equal(got.Raw, a2.leaf.Raw) {
		t.Fatalf("after a failed reload: err %v; want the previous certificate served", err)
	}
	if n := certMetricValue(t, m.reloadErrors); n != 1 {
		t.Errorf("reload errors = %v, want 1", n)
	}
	if !strings.Contains(log.String(), "certificate reload failed") {
		t.Errorf("failed reload not logged:\n%s", log)
	}

	// A key that does not match the certificate is refused the same way.
	other := writeCertPair(t, t.TempDir(), "o", "a.example.test")
	foreignKey, err := os.ReadFile(other.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	writeCertPair(t, dir, "a", "a.example.test")
	writeFileAtomic(t, a.KeyFile, foreignKey)
	if err := m.Reload(); err == nil {
		t.Fatal("Reload of a certificate with a foreign key returned nil")
	}
	if got, _ := handshakeCert(t, m, "a.example.test"); got == nil || !bytes.Equal(got.Raw, a2.leaf.Raw) {
		t.Fatal("after a mismatched key: want the previous certificate served")
	}
}

func TestCertManagerRunPolls(t *testing.T) {
	dir := t.TempDir()
	a := writeCertPair(t, dir, "a", "a.example.test")
	m, err := NewCertManager(CertManagerConfig{Pairs: []CertPair{a.CertPair}, PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	a2 := writeCertPair(t, dir, "a", "a.example.test")
	// Not a timing assertion: wait (bounded) for the poller to notice.
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := handshakeCert(t, m, "a.example.test")
		if err == nil && bytes.Equal(got.Raw, a2.leaf.Raw) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the poller never served the replaced certificate")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestNewCertManagerErrors(t *testing.T) {
	dir := t.TempDir()
	a := writeCertPair(t, dir, "a", "a.example.test")
	b := writeCertPair(t, dir, "b", "b.example.test")
	tests := []struct {
		name string
		cfg  CertManagerConfig
		want string
	}{
		{"nothing_to_serve", CertManagerConfig{}, "no certificate"},
		{"missing_key_file_name", CertManagerConfig{Pairs: []CertPair{{CertFile: a.CertFile}}}, "both required"},
		{"missing_file", CertManagerConfig{Pairs: []CertPair{{CertFile: a.CertFile, KeyFile: filepath.Join(dir, "nope.key")}}}, "no such file"},
		{"key_of_another_certificate", CertManagerConfig{Pairs: []CertPair{{CertFile: a.CertFile, KeyFile: b.KeyFile}}}, "private key does not match"},
		{"acme_wildcard_host", CertManagerConfig{ACME: ACMEConfig{Hosts: []string{"*.example.test"}, CacheDir: dir}}, "not a host name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewCertManager(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
	if _, err := NewCertManager(CertManagerConfig{}); !errors.Is(err, ErrNoCertificate) {
		t.Errorf("empty config: %v does not wrap ErrNoCertificate", err)
	}
}

func TestCertManagerACME(t *testing.T) {
	// A stand-in CA that refuses every request (400: the ACME client
	// retries 5xx for minutes, not 4xx): a handshake for an ACME host must
	// reach it (and fail), any other name must get the file certificate
	// without contacting it.
	var (
		mu    sync.Mutex
		calls []string
	)
	ca := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls = append(calls, r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"type":"urn:ietf:params:acme:error:malformed","detail":"test CA refuses"}`)
	}))
	defer ca.Close()
	dir := t.TempDir()
	a := writeCertPair(t, dir, "a", "a.example.test")
	m, err := NewCertManager(CertManagerConfig{
		Pairs: []CertPair{a.CertPair},
		ACME:  ACMEConfig{Hosts: []string{"acme.example.test"}, CacheDir: t.TempDir(), DirectoryURL: ca.URL + "/directory"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(m.NextProtos(), "acme-tls/1") {
		t.Errorf("NextProtos = %v, want acme-tls/1 for tls-alpn-01", m.NextProtos())
	}

	got, err := handshakeCert(t, m, "other.example.test")
	if err != nil || !bytes.Equal(got.Raw, a.leaf.Raw) {
		t.Fatalf("non-ACME name: err %v, want the default file certificate", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 0 {
		t.Fatalf("a name outside acme.hosts contacted the CA: %v", calls)
	}
	mu.Unlock()
	if _, err := handshakeCert(t, m, "acme.example.test"); err == nil {
		t.Fatal("handshake for an ACME host succeeded although the CA is down")
	}
	mu.Lock()
	if len(calls) == 0 {
		t.Fatal("the ACME host's handshake never contacted the CA")
	}
}

func TestCertManagerHTTPHandlerRedirects(t *testing.T) {
	dir := t.TempDir()
	a := writeCertPair(t, dir, "a", "a.example.test")
	m, err := NewCertManager(CertManagerConfig{Pairs: []CertPair{a.CertPair}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name         string
		m            *CertManager
		method       string
		wantStatus   int
		wantLocation string
	}{
		{"files_get", m, "GET", http.StatusFound, "https://a.example.test/x?y=1"},
		{"files_post", m, "POST", http.StatusBadRequest, ""},
		// The edge with the self-signed certificate has no CertManager.
		{"nil_manager_get", nil, "GET", http.StatusFound, "https://a.example.test/x?y=1"},
		{"nil_manager_post", nil, "POST", http.StatusBadRequest, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tt.m.HTTPHandler(nil).ServeHTTP(rec, httptest.NewRequest(tt.method, "http://a.example.test:80/x?y=1", nil))
			if rec.Code != tt.wantStatus || rec.Header().Get("Location") != tt.wantLocation {
				t.Errorf("got %d Location %q, want %d %q", rec.Code, rec.Header().Get("Location"), tt.wantStatus, tt.wantLocation)
			}
		})
	}
}

// TestRedirectToHTTPS: the redirect keeps the host and path, names the
// configured port unless it is HTTPS's default, and keeps an IPv6 literal
// bracketed.
func TestRedirectToHTTPS(t *testing.T) {
	tests := []struct {
		name, host string
		port       int
		want       string
	}{
		{"default_port_names_none", "a.example.test", 0, "https://a.example.test/p?q=1"},
		{"port_443_names_none", "a.example.test:80", 443, "https://a.example.test/p?q=1"},
		{"http_port_is_dropped", "a.example.test:8080", 0, "https://a.example.test/p?q=1"},
		{"other_port_is_named", "a.example.test:8080", 8443, "https://a.example.test:8443/p?q=1"},
		{"ipv6_with_port", "[2001:db8::1]:80", 0, "https://[2001:db8::1]/p?q=1"},
		{"ipv6_without_port", "[2001:db8::1]", 0, "https://[2001:db8::1]/p?q=1"},
		{"ipv6_to_other_port", "[2001:db8::1]:80", 8443, "https://[2001:db8::1]:8443/p?q=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "http://x/p?q=1", nil)
			r.Host = tt.host
			w := httptest.NewRecorder()
			redirectToHTTPS(tt.port).ServeHTTP(w, r)
			if w.Code != http.StatusFound || w.Header().Get("Location") != tt.want {
				t.Errorf("%d %q, want 302 %q", w.Code, w.Header().Get("Location"), tt.want)
			}
		})
	}
}
