package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// DefaultCertPollInterval is how often a [CertManager] looks at its
// certificate files for changes.
const DefaultCertPollInterval = 5 * time.Second

// ErrNoCertificate is wrapped by the errors of [NewCertManager] when there
// is nothing to serve, and of [CertManager.GetCertificate] when no
// certificate fits a handshake.
var ErrNoCertificate = errors.New("server: no certificate")

// CertPair names a certificate chain and its private key on disk, both
// PEM.
type CertPair struct {
	// CertFile is the certificate chain, leaf first. Required.
	CertFile string
	// KeyFile is the leaf's private key. Required.
	KeyFile string
}

// ACMEConfig turns on certificates from an ACME CA (Let's Encrypt by
// default) through golang.org/x/crypto/acme/autocert, for the listed hosts
// only. The zero value leaves ACME off.
type ACMEConfig struct {
	// Hosts are the server names ACME may obtain certificates for; a
	// handshake for any other name never reaches the CA. Default: none,
	// which leaves ACME off.
	Hosts []string
	// Email is the contact address given to the CA. Default "": none.
	Email string
	// CacheDir keeps the account key and certificates across restarts.
	// Default: os.UserCacheDir()/mitmwatch/acme.
	CacheDir string
	// DirectoryURL is the CA's ACME directory. Default
	// [autocert.DefaultACMEDirectory] (Let's Encrypt production).
	DirectoryURL string
}

// CertManagerConfig configures a [CertManager]. At least one pair or ACME
// host is required.
type CertManagerConfig struct {
	// Pairs are the certificates served by SNI. The first is the default
	// certificate, served to handshakes without a server name or with a
	// name no certificate (and no ACME host) covers. Default: none.
	Pairs []CertPair
	// ACME obtains certificates for its hosts when no pair covers them.
	// Default: off.
	ACME ACMEConfig
	// PollInterval is how often [CertManager.Run] checks the pairs' files
	// (modification time, size, identity) and reloads those that changed.
	// Default [DefaultCertPollInterval]; negative means never (reload on
	// [CertManager.Reload] only, e.g. on SIGHUP).
	PollInterval time.Duration
	// Logger receives reloads (info) and failed reloads (error). Default:
	// discard.
	Logger *slog.Logger
	// Registerer receives mitmwatch_server_cert_reloads_total,
	// mitmwatch_server_cert_reload_errors_total and
	// mitmwatch_server_cert_expiry_timestamp_seconds (the earliest NotAfter
	// of the loaded pairs). Default: none.
	Registerer prometheus.Registerer
}

// CertManager serves TLS certificates chosen by SNI from files that it
// reloads when they change, and optionally from ACME. Its GetCertificate
// is safe for concurrent use, also during a reload: a reload builds a new
// table and swaps it in atomically. A reload that fails (a half-written
// file, a key that does not match) keeps the previous certificate and logs
// an error, so a bad deploy never takes the listener down.
type CertManager struct {
	logger   *slog.Logger
	interval time.Duration
	acme     *autocert.Manager

	mu    sync.Mutex // serialises reloads; guards slots
	slots []certSlot
	table atomic.Pointer[certTable]

	reloads, reloadErrors prometheus.Counter
	expiry                prometheus.Gauge
}

// certSlot is one configured pair and what was last loaded from it.
type certSlot struct {
	pair  CertPair
	cert  *tls.Certificate
	stamp [2]fileStamp // cert, key
}

// fileStamp identifies a version of a file: a file rewritten in place
// changes size or modification time, one replaced by rename (how
// certificate tools and Kubernetes secrets update) is a different file.
type fileStamp struct {
	info os.FileInfo
}

func (s fileStamp) same(o fileStamp) bool {
	if s.info == nil || o.info == nil {
		return false
	}
	return os.SameFile(s.info, o.info) && s.info.Size() == o.info.Size() &&
		s.info.ModTime().Equal(o.info.ModTime())
}

// certTable is an immutable snapshot of the loaded certificates.
type certTable struct {
	byName   map[string][]*tls.Certificate // exact names and "*.example.com"
	fallback *tls.Certificate
}

