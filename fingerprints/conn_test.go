package fingerprints

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/iotest"
	"time"
)

// ltChunkConn is an in-memory client that delivers its bytes in chunks of
// the given sizes (repeated cyclically; none: everything at once), at most
// one chunk per Read, then io.EOF.
type ltChunkConn struct {
	mu    sync.Mutex
	data  []byte
	sizes []int
	next  int // index of the next chunk size
	left  int // bytes left in the current chunk
}

func ltChunked(b []byte, sizes ...int) *ltChunkConn {
	c := &ltChunkConn{}
	c.reset(b, sizes)
	return c
}

func (c *ltChunkConn) reset(b []byte, sizes []int) {
	c.mu.Lock()
	c.data, c.sizes, c.next, c.left = b, sizes, 0, 0
	c.mu.Unlock()
}

func (c *ltChunkConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	if c.left == 0 {
		c.left = len(c.data)
		if len(c.sizes) > 0 {
			c.left = max(c.sizes[c.next%len(c.sizes)], 1)
			c.next++
		}
	}
	n := copy(p, c.data[:min(c.left, len(c.data))])
	c.data = c.data[n:]
	c.left -= n
	return n, nil
}

func (c *ltChunkConn) Write(p []byte) (int, error)        { return len(p), nil }
func (c *ltChunkConn) Close() error                       { return nil }
func (c *ltChunkConn) LocalAddr() net.Addr                { return &net.TCPAddr{} }
func (c *ltChunkConn) RemoteAddr() net.Addr               { return &net.TCPAddr{} }
func (c *ltChunkConn) SetDeadline(t time.Time) error      { return nil }
func (c *ltChunkConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *ltChunkConn) SetWriteDeadline(t time.Time) error { return nil }

// ltAccept wraps inner as a Listener with cfg would on Accept.
func ltAccept(t testing.TB, inner net.Conn, cfg ListenerConfig) (*Conn, *Listener) {
	t.Helper()
	fl := NewListener(&ltOneConnListener{c: inner}, cfg)
	c, err := fl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	return c.(*Conn), fl
}

type ltOneConnListener struct{ c net.Conn }

func (l *ltOneConnListener) Accept() (net.Conn, error) { return l.c, nil }
func (l *ltOneConnListener) Close() error              { return nil }
func (l *ltOneConnListener) Addr() net.Addr            { return &net.TCPAddr{} }

