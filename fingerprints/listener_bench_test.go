//go:build unix

// The handshake benchmark reads the process's CPU time with getrusage,
// hence unix only.

package fingerprints

import (
	"crypto/tls"
	"io"
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// ltCPUTime is the CPU time (user + system) the process has used.
func ltCPUTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkHandshake measures full TLS 1.3 handshakes over loopback, each
// iteration a new TCP connection, tls.Dial, handshake and close, against a
// crypto/tls server on a plain listener and on a capture Listener. The
// difference is what capture costs a connection. Allocations are counted
// process-wide, so they include the server side; so is cpu-ns/op, the
// process's CPU time per handshake, which unlike ns/op barely moves when
// other processes compete for the CPUs.
//
//	go test ./fingerprints -run '^$' -bench Handshake -count 6
func BenchmarkHandshake(b *testing.B) {
	for _, bc := range []struct {
		name    string
		capture bool
	}{{"plain", false}, {"captured", true}} {
		b.Run(bc.name, func(b *testing.B) {
			serverTLS, clientTLS := ltTLS(b)
			serverTLS.MinVersion = tls.VersionTLS13
			clientTLS.MinVersion = tls.VersionTLS13
			var ln net.Listener = ltListen(b)
			var fl *Listener
			if bc.capture {
				fl = NewListener(ln, ListenerConfig{})
				ln = fl
			}
			tl := tls.NewListener(ln, serverTLS)
			go func() {
				for {
					c, err := tl.Accept()
					if err != nil {
						return
					}
					go func() {
						c.(*tls.Conn).Handshake()
						c.Close()
					}()
				}
			}()
			addr := ln.Addr().String()
			b.ReportAllocs()
			var cpu time.Duration
			n := 0
			for b.Loop() {
				if n == 0 {
					cpu = ltCPUTime(b)
				}
				n++
				c, err := tls.Dial("tcp", addr, clientTLS)
				if err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
			b.ReportMetric(float64(ltCPUTime(b)-cpu)/float64(n), "cpu-ns/op")
			b.StopTimer()
			if fl != nil {
				if s := fl.Stats(); s.Conns > 0 && s.Hellos == 0 {
					b.Fatalf("nothing captured: %+v", s)
				}
			}
		})
	}
}

// BenchmarkConnCapture measures the capture alone: a Conn over an
// in-memory client, read to the end, for realistic hellos and for the
// inputs an attacker would choose.
func BenchmarkConnCapture(b *testing.B) {
	_, clientTLS := ltTLS(b)
	goHello := ltClientHello(b, clientTLS)
	// The worst an attacker can make the capture buffer and scan: a
	// handshake that claims 60 KiB, sent in 1-byte records (6 bytes each on
	// the wire) until the 64 KiB cap is hit.
	tiny := []byte{recordTypeHandshake, 3, 1, 0, 4, handshakeTypeClientHello, 0x00, 0xf0, 0x00}
	for len(tiny) < DefaultMaxHelloSize+64 {
		tiny = append(tiny, recordTypeHandshake, 3, 1, 0, 1, 0)
	}
	// A hello that claims 16 MiB is refused from its first 9 bytes.
	huge := append([]byte{recordTypeHandshake, 3, 1, 0, 4, handshakeTypeClientHello, 0xff, 0xff, 0xff}, tiny[9:]...)
	type input struct {
		name  string
		in    []byte
		sizes []int
	}
	inputs := []input{
		{name: "crypto_tls_hello", in: goHello},
		{name: "hello_in_one_byte_reads", in: goHello, sizes: []int{1}},
		{name: "60KiB_hello_in_4_records", in: ltReframe(ltPadHello(b, goHello, 60<<10), 16384)},
		{name: "one_byte_records_up_to_the_64KiB_cap", in: tiny},
		{name: "hello_claiming_16MiB", in: huge},
		{name: "plain_http", in: []byte("GET / HTTP/1.1\r\nHost: example.test\r\n\r\n")},
	}
	if raw, err := readHexFile(filepath.Join("..", "testdata", "clienthello", "chromium-156-direct.hex")); err == nil {
		inputs = append([]input{{name: "chromium_156_hello", in: raw}}, inputs...)
	}
	for _, in := range inputs {
		b.Run(in.name, func(b *testing.B) {
			// One listener for all iterations, as in a server, so that its
			// scratch buffers are reused.
			client := ltChunked(nil)
			fl := NewListener(&ltOneConnListener{c: client}, ListenerConfig{HelloTimeout: -1})
			p := make([]byte, 16<<10)
			b.SetBytes(int64(len(in.in)))
			b.ReportAllocs()
			for b.Loop() {
				client.reset(in.in, in.sizes)
				nc, _ := fl.Accept()
				c := nc.(*Conn)
				for {
					if _, err := c.Read(p); err == io.EOF {
						break
					}
				}
			}
		})
	}
}
