package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/mitmwatch/mitmwatch/alerts"
	"github.com/mitmwatch/mitmwatch/fingerprints"
	"github.com/mitmwatch/mitmwatch/internal/selfsigned"
	"github.com/mitmwatch/mitmwatch/middleware"
)

// Timeouts of the edge's public listener. There is no read or write
// timeout: uploads and streamed responses (server-sent events, long
// polls, WebSockets) may last as long as the upstream wants; what one
// client can hold idle is bounded by the header and idle timeouts.
const (
	edgeReadHeaderTimeout = 10 * time.Second
	edgeIdleTimeout       = 120 * time.Second
	edgeMaxHeaderBytes    = 64 << 10
	// edgeCloseTimeout bounds each closing step after the drain: the
	// recorder's last flush, the alerts outbox, the admin listener.
	edgeCloseTimeout = 10 * time.Second
)

// ServeOptions are what [ServeWith] takes besides the [Config]: things a
// command line or a test decides, not a configuration file.
type ServeOptions struct {
	// Logger receives every lifecycle step and component log. Default:
	// discard.
	Logger *slog.Logger
	// NoDetection serves the same listener and reverse proxy without the
	// ClientHello capture and the middleware (no verdicts, no recording,
	// no banner): the baseline `scripts/bench-edge` compares against.
	// Client-sent Mitmwatch-* headers are still stripped. Default false.
	NoDetection bool
	// Listener, AdminListener and HTTPListener, if non-nil, are served
	// instead of listening on Config.Listen, Config.Admin.Listen and
	// Config.HTTPListen (tests, socket activation); an AdminListener or
	// HTTPListener turns its listener on even when its key is empty. They
	// must be plain TCP listeners; the edge closes them.
	Listener, AdminListener, HTTPListener net.Listener
	// CertDir caches the self-signed certificate used when the
	// configuration has no certificate (loopback only). Default
	// [selfsigned.DefaultDir].
	CertDir string
	// Registry is served on the admin listener's /metrics and receives
	// every component's metrics. Default: a new [NewRegistry].
	Registry *prometheus.Registry
}

// Serve runs the edge server (`mitmwatch serve`) until ctx is cancelled,
// then shuts it down gracefully; see [Edge.Run].
func Serve(ctx context.Context, cfg *Config, logger *slog.Logger) error {
	return ServeWith(ctx, cfg, ServeOptions{Logger: logger})
}

// ServeWith is [Serve] with options.
func ServeWith(ctx context.Context, cfg *Config, opts ServeOptions) error {
	e, err := NewEdge(cfg, opts)
	if err != nil {
		return err
	}
	return e.Run(ctx)
}

// Edge is an assembled edge server: its listeners are open and its
// components built, but nothing is served until [Edge.Run].
//
// The public listener is the straight line of the architecture: TCP →
// PROXY protocol (when configured; trusted load balancers only) →
// [fingerprints.Listener] (ClientHello capture) → crypto/tls (certificates
// by SNI from [CertManager], h2 and http/1.1) → net/http with
// [middleware.ConnContext] → [middleware.New] → [Proxy] (or the report
// page when no upstream is configured).
//
// Beside it, the admin listener (plain HTTP: metrics, health, dashboard)
// and, with http_listen, a plain-HTTP listener that answers ACME http-01
// challenges and redirects everything else to https
// ([CertManager.HTTPHandler]); neither captures or judges anything.
type Edge struct {
	cfg    *Config
	opts   ServeOptions
	logger *slog.Logger

	ln      net.Listener // public, fully wrapped but for TLS
	rawAddr net.Addr
	adminLn net.Listener // nil: no admin listener
	httpLn  net.Listener // nil: no plain-HTTP listener
	srv     *http.Server
	httpSrv *http.Server // nil: no plain-HTTP listener
	certs   *CertManager // nil with the self-signed certificate
	admin   AdminServerConfig

	redis      redis.UniversalClient // nil: memory store
	store      alerts.Store
	recorder   *alerts.Recorder // nil without detection
	notes      *alerts.NoteBook // grades and reasons per JA4, for alerts
	evaluator  *alerts.Evaluator
	classifier *fingerprints.Classifier
	geo        *middleware.Geo
	grades     *ProductGrades // nil without detection

	runOnce sync.Once
}