func TestHelloScanner(t *testing.T) {
	_, clientTLS := ltTLS(t)
	hello := ltClientHello(t, clientTLS)
	// A record whose body holds the hello plus three bytes more.
	padded := append([]byte(nil), hello...)
	padded = append(padded, 0, 0, 0)
	padded[3], padded[4] = byte((len(padded)-5)>>8), byte(len(padded)-5)

	tests := []struct {
		name  string
		in    []byte
		limit int
		end   int   // expected end of the hello; 0: more bytes needed
		err   error // expected sentinel
	}{
		{name: "complete_hello_ends_with_its_record", in: hello, end: len(hello)},
		{name: "bytes_after_the_hello_record_are_not_part_of_it", in: append(append([]byte(nil), hello...), 0x14, 0x03, 0x03, 0x00, 0x01, 0x01), end: len(hello)},
		{name: "hello_fragmented_into_three_records_is_reassembled", in: ltReframe(hello, 100, 300), end: len(hello) + 10},
		{name: "handshake_header_split_over_one_byte_records", in: ltReframe(hello, 1, 1, 1, 1), end: len(hello) + 20},
		{name: "complete_message_waits_for_the_rest_of_its_record", in: padded[:len(padded)-1], end: 0},
		{name: "complete_message_ends_with_its_record", in: padded, end: len(padded)},
		{name: "hello_at_exactly_the_cap_fits", in: hello, limit: len(hello), end: len(hello)},
		{name: "incomplete_hello_needs_more_bytes", in: hello[:len(hello)-1], end: 0},
		{name: "no_bytes_need_more_bytes", in: nil, end: 0},
		{name: "plain_http_is_not_tls_from_its_first_byte", in: []byte("G"), err: ErrNotTLS},
		{name: "sslv2_compatible_hello_is_not_tls", in: []byte{0x80, 0x2e, 0x01, 0x03, 0x01}, err: ErrNotTLS},
		{name: "tls_alert_record_is_not_a_hello", in: []byte{0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x28}, err: ErrNotTLS},
		{name: "record_version_major_2_is_not_tls", in: []byte{0x16, 0x02}, err: ErrNotTLS},
		{name: "non_handshake_record_inside_the_hello_is_malformed", in: append(ltReframe(hello, 10)[:15], 0x15, 0x03, 0x03, 0x00, 0x02), err: ErrMalformed},
		{name: "second_record_with_version_major_0_is_malformed", in: append(ltReframe(hello, 10)[:15], 0x16, 0x00), err: ErrMalformed},
		{name: "server_hello_type_is_malformed", in: []byte{0x16, 0x03, 0x01, 0x00, 0x04, 0x02, 0x00, 0x00, 0x00}, err: ErrMalformed},
		{name: "zero_length_record_is_malformed", in: []byte{0x16, 0x03, 0x01, 0x00, 0x00}, err: ErrMalformed},
		{name: "record_longer_than_2_14_is_malformed", in: []byte{0x16, 0x03, 0x01, 0x40, 0x01}, err: ErrMalformed},
		{name: "record_over_the_cap_is_too_large_from_its_header", in: []byte{0x16, 0x03, 0x01, 0x04, 0x00}, limit: 1024, err: ErrTooLarge},
		{name: "handshake_length_over_the_cap_is_too_large_from_its_header", in: []byte{0x16, 0x03, 0x01, 0x00, 0x10, 0x01, 0x00, 0x10, 0x00}, limit: 1024, err: ErrTooLarge},
		{name: "hello_one_byte_over_the_cap_is_too_large", in: hello, limit: len(hello) - 1, err: ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			limit := tt.limit
			if limit == 0 {
				limit = DefaultMaxHelloSize
			}
			var whole helloScanner
			end, err := whole.scan(tt.in, limit)
			if end != tt.end || !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
				t.Fatalf("scan = %d, %v; want %d, %v", end, err, tt.end, tt.err)
			}
			// Byte by byte, one scanner must come to the same answer, and
			// no later than the whole input.
			var inc helloScanner
			for i := 1; i <= len(tt.in); i++ {
				end, err = inc.scan(tt.in[:i], limit)
				if end != 0 || err != nil {
					break
				}
			}
			if end != tt.end || !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
				t.Fatalf("byte by byte: scan = %d, %v; want %d, %v", end, err, tt.end, tt.err)
			}
		})
	}
}

