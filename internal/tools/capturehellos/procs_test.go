package main

import (
	"context"
	"errors"
	"os/exec"
	"slices"
	"testing"
)

func TestWithoutProxyEnv(t *testing.T) {
	in := []string{"PATH=/bin", "http_proxy=x", "HTTPS_PROXY=y", "all_proxy=z", "NO_PROXY=localhost", "PROXYISH=keep"}
	got := withoutProxyEnv(in)
	want := []string{"PATH=/bin", "PROXYISH=keep"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if in[1] != "http_proxy=x" {
		t.Fatal("input modified")
	}
}

func TestToolVersion(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	tests := []struct {
		name, script, want string
		wantErr            bool
	}{
		{"lines_joined_and_spaces_collapsed", `printf 'Tool:   1.2\n\nOpenSSL:  3.0\n'`, "Tool: 1.2; OpenSSL: 3.0", false},
		{"failing_program_is_an_error", "echo broken; exit 3", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := toolVersion(context.Background(), sh, "-c", tt.script)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLookPathMissingIsSkippable(t *testing.T) {
	_, err := lookPath("capturehellos-no-such-program")
	if !errors.Is(err, errMissingBinary) {
		t.Fatalf("err = %v, want errMissingBinary", err)
	}
}
