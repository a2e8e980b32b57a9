package fingerprints

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultHelloTimeout is the default deadline for a client's ClientHello,
// counted from the connection's first Read.
const DefaultHelloTimeout = 10 * time.Second

// scratchSize is the capacity of the pooled buffer a capture first reads
// into; the bytes read are then copied into a buffer of their exact size,
// which the Conn keeps (as ClientHello.Raw) for the connection's life.
// Measured hellos (testdata/clienthello): Chromium 156 1917 bytes, Firefox
// ESR 153 1892, crypto/tls (Go 1.26) 1503, utls Chrome 131/133 parrots
// 1721 to 1842, Safari/iOS parrots 517, through mitmproxy 325. So 2 KiB
// would be just enough today; 4 KiB leaves room for the next key share
// while costing nothing per connection, the scratch being reused. A larger
// hello grows a buffer to its size.
const scratchSize = 4 << 10

// ListenerConfig configures a [Listener]. The zero value is ready to use:
// a 64 KiB cap, a 10 s hello deadline and no hook.
type ListenerConfig struct {
	// MaxHelloSize caps the bytes buffered for one ClientHello, record
	// headers included. A larger hello is not fingerprinted (ErrTooLarge)
	// but still reaches crypto/tls intact. Zero or negative means
	// [DefaultMaxHelloSize] (64 KiB).
	MaxHelloSize int

	// HelloTimeout is how long a client has, from the connection's first
	// Read, to deliver its whole ClientHello; it combines with any read
	// deadline the caller sets (the earlier wins, see [Conn]). Zero means
	// [DefaultHelloTimeout] (10 s); negative means no hello deadline.
	HelloTimeout time.Duration

	// OnHello, if non-nil, is called once per connection, on the
	// connection's own goroutine, when the capture ends: with the parsed
	// hello and a nil error, or a nil hello and the error. It must not
	// block: the handshake waits for it. Nil means no hook.
	OnHello func(c *Conn, h *ClientHello, err error)
}

// Listener wraps a net.Listener so that every accepted connection captures
// the raw ClientHello before crypto/tls reads it. Put it between the TCP
// (or PROXY protocol) listener and tls.NewListener or http.Server.ServeTLS,
// and set http.Server.ConnContext to [ConnContext].
//
// Accept never reads from a connection: the capture happens in the
// connection's first Read (see [Conn]), so a slow or silent client cannot
// delay the accept loop.
type Listener struct {
	inner   net.Listener
	maxSize int
	timeout time.Duration // <= 0: no hello deadline
	onHello func(*Conn, *ClientHello, error)
	scratch sync.Pool // *[]byte of capacity min(scratchSize, maxSize)

	conns, hellos, notTLS, truncated, tooLarge, malformed, timeouts atomic.Uint64
}

var _ net.Listener = (*Listener)(nil)

// ListenerStats counts capture outcomes since the [Listener] was created.
// Every accepted connection whose capture has ended is counted in exactly
// one of Hellos, NotTLS, Truncated, TooLarge, Malformed and Timeout.
type ListenerStats struct {
	Conns     uint64 // connections accepted
	Hellos    uint64 // ClientHellos captured and parsed
	NotTLS    uint64 // first bytes not a TLS handshake record (ErrNotTLS)
	Truncated uint64 // connection ended inside the hello (ErrTruncated)
	TooLarge  uint64 // hello over MaxHelloSize (ErrTooLarge)
	Malformed uint64 // hello framed or encoded wrongly (ErrMalformed)
	Timeout   uint64 // a read deadline passed before the hello was complete (ErrTimeout)
}

// NewListener returns a Listener that accepts from inner. Closing the
// Listener closes inner.
func NewListener(inner net.Listener, cfg ListenerConfig) *Listener {
	l := &Listener{
		inner:   inner,
		maxSize: cfg.MaxHelloSize,
		timeout: cfg.HelloTimeout,
		onHello: cfg.OnHello,
	}
	if l.maxSize <= 0 {
		l.maxSize = DefaultMaxHelloSize
	}
	if l.timeout == 0 {
		l.timeout = DefaultHelloTimeout
	}
	size := min(scratchSize, l.maxSize)
	l.scratch.New = func() any {
		b := make([]byte, size)
		return &b
	}
	return l
}

// Accept waits for the next connection and returns it wrapped in a *[Conn].
// It does not read from the connection.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.inner.Accept()
	if err != nil {
		return nil, err
	}
	l.conns.Add(1)
	return &Conn{Conn: c, l: l}, nil
}

// Close closes the wrapped listener.
func (l *Listener) Close() error { return l.inner.Close() }

// Addr returns the wrapped listener's address.
func (l *Listener) Addr() net.Addr { return l.inner.Addr() }

// Stats returns the capture counters. Each field is read atomically; the
// set as a whole is not a snapshot.
func (l *Listener) Stats() ListenerStats {
	return ListenerStats{
		Conns:     l.conns.Load(),
		Hellos:    l.hellos.Load(),
		NotTLS:    l.notTLS.Load(),
		Truncated: l.truncated.Load(),
		TooLarge:  l.tooLarge.Load(),
		Malformed: l.malformed.Load(),
		Timeout:   l.timeouts.Load(),
	}
}

// count records one capture outcome. An error wrapping no sentinel (none
// is expected) counts as malformed.
func (l *Listener) count(err error) {
	switch {
	case err == nil:
		l.hellos.Add(1)
	case errors.Is(err, ErrTimeout):
		l.timeouts.Add(1)
	case errors.Is(err, ErrNotTLS):
		l.notTLS.Add(1)
	case errors.Is(err, ErrTooLarge):
		l.tooLarge.Add(1)
	case errors.Is(err, ErrTruncated):
		l.truncated.Add(1)
	default:
		l.malformed.Add(1)
	}
}

func (l *Listener) getScratch() *[]byte  { return l.scratch.Get().(*[]byte) }
func (l *Listener) putScratch(b *[]byte) { l.scratch.Put(b) }
