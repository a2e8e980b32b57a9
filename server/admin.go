package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mitmwatch/mitmwatch/alerts"
	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// Defaults of [AdminServerConfig].
const (
	// DefaultAdminWindow is the dashboard's default time window.
	DefaultAdminWindow = time.Hour
	// MinAdminTokenLength is the shortest token accepted: the token is
	// the only thing between the network and the dashboard, so it must
	// not be guessable (16 random characters or more).
	MinAdminTokenLength = 16
)

// ErrAdminToken is wrapped by [NewAdminHandler] and [ServeAdmin] when the
// admin listener would be reachable from the network without a token, or
// the token is unusable.
var ErrAdminToken = errors.New("server: admin token")

// Cookie the dashboard keeps its session in after a ?token= visit.
const adminCookie = "mitmwatch_admin"

// Time limits of the admin listener: store queries and the readiness
// check are bounded so a slow Redis makes the dashboard say so instead of
// hanging, and the server's own timeouts bound a slow client.
const (
	adminQueryTimeout = 10 * time.Second
	adminReadyTimeout = 5 * time.Second
)

// adminCSP allows the page's own script, style and API and nothing else:
// no inline script or style, no other origin, no framing. The data: image
// is the empty favicon that stops the browser asking for /favicon.ico.
const adminCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// AdminServerConfig configures the admin listener: Prometheus metrics, health
// and readiness probes, and the SOC dashboard. The zero value serves a
// dashboard that says no store is configured, on [DefaultAdminListen]
// without a token.
type AdminServerConfig struct {
	// Listen is the TCP address of the admin listener. Default
	// [DefaultAdminListen]. Anything but a loopback address (127.0.0.0/8,
	// ::1, localhost) requires Token.
	Listen string
	// Listener, if non-nil, is served by [ServeAdmin] instead of listening
	// on Listen; its address is what the loopback check looks at.
	// ServeAdmin closes it.
	Listener net.Listener
	// Token, when set, is required on every route but /healthz and
	// /readyz: as "Authorization: Bearer <token>" (Prometheus'
	// authorization setting), or once as /?token=<token> in a browser,
	// which sets an HttpOnly cookie and redirects to drop it from the
	// address bar. At least [MinAdminTokenLength] printable ASCII
	// characters. Default none, allowed on loopback only; then requests
	// must name a loopback host, which defeats DNS rebinding.
	Token string
	// Pprof serves net/http/pprof's profiles under /debug/pprof/ (CPU
	// profiles up to 25 s, within the listener's write timeout), behind
	// Token like every other route. Default false.
	Pprof bool
	// Store is what the dashboard queries. Default nil: the dashboard API
	// answers 503 "no alerts store configured".
	Store alerts.Store
	// Alerts supplies recent alerts and their delivery state. Default
	// nil: the dashboard says no alert feed is configured.
	Alerts AlertFeed
	// Grades returns the security grade of an interception product by
	// name, e.g. (*ProductGrades).Grade. Default nil: grades show as
	// not known.
	Grades func(product string) fingerprints.Grade
	// Registry is served on /metrics and receives the admin listener's
	// own mitmwatch_admin_… metrics. Default: a new [NewRegistry].
	Registry *prometheus.Registry
	// Ready reports whether the process can serve (stores reachable,
	// listeners up); /readyz answers 503 with its error. Default nil:
	// always ready.
	Ready func(ctx context.Context) error
	// Logger receives store errors and the start message. Default:
	// discard.
	Logger *slog.Logger
	// Window is the dashboard's default time window, whole minutes.
	// Default [DefaultAdminWindow] (1 h).
	Window time.Duration
}