func TestConnReplaysEveryByteUnchanged(t *testing.T) {
	_, clientTLS := ltTLS(t)
	hello := ltClientHello(t, clientTLS)
	more := append(append([]byte(nil), hello...), []byte("\x14\x03\x03\x00\x01\x01 and whatever comes after")...)
	big := append(append([]byte(nil), hello...), bytes.Repeat([]byte{0x17}, 20000)...)
	frag := ltReframe(hello, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7)

	tests := []struct {
		name  string
		in    []byte
		sizes []int // chunk sizes of the client's delivery
		cfg   ListenerConfig
		want  error // nil: a hello with ltServerName
	}{
		{name: "hello_in_one_read", in: hello},
		{name: "hello_in_one_byte_reads", in: hello, sizes: []int{1}},
		{name: "hello_in_uneven_reads", in: hello, sizes: []int{3, 1, 250, 4, 17}},
		{name: "hello_fragmented_in_small_records_and_reads", in: frag, sizes: []int{2, 5, 11}},
		{name: "bytes_after_the_hello_are_replayed_too", in: more},
		{name: "bytes_after_the_hello_in_the_same_read_larger_than_the_scratch_buffer", in: big},
		{name: "hello_larger_than_the_scratch_buffer", in: ltReframe(ltPadHello(t, hello, 9000), 16384)},
		{name: "plain_http_is_replayed", in: []byte("GET / HTTP/1.1\r\nHost: example.test\r\n\r\n"), sizes: []int{1}, want: ErrNotTLS},
		{name: "truncated_hello_is_replayed", in: hello[:len(hello)-10], sizes: []int{100}, want: ErrTruncated},
		{name: "hello_over_the_cap_is_replayed", in: hello, sizes: []int{64}, cfg: ListenerConfig{MaxHelloSize: 256}, want: ErrTooLarge},
		{name: "hello_over_a_cap_below_the_scratch_size", in: more, cfg: ListenerConfig{MaxHelloSize: len(hello) - 1}, want: ErrTooLarge},
		{name: "empty_stream", in: nil, want: ErrTruncated},
	}
	for _, tt := range tests {
		for _, oneByteReader := range []bool{false, true} {
			name := tt.name
			if oneByteReader {
				name += "/caller_reads_one_byte_at_a_time"
			}
			t.Run(name, func(t *testing.T) {
				c, fl := ltAccept(t, ltChunked(tt.in, tt.sizes...), tt.cfg)
				var r io.Reader = c
				if oneByteReader {
					r = iotest.OneByteReader(c)
				}
				got, err := io.ReadAll(r)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, tt.in) {
					t.Fatalf("read %d bytes that differ from the %d sent", len(got), len(tt.in))
				}
				h, err := c.ClientHello()
				if tt.want != nil {
					if h != nil || !errors.Is(err, tt.want) {
						t.Fatalf("capture (%v, %v), want %v", h, err, tt.want)
					}
				} else if err != nil || h.ServerName != ltServerName {
					t.Fatalf("capture (%v, %v)", h, err)
				}
				if limit := tt.cfg.MaxHelloSize; limit > 0 && len(c.buf) > limit {
					t.Errorf("buffered %d bytes, cap %d", len(c.buf), limit)
				}
				s := fl.Stats()
				if s.Conns != 1 || s.NotTLS+s.Truncated+s.TooLarge+s.Malformed+s.Timeout+s.Hellos != 1 {
					t.Errorf("stats %+v", s)
				}
			})
		}
	}
}

// ltPadHello returns hello (one record) with a padding extension (RFC
// 7685) appended so that the handshake message is n bytes, unframed: the
// caller frames it.
func ltPadHello(t testing.TB, hello []byte, n int) []byte {
	t.Helper()
	msg := append([]byte(nil), hello[recordHeaderLen:]...)
	pad := n - len(msg) - 4
	if pad < 0 {
		t.Fatalf("hello already %d bytes", len(msg))
	}
	msg = append(msg, byte(ExtPadding>>8), byte(ExtPadding), byte(pad>>8), byte(pad))
	msg = append(msg, make([]byte, pad)...)
	body := len(msg) - handshakeHeaderLen
	msg[1], msg[2], msg[3] = byte(body>>16), byte(body>>8), byte(body)
	// The extensions block length sits right before the first extension;
	// find it by walking the fixed fields.
	p := handshakeHeaderLen + 2 + 32
	p += 1 + int(msg[p])
	p += 2 + (int(msg[p])<<8 | int(msg[p+1]))
	p += 1 + int(msg[p])
	ext := (int(msg[p])<<8 | int(msg[p+1])) + 4 + pad
	msg[p], msg[p+1] = byte(ext>>8), byte(ext)
	rec := []byte{recordTypeHandshake, 0x03, 0x01, 0, 0}
	return append(rec, msg...) // length fixed by ltReframe
}

func TestConnClientHelloPendingUntilFirstRead(t *testing.T) {
	_, clientTLS := ltTLS(t)
	hello := ltClientHello(t, clientTLS)
	var calls int
	var hookHello *ClientHello
	c, _ := ltAccept(t, ltChunked(hello), ListenerConfig{OnHello: func(c *Conn, h *ClientHello, err error) {
		calls++
		hookHello = h
		if got, gerr := c.ClientHello(); got != h || gerr != err {
			t.Errorf("inside OnHello, ClientHello() = (%v, %v), hook got (%v, %v)", got, gerr, h, err)
		}
	}})
	if h, err := c.ClientHello(); h != nil || !errors.Is(err, ErrPending) {
		t.Fatalf("before the first Read: (%v, %v), want ErrPending", h, err)
	}
	p := make([]byte, 1)
	if _, err := c.Read(p); err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Fatalf("OnHello called %d times by the first Read, want 1", calls)
	}
	io.ReadAll(c)
	h, err := c.ClientHello()
	if err != nil || h != hookHello || h.ServerName != ltServerName {
		t.Fatalf("after capture (%v, %v), hook saw %v", h, err, hookHello)
	}
	if calls != 1 {
		t.Errorf("OnHello called %d times, want 1", calls)
	}
}

