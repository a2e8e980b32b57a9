package server

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/mitmwatch/mitmwatch/fingerprints"
	"github.com/mitmwatch/mitmwatch/internal/selfsigned"
	"github.com/mitmwatch/mitmwatch/middleware"
)

// DefaultFingerprintListen is the default address of `mitmwatch
// fingerprint`.
const DefaultFingerprintListen = "127.0.0.1:8444"

// FingerprintConfig configures [RunFingerprint]. The zero value serves
// https://127.0.0.1:8444/, prints to standard output and saves nothing.
type FingerprintConfig struct {
	// Listen is the TCP address to serve on. Default
	// [DefaultFingerprintListen].
	Listen string
	// Listener, if non-nil, is served instead of listening on Listen. It
	// must be a plain TCP listener. RunFingerprint closes it.
	Listener net.Listener
	// CertDir is where the self-signed certificate is cached. Default
	// [selfsigned.DefaultDir], os.UserCacheDir()/mitmwatch.
	CertDir string
	// SaveDir, if set, receives every captured hello as
	// <time>-<ja4>.hex (the raw record-framed bytes in lowercase hex on one
	// line, the format of testdata/clienthello/*.hex) and the connection's
	// report beside it as <time>-<ja4>.json. It is created (mode 0700) if
	// missing. Default "": nothing is saved.
	SaveDir string
	// Out receives one JSON [Report] per line, one line per connection.
	// If nil, os.Stdout.
	Out io.Writer
	// Logger receives the start message and errors (save failures). If
	// nil, nothing is logged.
	Logger *slog.Logger
}

// RunFingerprint serves TLS until ctx is cancelled and writes one JSON
// [Report] line to cfg.Out per connection that sent anything: the
// fingerprints and parsed fields of its ClientHello, the User-Agent of its
// first request, or the parse error.
//
// # When a line is written
//
// The line waits for the User-Agent: it is written when the first HTTP
// request on the connection arrives, or when the connection closes without
// one (a client that rejects the certificate, a TLS-only probe, a hello
// that does not parse); user_agent is then empty. Later requests on the
// same connection (HTTP keep-alive, HTTP/2 streams) add nothing: they share
// the hello. Lines still pending at shutdown are written before
// RunFingerprint returns. Each request is answered with its report as JSON.
func RunFingerprint(ctx context.Context, cfg FingerprintConfig) error {
	logger := orDiscard(cfg.Logger)
	out := cfg.Out
	if out == nil {
		out = os.Stdout
	}
	ln, err := listen(ctx, cfg.Listener, cfg.Listen, DefaultFingerprintListen)
	if err != nil {
		return err
	}
	if cfg.SaveDir != "" {
		if err := os.MkdirAll(cfg.SaveDir, 0o700); err != nil {
			ln.Close()
			return fmt.Errorf("server: fingerprint save directory: %w", err)
		}
	}
	cert, err := selfsigned.LoadOrCreate(cfg.CertDir)
	if err != nil {
		ln.Close()
		return fmt.Errorf("server: fingerprint certificate: %w", err)
	}

	// The middleware judges each connection for its line; the command
	// answers every path itself and injects nothing.
	mw, err := middleware.New(middleware.Config{
		Banner:          middleware.BannerConfig{Disabled: true},
		DisableEndpoint: true,
		Logger:          logger,
	})
	if err != nil {
		ln.Close()
		return fmt.Errorf("server: fingerprint detection: %w", err)
	}
	rec := newConnRecorder(out, cfg.SaveDir, logger)
	err = serveTLS(ctx, tlsService{
		name:      "fingerprint",
		ln:        ln,
		cert:      cert,
		handler:   mw(http.HandlerFunc(rec.serveHTTP)),
		logger:    logger,
		capture:   fingerprints.ListenerConfig{OnHello: rec.onHello},
		connState: rec.connState,
	})
	rec.close()
	return err
}

// captureConn returns the capturing connection under c (a *tls.Conn, as
// http.Server passes it to ConnState): the one OnHello was called with.
func captureConn(c net.Conn) *fingerprints.Conn {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	fc, _ := c.(*fingerprints.Conn)
	return fc
}

// connRecorder pairs each connection's hello with its first request and
// writes one line per connection. All output goes through mu, so lines
// never interleave.
type connRecorder struct {
	saveDir string
	logger  *slog.Logger

	mu      sync.Mutex
	out     io.Writer
	pending map[*fingerprints.Conn]*pendingConn
	closed  bool // after close, nothing more is written
}

