package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mitmwatch/mitmwatch/fingerprints"
	"github.com/mitmwatch/mitmwatch/middleware"
)

// Timeouts of the demo, fingerprint, admin and plain-HTTP servers
// ([newServer]). They bound what one slow or idle client can hold;
// net/http also uses the smallest of the first three as the TLS handshake
// deadline.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 60 * time.Second
	maxHeaderBytes    = 32 << 10
	shutdownTimeout   = 5 * time.Second
)

// tlsService is one HTTPS server with ClientHello capture, as the demo and
// the fingerprint command run it.
type tlsService struct {
	// name prefixes log messages ("demo", "fingerprint").
	name    string
	ln      net.Listener // plain TCP; serveTLS wraps it
	cert    tls.Certificate
	handler http.Handler
	logger  *slog.Logger
	// capture configures the capture listener (OnHello, limits).
	capture fingerprints.ListenerConfig
	// connState, if set, is http.Server.ConnState.
	connState func(net.Conn, http.ConnState)
	// registerer, if set, receives the capture listener's counters.
	registerer prometheus.Registerer
}

// serveTLS serves s until ctx is cancelled, then shuts down gracefully
// (in-flight requests get [shutdownTimeout]) and returns nil. It returns an
// error if serving stops for another reason. It closes s.ln.
func serveTLS(ctx context.Context, s tlsService) error {
	ln := fingerprints.NewListener(s.ln, s.capture)
	if s.registerer != nil {
		if err := registerCaptureMetrics(s.registerer, ln.Stats); err != nil {
			ln.Close()
			return err
		}
	}
	// Handshake failures are routine here (every browser rejects the
	// self-signed certificate once): newServer logs them at debug level.
	srv := newServer(s.handler, s.logger)
	srv.TLSConfig = &tls.Config{
		Certificates: []tls.Certificate{s.cert},
		// HTTP/2 first: browsers and most proxies speak it.
		NextProtos: []string{"h2", "http/1.1"},
		// Old clients are exactly the ones worth fingerprinting, and
		// nothing served here is secret: accept TLS 1.0 and 1.1 too
		// (Go's server default floor is TLS 1.2 since Go 1.22).
		MinVersion: tls.VersionTLS10,
	}
	// The middleware's ConnContext includes fingerprints.ConnContext and
	// adds its per-connection verdict cache.
	srv.ConnContext = middleware.ConnContext
	srv.ConnState = s.connState

	// The listener is bound already, so the address is right before
	// serving starts; logging first means no client can be answered
	// before the start message is out.
	url := openURL(s.ln.Addr())
	s.logger.Info(fmt.Sprintf("%s: open %s — your browser will warn about the self-signed certificate", s.name, url),
		"url", url)
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()

	select {
	case err := <-errc:
		return fmt.Errorf("server: %s: %w", s.name, err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		s.logger.Warn(s.name+": graceful shutdown incomplete, closing connections", "err", err)
		srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("server: %s: %w", s.name, err)
	}
	s.logger.Info(s.name + ": stopped")
	return nil
}

// newServer is an http.Server for h with the timeouts and header limit
// above, logging its errors (handshake failures, clients that hang up:
// routine on any listener) at debug level.
func newServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
}

// openURL is the URL a user on this machine opens for a listener address:
// an unspecified host (0.0.0.0, ::) becomes localhost.
func openURL(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return "https://" + a.String() + "/"
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return "https://" + net.JoinHostPort(host, port) + "/"
}

// listen returns ln if non-nil, else a TCP listener on addr (def when
// empty).
func listen(ctx context.Context, ln net.Listener, addr, def string) (net.Listener, error) {
	if ln != nil {
		return ln, nil
	}
	if addr == "" {
		addr = def
	}
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("server: listen: %w", err)
	}
	return l, nil
}

// orDiscard returns l, or a logger that discards everything if l is nil.
func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