// NewEdge builds the edge from cfg: it validates it (again, for a Config
// from LoadConfig), reads its secret files into it ([Config.ReadFiles]
// changes cfg) and its certificates, opens the listeners and connects
// nothing yet (Redis is contacted on first use). Call [Edge.Run] next: it
// serves and, at the end, closes everything. On error everything opened,
// the listeners given in opts included, is closed.
func NewEdge(cfg *Config, opts ServeOptions) (*Edge, error) {
	if cfg == nil {
		cfg = DefaultConfig()
	}
	e := &Edge{cfg: cfg, opts: opts, logger: orDiscard(opts.Logger)}
	if err := e.build(); err != nil {
		// Nothing was served: close what was opened or given.
		for _, l := range []net.Listener{e.ln, e.adminLn, e.httpLn, opts.Listener, opts.AdminListener, opts.HTTPListener} {
			if l != nil {
				l.Close()
			}
		}
		e.closeAll(context.Background())
		return nil, err
	}
	return e, nil
}

// build does NewEdge's work; on error the caller closes what it opened.
func (e *Edge) build() error {
	cfg, opts := e.cfg, e.opts
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("server: config: %w", err)
	}
	if err := cfg.ReadFiles(); err != nil {
		return fmt.Errorf("server: config: %w", err)
	}
	for _, w := range cfg.Warnings() {
		e.logger.Warn("config: " + w)
	}
	reg := opts.Registry
	if reg == nil {
		reg = NewRegistry()
	}

	if err := e.buildStores(reg); err != nil {
		return err
	}
	handler, err := e.buildHandler(reg)
	if err != nil {
		return err
	}
	tlsConfig, err := e.buildTLS(reg)
	if err != nil {
		return err
	}

	// Listeners last, so that a bad configuration never holds a port.
	raw, err := listen(context.Background(), opts.Listener, cfg.Listen, DefaultServeListen)
	if err != nil {
		return err
	}
	e.rawAddr = raw.Addr()
	e.ln = raw
	if cfg.ProxyProtocol.Enabled {
		trusted := make([]string, len(cfg.ProxyProtocol.Trusted))
		for i, p := range cfg.ProxyProtocol.Trusted {
			trusted[i] = p.String()
		}
		pl, err := middleware.ProxyProtocolListener(raw, trusted, e.logger)
		if err != nil {
			return fmt.Errorf("server: proxy_protocol: %w", err)
		}
		e.ln = pl
	}
	var connContext func(context.Context, net.Conn) context.Context
	if !opts.NoDetection {
		capture := fingerprints.NewListener(e.ln, fingerprints.ListenerConfig{})
		e.ln = capture
		if err := registerCaptureMetrics(reg, capture.Stats); err != nil {
			return err
		}
		connContext = middleware.ConnContext
	}
	e.srv = &http.Server{
		Handler:           handler,
		TLSConfig:         tlsConfig,
		ConnContext:       connContext,
		ReadHeaderTimeout: edgeReadHeaderTimeout,
		IdleTimeout:       edgeIdleTimeout,
		MaxHeaderBytes:    edgeMaxHeaderBytes,
		// Handshake failures and clients that hang up are routine on a
		// public listener: debug level.
		ErrorLog: slog.NewLogLogger(e.logger.Handler(), slog.LevelDebug),
	}

	if cfg.Admin.Listen != "" || opts.AdminListener != nil {
		aln, err := listen(context.Background(), opts.AdminListener, cfg.Admin.Listen, DefaultAdminListen)
		if err != nil {
			return err
		}
		e.adminLn = aln
		e.admin = AdminServerConfig{
			Listener: aln,
			Token:    cfg.Admin.Token,
			Pprof:    cfg.Admin.Pprof,
			Store:    e.store,
			Registry: reg,
			Ready:    e.ready,
			Logger:   e.logger,
		}
		if e.evaluator != nil {
			e.admin.Alerts = NewAlertFeed(e.evaluator)
		}
		if e.grades != nil {
			e.admin.Grades = e.grades.Grade
		}
	}

	if cfg.HTTPListen != "" || opts.HTTPListener != nil {
		hln, err := listen(context.Background(), opts.HTTPListener, cfg.HTTPListen, "")
		if err != nil {
			return err
		}
		e.httpLn = hln
		// Calling HTTPHandler is also what turns autocert's http-01
		// challenge on; without ACME (or with the self-signed
		// certificate, e.certs nil) it only redirects.
		e.httpSrv = newServer(e.certs.HTTPHandler(redirectToHTTPS(cfg.HTTPSPort)), e.logger)
	}
	return nil
}

