package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/mitmwatch/mitmwatch/server"
)

// envOf returns a lookupEnv over a fixed map.
func envOf(m map[string]string) lookupEnv {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func TestDemoListenPrecedence(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{name: "nothing_given_uses_the_loopback_default", want: server.DefaultDemoListen},
		{name: "env_overrides_the_default", env: map[string]string{"MITMWATCH_LISTEN": "127.0.0.1:9000"}, want: "127.0.0.1:9000"},
		{name: "flag_overrides_env", args: []string{"--listen", "127.0.0.1:9001"}, env: map[string]string{"MITMWATCH_LISTEN": "127.0.0.1:9000"}, want: "127.0.0.1:9001"},
		{name: "flag_equal_to_the_default_still_overrides_env", args: []string{"-listen=" + server.DefaultDemoListen}, env: map[string]string{"MITMWATCH_LISTEN": "127.0.0.1:9000"}, want: server.DefaultDemoListen},
		{name: "empty_env_is_unset", env: map[string]string{"MITMWATCH_LISTEN": ""}, want: server.DefaultDemoListen},
		{name: "fingerprint_env_does_not_move_the_demo", env: map[string]string{"MITMWATCH_FINGERPRINT_LISTEN": "127.0.0.1:9002"}, want: server.DefaultDemoListen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseDemo(tt.args, envOf(tt.env), &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Listen != tt.want {
				t.Errorf("listen %q, want %q", cfg.Listen, tt.want)
			}
		})
	}
}

func TestFingerprintFlags(t *testing.T) {
	env := envOf(map[string]string{
		"MITMWATCH_LISTEN":           "127.0.0.1:9000", // the demo's: ignored here
		"MITMWATCH_FINGERPRINT_SAVE": "/env/save",
		"MITMWATCH_CERT_DIR":         "/env/certs",
		"MITMWATCH_LOG_LEVEL":        "debug",
	})
	cfg, err := parseFingerprint([]string{"--save", "/flag/save"}, env, &bytes.Buffer{}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != server.DefaultFingerprintListen || cfg.SaveDir != "/flag/save" || cfg.CertDir != "/env/certs" {
		t.Errorf("listen %q save %q certs %q", cfg.Listen, cfg.SaveDir, cfg.CertDir)
	}
	if !cfg.Logger.Enabled(context.Background(), slog.LevelDebug) {
		t.Error("MITMWATCH_LOG_LEVEL=debug not applied")
	}
}

func TestRunUsage(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantCode int
		wantOut  string // in stdout+stderr
	}{
		{name: "help_lists_the_commands", args: []string{"help"}, wantCode: 0, wantOut: "fingerprint"},
		{name: "dash_h_is_help", args: []string{"-h"}, wantCode: 0, wantOut: "demo"},
		{name: "help_for_a_command_shows_its_env_twins", args: []string{"help", "fingerprint"}, wantCode: 0, wantOut: "MITMWATCH_FINGERPRINT_SAVE"},
		{name: "command_dash_h_shows_its_flags", args: []string{"demo", "-h"}, wantCode: 0, wantOut: "MITMWATCH_LISTEN"},
		{name: "unknown_command_is_a_usage_error", args: []string{"serve-everything"}, wantCode: 2, wantOut: "unknown command"},
		{name: "unknown_flag_is_a_usage_error", args: []string{"--no-such-flag"}, wantCode: 2, wantOut: "no-such-flag"},
		{name: "stray_argument_is_a_usage_error", args: []string{"fingerprint", "extra"}, wantCode: 2, wantOut: "unexpected argument"},
		{name: "bad_env_value_is_a_usage_error_naming_the_variable", args: []string{"demo"}, env: map[string]string{"MITMWATCH_LOG_LEVEL": "loud"}, wantCode: 2, wantOut: "MITMWATCH_LOG_LEVEL"},
		{name: "runtime_failure_is_exit_1", args: []string{"demo", "--listen", "256.0.0.1:1", "--cert-dir", "CERTDIR"}, wantCode: 1, wantOut: "listen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := make([]string, len(tt.args))
			for i, a := range tt.args {
				args[i] = strings.ReplaceAll(a, "CERTDIR", t.TempDir())
			}
			code := run(context.Background(), args, envOf(tt.env), &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, stdout.String(), stderr.String())
			}
			if all := stdout.String() + stderr.String(); !strings.Contains(all, tt.wantOut) {
				t.Errorf("output lacks %q:\n%s", tt.wantOut, all)
			}
		})
	}
}

func TestDemoAdminListenPrecedence(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{name: "nothing_given_uses_the_admin_default", want: server.DefaultAdminListen},
		{name: "env_overrides_the_default", env: map[string]string{"MITMWATCH_ADMIN_LISTEN": "127.0.0.1:9190"}, want: "127.0.0.1:9190"},
		{name: "flag_overrides_env", args: []string{"--admin-listen", "127.0.0.1:9191"}, env: map[string]string{"MITMWATCH_ADMIN_LISTEN": "127.0.0.1:9190"}, want: "127.0.0.1:9191"},
		{name: "demo_listen_env_does_not_move_the_dashboard", env: map[string]string{"MITMWATCH_LISTEN": "127.0.0.1:9000"}, want: server.DefaultAdminListen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseDemo(tt.args, envOf(tt.env), &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			if cfg.AdminListen != tt.want {
				t.Errorf("admin listen %q, want %q", cfg.AdminListen, tt.want)
			}
		})
	}
}
