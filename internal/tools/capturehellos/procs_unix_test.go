//go:build unix

package main

import (
	"context"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRunProcessKillsTheGroup proves that a timed-out client is stopped
// with the helpers it spawned, as Chromium's and Firefox's child processes
// must be.
func TestRunProcessKillsTheGroup(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	tests := []struct {
		name    string
		script  string
		timeout time.Duration
		wantErr error
	}{
		{"timeout_kills_leader_and_helper", "sleep 60 & echo $!; wait", 500 * time.Millisecond, context.DeadlineExceeded},
		// The helper keeps the output pipe open; runProcess must still
		// return soon after the leader exits (not after 60 s, when the
		// test would time out) and kill the helper.
		{"leader_exiting_leaves_no_helper_behind", "sleep 60 & echo $!", 30 * time.Second, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			out, err := runProcess(ctx, sh, []string{"-c", tt.script}, nil, "")
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			helper, perr := strconv.Atoi(strings.TrimSpace(string(out)))
			if perr != nil {
				t.Fatalf("helper pid not printed: %q", out)
			}
			// The helper may take a moment to be reaped by init after
			// SIGKILL; wait for it to disappear (or to be a zombie).
			deadline := time.Now().Add(5 * time.Second)
			for alive(helper) {
				if time.Now().After(deadline) {
					syscall.Kill(helper, syscall.SIGKILL)
					t.Fatalf("helper %d still running", helper)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	out, err := exec.Command("ps", "-o", "stat=", "-p", strconv.Itoa(pid)).Output()
	if err != nil {
		return false
	}
	return !strings.HasPrefix(strings.TrimSpace(string(out)), "Z")
}
