package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mitmwatch/mitmwatch/server"
)

func TestServeFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want serveFlags
	}{
		{name: "nothing_given", want: serveFlags{}},
		{name: "env_twins", env: map[string]string{
			"MITMWATCH_CONFIG": "/env/mw.yaml", "MITMWATCH_NO_DETECTION": "true",
			"MITMWATCH_CERT_DIR": "/env/certs", "MITMWATCH_LOG_LEVEL": "debug",
		}, want: serveFlags{config: "/env/mw.yaml", noDetection: true, certDir: "/env/certs", level: "debug"}},
		{name: "flags_win_over_env", args: []string{"--config", "/flag/mw.yaml", "--no-detection=false", "--log-level", "warn"},
			env:  map[string]string{"MITMWATCH_CONFIG": "/env/mw.yaml", "MITMWATCH_NO_DETECTION": "true", "MITMWATCH_LOG_LEVEL": "debug"},
			want: serveFlags{config: "/flag/mw.yaml", level: "warn"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseServe(tt.args, envOf(tt.env), &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestServeRejectsBadConfig(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "mw.yaml")
	if err := os.WriteFile(cfg, []byte("listen: 127.0.0.1:8443\nno_such_key: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"serve", "--config", cfg}, envOf(nil), &bytes.Buffer{}, &stderr)
	if code != exitError || !strings.Contains(stderr.String(), "no_such_key") {
		t.Errorf("exit %d, stderr %q: want 1 naming the unknown key", code, stderr.String())
	}
}

func TestServeLogger(t *testing.T) {
	var buf bytes.Buffer
	l, err := serveLogger(&buf, server.LoggingSection{Level: "warn", Format: "json"})
	if err != nil {
		t.Fatal(err)
	}
	l.Info("hidden")
	l.Warn("shown")
	if s := buf.String(); strings.Contains(s, "hidden") || !strings.Contains(s, `"msg":"shown"`) {
		t.Errorf("log %q: want only the warning, as JSON", s)
	}
	if _, err := serveLogger(&buf, server.LoggingSection{Level: "loud"}); err == nil {
		t.Error("level loud accepted")
	}
	if _, err := serveLogger(&buf, server.LoggingSection{Level: "info", Format: "xml"}); err == nil {
		t.Error("format xml accepted")
	}
}

func TestServeHeapFloor(t *testing.T) {
	tests := []struct {
		name    string
		floor   int
		env     map[string]string
		raised  bool
		logSays string
	}{
		{name: "default_floor_raises_gogc", floor: server.DefaultGCHeapFloorMiB, raised: true,
			logSays: "the heap may grow to runtime.gc_heap_floor_mib"},
		{name: "zero_floor_leaves_gogc", floor: 0},
		{name: "operator_gogc_wins", floor: server.DefaultGCHeapFloorMiB, env: map[string]string{"GOGC": "200"},
			logSays: "GOGC is set, so runtime.gc_heap_floor_mib is not applied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			f := startHeapFloor(server.RuntimeSection{GCHeapFloorMiB: tt.floor}, envOf(tt.env), slog.New(slog.NewTextHandler(&log, nil)))
			defer f.Stop()
			if got := f.Percent() > f.Base(); got != tt.raised {
				t.Errorf("GOGC %d with base %d: raised = %v, want %v", f.Percent(), f.Base(), got, tt.raised)
			}
			if !strings.Contains(log.String(), tt.logSays) {
				t.Errorf("log %q does not say %q", log.String(), tt.logSays)
			}
		})
	}
}