// Addr is the public listener's address.
func (e *Edge) Addr() net.Addr { return e.rawAddr }

// AdminAddr is the admin listener's address, nil when it is off.
func (e *Edge) AdminAddr() net.Addr {
	if e.adminLn == nil {
		return nil
	}
	return e.adminLn.Addr()
}

// HTTPAddr is the plain-HTTP listener's address, nil when it is off.
func (e *Edge) HTTPAddr() net.Addr {
	if e.httpLn == nil {
		return nil
	}
	return e.httpLn.Addr()
}

// buildStores makes the store, recorder and alerts evaluator.
func (e *Edge) buildStores(reg prometheus.Registerer) error {
	cfg := e.cfg
	prefix := alerts.DefaultRedisPrefix
	if r := cfg.Store.Redis; r != nil {
		e.redis = redis.NewUniversalClient(redisOptions(r))
		prefix = r.KeyPrefix
		s, err := alerts.NewRedisStore(e.redis, alerts.RedisConfig{Prefix: prefix})
		if err != nil {
			return fmt.Errorf("server: store.redis: %w", err)
		}
		e.store = s
		e.logger.Info("store: redis", "addrs", r.Addrs, "master_name", r.MasterName, "prefix", prefix)
	} else {
		e.store = alerts.NewMemoryStore()
		e.logger.Info("store: in memory (one node; counts are lost on restart)")
	}
	if e.opts.NoDetection {
		e.logger.Warn("detection is OFF (--no-detection): no verdicts, no counts, no alerts; for benchmarking only")
		return nil
	}
	rec, err := alerts.NewRecorder(e.store, alerts.RecorderConfig{
		Retention:  cfg.Store.Retention,
		ClientKey:  []byte(cfg.Store.ClientKey),
		Logger:     e.logger,
		Registerer: reg,
	})
	if err != nil {
		return fmt.Errorf("server: recorder: %w", err)
	}
	e.recorder = rec
	e.notes = alerts.NewNoteBook(0)
	if len(cfg.Alerts.Rules) == 0 {
		e.logger.Info("alerts: no rules, alerting is off")
		return nil
	}
	ev, err := alerts.NewEvaluator(alerts.EvaluatorConfig{
		Config:      cfg.Alerts.Config(),
		Store:       e.store,
		Redis:       e.redis,
		RedisPrefix: prefix,
		Logger:      e.logger,
		Registerer:  reg,
		Describe:    e.notes.Describe,
	})
	if err != nil {
		return fmt.Errorf("server: alerts: %w", err)
	}
	e.evaluator = ev
	return nil
}

