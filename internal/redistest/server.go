package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options configures a test server. The zero value is a throw-away server:
// no RDB snapshots, no append-only file, a fresh temporary directory.
type Options struct {
	// Persistent turns on the append-only file with appendfsync always, so
	// a server killed with SIGKILL and restarted by [Server.Restart] keeps
	// every write it acknowledged. Fault tests need it: without persistence
	// a killed Redis loses its data, whatever the client does.
	// Default false (--save "" --appendonly no).
	Persistent bool

	// StartTimeout bounds how long Start and Restart wait for the server to
	// answer PING. Default 10 s.
	StartTimeout time.Duration

	// cluster starts the server with --cluster-enabled yes (set by
	// StartCluster).
	cluster bool
	// sentinelOf makes the process a Sentinel monitoring that master (set
	// by StartSentinel).
	sentinelOf *Server
}

// Server is one redis-server process listening on 127.0.0.1.
type Server struct {
	// Addr is "127.0.0.1:port".
	Addr string
	// Port is the TCP port; Restart reuses it.
	Port int

	opts Options
	dir  string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Check reports whether redis-server and redis-cli are on PATH.
func Check() error {
	for _, bin := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("redistest: %s not found on PATH (install the redis-server and redis-tools packages): %w", bin, err)
		}
	}
	return nil
}

// InCI reports whether the tests run under CI=true, where a missing
// redis-server is a failure rather than a reason to skip.
func InCI() bool { return os.Getenv("CI") == "true" }

// Start starts a redis-server on a free loopback port and waits until it
// answers PING.
func Start(opts Options) (*Server, error) {
	if err := Check(); err != nil {
		return nil, err
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 10 * time.Second
	}
	dir, err := os.MkdirTemp("", "redistest-")
	if err != nil {
		return nil, fmt.Errorf("redistest: temp dir: %w", err)
	}
	// A port that a concurrent process grabs between our probe and
	// redis-server's bind makes the start fail; try a few ports.
	var lastErr error
	for range 5 {
		port, err := freePort(opts.cluster)
		if err != nil {
			lastErr = err
			continue
		}
		s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Port: port, opts: opts, dir: dir}
		if err := s.start(); err != nil {
			lastErr = err
			continue
		}
		return s, nil
	}
	_ = os.RemoveAll(dir)
	return nil, lastErr
}

// PID returns the process id of the running server, or 0 if it is stopped.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Dir is the server's working directory (append-only file, cluster config,
// log file redis.log).
func (s *Server) Dir() string { return s.dir }

