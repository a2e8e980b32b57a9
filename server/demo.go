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
	"strconv"

	"github.com/mitmwatch/mitmwatch/fingerprints"
	"github.com/mitmwatch/mitmwatch/internal/selfsigned"
	"github.com/mitmwatch/mitmwatch/middleware"
)

// DefaultDemoListen is the demo's default address: loopback only, since the
// demo is for the person at this machine.
const DefaultDemoListen = "127.0.0.1:8443"

// WellKnownPath is the path of the JSON endpoint that tells a visitor their
// own fingerprints and whether they are intercepted: the middleware's
// endpoint ([middleware.DefaultEndpointPath]).
const WellKnownPath = middleware.DefaultEndpointPath

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
	// AdminListen is the dashboard's address. Default
	// [DefaultAdminListen]; loopback only (the demo sets no token).
	AdminListen string
	// AdminListener, if non-nil, serves the dashboard instead of listening
	// on AdminListen (tests). RunDemo closes it.
	AdminListener net.Listener
	// Logger receives the start message, request errors and, at debug
	// level, handshake failures. If nil, nothing is logged.
	Logger *slog.Logger
}

// RunDemo serves the demo until ctx is cancelled, then shuts down
// gracefully and returns nil. The page / goes through the detection
// middleware with its warning banner on, so a visitor coming through an
// interceptor sees the banner above the verdict; [WellKnownPath] is the
// middleware's verdict endpoint (see [NewDemoHandler] for the page).
func RunDemo(ctx context.Context, cfg DemoConfig) error {
	logger := orDiscard(cfg.Logger)
	// Until serving starts, a failure closes the listeners it was given.
	closeGiven := func() {
		for _, l := range []net.Listener{cfg.Listener, cfg.AdminListener} {
			if l != nil {
				l.Close()
			}
		}
	}
	page, err := NewDemoHandler(logger)
	if err != nil {
		closeGiven()
		return err
	}
	ln, err := listen(ctx, cfg.Listener, cfg.Listen, DefaultDemoListen)
	if err != nil {
		closeGiven()
		return err
	}
	// The dashboard, fed by the demo's own traffic; best effort: without
	// it (its port taken) the demo still runs.
	mwCfg := middleware.Config{Logger: logger}
	if adm, err := StartDemoAdmin(DemoAdminConfig{Listen: cfg.AdminListen, Listener: cfg.AdminListener, Logger: logger}); err != nil {
		logger.Warn("demo: no dashboard", "err", err)
	} else {
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
			defer cancel()
			adm.Close(ctx)
		}()
		mwCfg.Recorder, mwCfg.Notes, page = adm.Recorder, adm.Notes, adm.Handler(page)
		mwCfg.Registerer = adm.Registry
	}
	mw, err := middleware.New(mwCfg)
	if err != nil {
		ln.Close()
		return fmt.Errorf("server: demo detection: %w", err)
	}
	h := mw(page)
	cert, err := selfsigned.LoadOrCreate(cfg.CertDir)
	if err != nil {
		ln.Close()
		return fmt.Errorf("server: demo certificate: %w", err)
	}
	return serveTLS(ctx, tlsService{
		name:       "demo",
		ln:         ln,
		cert:       cert,
		handler:    h,
		logger:     logger,
		registerer: mwCfg.Registerer, // nil without the dashboard
	})
}

//go:embed demo.html
var demoHTML string

// demoPage is what demo.html renders.
type demoPage struct {
	Report
	// Heading says the verdict in words; Class styles it.
	Heading, Class string
	// Outcome is "intercepted", "clean", "spoofed" or "unknown";
	// Detected is false when no middleware judged the connection.
	Outcome  string
	Detected bool
	// Confidence is the verdict's confidence with two decimals.
	Confidence string
	// Grade is the interceptor's grade ("" when not graded).
	Grade string
	// Reasons are the verdict's sentences.
	Reasons []string
	// Client describes what the User-Agent claims ("chromium 156, browser").
	Client string
	// JSONPath links to the endpoint.
	JSONPath string
}

// NewDemoHandler returns the demo's page handler: GET / renders the
// visitor's verdict and fingerprints as HTML, GET [WellKnownPath] returns
// them as a JSON [Report]; other paths are 404. Put the detection
// middleware in front (as [RunDemo] does): the page then shows its
// verdict, the middleware answers [WellKnownPath] itself and adds the
// banner. Without the middleware the page and the endpoint show the
// fingerprints from [fingerprints.ClientHelloFromContext] with verdict
// "unknown" (and an error when nothing was captured). A nil logger
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

// requestReport is the report for the connection r arrived on: the
// middleware's verdict when it ran, else the fingerprints alone.
func requestReport(r *http.Request) (Report, bool) {
	if v, ok := middleware.FromContext(r.Context()); ok {
		return Report{Verdict: v}, true
	}
	h, err := fingerprints.ClientHelloFromContext(r.Context())
	return NewReport(h, err, r.UserAgent()), false
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
	rep, _ := requestReport(r)
	writeJSON(w, rep, d.logger)
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

// newDemoPage describes rep for the template.
func newDemoPage(rep Report, detected bool) demoPage {
	v := rep.Verdict.Verdict
	p := demoPage{
		Report:     rep,
		Outcome:    v.Verdict.String(),
		Detected:   detected,
		Confidence: strconv.FormatFloat(v.Confidence, 'f', 2, 64),
		Grade:      v.Grade.String(),
		Reasons:    v.Reasons.Strings(),
		JSONPath:   WellKnownPath,
	}
	c := v.Client
	p.Client = c.Family.String()
	if c.Product != "" {
		p.Client = c.Product
	}
	if c.Version != 0 {
		p.Client += " " + strconv.Itoa(c.Version)
	}
	switch {
	case c.Bot:
		p.Client += ", automation or crawler"
	case c.Browser:
		p.Client += ", browser"
	default:
		p.Client += ", not a browser"
	}
	switch v.Verdict {
	case fingerprints.OutcomeIntercepted:
		p.Heading, p.Class = "Your connection is intercepted", "bad"
		if v.Product != "" {
			p.Heading += " by " + v.Product
		}
	case fingerprints.OutcomeClean:
		p.Heading, p.Class = "Your connection is not intercepted", "good"
	case fingerprints.OutcomeSpoofed:
		p.Heading, p.Class = "This client is not the browser it claims to be", "warn"
	default:
		p.Heading, p.Class = "No verdict for this connection", "warn"
	}
	if !detected {
		p.Heading, p.Class = "Fingerprinted", "warn"
	}
	return p
}

func (d *demo) page(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	err := d.tmpl.Execute(&buf, newDemoPage(requestReport(r)))
	if err != nil {
		d.logger.Error("server: render demo page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	noStore(w)
	// The page's own style is inline and it has no script; the banner's
	// stylesheet and script come from this origin. Forbid the rest, so
	// that even a value that escaped escaping could not load or run code.
	w.Header().Set("Content-Security-Policy",
		"default-src 'none'; style-src 'self' 'unsafe-inline'; script-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}
