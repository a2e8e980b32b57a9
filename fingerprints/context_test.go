package fingerprints

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"testing"
)

// ltWrapper is a conn wrapper of another package (PROXY protocol, metrics)
// that exposes what it wraps the way *tls.Conn does.
type ltWrapper struct {
	net.Conn
	next net.Conn
}

func (w *ltWrapper) NetConn() net.Conn { return w.next }

func TestConnContextFindsTheCapturingConn(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c, _ := ltAccept(t, a, ListenerConfig{})
	self := &ltWrapper{Conn: b}
	self.next = self

	tests := []struct {
		name string
		conn net.Conn
		want *Conn
	}{
		{name: "capturing_conn_itself", conn: c, want: c},
		{name: "under_a_tls_conn", conn: tls.Server(c, &tls.Config{}), want: c},
		{name: "under_tls_and_another_wrapper", conn: tls.Server(&ltWrapper{Conn: c, next: c}, &tls.Config{}), want: c},
		{name: "plain_conn_without_capture", conn: b, want: nil},
		{name: "tls_conn_without_capture", conn: tls.Server(b, &tls.Config{}), want: nil},
		{name: "wrapper_whose_netconn_is_itself_does_not_loop", conn: self, want: nil},
		{name: "wrapper_returning_nil", conn: &ltWrapper{Conn: b}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := ConnContext(context.Background(), tt.conn)
			got, ok := ConnFromContext(ctx)
			if got != tt.want || ok != (tt.want != nil) {
				t.Fatalf("ConnFromContext = %p, %v; want %p", got, ok, tt.want)
			}
			_, err := ClientHelloFromContext(ctx)
			if tt.want == nil && !errors.Is(err, ErrNoCapture) {
				t.Errorf("ClientHelloFromContext error %v, want ErrNoCapture", err)
			}
			if tt.want != nil && !errors.Is(err, ErrPending) {
				t.Errorf("ClientHelloFromContext error %v before any Read, want ErrPending", err)
			}
		})
	}
}

func TestClientHelloFromContextWithoutConnContext(t *testing.T) {
	if _, err := ClientHelloFromContext(context.Background()); !errors.Is(err, ErrNoCapture) {
		t.Errorf("error %v, want ErrNoCapture", err)
	}
	if c, ok := ConnFromContext(context.Background()); c != nil || ok {
		t.Errorf("ConnFromContext = %v, %v on an empty context", c, ok)
	}
}