// ltDeadlineConn records the deadlines set on the wrapped conn and
// reports when the first Read starts.
type ltDeadlineConn struct {
	net.Conn
	mu        sync.Mutex
	reads     []time.Time
	writes    []time.Time
	readStart chan struct{}
	once      sync.Once
}

func (c *ltDeadlineConn) Read(p []byte) (int, error) {
	c.once.Do(func() { close(c.readStart) })
	return c.Conn.Read(p)
}

func (c *ltDeadlineConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	c.reads = append(c.reads, t)
	c.writes = append(c.writes, t)
	c.mu.Unlock()
	return c.Conn.SetDeadline(t)
}

func (c *ltDeadlineConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.reads = append(c.reads, t)
	c.mu.Unlock()
	return c.Conn.SetReadDeadline(t)
}

func (c *ltDeadlineConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.writes = append(c.writes, t)
	c.mu.Unlock()
	return c.Conn.SetWriteDeadline(t)
}

func (c *ltDeadlineConn) log() (reads, writes []time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.reads...), append([]time.Time(nil), c.writes...)
}

// ltPipe returns a capturing Conn over one end of an in-memory pipe, the
// deadline recorder under it and the client end.
func ltPipe(t *testing.T, cfg ListenerConfig) (*Conn, *ltDeadlineConn, net.Conn, *Listener) {
	t.Helper()
	server, client := net.Pipe()
	t.Cleanup(func() { server.Close(); client.Close() })
	rec := &ltDeadlineConn{Conn: server, readStart: make(chan struct{})}
	c, fl := ltAccept(t, rec, cfg)
	return c, rec, client, fl
}

func TestConnDeadlinesCombine(t *testing.T) {
	_, clientTLS := ltTLS(t)
	hello := ltClientHello(t, clientTLS)
	hour := time.Now().Add(time.Hour)
	minute := time.Now().Add(time.Minute)

	tests := []struct {
		name         string
		helloTimeout time.Duration
		caller       time.Time // read deadline set before the first Read
		// checks on the wrapped conn's read deadlines: during is the one
		// in force while the capture read, after the one left afterwards.
		during func(time.Time) bool
		after  time.Time
		calls  int // number of read deadlines set; -1: do not check
	}{
		{
			name: "hello_deadline_used_while_earlier_than_the_callers", helloTimeout: time.Minute, caller: hour,
			during: func(d time.Time) bool { return !d.IsZero() && d.Before(hour) }, after: hour, calls: 3,
		},
		{
			// The wrapped conn has the right deadline already: the capture
			// leaves it alone (two timer updates fewer per connection).
			name: "caller_deadline_earlier_than_the_hello_deadline_is_left_alone", helloTimeout: time.Hour, caller: minute,
			during: func(d time.Time) bool { return d.Equal(minute) }, after: minute, calls: 1,
		},
		{
			name: "hello_deadline_alone_then_no_deadline_again", helloTimeout: time.Minute,
			during: func(d time.Time) bool { return !d.IsZero() && d.Before(hour) }, after: time.Time{}, calls: 2,
		},
		{
			name: "negative_hello_timeout_sets_no_deadline", helloTimeout: -1,
			during: nil, calls: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, rec, client, _ := ltPipe(t, ListenerConfig{HelloTimeout: tt.helloTimeout})
			if !tt.caller.IsZero() {
				if err := c.SetReadDeadline(tt.caller); err != nil {
					t.Fatal(err)
				}
			}
			go client.Write(hello)
			got := make([]byte, len(hello))
			if _, err := io.ReadFull(c, got); err != nil {
				t.Fatal(err)
			}
			if h, err := c.ClientHello(); err != nil || h.ServerName != ltServerName {
				t.Fatalf("capture (%v, %v)", h, err)
			}
			reads, _ := rec.log()
			if len(reads) != tt.calls {
				t.Fatalf("read deadlines set: %v, want %d", reads, tt.calls)
			}
			if tt.calls == 0 {
				return
			}
			if len(reads) >= 2 {
				if d := reads[len(reads)-2]; !tt.during(d) {
					t.Errorf("deadline during the capture %v", d)
				}
			} else if !tt.during(reads[0]) {
				t.Errorf("deadline during the capture %v", reads[0])
			}
			if d := reads[len(reads)-1]; !d.Equal(tt.after) {
				t.Errorf("deadline after the capture %v, want the caller's %v", d, tt.after)
			}
			// After the capture, deadlines go straight through.
			if err := c.SetReadDeadline(hour); err != nil {
				t.Fatal(err)
			}
			if reads, _ := rec.log(); !reads[len(reads)-1].Equal(hour) {
				t.Errorf("deadline set after the capture not passed on: %v", reads)
			}
		})
	}
}

