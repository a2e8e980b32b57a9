package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mitmwatch/mitmwatch/internal/selfsigned"
	"github.com/mitmwatch/mitmwatch/server"
)

const (
	testToken  = "SECRET-admin-token-7f3a9c"
	testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
)

// configFile writes a config to a private file and returns its path.
func configFile(t *testing.T, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "mitmwatch.yaml")
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigCheck(t *testing.T) {
	certDir := t.TempDir()
	if _, err := selfsigned.LoadOrCreate(certDir); err != nil {
		t.Fatal(err)
	}
	withSecrets := configFile(t, `listen: 0.0.0.0:8443
tls: {cert_file: `+filepath.Join(certDir, "cert.pem")+`, key_file: `+filepath.Join(certDir, "key.pem")+`}
admin: {listen: 10.0.0.5:9090, token: `+testToken+`}
alerts:
  webhooks: [{url: https://soc.example/hooks/mitm, secret: `+testSecret+`}]
`)
	invalid := configFile(t, `listen: 0.0.0.0:443
alerts:
  rules:
    - {name: a, scope: asn, window: 5m, min_connections: 5, min_share: 20}
logging:
  levle: debug
`)
	missingFiles := configFile(t, "tls: {cert_file: /nonexistent/cert.pem, key_file: /nonexistent/key.pem}\n")
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantCode   int
		wantOut    []string // in stdout
		wantErr    []string // in stderr
		wantErrRE  string   // every stderr line but the last matches
		wantErrLen int      // stderr lines, if set
	}{
		{name: "valid_prints_ok_and_the_redacted_config", args: []string{"config", "check", withSecrets}, wantCode: 0,
			wantOut: []string{"ok\n", "listen: 0.0.0.0:8443", "token: " + server.Redacted, "secret: " + server.Redacted, "url: https://soc.example/" + server.Redacted}},
		{name: "every_problem_on_its_own_line", args: []string{"config", "check", invalid}, wantCode: 1,
			wantErr:   []string{invalid + ":1: tls: tls.cert_file or tls.acme required", invalid + ":4: alerts.rules[0].min_share: must be in (0,1]", invalid + ":6: logging.levle: unknown key", "3 problems"},
			wantErrRE: `^` + regexp.QuoteMeta(invalid) + `:\d+: `, wantErrLen: 4},
		{name: "env_override_problem_names_the_variable", args: []string{"config", "check", withSecrets}, env: map[string]string{"MITMWATCH_REDIS_DB": "two"}, wantCode: 1,
			wantErr: []string{`env MITMWATCH_REDIS_DB: store.redis.db: want a whole number, got "two"`, "1 problem"}},
		{name: "env_override_applies", args: []string{"config", "check", withSecrets}, env: map[string]string{"MITMWATCH_LOG_LEVEL": "debug"}, wantCode: 0,
			wantOut: []string{"level: debug"}},
		{name: "lookalike_variable_warns_on_stderr", args: []string{"config", "check", withSecrets}, env: map[string]string{"MITMWATCH_LOGGING_LEVEL": "debug"}, wantCode: 0,
			wantOut: []string{"level: info"}, wantErr: []string{"warning: MITMWATCH_LOGGING_LEVEL is not an override (did you mean MITMWATCH_LOG_LEVEL"}},
		{name: "files_named_are_checked", args: []string{"config", "check", missingFiles}, wantCode: 1,
			wantErr: []string{missingFiles + ":1: tls.cert_file: open /nonexistent/cert.pem: no such file or directory"}},
		{name: "skip_files_flag", args: []string{"config", "check", "--skip-files", missingFiles}, wantCode: 0, wantOut: []string{"ok\n"}},
		{name: "skip_files_flag_after_file", args: []string{"config", "check", missingFiles, "-skip-files"}, wantCode: 0, wantOut: []string{"ok\n"}},
		{name: "skip_files_env_twin", args: []string{"config", "check", missingFiles}, env: map[string]string{"MITMWATCH_CONFIG_SKIP_FILES": "true"}, wantCode: 0, wantOut: []string{"ok\n"}},
		{name: "file_from_MITMWATCH_CONFIG", args: []string{"config", "check"}, env: map[string]string{"MITMWATCH_CONFIG": withSecrets}, wantCode: 0, wantOut: []string{"ok\n"}},
		{name: "unreadable_file", args: []string{"config", "check", filepath.Join(t.TempDir(), "nope.yaml")}, wantCode: 1, wantErr: []string{"no such file or directory"}},
		{name: "no_file_is_a_usage_error", args: []string{"config", "check"}, wantCode: 2, wantErr: []string{"want exactly one FILE"}},
		{name: "two_files_is_a_usage_error", args: []string{"config", "check", withSecrets, invalid}, wantCode: 2},
		{name: "no_subcommand_is_a_usage_error", args: []string{"config"}, wantCode: 2, wantErr: []string{"config check"}},
		{name: "unknown_subcommand_is_a_usage_error", args: []string{"config", "lint"}, wantCode: 2, wantErr: []string{`unknown subcommand "lint"`}},
		{name: "help_lists_every_env_override", args: []string{"help", "config"}, wantCode: 0, wantOut: envNames()},
		{name: "check_help_shows_the_flag_twin", args: []string{"config", "check", "-h"}, wantCode: 0, wantErr: []string{"MITMWATCH_CONFIG_SKIP_FILES"}},
		{name: "examples_check", args: []string{"config", "check", "--skip-files", "../../examples/mitmwatch.yaml"}, wantCode: 0, wantOut: []string{"ok\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, envOf(tt.env), &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, stdout.String(), stderr.String())
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
				}
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
			if tt.wantCode == 0 && tt.wantOut != nil && !strings.HasPrefix(stdout.String(), "ok\n") && tt.args[0] == "config" {
				t.Errorf("stdout does not start with ok:\n%s", stdout.String())
			}
			lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
			if tt.wantErrLen > 0 && len(lines) != tt.wantErrLen {
				t.Errorf("%d stderr lines, want %d:\n%s", len(lines), tt.wantErrLen, stderr.String())
			}
			if tt.wantErrRE != "" {
				re := regexp.MustCompile(tt.wantErrRE)
				for _, l := range lines[:len(lines)-1] {
					if !re.MatchString(l) {
						t.Errorf("line %q does not match %s", l, tt.wantErrRE)
					}
				}
			}
			for _, secret := range []string{testToken, strings.TrimPrefix(testSecret, "whsec_")} {
				if strings.Contains(stdout.String()+stderr.String(), secret) {
					t.Errorf("a secret was printed:\n%s%s", stdout.String(), stderr.String())
				}
			}
		})
	}
}

func envNames() []string {
	var out []string
	for _, o := range server.EnvOverrides() {
		out = append(out, o.Name)
	}
	return out
}