// NewAdminHandler returns the admin listener's handler:
//
//	GET /                 the dashboard (HTML; its script fetches the API)
//	GET /dashboard.js|css its assets
//	GET /api/top          ?scope=network|country|asn&window=1h&limit=50
//	GET /api/series       ?scope=network|country|asn&key=KZ:9198|KZ|9198&window=6h
//	GET /api/fingerprints ?window=24h&limit=50
//	GET /api/alerts       ?limit=20
//	GET /metrics          Prometheus text format of cfg.Registry
//	GET /healthz          200 while the process runs
//	GET /readyz           200, or 503 with cfg.Ready's error
//
// It returns an error wrapping [ErrAdminToken] when cfg.Listen is not a
// loopback address and cfg.Token is empty: the caller must then refuse to
// start rather than expose the dashboard.
func NewAdminHandler(cfg AdminServerConfig) (http.Handler, error) {
	if cfg.Listen == "" {
		cfg.Listen = DefaultAdminListen
	}
	loop, err := isLoopbackAddr(cfg.Listen)
	if err != nil {
		return nil, err
	}
	if err := validateAdminToken(cfg.Token); err != nil {
		return nil, err
	}
	if cfg.Token == "" && !loop {
		return nil, fmt.Errorf("%w: AdminServerConfig.Token is required when Listen (%s) is not a loopback address", ErrAdminToken, cfg.Listen)
	}
	if cfg.Window == 0 {
		cfg.Window = DefaultAdminWindow
	}
	if cfg.Window < minWindow || cfg.Window > maxWindow || cfg.Window%time.Minute != 0 {
		return nil, fmt.Errorf("server: AdminServerConfig.Window %v: want whole minutes between 1m and %v", cfg.Window, maxWindow)
	}
	if cfg.Registry == nil {
		cfg.Registry = NewRegistry()
	}
	m, err := newAdminMetrics(cfg.Registry)
	if err != nil {
		return nil, err
	}
	assets, err := loadDashboardAssets()
	if err != nil {
		return nil, err
	}
	a := &admin{
		logger:  orDiscard(cfg.Logger),
		ready:   cfg.Ready,
		metrics: m,
		assets:  assets,
		dash: &dashboard{
			store:        cfg.Store,
			feed:         cfg.Alerts,
			grades:       cfg.Grades,
			window:       cfg.Window,
			now:          time.Now,
			queryTimeout: adminQueryTimeout,
		},
		pprof: cfg.Pprof,
		promhttp: promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{
			ErrorLog: slog.NewLogLogger(orDiscard(cfg.Logger).Handler(), slog.LevelError),
		}),
	}
	if cfg.Token != "" {
		a.tokenSum = sha256.Sum256([]byte(cfg.Token))
		a.cookie = sessionValue(cfg.Token)
		a.hasToken = true
	}
	return a, nil
}

// validateAdminToken rejects tokens that are short or that a header or URL would
// mangle.
func validateAdminToken(tok string) error {
	if tok == "" {
		return nil
	}
	if len(tok) < MinAdminTokenLength {
		return fmt.Errorf("%w: AdminServerConfig.Token is %d characters, want at least %d", ErrAdminToken, len(tok), MinAdminTokenLength)
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] <= ' ' || tok[i] > '~' {
			return fmt.Errorf("%w: AdminServerConfig.Token must be printable ASCII without spaces", ErrAdminToken)
		}
	}
	return nil
}

// isLoopbackAddr reports whether a listen address is loopback only. A
// host name other than localhost is not: it may resolve anywhere.
func isLoopbackAddr(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, fmt.Errorf("server: AdminServerConfig.Listen %q: %w", addr, err)
	}
	return isLoopbackName(host), nil
}