func TestConnDeadlineSetDuringCaptureCombines(t *testing.T) {
	// The deadline is set from another goroutine while the first Read is
	// blocked in the capture, as a caller aborting a handshake would.
	tests := []struct {
		name         string
		helloTimeout time.Duration
		set          func(c *Conn, t time.Time) error
		offset       time.Duration // the new deadline, from now
		wantOurs     bool          // the hello deadline ends the capture, not the new one
	}{
		{name: "earlier_read_deadline_ends_the_capture_with_the_callers_error", helloTimeout: time.Hour, set: (*Conn).SetReadDeadline, offset: -time.Second},
		{name: "earlier_deadline_ends_the_capture_with_the_callers_error", helloTimeout: time.Hour, set: (*Conn).SetDeadline, offset: -time.Second},
		{name: "later_read_deadline_does_not_lift_the_hello_deadline", helloTimeout: 20 * time.Millisecond, set: (*Conn).SetReadDeadline, offset: time.Hour, wantOurs: true},
		{name: "later_deadline_does_not_lift_the_hello_deadline", helloTimeout: 20 * time.Millisecond, set: (*Conn).SetDeadline, offset: time.Hour, wantOurs: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, rec, _, fl := ltPipe(t, ListenerConfig{HelloTimeout: tt.helloTimeout})
			errc := make(chan error, 1)
			go func() {
				_, err := c.Read(make([]byte, 10))
				errc <- err
			}()
			<-rec.readStart
			dl := time.Now().Add(tt.offset)
			if err := tt.set(c, dl); err != nil {
				t.Fatal(err)
			}
			var err error
			select {
			case err = <-errc:
			case <-time.After(time.Minute):
				// A watchdog, not a timing assertion: both deadlines
				// that can end this Read are far shorter.
				t.Fatal("Read still blocked: the new deadline replaced the hello deadline")
			}
			if !errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, ErrTimeout) != tt.wantOurs {
				t.Fatalf("Read error %v; want a deadline error, ErrTimeout %v", err, tt.wantOurs)
			}
			if _, err := c.ClientHello(); !errors.Is(err, ErrTimeout) {
				t.Errorf("capture error %v, want ErrTimeout", err)
			}
			if s := fl.Stats(); s.Timeout != 1 {
				t.Errorf("stats %+v", s)
			}
			reads, writes := rec.log()
			if !reads[len(reads)-1].Equal(dl) {
				t.Errorf("caller's deadline not in force after the capture: %v", reads)
			}
			if isSetDeadline := len(writes) > 0; isSetDeadline && !writes[len(writes)-1].Equal(dl) {
				t.Errorf("write deadline %v, want %v", writes, dl)
			}
		})
	}
}

