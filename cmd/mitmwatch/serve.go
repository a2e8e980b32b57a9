package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/mitmwatch/mitmwatch/internal/gcfloor"
	"github.com/mitmwatch/mitmwatch/server"
)

// serveFlags are `mitmwatch serve`'s flags; everything else is in the
// configuration file.
type serveFlags struct {
	config      string
	noDetection bool
	certDir     string
	level       string
}

func parseServe(args []string, env lookupEnv, stderr io.Writer) (serveFlags, error) {
	var f serveFlags
	fs := newFlagSet("serve", "serve [--config FILE] [flags]", stderr)
	fs.stringVar(&f.config, "config", "MITMWATCH_CONFIG", "",
		"configuration file (YAML; examples/mitmwatch.yaml documents every key); empty: defaults and environment only")
	fs.BoolVar(&f.noDetection, "no-detection", false,
		"serve and proxy without ClientHello capture, verdicts, counts or alerts: the baseline for benchmarks (env MITMWATCH_NO_DETECTION)")
	fs.twin("no-detection", "MITMWATCH_NO_DETECTION")
	fs.stringVar(&f.certDir, "cert-dir", "MITMWATCH_CERT_DIR", "",
		"directory caching the self-signed certificate used without tls.cert_file (default: the user cache directory + /mitmwatch)")
	fs.stringVar(&f.level, "log-level", "MITMWATCH_LOG_LEVEL", "",
		"log level: debug, info, warn or error (default: logging.level of the configuration, info)")
	if err := fs.parse(args, env); err != nil {
		return f, err
	}
	return f, nil
}

// runServe is `mitmwatch serve`: the edge server. SIGINT and SIGTERM shut
// it down gracefully; SIGHUP reloads certificates and geo databases.
func runServe(ctx context.Context, args []string, env lookupEnv, _, stderr io.Writer) error {
	f, err := parseServe(args, env, stderr)
	if err != nil {
		return err
	}
	cfg, err := server.LoadConfig(f.config, env)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	if f.level != "" {
		cfg.Logging.Level = f.level
	}
	logger, err := serveLogger(stderr, cfg.Logging)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	floor := startHeapFloor(cfg.Runtime, env, logger)
	defer floor.Stop()
	edge, err := server.NewEdge(cfg, server.ServeOptions{
		Logger:      logger,
		NoDetection: f.noDetection,
		CertDir:     f.certDir,
	})
	if err != nil {
		return err
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				logger.Info("SIGHUP: reloading certificates and geo databases")
				edge.Reload() // logged inside
			}
		}
	}()
	return edge.Run(ctx)
}

// startHeapFloor applies runtime.gc_heap_floor_mib, unless the GOGC
// environment variable is set: an operator who tuned the collector keeps
// that tuning.
func startHeapFloor(rt server.RuntimeSection, env lookupEnv, logger *slog.Logger) *gcfloor.Floor {
	if v, ok := env("GOGC"); ok && v != "" {
		if rt.GCHeapFloorMiB > 0 {
			logger.Info("GOGC is set, so runtime.gc_heap_floor_mib is not applied", "GOGC", v)
		}
		return gcfloor.Start(0)
	}
	f := gcfloor.Start(uint64(rt.GCHeapFloorMiB) << 20)
	if rt.GCHeapFloorMiB > 0 {
		// Said at start, for an operator who wonders why the resident
		// memory sits near the floor.
		logger.Info("the heap may grow to runtime.gc_heap_floor_mib before the garbage collector runs", "mib", rt.GCHeapFloorMiB, "gogc", f.Percent())
	}
	return f
}

// serveLogger is the process log the configuration asks for.
func serveLogger(w io.Writer, l server.LoggingSection) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToUpper(l.Level))); err != nil {
		return nil, fmt.Errorf("log level %q: %w", l.Level, err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch l.Format {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, errors.New("logging.format: want text or json, got " + l.Format)
}
