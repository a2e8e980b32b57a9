package main

import (
	"context"
	"io"

	"github.com/mitmwatch/mitmwatch/server"
)

// parseFingerprint turns the fingerprint command's command line and
// environment into its config. Its twins are MITMWATCH_FINGERPRINT_*, so
// that a MITMWATCH_LISTEN meant for the demo does not move it.
func parseFingerprint(args []string, env lookupEnv, stdout, stderr io.Writer) (server.FingerprintConfig, error) {
	var (
		cfg    server.FingerprintConfig
		common commonFlags
	)
	fs := newFlagSet("fingerprint", "fingerprint [flags]", stderr)
	fs.stringVar(&cfg.Listen, "listen", "MITMWATCH_FINGERPRINT_LISTEN", server.DefaultFingerprintListen, "address to serve on")
	fs.stringVar(&cfg.SaveDir, "save", "MITMWATCH_FINGERPRINT_SAVE", "",
		"directory to save each raw ClientHello in, as <time>-<ja4>.hex and .json (default: do not save)")
	common.register(fs)
	if err := fs.parse(args, env); err != nil {
		return cfg, err
	}
	cfg.CertDir = common.certDir
	cfg.Out = stdout
	cfg.Logger = newLogger(stderr, common.level.Level)
	return cfg, nil
}

func runFingerprint(ctx context.Context, args []string, env lookupEnv, stdout, stderr io.Writer) error {
	cfg, err := parseFingerprint(args, env, stdout, stderr)
	if err != nil {
		return err
	}
	return server.RunFingerprint(ctx, cfg)
}