// isLoopbackName reports whether host (no port) is localhost or a loopback
// IP literal. Any other name is not: it may resolve anywhere.
func isLoopbackName(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// sessionValue is the cookie value of a token: an HMAC of a fixed label
// under the token, so the cookie proves the token without being it (a
// leaked cookie does not give the bearer token to scrape /metrics with
// elsewhere, and changing the token ends every session).
func sessionValue(token string) string {
	mac := hmac.New(sha256.New, []byte(token))
	mac.Write([]byte("mitmwatch admin session v1"))
	return hex.EncodeToString(mac.Sum(nil))
}

// admin is the admin listener's handler.
type admin struct {
	logger   *slog.Logger
	ready    func(context.Context) error
	metrics  *adminMetrics
	assets   map[string]dashAsset
	dash     *dashboard
	promhttp http.Handler

	pprof    bool
	hasToken bool
	tokenSum [sha256.Size]byte
	cookie   string
}

// adminRoutes maps each path to its route name (the metrics label).
var adminRoutes = map[string]string{
	"/":                 routeDashboard,
	"/dashboard.css":    routeAsset,
	"/dashboard.js":     routeAsset,
	"/api/top":          routeTop,
	"/api/series":       routeSeries,
	"/api/fingerprints": routeFingerprints,
	"/api/alerts":       routeAlerts,
	"/metrics":          routeMetrics,
	"/healthz":          routeHealthz,
	"/readyz":           routeReadyz,
}

func (a *admin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	route, ok := adminRoutes[r.URL.Path]
	if !ok {
		route = routeOther
		if a.pprof && strings.HasPrefix(r.URL.Path, pprofPrefix) {
			route = routePprof
		}
	}
	sw := &adminStatusWriter{ResponseWriter: w, status: http.StatusOK}
	defer func() { a.metrics.observe(route, sw.status, time.Since(start)) }()

	h := sw.Header()
	h.Set("Content-Security-Policy", adminCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	if route != routeAsset {
		h.Set("Cache-Control", "no-store")
	}

	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(sw, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	authed := a.authorize(sw, r, route)
	if authed == authDone {
		return
	}
	switch route {
	case routeHealthz:
		adminText(sw, http.StatusOK, "ok")
		return
	case routeReadyz:
		a.readyz(sw, r, authed == authOK)
		return
	}
	if authed != authOK {
		a.unauthorized(sw)
		return
	}
	switch route {
	case routeDashboard, routeAsset:
		a.serveAsset(sw, r)
	case routeTop:
		a.api(sw, r, a.dash.top)
	case routeSeries:
		a.api(sw, r, a.dash.series)
	case routeFingerprints:
		a.api(sw, r, a.dash.fingerprints)
	case routeAlerts:
		a.api(sw, r, a.dash.alerts)
	case routeMetrics:
		a.promhttp.ServeHTTP(sw, r)
	case routePprof:
		servePprof(sw, r)
	default:
		http.NotFound(sw, r)
	}
}

// authResult is what authorize decided.
type authResult int

const (
	authNone authResult = iota // no valid credential (probes still answer)
	authOK                     // valid credential, or no token configured
	authDone                   // a response was written (redirect, refusal)
)

// authorize checks the request's credentials. Without a token it accepts
// only requests naming a loopback host: a page on another site that
// rebinds its DNS name to 127.0.0.1 would otherwise read the dashboard
// from the analyst's own browser. With a token it accepts the bearer
// header or the session cookie, and turns a valid ?token= into the cookie
// plus a redirect that drops it from the URL (and so from history and
// logs).
func (a *admin) authorize(w http.ResponseWriter, r *http.Request, route string) authResult {
	if !a.hasToken {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if !isLoopbackName(host) {
			a.metrics.authFailures.Inc()
			http.Error(w, "mitmwatch admin: this listener answers only to a loopback host name (localhost, 127.0.0.1, [::1])", http.StatusForbidden)
			return authDone
		}
		return authOK
	}
	q := r.URL.Query()
	if q.Has("token") {
		if route == routeOther || !a.tokenMatches(q.Get("token")) {
			a.metrics.authFailures.Inc()
			a.unauthorized(w)
			return authDone
		}
		http.SetCookie(w, &http.Cookie{
			Name:     adminCookie,
			Value:    a.cookie,
			Path:     "/",
			HttpOnly: true,
			Secure:   r.TLS != nil,
			SameSite: http.SameSiteStrictMode,
		})
		q.Del("token")
		// The target is the route's own path, never the request's: a
		// path like //evil.example would make an open redirect.
		loc := (&url.URL{Path: r.URL.Path, RawQuery: q.Encode()}).String()
		http.Redirect(w, r, loc, http.StatusSeeOther)
		return authDone
	}
	if scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		if a.tokenMatches(strings.TrimSpace(tok)) {
			return authOK
		}
		a.metrics.authFailures.Inc()
		return authNone
	}
	if c, err := r.Cookie(adminCookie); err == nil {
		if subtle.ConstantTimeCompare([]byte(c.Value), []byte(a.cookie)) == 1 {
			return authOK
		}
		a.metrics.authFailures.Inc()
		return authNone
	}
	if route != routeHealthz && route != routeReadyz {
		a.metrics.authFailures.Inc()
	}
	return authNone
}

// tokenMatches compares in constant time; hashing first makes the time
// independent of the length too.
func (a *admin) tokenMatches(tok string) bool {
	sum := sha256.Sum256([]byte(tok))
	return subtle.ConstantTimeCompare(sum[:], a.tokenSum[:]) == 1
}

func (a *admin) unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="mitmwatch admin"`)
	adminText(w, http.StatusUnauthorized,
		"mitmwatch admin: token required: send \"Authorization: Bearer <token>\", or open /?token=<token> once in a browser")
}

// readyz runs the Ready check. The reason is shown to authorized callers
// only: it may name internal addresses (a Redis host), and the probe is
// open to anyone who can reach the port.
func (a *admin) readyz(w http.ResponseWriter, r *http.Request, showReason bool) {
	if a.ready == nil {
		adminText(w, http.StatusOK, "ready")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), adminReadyTimeout)
	defer cancel()
	if err := a.ready(ctx); err != nil {
		a.logger.Warn("admin: not ready", "err", err)
		msg := "not ready"
		if showReason {
			msg += ": " + err.Error()
		}
		adminText(w, http.StatusServiceUnavailable, msg)
		return
	}
	adminText(w, http.StatusOK, "ready")
}

func (a *admin) serveAsset(w http.ResponseWriter, r *http.Request) {
	as := a.assets[r.URL.Path]
	h := w.Header()
	h.Set("Content-Type", as.contentType)
	if r.URL.Path != "/" {
		// Revalidate on every load, so an upgraded binary's script is
		// picked up at the next refresh of the page.
		h.Set("Cache-Control", "no-cache")
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(as.body)
	}
}

// apiError is the body of a failed API call.
type apiError struct {
	Error string `json:"error"`
}

// api runs one JSON endpoint: parameter errors are 400 with the reason,
// store failures 503 with a plain message (the detail goes to the log, not
// to the page).
func (a *admin) api(w http.ResponseWriter, r *http.Request, fn func(http.ResponseWriter, *http.Request) (any, error)) {
	v, err := fn(w, r)
	switch {
	case err == nil:
		adminJSON(w, http.StatusOK, v, a.logger)
	case errors.Is(err, errBadParam):
		adminJSON(w, http.StatusBadRequest, apiError{Error: strings.TrimPrefix(err.Error(), errBadParam.Error()+": ")}, a.logger)
	case errors.Is(err, errNoStore):
		adminJSON(w, http.StatusServiceUnavailable, apiError{Error: errNoStore.Error()}, a.logger)
	default:
		a.logger.Error("admin: dashboard query failed", "path", r.URL.Path, "err", err)
		adminJSON(w, http.StatusServiceUnavailable, apiError{Error: "the alerts store did not answer; see the mitmwatch log"}, a.logger)
	}
}

func adminJSON(w http.ResponseWriter, status int, v any, logger *slog.Logger) {
	body, err := json.Marshal(v)
	if err != nil {
		logger.Error("admin: encode response", "err", err)
		adminText(w, http.StatusInternalServerError, "internal error")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

func adminText(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintln(w, msg)
}

// adminStatusWriter remembers the status code for the metrics.
type adminStatusWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (w *adminStatusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *adminStatusWriter) Write(p []byte) (int, error) {
	w.wroteHeader = true
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *adminStatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// ServeAdmin serves [NewAdminHandler] over plain HTTP on cfg.Listen (or
// cfg.Listener) until ctx is cancelled, then shuts down gracefully and
// returns nil. It refuses to start, returning an error wrapping
// [ErrAdminToken], when the address is not loopback and cfg.Token is
// empty. Plain HTTP is deliberate: the listener is for loopback, a
// scraper on a private network, or a TLS-terminating proxy in front.
func ServeAdmin(ctx context.Context, cfg AdminServerConfig) error {
	logger := orDiscard(cfg.Logger)
	if cfg.Listener != nil {
		cfg.Listen = cfg.Listener.Addr().String()
	}
	h, err := NewAdminHandler(cfg)
	if err != nil {
		if cfg.Listener != nil {
			cfg.Listener.Close()
		}
		return err
	}
	ln, err := listen(ctx, cfg.Listener, cfg.Listen, DefaultAdminListen)
	if err != nil {
		return err
	}
	srv := newServer(h, logger)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	u := "http://" + ln.Addr().String() + "/"
	logger.Info("admin: dashboard at "+u+", metrics at "+u+"metrics", "url", u)

	select {
	case err := <-errc:
		return fmt.Errorf("server: admin: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		logger.Warn("admin: graceful shutdown incomplete, closing connections", "err", err)
		srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("server: admin: %w", err)
	}
	logger.Info("admin: stopped")
	return nil
}