// NewCertManager loads every pair; unlike a later reload, a pair that
// cannot be loaded here is an error, since there is no previous
// certificate to keep.
func NewCertManager(cfg CertManagerConfig) (*CertManager, error) {
	if len(cfg.Pairs) == 0 && len(cfg.ACME.Hosts) == 0 {
		return nil, fmt.Errorf("%w: tls needs certificate files or acme hosts", ErrNoCertificate)
	}
	m := &CertManager{
		logger:   orDiscard(cfg.Logger),
		interval: cfg.PollInterval,
		reloads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mitmwatch_server_cert_reloads_total",
			Help: "Certificate pairs reloaded after their files changed.",
		}),
		reloadErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mitmwatch_server_cert_reload_errors_total",
			Help: "Failed certificate reloads (the previous certificate is kept).",
		}),
		expiry: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mitmwatch_server_cert_expiry_timestamp_seconds",
			Help: "Earliest NotAfter of the loaded certificate files, in Unix seconds.",
		}),
	}
	if m.interval == 0 {
		m.interval = DefaultCertPollInterval
	}
	for i, p := range cfg.Pairs {
		if p.CertFile == "" || p.KeyFile == "" {
			return nil, fmt.Errorf("server: tls.certificates[%d]: cert and key files are both required", i)
		}
		s := certSlot{pair: p}
		if err := s.load(); err != nil {
			return nil, fmt.Errorf("server: tls.certificates[%d]: %w", i, err)
		}
		m.slots = append(m.slots, s)
	}
	if len(cfg.ACME.Hosts) > 0 {
		am, err := newACME(cfg.ACME)
		if err != nil {
			return nil, err
		}
		m.acme = am
	}
	m.table.Store(m.buildTable())
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{m.reloads, m.reloadErrors, m.expiry} {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("server: register certificate metrics: %w", err)
			}
		}
	}
	return m, nil
}

func newACME(cfg ACMEConfig) (*autocert.Manager, error) {
	dir := cfg.CacheDir
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("server: tls.acme.cache_dir: no default: %w", err)
		}
		dir = filepath.Join(base, "mitmwatch", "acme")
	}
	hosts := make([]string, len(cfg.Hosts))
	for i, h := range cfg.Hosts {
		if h == "" || strings.ContainsAny(h, "*/: ") {
			return nil, fmt.Errorf("server: tls.acme.hosts[%d]: %q is not a host name (ACME here issues no wildcards)", i, h)
		}
		hosts[i] = strings.ToLower(h)
	}
	m := &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		Cache:      autocert.DirCache(dir),
		HostPolicy: autocert.HostWhitelist(hosts...),
		Email:      cfg.Email,
	}
	if cfg.DirectoryURL != "" {
		m.Client = &acme.Client{DirectoryURL: cfg.DirectoryURL}
	}
	return m, nil
}

// load reads the slot's pair; on error the slot is unchanged.
func (s *certSlot) load() error {
	var st [2]fileStamp
	for i, name := range []string{s.pair.CertFile, s.pair.KeyFile} {
		fi, err := os.Stat(name)
		if err != nil {
			return fmt.Errorf("server: certificate: %w", err)
		}
		st[i] = fileStamp{fi}
	}
	c, err := tls.LoadX509KeyPair(s.pair.CertFile, s.pair.KeyFile)
	if err != nil {
		return fmt.Errorf("server: certificate %s: %w", s.pair.CertFile, err)
	}
	// LoadX509KeyPair fills Leaf since Go 1.23; the table's names and
	// the expiry gauge need it.
	if c.Leaf == nil {
		return fmt.Errorf("server: certificate %s: no parsed leaf", s.pair.CertFile)
	}
	s.cert, s.stamp = &c, st
	return nil
}

// changed reports whether either file differs from what was loaded. A
// file that cannot be stat'ed counts as changed, so the reload reports it.
func (s *certSlot) changed() bool {
	for i, name := range []string{s.pair.CertFile, s.pair.KeyFile} {
		fi, err := os.Stat(name)
		if err != nil || !s.stamp[i].same(fileStamp{fi}) {
			return true
		}
	}
	return false
}

// buildTable indexes the slots' certificates by DNS name. Caller holds mu
// (or is the constructor).
func (m *CertManager) buildTable() *certTable {
	t := &certTable{byName: map[string][]*tls.Certificate{}}
	var earliest time.Time
	for i := range m.slots {
		c := m.slots[i].cert
		if t.fallback == nil {
			t.fallback = c
		}
		for _, n := range c.Leaf.DNSNames {
			n = strings.ToLower(strings.TrimSuffix(n, "."))
			t.byName[n] = append(t.byName[n], c)
		}
		if na := c.Leaf.NotAfter; earliest.IsZero() || na.Before(earliest) {
			earliest = na
		}
	}
	if !earliest.IsZero() {
		m.expiry.Set(float64(earliest.Unix()))
	}
	return t
}