// redisOptions maps the store.redis section to go-redis's universal
// options: MasterName means Sentinel, several Addrs a Cluster, one a
// single server (the rule of redis.NewUniversalClient).
func redisOptions(r *RedisSection) *redis.UniversalOptions {
	o := &redis.UniversalOptions{
		Addrs:      r.Addrs,
		Username:   r.Username,
		Password:   r.Password,
		DB:         r.DB,
		MasterName: r.MasterName,
	}
	if r.TLS {
		o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return o
}

// buildHandler makes the classifier, geo, middleware and proxy.
func (e *Edge) buildHandler(reg prometheus.Registerer) (http.Handler, error) {
	cfg := e.cfg
	var inner http.Handler
	var proxy *Proxy
	if ups := upstreamList(cfg); len(ups) > 0 {
		p, err := NewProxy(ProxyConfig{
			Upstreams:  ups,
			Headers:    cfg.Detection.UpstreamHeaders,
			Logger:     e.logger,
			Registerer: reg,
		})
		if err != nil {
			return nil, err
		}
		proxy, inner = p, p
		e.logger.Info("proxy: upstreams", "upstreams", ups)
	} else {
		h, err := NewDemoHandler(e.logger)
		if err != nil {
			return nil, err
		}
		inner = h
		e.logger.Info("proxy: no upstream configured, serving the report page")
	}
	if e.opts.NoDetection {
		return inner, nil
	}

	db, err := fingerprints.LoadDatabase(cfg.Detection.SignatureFiles...)
	if err != nil {
		return nil, fmt.Errorf("server: detection.signature_files: %w", err)
	}
	e.classifier, err = fingerprints.NewClassifier(fingerprints.ClassifierConfig{Database: db})
	if err != nil {
		return nil, fmt.Errorf("server: classifier: %w", err)
	}
	e.geo, err = middleware.NewGeo(cfg.Geo)
	if err != nil {
		return nil, fmt.Errorf("server: geo: %w", err)
	}
	trusted := make([]string, len(cfg.TrustedProxies))
	for i, p := range cfg.TrustedProxies {
		trusted[i] = p.String()
	}
	grades := NewProductGrades(db, 0)
	e.grades = grades
	mw, err := middleware.New(middleware.Config{
		Classifier:          e.classifier,
		Geo:                 e.geo,
		Banner:              middleware.BannerConfig{Disabled: cfg.Detection.Banner.Disabled, HelpURL: cfg.Detection.Banner.HelpURL},
		BannerMinConfidence: cfg.Detection.BannerMinConfidence,
		TrustedProxies:      trusted,
		ClientIPHeader:      cfg.Forwarded.ClientIPHeader,
		UpstreamJA4Header:   cfg.Forwarded.JA4Header,
		UpstreamJA3Header:   cfg.Forwarded.JA3Header,
		ProtectPaths:        cfg.Detection.ProtectPaths,
		ResponseHeader:      cfg.Detection.ResponseHeader,
		EndpointPath:        cfg.Detection.Endpoint.Path,
		DisableEndpoint:     cfg.Detection.Endpoint.Disabled,
		Logger:              e.logger,
		LogClientIP:         cfg.Logging.LogClientIP,
		Recorder:            e.recorder,
		Notes:               e.notes,
		Registerer:          reg,
	})
	if err != nil {
		return nil, fmt.Errorf("server: detection: %w", err)
	}
	if proxy != nil {
		// One verdict lookup per request for both the headers and the
		// grades.
		proxy.annotate = func(r *http.Request) Annotation { return annotation(r, grades) }
		return mw(proxy), nil
	}
	return mw(noteGrades(grades, inner)), nil
}

// upstreamList is upstream or upstreams, whichever is set.
func upstreamList(cfg *Config) []string {
	if cfg.Upstream != "" {
		return []string{cfg.Upstream}
	}
	return cfg.Upstreams
}

// annotation is what the proxy tells the upstream, from the middleware's
// verdict for the request; it also notes an interceptor's grade for the
// dashboard.
func annotation(r *http.Request, grades *ProductGrades) Annotation {
	v, ok := middleware.BriefFromContext(r.Context())
	if !ok {
		return Annotation{}
	}
	if v.Verdict.Verdict == fingerprints.OutcomeIntercepted {
		grades.NoteVerdict(v.Verdict)
	}
	return Annotation{
		Detected:   true,
		Verdict:    v.Verdict.Verdict,
		Product:    v.Product,
		Confidence: v.Confidence,
		JA4:        v.JA4,
		JA3:        v.JA3Hash,
		Country:    v.Country,
		ASN:        v.ASN,
	}
}

// noteGrades remembers the grade of each interception product seen, for
// the dashboard (the store counts products by name only).
func noteGrades(g *ProductGrades, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v, ok := middleware.BriefFromContext(r.Context()); ok && v.Verdict.Verdict == fingerprints.OutcomeIntercepted {
			g.NoteVerdict(v.Verdict)
		}
		next.ServeHTTP(w, r)
	})
}