func TestConnHelloTimeoutIsANetTimeout(t *testing.T) {
	c, rec, _, fl := ltPipe(t, ListenerConfig{HelloTimeout: 10 * time.Millisecond})
	_, err := c.Read(make([]byte, 10))
	var ne net.Error
	if !errors.Is(err, ErrTimeout) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Read error %v, want ErrTimeout and a net.Error timeout", err)
	}
	if _, cerr := c.ClientHello(); cerr != err {
		t.Errorf("capture error %v, Read error %v", cerr, err)
	}
	if s := fl.Stats(); s != (ListenerStats{Conns: 1, Timeout: 1}) {
		t.Errorf("stats %+v", s)
	}
	if reads, _ := rec.log(); !reads[len(reads)-1].IsZero() {
		t.Errorf("hello deadline left in place: %v", reads)
	}
}

func TestConnConcurrentUseIsRaceFree(t *testing.T) {
	// Run under -race: concurrent Reads, deadline changes and ClientHello
	// calls while the capture runs.
	_, clientTLS := ltTLS(t)
	hello := ltClientHello(t, clientTLS)
	c, _, client, _ := ltPipe(t, ListenerConfig{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for range 3 {
		wg.Go(func() {
			p := make([]byte, 7)
			for {
				n, err := c.Read(p)
				mu.Lock()
				total += n
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 100 {
			c.SetReadDeadline(time.Now().Add(time.Hour))
			c.ClientHello()
		}
	})
	for i := 0; i < len(hello); i += 100 {
		client.Write(hello[i:min(i+100, len(hello))])
	}
	for {
		if _, err := c.ClientHello(); !errors.Is(err, ErrPending) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	client.Close()
	wg.Wait()
	if total != len(hello) {
		t.Errorf("readers got %d bytes, want %d", total, len(hello))
	}
	if h, err := c.ClientHello(); err != nil || h.ServerName != ltServerName {
		t.Errorf("capture (%v, %v)", h, err)
	}
}

func TestConnCapturesEveryTestdataHelloAsParsed(t *testing.T) {
	// Every hello of the corpus, delivered in 1-byte and 3-byte reads and
	// re-framed into records of at most 512 bytes, must capture as the
	// parser reads it from the file.
	for _, name := range captureFiles(t) {
		raw, want := readCapture(t, name)
		frag := ltReframe(want.Raw, 512, 512, 512, 512, 512, 512, 512, 512)
		for _, in := range []struct {
			label string
			b     []byte
			sizes []int
		}{{"1-byte reads", raw, []int{1}}, {"3-byte reads", raw, []int{3}}, {"512-byte records", frag, nil}} {
			c, _ := ltAccept(t, ltChunked(in.b, in.sizes...), ListenerConfig{})
			got, err := io.ReadAll(c)
			if err != nil || !bytes.Equal(got, in.b) {
				t.Fatalf("%s, %s: replay differs (%v)", filepath.Base(name), in.label, err)
			}
			h, err := c.ClientHello()
			if err != nil {
				t.Fatalf("%s, %s: %v", filepath.Base(name), in.label, err)
			}
			if h.ServerName != want.ServerName || h.JA4() != want.JA4() || h.JA3() != want.JA3() {
				t.Errorf("%s, %s: captured %q %s, parsed %q %s", filepath.Base(name), in.label, h.ServerName, h.JA4(), want.ServerName, want.JA4())
			}
		}
	}
}

// ltEmptyConn returns no bytes and no error from every Read.
type ltEmptyConn struct{ ltChunkConn }

func (*ltEmptyConn) Read([]byte) (int, error) { return 0, nil }

func TestConnGivesUpOnAReaderThatMakesNoProgress(t *testing.T) {
	c, fl := ltAccept(t, &ltEmptyConn{}, ListenerConfig{})
	if _, err := c.Read(make([]byte, 10)); !errors.Is(err, io.ErrNoProgress) {
		t.Fatalf("Read error %v, want io.ErrNoProgress", err)
	}
	if _, err := c.ClientHello(); !errors.Is(err, ErrTruncated) {
		t.Errorf("capture error %v, want ErrTruncated", err)
	}
	if s := fl.Stats(); s.Truncated != 1 {
		t.Errorf("stats %+v", s)
	}
}
