package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mitmwatch/mitmwatch/alerts"
)

const cliTestSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// hookServer records the requests it answers with status.
type hookServer struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	heads  []http.Header
}

func newHookServer(t *testing.T, status int) *hookServer {
	h := &hookServer{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.bodies = append(h.bodies, b)
		h.heads = append(h.heads, r.Header.Clone())
		h.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(h.Close)
	return h
}

func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "mitmwatch.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAlertsTestSendsTheSampleToEveryWebhook(t *testing.T) {
	soc, chat := newHookServer(t, http.StatusOK), newHookServer(t, http.StatusNoContent)
	cfg := writeConfig(t, `alerts:
  webhooks:
    - {name: soc, url: "`+soc.URL+`/hooks/mitm", format: standard, secret: `+cliTestSecret+`}
    - {name: chat, url: "`+chat.URL+`/services/T0/B0/X", format: slack}
`)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"alerts", "test", "--config", cfg}, envOf(nil), &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout.String(), stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "ok  soc (standard)  HTTP 200") || !strings.HasPrefix(lines[1], "ok  chat (slack)") {
		t.Errorf("output:\n%s", stdout.String())
	}
	if len(soc.bodies) != 1 || len(chat.bodies) != 1 {
		t.Fatalf("requests: soc %d, chat %d", len(soc.bodies), len(chat.bodies))
	}
	signer, _ := alerts.NewSigner(cliTestSecret)
	if err := signer.Verify(soc.heads[0], soc.bodies[0], time.Now(), time.Minute); err != nil {
		t.Error(err)
	}
	var env struct {
		Type string       `json:"type"`
		Data alerts.Alert `json:"data"`
	}
	if err := json.Unmarshal(soc.bodies[0], &env); err != nil || env.Type != alerts.EventAlert || !env.Data.Test {
		t.Errorf("sample %s: %v", soc.bodies[0], err)
	}
	if !strings.Contains(string(chat.bodies[0]), "[TEST]") {
		t.Errorf("slack sample %s", chat.bodies[0])
	}
}

func TestAlertsTestFailsWhenAWebhookRefuses(t *testing.T) {
	bad := newHookServer(t, http.StatusForbidden)
	cfg := writeConfig(t, "alerts:\n  webhooks: [{name: siem, url: \""+bad.URL+"\", format: json}]\n")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"alerts", "test"}, envOf(map[string]string{"MITMWATCH_CONFIG": cfg}), &stdout, &stderr)
	if code != exitError || !strings.Contains(stdout.String(), "FAIL  siem (json)  HTTP 403") || !strings.Contains(stderr.String(), "1 of 1 webhooks") {
		t.Errorf("exit %d\nstdout %s\nstderr %s", code, stdout.String(), stderr.String())
	}
	if len(bad.bodies) != 1 {
		t.Errorf("%d requests, want 1 (no retries in a test)", len(bad.bodies))
	}
}

func TestAlertsUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no_subcommand", []string{"alerts"}, exitUsage, "Usage: mitmwatch alerts test"},
		{"unknown_subcommand", []string{"alerts", "send"}, exitUsage, "unknown subcommand"},
		{"help", []string{"alerts", "-h"}, exitOK, "sample interception.alert"},
		{"no_webhooks", []string{"alerts", "test"}, exitError, "no webhooks configured"},
		{"listed_in_help", []string{"help"}, exitOK, "alerts test: send a sample alert"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, envOf(nil), &stdout, &stderr)
			if code != tt.code || !strings.Contains(stdout.String()+stderr.String(), tt.want) {
				t.Errorf("exit %d, output %q", code, stdout.String()+stderr.String())
			}
		})
	}
}
