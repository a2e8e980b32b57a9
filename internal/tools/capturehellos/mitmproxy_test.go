package main

import (
	"context"
	"errors"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"
)

func TestMitmdumpArgs(t *testing.T) {
	args := mitmdumpArgs(8080, "/conf")
	for _, pair := range [][2]string{
		{"--listen-host", "127.0.0.1"}, // loopback only
		{"--listen-port", "8080"},
		{"--set", "confdir=/conf"}, // its CA stays out of ~/.mitmproxy
	} {
		i := slices.Index(args, pair[0])
		if i < 0 || i+1 >= len(args) || args[i+1] != pair[1] {
			t.Errorf("want %s %s in %q", pair[0], pair[1], args)
		}
	}
	if !slices.Contains(args, "--ssl-insecure") {
		t.Errorf("missing --ssl-insecure: the capture CA is unknown to mitmproxy: %q", args)
	}
}

func TestWaitListening(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port, err := freePort() // nothing listens there
	if err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	close(exited)
	tests := []struct {
		name    string
		addr    string
		exited  <-chan struct{}
		wantErr error
	}{
		{"listening_address_returns_nil", ln.Addr().String(), nil, nil},
		{"silent_address_times_out", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil, context.DeadlineExceeded},
		{"dead_process_stops_the_wait", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), exited, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			err := waitListening(ctx, tt.addr, tt.exited)
			switch {
			case tt.exited != nil:
				if err == nil || errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("err = %v, want a process-exited error", err)
				}
			case !errors.Is(err, tt.wantErr):
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}
