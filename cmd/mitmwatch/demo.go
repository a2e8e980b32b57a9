package main

import (
	"context"
	"io"

	"github.com/mitmwatch/mitmwatch/server"
)

// parseDemo turns the demo's command line and environment into its config.
func parseDemo(args []string, env lookupEnv, stderr io.Writer) (server.DemoConfig, error) {
	var (
		cfg    server.DemoConfig
		common commonFlags
	)
	fs := newFlagSet("demo", "[demo] [flags]", stderr)
	fs.stringVar(&cfg.Listen, "listen", "MITMWATCH_LISTEN", server.DefaultDemoListen, "address to serve the demo on")
	fs.stringVar(&cfg.AdminListen, "admin-listen", "MITMWATCH_ADMIN_LISTEN", server.DefaultAdminListen, "address of the demo's dashboard (loopback only)")
	common.register(fs)
	if err := fs.parse(args, env); err != nil {
		return cfg, err
	}
	cfg.CertDir = common.certDir
	cfg.Logger = newLogger(stderr, common.level.Level)
	return cfg, nil
}

func runDemo(ctx context.Context, args []string, env lookupEnv, _, stderr io.Writer) error {
	cfg, err := parseDemo(args, env, stderr)
	if err != nil {
		return err
	}
	return server.RunDemo(ctx, cfg)
}
