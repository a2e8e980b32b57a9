package server

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"

	"github.com/mitmwatch/mitmwatch/fingerprints"
	"github.com/mitmwatch/mitmwatch/internal/selfsigned"
)

// DefaultDemoListen is the demo's default address: loopback only, since the
// demo is for the person at this machine.
const DefaultDemoListen = "127.0.0.1:8443"

// WellKnownPath is the path of the JSON endpoint that tells a visitor their
// own fingerprints (and, with detection, whether they are intercepted).
const WellKnownPath = "/.well-known/tls-interception"

// DemoConfig configures [RunDemo]. The zero value is ready to use: it
// serves https://127.0.0.1:8443/ with the cached self-signed certificate.
type DemoConfig struct {
	// Listen is the TCP address to serve on. Default [DefaultDemoListen].
	Listen string
	// Listener, if non-nil, is served instead of listening on Listen (for
	// socket activation and tests). It must be a plain TCP listener: the
	// demo adds ClientHello capture and TLS. RunDemo closes it.
	Listener net.Listener
	// CertDir is where the self-signed certificate is cached. Default
	// [selfsigned.DefaultDir], os.UserCacheDir()/mitmwatch.
	CertDir string
	// Logger receives the start message, request errors and, at debug
	// level, handshake failures. If nil, nothing is logged.
	Logger *slog.Logger
}

// RunDemo serves the demo until ctx is cancelled, then shuts down
// gracefully and returns nil. Its page / shows the visitor's fingerprints
// and [WellKnownPath] returns them as JSON (see [NewDemoHandler]).
func RunDemo(ctx context.Context, cfg DemoConfig) error {
	logger := orDiscard(cfg.Logger)
	ln, err := listen(ctx, cfg.Listener, cfg.Listen, DefaultDemoListen)
	if err != nil {
		return err
	}
	h, err := NewDemoHandler(logger)
	if err != nil {
		ln.Close()
		return err
	}
	cert, err := selfsigned.LoadOrCreate(cfg.CertDir)
	if err != nil {
		ln.Close()
		return fmt.Errorf("server: demo certificate: %w", err)
	}
	return serveTLS(ctx, tlsService{
		name:    "demo",
		ln:      ln,
		cert:    cert,
		handler: h,
		logger:  logger,
	})
}

//go:embed demo.html
var demoHTML string

// demoPage is what demo.html renders.
type demoPage struct {
	Report
	// Heading is the verdict placeholder until detection lands.
	Heading string
	// JSONPath links to the endpoint.
	JSONPath string
}

// NewDemoHandler returns the demo's HTTP handler: GET / renders the
// visitor's fingerprints as HTML, GET [WellKnownPath] returns them as a
// JSON [Report]; other paths are 404. It reads the ClientHello with
// [fingerprints.ClientHelloFromContext], so the server must capture it
// (fingerprints.Listener and fingerprints.ConnContext); without a capture
// the report carries an error instead of fingerprints. A nil logger
// discards.
func NewDemoHandler(logger *slog.Logger) (http.Handler, error) {
	tmpl, err := template.New("demo").Parse(demoHTML)
	if err != nil {
		return nil, fmt.Errorf("server: demo template: %w", err)
	}
	d := &demo{tmpl: tmpl, logger: orDiscard(logger)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", d.page)
	mux.HandleFunc("GET "+WellKnownPath, d.endpoint)
	return mux, nil
}

type demo struct {
	tmpl   *template.Template
	logger *slog.Logger
}

// requestReport is the report for the connection r arrived on.
func requestReport(r *http.Request) Report {
	h, err := fingerprints.ClientHelloFromContext(r.Context())
	return NewReport(h, err, r.UserAgent())
}

// noStore marks a response as private to this connection: the fingerprint
// belongs to the connection that asked, and a cached copy served to another
// client (or through another path) would lie.
func noStore(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

func (d *demo) endpoint(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, requestReport(r), d.logger)
}

// writeJSON writes v as an indented JSON response that must not be cached.
func writeJSON(w http.ResponseWriter, v any, logger *slog.Logger) {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		logger.Error("server: encode report", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	noStore(w)
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(body, '\n'))
}

func (d *demo) page(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	err := d.tmpl.Execute(&buf, demoPage{
		Report:   requestReport(r),
		Heading:  "Fingerprinted",
		JSONPath: WellKnownPath,
	})
	if err != nil {
		d.logger.Error("server: render demo page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	noStore(w)
	// Everything is inline and nothing is scripted: forbid the rest, so
	// that even a value that escaped escaping could not load or run code.
	w.Header().Set("Content-Security-Policy",
		"default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}
