package alerts

import (
	"errors"
	"net"
	"strconv"
	"sync"
	"syscall"
	"testing"
)

// refusingAddr returns a loopback address that refuses connections and
// that nothing else can bind until release is called (Cleanup calls it
// too): a TCP socket bound to a port of its own and never listening, so
// the kernel answers a connection attempt with a reset. A port found free
// and closed at once can be taken by the next listener on port 0 of any
// process: the receiver-down test once met another test's HTTPS server
// there during its 30 s.
func refusingAddr(t testing.TB) (addr string, release func()) {
	t.Helper()
	syscall.ForkLock.RLock()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() { once.Do(func() { syscall.Close(fd) }) }
	t.Cleanup(release)
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	port := sa.(*syscall.SockaddrInet4).Port
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), release
}

func TestRefusingAddrRefusesAndHoldsThePortUntilReleased(t *testing.T) {
	addr, release := refusingAddr(t)
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatal("a connection to the refusing address was accepted")
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial: %v, want connection refused", err)
	}
	if l, err := net.Listen("tcp", addr); err == nil {
		l.Close()
		t.Fatal("another listener could bind the held port")
	}
	release()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen after release: %v", err)
	}
	l.Close()
}