func (s *Server) args() []string {
	var a []string
	if m := s.opts.sentinelOf; m != nil {
		// Sentinel rewrites its config file, so it gets its own; the
		// monitored master is named "mymaster" with a quorum of 1.
		conf := filepath.Join(s.dir, "sentinel.conf")
		if _, err := os.Stat(conf); err != nil {
			_ = os.WriteFile(conf, []byte("sentinel monitor "+SentinelMaster+" 127.0.0.1 "+strconv.Itoa(m.Port)+" 1\n"), 0o600)
		}
		a = append(a, conf, "--sentinel")
	}
	a = append(a,
		"--port", strconv.Itoa(s.Port),
		"--bind", "127.0.0.1",
		"--dir", s.dir,
		"--save", "",
		"--logfile", filepath.Join(s.dir, "redis.log"),
		"--daemonize", "no",
		"--protected-mode", "yes",
	)
	if s.opts.Persistent {
		a = append(a, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		a = append(a, "--appendonly", "no")
	}
	if s.opts.cluster {
		a = append(a,
			"--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(s.dir, "nodes.conf"),
			"--cluster-node-timeout", "5000")
	}
	return a
}

func (s *Server) start() error {
	cmd := exec.Command("redis-server", s.args()...)
	cmd.Dir = s.dir
	// If the test binary dies without running its cleanup, the kernel
	// kills the server: tests' servers stop by themselves. The signal
	// fires when the *thread* that forked the child exits (go.dev/issue/27505),
	// so the fork happens on a goroutine locked to its thread that stays
	// blocked in Wait until the child has exited.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	started := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(done)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("redistest: start redis-server: %w", err)
	}
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()

	deadline := time.Now().Add(s.opts.StartTimeout)
	for {
		select {
		case <-done:
			return fmt.Errorf("redistest: redis-server on port %d exited at start: %s", s.Port, s.logTail())
		default:
		}
		if reply, err := Do(s.Addr, "PING"); err == nil && reply == "PONG" {
			return nil
		}
		if time.Now().After(deadline) {
			_ = s.Kill()
			return fmt.Errorf("redistest: redis-server on port %d did not answer PING within %s: %s", s.Port, s.opts.StartTimeout, s.logTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *Server) logTail() string {
	b, err := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	if err != nil {
		return "(no log)"
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// Kill sends SIGKILL to the server's PID and waits for it to exit: the
// crash a fault test simulates. The data directory is kept for Restart.
func (s *Server) Kill() error {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd, s.done = nil, nil
	s.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return nil
	}
	if err := syscall.Kill(cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("redistest: kill pid %d: %w", cmd.Process.Pid, err)
	}
	select {
	case <-done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("redistest: pid %d did not exit after SIGKILL", cmd.Process.Pid)
	}
}

// Restart starts the server again on the same port and directory; with
// [Options.Persistent] it reloads its append-only file.
func (s *Server) Restart() error {
	if s.PID() != 0 {
		if err := s.Kill(); err != nil {
			return err
		}
	}
	var err error
	// The port was ours a moment ago; retry briefly in case the kernel
	// still holds it.
	for range 50 {
		if err = s.start(); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

// Stop kills the server by its PID and removes its directory.
func (s *Server) Stop() error {
	err := s.Kill()
	if rmErr := os.RemoveAll(s.dir); err == nil && rmErr != nil {
		err = fmt.Errorf("redistest: remove %s: %w", s.dir, rmErr)
	}
	return err
}

// freePort returns a loopback port that is free now; for a cluster node the
// cluster bus port (port+10000) must be free too.
func freePort(cluster bool) (int, error) {
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("redistest: find free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		if !cluster {
			return port, nil
		}
		if port+10000 > 65535 {
			continue
		}
		bus, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+10000)))
		if err != nil {
			continue
		}
		_ = bus.Close()
		return port, nil
	}
	return 0, errors.New("redistest: no free port pair for a cluster node")
}

// Do sends one command to addr over a fresh connection and returns the
// reply as a string (simple string, bulk string or integer). It needs no
// client library, so the helper can set servers up before go-redis runs.
func Do(addr string, args ...string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", fmt.Errorf("redistest: dial %s: %w", addr, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := conn.Write([]byte(b.String())); err != nil {
		return "", fmt.Errorf("redistest: write to %s: %w", addr, err)
	}
	return readReply(bufio.NewReader(conn), addr)
}

// readReply reads one RESP reply; an array comes back as its elements
// joined by spaces.
func readReply(r *bufio.Reader, addr string) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("redistest: read from %s: %w", addr, err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", fmt.Errorf("redistest: empty reply from %s", addr)
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", fmt.Errorf("redistest: %s replied %q", addr, line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil {
			return "", fmt.Errorf("redistest: bad bulk length %q", line)
		}
		if n < 0 {
			return "", nil
		}
		buf := make([]byte, n+2)
		if _, err := readFull(r, buf); err != nil {
			return "", fmt.Errorf("redistest: read bulk from %s: %w", addr, err)
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(line[1:])
		if err != nil {
			return "", fmt.Errorf("redistest: bad array length %q", line)
		}
		elems := make([]string, 0, max(n, 0))
		for range n {
			e, err := readReply(r, addr)
			if err != nil {
				return "", err
			}
			elems = append(elems, e)
		}
		return strings.Join(elems, " "), nil
	default:
		return "", fmt.Errorf("redistest: unsupported reply %q from %s", line, addr)
	}
}

func readFull(r *bufio.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
