// Command chi is a complete chi server with mitmwatch's middleware
// (Router.Use): it serves one page over HTTPS that shows the visitor
// whether their connection is intercepted, the warning banner on
// intercepted connections, the verdict endpoint
// /.well-known/tls-interception, and a /login page that intercepted
// connections are refused (Config.ProtectPaths).
//
//	go run ./examples/chi
//	go run ./examples/chi -listen 127.0.0.1:9443
//
// It listens on 127.0.0.1:8446 by default (flag -listen, environment
// MITMWATCH_EXAMPLE_LISTEN) with a self-signed certificate cached in the
// user's cache directory, so the browser warns once. Visit it directly,
// then through an intercepting proxy (mitmproxy, an antivirus with HTTPS
// scanning, a corporate proxy) to see the banner.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/mitmwatch/mitmwatch/fingerprints"
	"github.com/mitmwatch/mitmwatch/internal/selfsigned"
	"github.com/mitmwatch/mitmwatch/middleware"
)

const defaultListen = "127.0.0.1:8446"

func main() {
	listen := defaultListen
	if v := os.Getenv("MITMWATCH_EXAMPLE_LISTEN"); v != "" {
		listen = v
	}
	flag.StringVar(&listen, "listen", listen, "address to serve on (env MITMWATCH_EXAMPLE_LISTEN)")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		logger.Error("listen", "err", err)
		os.Exit(1)
	}
	logger.Info("serving", "url", "https://"+ln.Addr().String()+"/")
	if err := run(ctx, ln, "", logger); err != nil {
		logger.Error("serve", "err", err)
		os.Exit(1)
	}
}

// newHandler is the application: a chi router using the middleware.
func newHandler(logger *slog.Logger) (http.Handler, error) {
	mw, err := middleware.New(middleware.Config{
		Logger:       logger,
		ProtectPaths: []string{"/login"},
	})
	if err != nil {
		return nil, err
	}
	r := chi.NewRouter()
	r.Use(mw)
	r.Get("/", home)
	r.Get("/login", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><title>Sign in</title><h1>Sign in</h1><p>This connection is not intercepted: a password form would go here.</p>")
	})
	return r, nil
}

// run serves HTTPS on ln until ctx is cancelled. certDir caches the
// self-signed certificate ("" means the user's cache directory).
func run(ctx context.Context, ln net.Listener, certDir string, logger *slog.Logger) error {
	h, err := newHandler(logger)
	if err != nil {
		ln.Close()
		return err
	}
	cert, err := selfsigned.LoadOrCreate(certDir)
	if err != nil {
		ln.Close()
		return err
	}

	srv := &http.Server{
		Handler:           h,
		ConnContext:       middleware.ConnContext,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}},
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() {
		errc <- srv.ServeTLS(fingerprints.NewListener(ln, fingerprints.ListenerConfig{}), "", "")
	}()

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		srv.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

var page = template.Must(template.New("home").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>mitmwatch chi example</title>
<style>body { font: 16px/1.5 system-ui, sans-serif; max-width: 44rem; margin: 2rem auto; padding: 0 1rem; }</style>
</head>
<body>
<h1 data-verdict="{{.Outcome}}">{{.Heading}}</h1>
<p>Verdict <strong>{{.Outcome}}</strong>{{if .V.Product}} ({{.V.Product}}){{end}}, confidence {{printf "%.2f" .V.Confidence}}, fingerprint from {{.V.Source}}.</p>
<ul>{{range .V.Reasons.Strings}}<li>{{.}}</li>{{end}}</ul>
<p>JA4 <code>{{.V.JA4}}</code></p>
<p>As JSON: <a href="/.well-known/tls-interception">/.well-known/tls-interception</a></p>
</body>
</html>
`))

// home shows the verdict the middleware put in the request's context.
func home(w http.ResponseWriter, r *http.Request) {
	v, ok := middleware.FromContext(r.Context())
	if !ok {
		http.Error(w, "mitmwatch middleware missing", http.StatusInternalServerError)
		return
	}
	heading := "Your connection is not intercepted"
	switch v.Verdict.Verdict {
	case fingerprints.OutcomeIntercepted:
		heading = "Your connection is intercepted"
	case fingerprints.OutcomeUnknown, fingerprints.OutcomeSpoofed:
		heading = "No verdict for your connection"
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	data := struct {
		V                middleware.Verdict
		Heading, Outcome string
	}{v, heading, v.Verdict.Verdict.String()}
	if err := page.Execute(w, data); err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
	}
}