// buildTLS makes the certificate source and the TLS configuration.
func (e *Edge) buildTLS(reg prometheus.Registerer) (*tls.Config, error) {
	t := e.cfg.TLS
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if t.MinVersion == "1.3" {
		tc.MinVersion = tls.VersionTLS13
	}
	var pairs []CertPair
	if t.CertFile != "" {
		pairs = append(pairs, CertPair{CertFile: t.CertFile, KeyFile: t.KeyFile})
	}
	for _, c := range t.Certificates {
		pairs = append(pairs, CertPair{CertFile: c.CertFile, KeyFile: c.KeyFile})
	}
	var acmeCfg ACMEConfig
	if a := t.ACME; a != nil {
		acmeCfg = ACMEConfig{Hosts: a.Domains, Email: a.Email, CacheDir: a.CacheDir, DirectoryURL: a.DirectoryURL}
	}
	if len(pairs) == 0 && len(acmeCfg.Hosts) == 0 {
		// Validate allows this on a loopback listener only.
		cert, err := selfsigned.LoadOrCreate(e.opts.CertDir)
		if err != nil {
			return nil, fmt.Errorf("server: self-signed certificate: %w", err)
		}
		e.logger.Info("tls: no certificate configured, using the self-signed one (loopback only)")
		tc.Certificates = []tls.Certificate{cert}
		tc.NextProtos = []string{"h2", "http/1.1"}
		return tc, nil
	}
	m, err := NewCertManager(CertManagerConfig{Pairs: pairs, ACME: acmeCfg, Logger: e.logger, Registerer: reg})
	if err != nil {
		return nil, err
	}
	e.certs = m
	tc.GetCertificate = m.GetCertificate
	tc.NextProtos = m.NextProtos()
	return tc, nil
}

// ready is the admin listener's readiness: the shared store must answer.
func (e *Edge) ready(ctx context.Context) error {
	if e.redis == nil {
		return nil
	}
	if err := e.redis.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}

// Reload re-reads what can change without a restart: certificate files
// that changed and the geo databases. Errors are logged and returned; what
// failed keeps its previous state. Signature files are watched on their
// own. `mitmwatch serve` calls it on SIGHUP.
func (e *Edge) Reload() error {
	var errs []error
	if e.certs != nil {
		errs = append(errs, e.certs.Reload())
	}
	if e.geo != nil {
		if err := e.geo.Reload(); err != nil {
			e.logger.Error("geo: reload failed, keeping the previous databases", "err", err)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Run serves until ctx is cancelled, then shuts down in order, logging
// each step: stop accepting on the public and plain-HTTP listeners and
// drain in-flight requests for shutdown.timeout (then close what is
// left); flush the recorder's aggregates to the store; close the alerts
// evaluator (its last evaluation and the outbox's pending deliveries);
// stop the admin listener; close Redis. It returns the errors of every
// step, joined; nil after a clean shutdown. Run may be called once.
func (e *Edge) Run(ctx context.Context) error {
	err := errors.New("server: Edge.Run called twice")
	e.runOnce.Do(func() { err = e.run(ctx) })
	return err
}

func (e *Edge) run(ctx context.Context) error {
	// bg runs the pollers; adminCtx the admin listener, which stays up
	// until the very end so that /readyz and /metrics show the drain.
	bg, stopBG := context.WithCancel(context.Background())
	adminCtx, stopAdmin := context.WithCancel(context.Background())
	defer stopBG()
	defer stopAdmin()
	var wg sync.WaitGroup
	adminErr := make(chan error, 1)
	if e.adminLn != nil {
		go func() { adminErr <- ServeAdmin(adminCtx, e.admin) }()
	} else {
		adminErr = nil
	}
	if e.recorder != nil {
		e.recorder.Start()
	}
	if e.evaluator != nil {
		e.evaluator.Start()
	}
	if e.certs != nil {
		wg.Add(1)
		go func() { defer wg.Done(); e.certs.Run(bg) }()
	}
	if e.classifier != nil && len(e.cfg.Detection.SignatureFiles) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fingerprints.WatchSignatures(bg, e.classifier, e.cfg.Detection.SignatureFiles, 0, e.logger)
		}()
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- e.srv.ServeTLS(e.ln, "", "") }()
	e.logger.Info("edge: listening", "addr", e.rawAddr.String(), "url", openURL(e.rawAddr),
		"detection", !e.opts.NoDetection, "proxy_protocol", e.cfg.ProxyProtocol.Enabled)
	httpErr := make(chan error, 1)
	if e.httpSrv != nil {
		go func() { httpErr <- e.httpSrv.Serve(e.httpLn) }()
		acmeHTTP01 := e.certs != nil && e.certs.acme != nil
		what := "redirect to https"
		if acmeHTTP01 {
			what = "ACME http-01 challenges, redirect to https"
		}
		e.logger.Info("http: listening ("+what+")", "addr", e.httpLn.Addr().String(), "acme_http01", acmeHTTP01)
	} else {
		httpErr = nil
	}

	var errs []error
	select {
	case err := <-serveErr:
		errs = append(errs, fmt.Errorf("server: edge: %w", err))
		serveErr = nil
	case err := <-adminErr:
		// The admin listener stopped by itself: keep its error, stop
		// everything.
		errs = append(errs, fmt.Errorf("server: admin stopped: %w", err))
		adminErr = nil
	case err := <-httpErr:
		// Likewise the plain-HTTP listener.
		errs = append(errs, fmt.Errorf("server: http listener stopped: %w", err))
		httpErr = nil
	case <-ctx.Done():
		e.logger.Info("edge: shutting down")
	}

	// 1. Stop accepting, drain in-flight requests: the public and the
	// plain-HTTP listeners together.
	timeout := e.cfg.Shutdown.Timeout
	if timeout <= 0 {
		timeout = DefaultConfig().Shutdown.Timeout
	}
	e.logger.Info("edge: draining requests", "timeout", timeout)
	drainCtx, cancel := context.WithTimeout(context.Background(), timeout)
	var httpDrained chan error
	if e.httpSrv != nil {
		httpDrained = make(chan error, 1)
		go func() { httpDrained <- e.httpSrv.Shutdown(drainCtx) }()
	}
	if err := e.srv.Shutdown(drainCtx); err != nil {
		e.logger.Warn("edge: drain incomplete, closing remaining connections", "err", err)
		e.srv.Close()
		errs = append(errs, fmt.Errorf("server: drain: %w", err))
	}
	if httpDrained != nil {
		if err := <-httpDrained; err != nil {
			e.logger.Warn("http: drain incomplete, closing remaining connections", "err", err)
			e.httpSrv.Close()
			errs = append(errs, fmt.Errorf("server: http listener drain: %w", err))
		}
	}
	cancel()
	if serveErr != nil {
		if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("server: edge: %w", err))
		}
	}
	if httpErr != nil {
		if err := <-httpErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("server: http listener: %w", err))
		}
	}
	e.logger.Info("edge: public listener stopped")
	if e.httpSrv != nil {
		e.logger.Info("http: listener stopped")
	}

	// 2. Pollers, recorder, alerts; 3. the admin listener; 4. geo, Redis.
	stopBG()
	wg.Wait()
	errs = append(errs, e.closeAggregates(context.Background()))
	stopAdmin()
	if adminErr != nil {
		if err := <-adminErr; err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, e.closeBackends(context.Background()))
	err := errors.Join(errs...)
	if err != nil {
		e.logger.Error("edge: stopped with errors", "err", err)
	} else {
		e.logger.Info("edge: stopped")
	}
	return err
}