// Reload reloads the pairs whose files changed since they were loaded.
// A pair that fails to load keeps serving its previous certificate; the
// error is logged and returned (joined with the others).
func (m *CertManager) Reload() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	reloaded := 0
	for i := range m.slots {
		s := &m.slots[i]
		if !s.changed() {
			continue
		}
		if err := s.load(); err != nil {
			m.reloadErrors.Inc()
			m.logger.Error("tls: certificate reload failed, keeping the previous certificate",
				"cert", s.pair.CertFile, "key", s.pair.KeyFile, "err", err)
			errs = append(errs, err)
			continue
		}
		reloaded++
		m.reloads.Inc()
		m.logger.Info("tls: certificate reloaded", "cert", s.pair.CertFile,
			"names", s.cert.Leaf.DNSNames, "not_after", s.cert.Leaf.NotAfter)
	}
	if reloaded > 0 {
		m.table.Store(m.buildTable())
	}
	return errors.Join(errs...)
}

// Run polls the files every PollInterval and reloads what changed, until
// ctx ends. With a negative PollInterval it only waits for ctx.
func (m *CertManager) Run(ctx context.Context) {
	if m.interval < 0 || len(m.slots) == 0 {
		<-ctx.Done()
		return
	}
	t := time.NewTicker(m.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.Reload() // logged inside
		}
	}
}

// GetCertificate implements [tls.Config.GetCertificate]: an ACME
// tls-alpn-01 challenge goes to ACME; then a certificate whose DNS names
// cover the server name exactly, then one whose wildcard covers it; then
// ACME if the name is one of its hosts; then the default (first) pair.
// Among certificates for the same name (RSA and ECDSA) the first one the
// client supports wins.
func (m *CertManager) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if m.acme != nil && slices.Contains(hello.SupportedProtos, acme.ALPNProto) {
		return m.acme.GetCertificate(hello)
	}
	name := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
	t := m.table.Load()
	if name != "" {
		if c := pick(t.byName[name], hello); c != nil {
			return c, nil
		}
		if _, rest, ok := strings.Cut(name, "."); ok {
			if c := pick(t.byName["*."+rest], hello); c != nil {
				return c, nil
			}
		}
		if m.acme != nil && m.acme.HostPolicy(hello.Context(), name) == nil {
			return m.acme.GetCertificate(hello)
		}
	}
	if t.fallback != nil {
		return t.fallback, nil
	}
	return nil, fmt.Errorf("%w for server name %q", ErrNoCertificate, name)
}

// pick returns the first certificate of cs the client supports, else the
// first, else nil.
func pick(cs []*tls.Certificate, hello *tls.ClientHelloInfo) *tls.Certificate {
	if len(cs) == 0 {
		return nil
	}
	for _, c := range cs {
		if hello.SupportsCertificate(c) == nil {
			return c
		}
	}
	return cs[0]
}

// NextProtos is the ALPN list to offer: HTTP/2 first, HTTP/1.1, and the
// ACME tls-alpn-01 protocol when ACME is on.
func (m *CertManager) NextProtos() []string {
	p := []string{"h2", "http/1.1"}
	if m.acme != nil {
		p = append(p, acme.ALPNProto)
	}
	return p
}

// HTTPHandler returns the handler for a plain-HTTP listener: ACME http-01
// challenges when ACME is on, and a redirect to HTTPS on port 443 for
// everything else (fallback, if non-nil, instead of the redirect). With
// ACME, calling it is also what lets autocert use the http-01 challenge
// (after tls-alpn-01). A nil CertManager (the edge with the self-signed
// certificate) has no ACME: it serves fallback alone.
func (m *CertManager) HTTPHandler(fallback http.Handler) http.Handler {
	if fallback == nil {
		fallback = redirectToHTTPS(0)
	}
	if m != nil && m.acme != nil {
		return m.acme.HTTPHandler(fallback)
	}
	return fallback
}

// redirectToHTTPS returns a handler that redirects a GET or HEAD to the
// same host and path over HTTPS (302) and refuses other methods (400): a
// form posted over plain HTTP is not sent on. port is the HTTPS port the
// redirect names; 0 and 443 name none.
func redirectToHTTPS(port int) http.Handler {
	var portText string // once, not per request
	if port != 0 && port != 443 {
		portText = strconv.Itoa(port)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "use HTTPS", http.StatusBadRequest)
			return
		}
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		switch {
		case portText != "":
			host = net.JoinHostPort(host, portText)
		case strings.Contains(host, ":"):
			host = "[" + host + "]" // an IPv6 literal
		}
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusFound)
	})
}