// pendingConn is a captured hello waiting for its request or close.
type pendingConn struct {
	report Report
	raw    []byte // a copy of the captured bytes, nil if none
	done   bool   // the line is written
}

func newConnRecorder(out io.Writer, saveDir string, logger *slog.Logger) *connRecorder {
	return &connRecorder{out: out, saveDir: saveDir, logger: logger, pending: make(map[*fingerprints.Conn]*pendingConn)}
}

// onHello is the capture listener's OnHello hook.
func (r *connRecorder) onHello(c *fingerprints.Conn, h *fingerprints.ClientHello, herr error) {
	now := time.Now().UTC()
	p := &pendingConn{report: NewReport(h, herr, "")}
	p.report.Time = &now
	p.report.RemoteAddr = c.RemoteAddr().String()
	if h != nil && herr == nil {
		p.report.Parsed = NewParsed(h)
		// Raw aliases the capture buffer: keep a copy for saving.
		p.raw = append([]byte(nil), h.Raw...)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.pending[c] = p
	}
}

// serveHTTP completes the connection's line with the User-Agent (first
// request only) and answers with the report.
func (r *connRecorder) serveHTTP(w http.ResponseWriter, req *http.Request) {
	c, _ := fingerprints.ConnFromContext(req.Context())
	v, judged := middleware.FromContext(req.Context())
	r.mu.Lock()
	p := r.pending[c]
	var rep Report
	if p != nil {
		if !p.done {
			p.report.UserAgent = req.UserAgent()
			if judged {
				// The verdict for the first request, on the hello
				// the line already describes.
				p.report.Verdict = v
			}
		}
		r.flushLocked(p)
		rep = p.report
	}
	r.mu.Unlock()
	if p == nil {
		// No hello was reported for this connection: say so rather
		// than inventing one.
		rep, _ = requestReport(req)
	}
	writeJSON(w, rep, r.logger)
}

// connState writes the line of a connection that closes before any
// request, and forgets the connection.
func (r *connRecorder) connState(c net.Conn, state http.ConnState) {
	if state != http.StateClosed && state != http.StateHijacked {
		return
	}
	key := captureConn(c)
	r.mu.Lock()
	defer r.mu.Unlock()
	if p := r.pending[key]; p != nil {
		r.flushLocked(p)
		delete(r.pending, key)
	}
}

// close writes the lines still pending and stops all further output.
func (r *connRecorder) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for c, p := range r.pending {
		r.flushLocked(p)
		delete(r.pending, c)
	}
	r.closed = true
}

// flushLocked saves p (if configured) and writes its line, once: a
// written p is left alone. r.mu is held: the save is small local I/O, and
// holding the lock keeps lines and files in one order.
func (r *connRecorder) flushLocked(p *pendingConn) {
	if p.done || r.closed {
		return
	}
	p.done = true
	if r.saveDir != "" && p.raw != nil {
		path, err := r.save(p)
		if err != nil {
			r.logger.Error("fingerprint: save hello", "err", err)
		} else {
			p.report.SavedAs = path
		}
	}
	line, err := json.Marshal(p.report)
	if err != nil {
		r.logger.Error("fingerprint: encode report", "err", err)
		return
	}
	if _, err := r.out.Write(append(line, '\n')); err != nil {
		r.logger.Error("fingerprint: write report", "err", err)
	}
}

// save writes p's raw hello and report into the save directory and returns
// the .hex path. The name is the capture time and the JA4, with a numeric
// suffix if two hellos share both.
func (r *connRecorder) save(p *pendingConn) (string, error) {
	base := p.report.Time.Format("20060102T150405.000000000Z") + "-" + p.report.JA4
	for i := 0; i < 100; i++ {
		name := base
		if i > 0 {
			name += "-" + strconv.Itoa(i)
		}
		hexPath := filepath.Join(r.saveDir, name+".hex")
		f, err := os.OpenFile(hexPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("server: %w", err)
		}
		_, err = io.WriteString(f, hex.EncodeToString(p.raw)+"\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", fmt.Errorf("server: %w", err)
		}
		rep := p.report
		rep.SavedAs = hexPath
		js, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return "", fmt.Errorf("server: %w", err)
		}
		if err := os.WriteFile(filepath.Join(r.saveDir, name+".json"), append(js, '\n'), 0o644); err != nil {
			return "", fmt.Errorf("server: %w", err)
		}
		return hexPath, nil
	}
	return "", fmt.Errorf("server: no free file name for %s", base)
}
