//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mitmwatch/mitmwatch/server"
)

// A real browser, end to end: headless Chromium loads the example's page
// and the demo's page directly (no banner) and through mitmproxy, a real
// TLS-intercepting proxy (the banner is in the DOM, its script ran, and a
// screenshot is saved). Chromium is given a person's User-Agent: headless
// Chromium's own says HeadlessChrome, which mitmwatch rightly treats as
// automation and never warns.
//
// Needs Debian's chromium and mitmproxy (mitmdump). Without them the test
// is skipped, except under CI=true, where it fails. Screenshots go to
// $MITMWATCH_ARTIFACTS if set, else to the test's temporary directory;
// their paths are logged.
func TestBrowserEndToEnd(t *testing.T) {
	chromium := requireTool(t, "chromium")
	mitmdump := requireTool(t, "mitmdump")
	artifacts := os.Getenv("MITMWATCH_ARTIFACTS")
	if artifacts == "" {
		artifacts = t.TempDir()
	} else if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}

	proxy := startMitmdump(t, mitmdump)
	targets := []struct{ name, addr string }{
		{"example", startExample(t)},
		{"demo", startDemo(t)},
	}
	for _, tg := range targets {
		_, port, _ := net.SplitHostPort(tg.addr)
		url := "https://localhost:" + port + "/"

		t.Run(tg.name+"/direct_shows_no_banner", func(t *testing.T) {
			dom := runChromium(t, chromium, url, "", "--dump-dom")
			if !strings.Contains(dom, `data-verdict="clean"`) {
				t.Errorf("direct Chromium not judged clean:\n%s", tail(dom, 3000))
			}
			if strings.Contains(dom, "data-mitmwatch-banner") {
				t.Errorf("banner shown to a direct connection:\n%s", tail(dom, 3000))
			}
		})

		t.Run(tg.name+"/through_mitmproxy_shows_the_banner", func(t *testing.T) {
			dom := runChromium(t, chromium, url, proxy.url, "--dump-dom")
			if !strings.Contains(dom, `data-verdict="intercepted"`) {
				t.Errorf("Chromium through mitmproxy not judged intercepted:\n%s\nmitmdump:\n%s", tail(dom, 3000), tail(proxy.output(), 2000))
			}
			if !strings.Contains(dom, "data-mitmwatch-banner") {
				t.Fatalf("no banner element in the DOM:\n%s", tail(dom, 3000))
			}
			// The banner's script ran (it marks the banner ready): the
			// page's CSP let it load through the proxy.
			if !strings.Contains(dom, "data-mitmwatch-ready") {
				t.Errorf("banner script did not run:\n%s", tail(dom, 3000))
			}

			shot := filepath.Join(artifacts, "banner-"+tg.name+"-mitmproxy.png")
			os.Remove(shot)
			runChromium(t, chromium, url, proxy.url, "--screenshot="+shot, "--window-size=1280,900", "--hide-scrollbars")
			png, err := os.ReadFile(shot)
			if err != nil {
				t.Fatalf("no screenshot: %v", err)
			}
			if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 10_000 {
				t.Errorf("screenshot %s is not a plausible page PNG (%d bytes)", shot, len(png))
			}
			t.Logf("screenshot of the banner: %s", shot)
		})
	}
}

// personUA is a person's Chrome on Linux.
const personUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"

// requireTool finds a program, skipping the test without it unless CI=true,
// where a missing tool is a failure.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required under CI=true: %v", name, err)
	}
	t.Skipf("%s not installed: %v", name, err)
	return ""
}

// startDemo runs mitmwatch's demo (server.RunDemo) on a loopback port until
// the test ends.
func startDemo(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The demo's dashboard too, on a port of its own: never the default
	// 9090, which a developer's running demo or another test may hold.
	admin, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- server.RunDemo(ctx, server.DemoConfig{Listener: ln, AdminListener: admin, CertDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo returned %v after cancel", err)
		}
	})
	return ln.Addr().String()
}

// runChromium loads url in a fresh headless Chromium profile, through proxy
// if set, and returns its standard output.
func runChromium(t *testing.T, path, url, proxy string, extra ...string) string {
	t.Helper()
	profile := t.TempDir()
	args := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
		"--disable-sync", "--disable-extensions", "--user-data-dir=" + profile,
		"--ignore-certificate-errors", "--user-agent=" + personUA,
	}
	if proxy != "" {
		// Chromium never proxies loopback unless told not to bypass it.
		args = append(args, "--proxy-server="+proxy, "--proxy-bypass-list=<-loopback>")
	}
	args = append(args, extra...)
	args = append(args, url)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	p, err := startProcess(path, args, profile)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		p.stop(2 * time.Second)
		t.Fatalf("chromium did not finish: %v\n%s", ctx.Err(), tail(p.output(), 2000))
	}
	p.stop(time.Second) // Chromium's helpers may outlive it
	if p.err != nil {
		t.Fatalf("chromium: %v\n%s", p.err, tail(p.output(), 2000))
	}
	return p.stdout.String()
}

// mitmdump is a running mitmproxy.
type mitmdump struct {
	*process
	url string
}

// startMitmdump starts mitmdump on a free loopback port with its own
// confdir (its CA stays out of ~/.mitmproxy) and stops it when the test
// ends. --ssl-insecure: it must accept the example's self-signed
// certificate, as interceptors that do not check are common.
func startMitmdump(t *testing.T, path string) *mitmdump {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	confdir := t.TempDir()
	p, err := startProcess(path, []string{
		"--listen-host", "127.0.0.1", "--listen-port", strconv.Itoa(port),
		"--ssl-insecure", "--set", "confdir=" + confdir,
	}, confdir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.stop(5 * time.Second) })
	addr := "127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-p.done:
			t.Fatalf("mitmdump exited: %v\n%s", p.err, tail(p.output(), 2000))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("mitmdump not listening on %s:\n%s", addr, tail(p.output(), 2000))
		}
		time.Sleep(100 * time.Millisecond)
	}
	return &mitmdump{process: p, url: "http://" + addr}
}

// process is a child in its own process group, so that it is stopped with
// the helpers it spawns by signalling the group whose id is its PID:
// nothing but what this test started.
type process struct {
	cmd    *exec.Cmd
	stdout *lockedBuffer
	stderr *lockedBuffer
	done   chan struct{}
	err    error
}

func startProcess(path string, args []string, home string) (*process, error) {
	cmd := exec.Command(path, args...)
	cmd.Dir = home
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch strings.ToLower(k) {
		case "http_proxy", "https_proxy", "all_proxy", "no_proxy", "home":
			continue
		}
		env = append(env, kv)
	}
	cmd.Env = append(env, "HOME="+home)
	p := &process{cmd: cmd, stdout: new(lockedBuffer), stderr: new(lockedBuffer), done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A helper left running keeps the pipes open; Wait gives up on them
	// after WaitDelay, and stop kills the helper.
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	go func() {
		err := cmd.Wait()
		if errors.Is(err, exec.ErrWaitDelay) {
			err = nil
		}
		p.err = err
		close(p.done)
	}()
	return p, nil
}

// stop sends SIGTERM to the process group, waits up to grace, then sends
// SIGKILL to whatever is left of it.
func (p *process) stop(grace time.Duration) {
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	<-p.done
}

func (p *process) output() string { return p.stdout.String() + p.stderr.String() }

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