// closeAll closes every component (for a NewEdge that failed).
func (e *Edge) closeAll(ctx context.Context) error {
	return errors.Join(e.closeAggregates(ctx), e.closeBackends(ctx))
}

// closeAggregates flushes the recorder's last aggregates to the store,
// then closes the alerts evaluator (deliveries in flight may finish; the
// rest stays in the outbox).
func (e *Edge) closeAggregates(ctx context.Context) error {
	var errs []error
	if e.recorder != nil {
		errs = append(errs, e.step(ctx, "recorder: flush aggregates", e.recorder.Close))
	}
	if e.evaluator != nil {
		errs = append(errs, e.step(ctx, "alerts: close evaluator and outbox", e.evaluator.Close))
	}
	return errors.Join(errs...)
}

// closeBackends closes the geo databases and the Redis client.
func (e *Edge) closeBackends(ctx context.Context) error {
	var errs []error
	if e.geo != nil {
		errs = append(errs, e.step(ctx, "geo: close databases", func(context.Context) error { return e.geo.Close() }))
	}
	if e.redis != nil {
		errs = append(errs, e.step(ctx, "redis: close", func(context.Context) error { return e.redis.Close() }))
	}
	return errors.Join(errs...)
}

// step runs one closing step with its own timeout, so that one stuck step
// does not starve the next, and logs it.
func (e *Edge) step(ctx context.Context, name string, fn func(context.Context) error) error {
	sctx, cancel := context.WithTimeout(ctx, edgeCloseTimeout)
	defer cancel()
	if err := fn(sctx); err != nil {
		e.logger.Error(name+" failed", "err", err)
		return fmt.Errorf("server: %s: %w", name, err)
	}
	e.logger.Info(name + " done")
	return nil
}

