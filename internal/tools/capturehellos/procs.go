package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// errMissingBinary marks a client whose program is not installed; such a
// capture is skipped, not failed.
var errMissingBinary = errors.New("capturehellos: program not installed")

// lookPath resolves a program, wrapping errMissingBinary when it is absent.
func lookPath(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%w: %s (%v)", errMissingBinary, name, err)
	}
	return p, nil
}

// process is a child started in its own process group, so that it can be
// stopped together with the helpers it spawns (Chromium's zygote and
// renderers, Firefox's content processes) by signalling the group, whose id
// is the child's PID: nothing but what this tool started is signalled.
type process struct {
	cmd    *exec.Cmd
	output *lockedBuffer
	done   chan struct{}
	err    error // valid once done is closed
}

// startProcess starts path with args, stdout and stderr going to one buffer.
// env entries are appended to the tool's environment after removing any
// proxy variables, so that only the proxy a capture sets on purpose is used.
func startProcess(path string, args, env []string, dir string) (*process, error) {
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	cmd.Env = append(withoutProxyEnv(cmd.Environ()), env...)
	out := new(lockedBuffer)
	cmd.Stdout = out
	cmd.Stderr = out
	setProcessGroup(cmd)
	// Output goes through pipes, and a helper the child leaves running
	// (Chromium's, for instance) keeps them open: without a WaitDelay,
	// Wait would not return when the child exits but when its last
	// helper does. After the delay Wait closes the pipes and returns.
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("capturehellos: start %s: %w", path, err)
	}
	p := &process{cmd: cmd, output: out, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		if errors.Is(p.err, exec.ErrWaitDelay) {
			// The child itself succeeded; only its leftover helpers'
			// pipes were cut, and the caller kills those.
			p.err = nil
		}
		close(p.done)
	}()
	return p, nil
}

// stop signals the process group with SIGTERM, waits up to grace, then
// sends SIGKILL. It also kills helpers left behind by a leader that already
// exited. It returns the leader's exit error.
func (p *process) stop(grace time.Duration) error {
	pgid := p.cmd.Process.Pid
	terminateGroup(pgid)
	select {
	case <-p.done:
	case <-time.After(grace):
	}
	// The group may outlive its leader; SIGKILL whatever is left (ESRCH
	// when nothing is).
	killGroup(pgid)
	<-p.done
	return p.err
}

// runProcess runs a program to completion or until ctx is done, then makes
// sure nothing of its process group is left running. The combined output
// is returned in both cases, for diagnostics.
func runProcess(ctx context.Context, path string, args, env []string, dir string) ([]byte, error) {
	p, err := startProcess(path, args, env, dir)
	if err != nil {
		return nil, err
	}
	select {
	case <-p.done:
		killGroup(p.cmd.Process.Pid)
		if p.err != nil {
			return p.output.Bytes(), fmt.Errorf("capturehellos: %s: %w", path, p.err)
		}
		return p.output.Bytes(), nil
	case <-ctx.Done():
		_ = p.stop(2 * time.Second)
		return p.output.Bytes(), fmt.Errorf("capturehellos: %s: %w", path, ctx.Err())
	}
}

// withoutProxyEnv drops http_proxy, HTTPS_PROXY, ALL_PROXY, NO_PROXY and
// friends (either case).
func withoutProxyEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch strings.ToLower(k) {
		case "http_proxy", "https_proxy", "all_proxy", "no_proxy":
			continue
		}
		out = append(out, kv)
	}
	return out
}

// toolVersion runs path with args (e.g. "--version") and returns its output
// as one line: non-empty lines, runs of spaces collapsed, joined by "; ".
func toolVersion(ctx context.Context, path string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := runProcess(ctx, path, args, nil, "")
	if err != nil {
		return "", fmt.Errorf("%w: %s", err, tail(out, 300))
	}
	var lines []string
	for l := range strings.Lines(string(out)) {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "; "), nil
}

// tail returns at most the last n bytes of b, as a string, for error
// messages.
func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}

// lockedBuffer is a bytes.Buffer safe for the concurrent writes of a
// child's stdout and stderr copiers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Bytes returns a copy of what was written so far.
func (b *lockedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}
