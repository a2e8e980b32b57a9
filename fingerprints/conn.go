package fingerprints

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// ErrPending is returned by [Conn.ClientHello] until the capture has ended:
// before the first Read of the connection, or while that Read is still
// waiting for the client's hello.
var ErrPending = errors.New("fingerprints: ClientHello capture still pending")

// maxEmptyReads is how many reads in a row may return no bytes and no
// error before the capture gives up with io.ErrNoProgress (bufio's limit).
const maxEmptyReads = 100

// Capture states of a [Conn], in the order they are passed through.
const (
	stateIdle      uint32 = iota // no Read yet
	stateCapturing               // the first Read is reading the hello
	stateReplay                  // result published; captured bytes not all handed out
	statePass                    // every captured byte handed out: reads go straight through
)

// Conn is a connection accepted by a [Listener]. Its first Read captures the
// client's ClientHello, then hands every captured byte, in order and
// unchanged, to the caller (normally crypto/tls) before later reads go
// straight to the wrapped connection. Writes are not touched.
//
// # Why the capture runs inside Read
//
// [Listener.Accept] only wraps the connection: it never reads. The hello is
// read by the first Read call, which crypto/tls makes from the goroutine
// that serves this one connection (http.Server runs the handshake in the
// per-connection goroutine it starts after Accept). A client that connects
// and stays silent therefore holds up only its own goroutine, never the
// accept loop, and every other client keeps being accepted and served.
//
// # How deadlines combine
//
// While the capture runs, the wrapped connection's read deadline is the
// earlier of two: the deadline the caller set with SetDeadline or
// SetReadDeadline (crypto/tls, http.Server's ReadTimeout, …) and the hello
// deadline (the first Read plus [ListenerConfig.HelloTimeout]). Conn
// remembers the caller's read deadline, so a deadline set during the
// capture, even from another goroutine, is combined the same way; when the
// capture ends the caller's deadline is put back. If the caller's deadline
// fires, Read returns the wrapped connection's error unchanged, exactly as
// without capture. If the hello deadline fires first, Read returns an error
// that wraps [ErrTimeout] and reports Timeout() == true.
type Conn struct {
	net.Conn

	l *Listener

	// state is read without a lock: Read's fast path, ClientHello from other
	// goroutines. hello and err are written before state leaves
	// stateCapturing and never again, so a reader that sees stateReplay or
	// later sees them too.
	state atomic.Uint32
	hello *ClientHello
	err   error

	// readMu serialises Reads until the captured bytes are handed out.
	// buf holds every byte the capture read, off how many of them Read has
	// returned, and readErr the error the wrapped connection returned when
	// the capture stopped, to be handed out after the bytes.
	readMu  sync.Mutex
	buf     []byte
	off     int
	readErr error

	// dlMu guards the deadline bookkeeping. readDL is the caller's read
	// deadline; helloDL is the hello deadline, zero outside the capture.
	// moved says the wrapped conn's read deadline is not readDL but the
	// earlier helloDL, to be put back when the capture ends.
	dlMu    sync.Mutex
	readDL  time.Time
	helloDL time.Time
	moved   bool
}

var _ net.Conn = (*Conn)(nil)

// NetConn returns the wrapped connection, so that whatever it carries (the
// PROXY protocol's source address, for instance) stays reachable.
func (c *Conn) NetConn() net.Conn { return c.Conn }

// ClientHello returns the result of the capture: the parsed hello, or an
// error that wraps [ErrNotTLS], [ErrTruncated], [ErrTooLarge],
// [ErrMalformed] or [ErrTimeout]. Before the capture has ended it returns
// (nil, [ErrPending]). It is safe to call from any goroutine; the returned
// ClientHello must not be modified.
func (c *Conn) ClientHello() (*ClientHello, error) {
	if c.state.Load() < stateReplay {
		return nil, ErrPending
	}
	return c.hello, c.err
}