// DemoAdminConfig configures [StartDemoAdmin]. The zero value serves the
// dashboard on 127.0.0.1:9090.
type DemoAdminConfig struct {
	// Listen is the admin listener's address. Default
	// [DefaultAdminListen]. Loopback only: the demo sets no token.
	Listen string
	// Listener, if non-nil, is served instead of listening on Listen
	// (tests). DemoAdmin.Close closes it.
	Listener net.Listener
	// Logger receives the dashboard's address and errors. Default:
	// discard.
	Logger *slog.Logger
}

// DemoAdmin is the dashboard of `mitmwatch demo`: an embedded memory
// store fed by the demo's own traffic, the alerts evaluator with the
// default rules, and the admin listener, so that a newcomer sees the
// whole product from one command. Put Recorder in the demo middleware's
// Config and wrap the demo's handler with [DemoAdmin.Handler].
type DemoAdmin struct {
	// Recorder is what the demo's middleware records verdicts into
	// (middleware.Config.Recorder).
	Recorder *alerts.Recorder
	// Notes keeps the grades and reasons the demo's alerts show
	// (middleware.Config.Notes).
	Notes *alerts.NoteBook
	// URL is the dashboard's address, http://127.0.0.1:9090/.
	URL string
	// Registry is what the admin listener's /metrics serves; the demo's
	// middleware and capture listener register into it
	// (middleware.Config.Registerer).
	Registry *prometheus.Registry

	grades    *ProductGrades
	evaluator *alerts.Evaluator
	stop      context.CancelFunc
	done      chan error
	logger    *slog.Logger
}

// StartDemoAdmin opens the admin listener and starts the recorder,
// evaluator and dashboard. An error (most often the port being taken)
// leaves nothing running; the demo can go on without a dashboard.
func StartDemoAdmin(cfg DemoAdminConfig) (*DemoAdmin, error) {
	logger := orDiscard(cfg.Logger)
	ln, err := listen(context.Background(), cfg.Listener, cfg.Listen, DefaultAdminListen)
	if err != nil {
		return nil, err
	}
	store := alerts.NewMemoryStore()
	reg := NewRegistry()
	rec, err := alerts.NewRecorder(store, alerts.RecorderConfig{Logger: logger, Registerer: reg})
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("server: demo recorder: %w", err)
	}
	notes := alerts.NewNoteBook(0)
	ev, err := alerts.NewEvaluator(alerts.EvaluatorConfig{Store: store, Logger: logger, Describe: notes.Describe, Registerer: reg})
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("server: demo alerts: %w", err)
	}
	db, err := fingerprints.DefaultDatabase()
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("server: demo signatures: %w", err)
	}
	d := &DemoAdmin{
		Recorder:  rec,
		Notes:     notes,
		URL:       "http://" + ln.Addr().String() + "/",
		Registry:  reg,
		grades:    NewProductGrades(db, 0),
		evaluator: ev,
		done:      make(chan error, 1),
		logger:    logger,
	}
	ctx, stop := context.WithCancel(context.Background())
	d.stop = stop
	rec.Start()
	ev.Start()
	go func() {
		d.done <- ServeAdmin(ctx, AdminServerConfig{
			Listener: ln,
			Store:    store,
			Alerts:   NewAlertFeed(ev),
			Grades:   d.grades.Grade,
			Logger:   logger,
			Registry: reg,
		})
	}()
	return d, nil
}

// Handler notes the grade of each interception product the middleware
// names, for the dashboard. Put it inside the middleware:
// mw(d.Handler(page)).
func (d *DemoAdmin) Handler(next http.Handler) http.Handler {
	return noteGrades(d.grades, next)
}

// Close flushes the recorder, stops the evaluator and the admin listener,
// and returns their errors joined.
func (d *DemoAdmin) Close(ctx context.Context) error {
	errs := []error{d.Recorder.Close(ctx), d.evaluator.Close(ctx)}
	d.stop()
	errs = append(errs, <-d.done)
	return errors.Join(errs...)
}
