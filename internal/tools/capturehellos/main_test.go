package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseGroups(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr bool
	}{
		{"single_group", "utls", []string{"utls"}, false},
		{"list_with_spaces_and_empty_items", " go, curl,,", []string{"go", "curl"}, false},
		{"unknown_group_is_an_error", "utls,chrome", nil, true},
		{"nothing_selected_is_an_error", ",", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseGroups(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for _, g := range tt.want {
				if !got[g] {
					t.Errorf("%s not selected", g)
				}
			}
		})
	}
}

func TestJobs(t *testing.T) {
	all, _ := parseGroups(strings.Join(allGroups(), ","))
	js := jobs(all)
	if want := len(parrots()) + 8; len(js) != want {
		t.Errorf("%d jobs for all groups, want %d", len(js), want)
	}
	// Browsers run last, after the quick clients (the brief's order).
	if js[0].group != groupUTLS || js[len(js)-1].group != groupMitmproxy {
		t.Errorf("order: first %s, last %s", js[0].group, js[len(js)-1].group)
	}
	only, _ := parseGroups("mitmproxy")
	var labels []string
	for _, j := range jobs(only) {
		labels = append(labels, j.label)
	}
	if got := strings.Join(labels, " "); got != "chromium-<major>-mitmproxy firefox-esr-<major>-mitmproxy curl-mitmproxy" {
		t.Errorf("mitmproxy group runs %q", got)
	}
}

func TestCountRecords(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want int
	}{
		{"one_record", []byte{0x16, 3, 1, 0, 2, 1, 2}, 1},
		{"hello_split_over_two_records", []byte{0x16, 3, 1, 0, 1, 1, 0x16, 3, 1, 0, 1, 2}, 2},
		{"truncated_second_record_still_counted", []byte{0x16, 3, 1, 0, 1, 1, 0x16, 3, 1, 0, 9}, 2},
		{"shorter_than_a_header", []byte{0x16, 3}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := countRecords(tt.in); got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}

// clientHello returns the first flight crypto/tls writes for serverName:
// its ClientHello record.
func clientHello(t *testing.T, serverName string) []byte {
	t.Helper()
	c, s := net.Pipe()
	defer s.Close()
	go func() {
		tls.Client(c, &tls.Config{ServerName: serverName}).Handshake()
		c.Close()
	}()
	s.SetReadDeadline(time.Now().Add(5 * time.Second))
	hdr := make([]byte, 5)
	if _, err := io.ReadFull(s, hdr); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, int(hdr[3])<<8|int(hdr[4]))
	if _, err := io.ReadFull(s, body); err != nil {
		t.Fatal(err)
	}
	return append(hdr, body...)
}

func TestCheckHello(t *testing.T) {
	good := clientHello(t, "localhost")
	tests := []struct {
		name    string
		raw     []byte
		wantErr bool
	}{
		{"hello_for_localhost_passes", good, false},
		{"hello_for_another_name_fails", clientHello(t, "example.com"), true},
		{"bytes_after_the_hello_fail", append(append([]byte{}, good...), 0x17, 3, 3, 0, 0), true},
		{"garbage_fails", []byte("GET / HTTP/1.1\r\n\r\n"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sni, ja4, err := checkHello(tt.raw)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && (sni != "localhost" || !strings.HasPrefix(ja4, "t13d")) {
				t.Errorf("sni %q ja4 %q", sni, ja4)
			}
		})
	}
}

func TestRunListAndUsage(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"list_names_every_parrot", []string{"-list", "-only", "utls"}, 0, "utls-chrome-133\n"},
		{"unknown_group_is_a_usage_error", []string{"-only", "nope"}, 2, ""},
		{"stray_argument_is_a_usage_error", []string{"extra"}, 2, ""},
		{"non_positive_timeout_is_a_usage_error", []string{"-timeout", "0s"}, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), tt.args, &out, &errOut)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.wantCode, errOut.String())
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("stdout %q lacks %q", out.String(), tt.wantOut)
			}
		})
	}
}

// TestCaptureEndToEnd runs the tool's main loop for the in-process
// groups (a few parrots would be slow to list here, so utls runs in
// full) into a temporary directory.
func TestCaptureEndToEnd(t *testing.T) {
	dir := t.TempDir()
	groups, _ := parseGroups("go,utls")
	var out bytes.Buffer
	o := &options{out: dir, groups: groups, timeout: 30 * time.Second}
	if err := capture(context.Background(), o, jobs(groups), &out, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, name := range []string{"go-crypto-tls", "utls-chrome-133", "utls-chrome-100-psk", "utls-360-7.5"} {
		for _, ext := range []string{".hex", ".json"} {
			if _, err := os.Stat(filepath.Join(dir, name+ext)); err != nil {
				t.Errorf("%s%s not written: %v", name, ext, err)
			}
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2*(len(parrots())+1) {
		t.Errorf("%d files written, want %d", len(ents), 2*(len(parrots())+1))
	}
	if !strings.Contains(out.String(), "0 failed") {
		t.Errorf("summary: %s", out.String())
	}
}