// Read reads from the connection. The first call captures the ClientHello
// (see [Conn]); after the captured bytes have been handed out, Read is the
// wrapped connection's Read behind one branch.
func (c *Conn) Read(p []byte) (int, error) {
	if c.state.Load() == statePass {
		return c.Conn.Read(p)
	}
	return c.readSlow(p)
}

func (c *Conn) readSlow(p []byte) (int, error) {
	c.readMu.Lock()
	if c.state.Load() == stateIdle {
		c.capture()
		if f := c.l.onHello; f != nil {
			// Outside readMu, so that a hook calling back into c (a
			// Read, a Close) cannot deadlock.
			c.readMu.Unlock()
			f(c, c.hello, c.err)
			c.readMu.Lock()
		}
	}
	if c.off < len(c.buf) {
		n := copy(p, c.buf[c.off:])
		c.off += n
		if c.off == len(c.buf) && c.readErr == nil {
			c.state.Store(statePass)
		}
		c.readMu.Unlock()
		return n, nil
	}
	err := c.readErr
	c.readErr = nil
	c.state.Store(statePass)
	c.readMu.Unlock()
	if err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

// SetDeadline sets the read and write deadlines. During the capture the
// read deadline is combined with the hello deadline (see [Conn]).
func (c *Conn) SetDeadline(t time.Time) error {
	if c.state.Load() >= stateReplay {
		return c.Conn.SetDeadline(t)
	}
	c.dlMu.Lock()
	defer c.dlMu.Unlock()
	c.readDL = t
	if c.helloDL.IsZero() {
		return c.Conn.SetDeadline(t)
	}
	if err := c.Conn.SetWriteDeadline(t); err != nil {
		return err
	}
	return c.setReadLocked()
}

// SetReadDeadline sets the read deadline. During the capture it is
// combined with the hello deadline (see [Conn]).
func (c *Conn) SetReadDeadline(t time.Time) error {
	if c.state.Load() >= stateReplay {
		return c.Conn.SetReadDeadline(t)
	}
	c.dlMu.Lock()
	defer c.dlMu.Unlock()
	c.readDL = t
	return c.setReadLocked()
}

// setReadLocked gives the wrapped conn the earlier of the caller's and the
// hello deadline. dlMu is held.
func (c *Conn) setReadLocked() error {
	dl := earlier(c.readDL, c.helloDL)
	c.moved = !dl.Equal(c.readDL)
	return c.Conn.SetReadDeadline(dl)
}

// earlier returns the earlier of two deadlines, where zero means none.
func earlier(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// capture reads the ClientHello, parses it, counts and publishes the
// result. It runs once, under readMu, from the first Read.
func (c *Conn) capture() {
	c.state.Store(stateCapturing)
	l := c.l
	if l.timeout > 0 {
		c.dlMu.Lock()
		c.helloDL = time.Now().Add(l.timeout)
		// When the caller's deadline comes first (http.Server sets one
		// for the handshake when it has a ReadHeaderTimeout or
		// ReadTimeout no longer than the hello timeout), the wrapped conn
		// already has the right one: setting it again, and putting it
		// back after, would cost two timer updates per connection for
		// nothing. An error means the wrapped conn has no deadlines; the
		// capture then runs without one, as the conn would without us.
		if !earlier(c.readDL, c.helloDL).Equal(c.readDL) {
			_ = c.setReadLocked()
		}
		c.dlMu.Unlock()
	}

	scratch := l.getScratch()
	buf := (*scratch)[:0]
	var (
		sc    helloScanner
		end   int
		err   error
		grown bool
		empty int // consecutive reads that returned nothing
	)
	for {
		if len(buf) == cap(buf) {
			if cap(buf) >= l.maxSize {
				err = fmt.Errorf("%w: more than %d bytes", ErrTooLarge, l.maxSize)
				break
			}
			buf = grow(buf, sc.grownCap(cap(buf), l.maxSize))
			grown = true
		}
		n, rerr := c.Conn.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		end, err = sc.scan(buf, l.maxSize)
		if err != nil || end > 0 {
			c.readErr = rerr
			break
		}
		if n == 0 && rerr == nil {
			// A reader that keeps returning nothing would spin this loop;
			// give up as bufio does.
			if empty++; empty >= maxEmptyReads {
				rerr = io.ErrNoProgress
			}
		} else {
			empty = 0
		}
		if rerr != nil {
			c.readErr = rerr
			err = c.readFailed(rerr, len(buf))
			break
		}
	}

	if l.timeout > 0 {
		c.dlMu.Lock()
		c.helloDL = time.Time{}
		if c.moved {
			c.moved = false
			_ = c.Conn.SetReadDeadline(c.readDL)
		}
		c.dlMu.Unlock()
	}

	// Keep only the bytes read, in a buffer of their exact size, and give
	// the scratch buffer back: a hello is ~0.5 to 2 KB and this Conn keeps
	// it (as ClientHello.Raw) for as long as the connection lives.
	if !grown {
		if len(buf) > 0 {
			buf = append(make([]byte, 0, len(buf)), buf...)
		} else {
			buf = nil
		}
	}
	l.putScratch(scratch)
	c.buf = buf

	var h *ClientHello
	if err == nil {
		h, err = ParseClientHello(buf[:end])
	}
	l.count(err)
	c.hello, c.err = h, err
	c.state.Store(stateReplay)
}

// readFailed turns the wrapped conn's read error during the capture into
// the capture's error. A timeout whose deadline was the hello deadline is
// replaced, in what Read returns, by a [helloTimeoutError].
func (c *Conn) readFailed(rerr error, got int) error {
	var ne net.Error
	if !errors.As(rerr, &ne) || !ne.Timeout() {
		return fmt.Errorf("%w: connection ended after %d bytes: %w", ErrTruncated, got, rerr)
	}
	c.dlMu.Lock()
	ours := !c.helloDL.IsZero() && !time.Now().Before(c.helloDL) &&
		(c.readDL.IsZero() || !c.readDL.Before(c.helloDL))
	c.dlMu.Unlock()
	if ours {
		c.readErr = &helloTimeoutError{after: c.l.timeout, got: got, err: rerr}
		return c.readErr
	}
	return fmt.Errorf("%w: read deadline passed after %d bytes: %w", ErrTimeout, got, rerr)
}

// helloTimeoutError is what Read returns when the hello deadline fires. It
// is a net.Error with Timeout() true, like the wrapped conn's own deadline
// errors, and wraps both [ErrTimeout] and that error.
type helloTimeoutError struct {
	after time.Duration
	got   int
	err   error
}

func (e *helloTimeoutError) Error() string {
	return fmt.Sprintf("fingerprints: no complete ClientHello within %v (%d bytes received): %v", e.after, e.got, e.err)
}
func (e *helloTimeoutError) Unwrap() []error { return []error{ErrTimeout, e.err} }
func (e *helloTimeoutError) Timeout() bool   { return true }

// Temporary mirrors os.ErrDeadlineExceeded, which also reports true.
func (e *helloTimeoutError) Temporary() bool { return true }

// grow returns buf's bytes in a new buffer of capacity n.
func grow(buf []byte, n int) []byte {
	nb := make([]byte, len(buf), n)
	copy(nb, buf)
	return nb
}

// helloScanner finds where a record-framed ClientHello ends in a stream
// that arrives piece by piece. Each call to scan continues where the last
// stopped, so a hello delivered one byte at a time costs linear work.
type helloScanner struct {
	pos    int     // next byte to examine
	recEnd int     // end of the current record's body; pos == recEnd: a record header is next
	hdr    [4]byte // handshake message header, possibly gathered across records
	got    int     // handshake message bytes seen so far
	want   int     // handshake message length, header included; 0 until known
}

// scan examines b (the bytes so far; a longer b each call) and returns the
// end of the record that completes the hello, 0 when more bytes are needed,
// or an error once b cannot start a hello of at most limit bytes. It decides
// as early as the bytes allow: a first byte other than 0x16 is [ErrNotTLS]
// at once, so a plain HTTP request is handed to crypto/tls without waiting.
func (s *helloScanner) scan(b []byte, limit int) (int, error) {
	for {
		if s.want > 0 && s.got == s.want {
			// The message is complete; the record holding its last byte
			// must be, too, for ParseClientHello.
			if s.recEnd <= len(b) {
				return s.recEnd, nil
			}
			return 0, nil
		}
		if s.pos == s.recEnd {
			if err := s.header(b[s.pos:], limit); err != nil {
				return 0, err
			}
			if s.pos == s.recEnd { // header incomplete
				return 0, nil
			}
			continue
		}
		stop := min(len(b), s.recEnd)
		if s.pos == stop {
			return 0, nil
		}
		if s.got < handshakeHeaderLen {
			s.hdr[s.got] = b[s.pos]
			s.got++
			s.pos++
			if s.got == handshakeHeaderLen {
				if s.hdr[0] != handshakeTypeClientHello {
					return 0, fmt.Errorf("%w: handshake type %d is not a ClientHello", ErrMalformed, s.hdr[0])
				}
				s.want = handshakeHeaderLen + (int(s.hdr[1])<<16 | int(s.hdr[2])<<8 | int(s.hdr[3]))
				// The record headers seen so far plus the whole message is
				// the least the hello can take.
				if least := s.pos - s.got + s.want; least > limit {
					return 0, fmt.Errorf("%w: handshake message of %d bytes, cap %d", ErrTooLarge, s.want, limit)
				}
			}
			continue
		}
		take := min(stop-s.pos, s.want-s.got)
		s.pos += take
		s.got += take
	}
}

// header checks the record header at the start of h (which may be short)
// and, when all five bytes are there, steps over it.
func (s *helloScanner) header(h []byte, limit int) error {
	first := s.pos == 0
	if len(h) >= 1 && h[0] != recordTypeHandshake {
		if first {
			return fmt.Errorf("%w: first byte 0x%02x is not a handshake record", ErrNotTLS, h[0])
		}
		return fmt.Errorf("%w: record type %d inside the ClientHello", ErrMalformed, h[0])
	}
	// Every SSLv3 and TLS record version has major version 3 (RFC 8446
	// §5.1, legacy_record_version).
	if len(h) >= 2 && h[1] != 3 {
		if first {
			return fmt.Errorf("%w: record version major %d", ErrNotTLS, h[1])
		}
		return fmt.Errorf("%w: record version major %d inside the ClientHello", ErrMalformed, h[1])
	}
	if len(h) < recordHeaderLen {
		return nil
	}
	n := int(h[3])<<8 | int(h[4])
	// RFC 8446 §5.1: a plaintext record holds 1 to 2^14 bytes, and
	// zero-length handshake fragments are forbidden.
	if n == 0 || n > maxRecordLen {
		return fmt.Errorf("%w: record length %d", ErrMalformed, n)
	}
	end := s.pos + recordHeaderLen + n
	if end > limit {
		return fmt.Errorf("%w: record ends at byte %d, cap %d", ErrTooLarge, end, limit)
	}
	s.pos += recordHeaderLen
	s.recEnd = end
	return nil
}

// grownCap is the capacity for a full capture buffer of capacity have.
// When the current record is known to complete the hello, that is exactly
// its end; otherwise at least double, so that a hello fragmented into many
// small records is not copied over and over.
func (s *helloScanner) grownCap(have, limit int) int {
	n := 2 * have
	if s.want > 0 && s.pos < s.recEnd && s.pos-s.got+s.want <= s.recEnd {
		n = s.recEnd
	} else if s.recEnd > n {
		n = s.recEnd
	}
	return min(max(n, have+1), limit)
}
