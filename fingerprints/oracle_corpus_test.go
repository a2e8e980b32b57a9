package fingerprints_test

import (
	"bytes"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	utls "github.com/refraction-networking/utls"
)

// The hellos the oracle tests (tshark, dreadl0ck/ja3) compare against:
// every captured hello under testdata/clienthello plus a few built here,
// so that the oracles have something to check even without testdata and
// so that edge cases the captures lack (no extensions at all, GREASE as
// the last cipher suite and group, a hello fragmented over several
// records) are always covered.

// oracleHello is one record-framed ClientHello for the oracles.
type oracleHello struct {
	name string // subtest name: the testdata file's base name, or built-*
	raw  []byte // TLS record(s) holding the ClientHello
}

// oracleCorpus returns the testdata hellos (sorted by file name) followed
// by the built ones.
func oracleCorpus(t *testing.T) []oracleHello {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "testdata", "clienthello", "*.hex"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	var out []oracleHello
	for _, f := range files {
		raw, err := readHexHello(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, oracleHello{strings.TrimSuffix(filepath.Base(f), ".hex"), raw})
	}
	return append(out, builtHellos(t)...)
}

// readHexHello reads a testdata hello: hex text, whitespace ignored.
func readHexHello(name string) ([]byte, error) {
	text, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return hex.DecodeString(strings.Join(strings.Fields(string(text)), ""))
}

// builtHellos makes hellos with crypto/tls and utls over an in-memory pipe,
// plus hand-assembled ones.
func builtHellos(t *testing.T) []oracleHello {
	t.Helper()
	goTLS := func(cfg *tls.Config) func(net.Conn) error {
		return func(c net.Conn) error { return tls.Client(c, cfg).Handshake() }
	}
	uTLS := func(id utls.ClientHelloID, serverName string) func(net.Conn) error {
		return func(c net.Conn) error {
			return utls.UClient(c, &utls.Config{ServerName: serverName}, id).Handshake()
		}
	}
	chrome120 := captureHello(t, uTLS(utls.HelloChrome_120, "example.com"))

	return []oracleHello{
		{"built-go-crypto-tls-default", captureHello(t, goTLS(&tls.Config{ServerName: "example.com"}))},
		{"built-go-crypto-tls12-no-sni", captureHello(t, goTLS(&tls.Config{
			ServerName: "127.0.0.1", // an IP literal: no SNI is sent (RFC 6066 §3)
			MaxVersion: tls.VersionTLS12,
		}))},
		{"built-utls-chrome-58", captureHello(t, uTLS(utls.HelloChrome_58, "www.example.com"))},
		{"built-utls-chrome-120", chrome120},
		{"built-utls-chrome-120-fragmented-records", refragment(t, chrome120, 200)},
		{"built-utls-firefox-120", captureHello(t, uTLS(utls.HelloFirefox_120, "example.com"))},
		{"built-utls-ios-14", captureHello(t, uTLS(utls.HelloIOS_14, "example.com"))},
		{"built-utls-grease-last-in-every-list", captureHello(t, greaseLastEverywhere)},
		{"built-no-extensions", noExtensionsHello()},
	}
}

// greaseLastEverywhere sends a TLS 1.2 hello whose cipher suites,
// supported groups and extensions each end in a GREASE value: the edge
// where implementations that join with a separator after each kept value
// leave a trailing "-".
func greaseLastEverywhere(c net.Conn) error {
	u := utls.UClient(c, &utls.Config{ServerName: "example.com"}, utls.HelloCustom)
	spec := &utls.ClientHelloSpec{
		TLSVersMin: utls.VersionTLS12,
		TLSVersMax: utls.VersionTLS12,
		CipherSuites: []uint16{
			utls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			utls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			utls.GREASE_PLACEHOLDER,
		},
		CompressionMethods: []byte{0},
		Extensions: []utls.TLSExtension{
			&utls.SNIExtension{},
			&utls.SupportedCurvesExtension{Curves: []utls.CurveID{utls.X25519, utls.CurveP256, utls.GREASE_PLACEHOLDER}},
			&utls.SupportedPointsExtension{SupportedPoints: []byte{0}},
			&utls.SignatureAlgorithmsExtension{SupportedSignatureAlgorithms: []utls.SignatureScheme{
				utls.ECDSAWithP256AndSHA256, utls.PSSWithSHA256, utls.PKCS1WithSHA256,
			}},
			&utls.UtlsGREASEExtension{},
		},
	}
	if err := u.ApplyPreset(spec); err != nil {
		return err
	}
	return u.Handshake()
}

// noExtensionsHello assembles an SSL 3.0-era hello by hand: TLS 1.0, two
// cipher suites, null compression and no extensions block at all, so every
// JA3 list after the ciphers is empty ("769,47-53,,,").
func noExtensionsHello() []byte {
	body := []byte{0x03, 0x01} // legacy_version TLS 1.0
	body = append(body, bytes.Repeat([]byte{0x42}, 32)...)
	body = append(body, 0)                            // empty session ID
	body = append(body, 0, 4, 0x00, 0x2f, 0x00, 0x35) // TLS_RSA_WITH_AES_128_CBC_SHA, _256_CBC_SHA
	body = append(body, 1, 0)                         // compression: null
	msg := append([]byte{1, 0, byte(len(body) >> 8), byte(len(body))}, body...)
	return append([]byte{0x16, 0x03, 0x01, byte(len(msg) >> 8), byte(len(msg))}, msg...)
}

// captureHello runs handshake on one end of an in-memory pipe and returns
// the TLS records that carry its ClientHello, read from the other end. The
// handshake then fails (the peer closes), which is expected.
func captureHello(t *testing.T, handshake func(net.Conn) error) []byte {
	t.Helper()
	client, server := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = handshake(client)
		client.Close()
	}()
	// A guard against a hung handshake, not a timing assertion.
	_ = server.SetDeadline(time.Now().Add(30 * time.Second))
	raw, err := readHelloRecords(server)
	server.Close()
	<-done
	if err != nil {
		t.Fatalf("capture ClientHello: %v", err)
	}
	return raw
}

// readHelloRecords reads handshake records from r until they hold a whole
// handshake message, and returns them as read.
func readHelloRecords(r io.Reader) ([]byte, error) {
	var raw, msg []byte
	for len(msg) < 4 || len(msg) < 4+(int(msg[1])<<16|int(msg[2])<<8|int(msg[3])) {
		var hdr [5]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return nil, err
		}
		if hdr[0] != 0x16 {
			return nil, fmt.Errorf("record type %d, want handshake (22)", hdr[0])
		}
		body := make([]byte, int(hdr[3])<<8|int(hdr[4]))
		if _, err := io.ReadFull(r, body); err != nil {
			return nil, err
		}
		raw = append(append(raw, hdr[:]...), body...)
		msg = append(msg, body...)
	}
	return raw, nil
}

// handshakeMessage returns the handshake bytes carried by the records of
// raw, concatenated, and the first record's version.
func handshakeMessage(raw []byte) (msg []byte, recordVersion [2]byte, err error) {
	if len(raw) < 5 {
		return nil, recordVersion, errors.New("no record header")
	}
	recordVersion = [2]byte{raw[1], raw[2]}
	for len(raw) > 0 {
		if len(raw) < 5 {
			return nil, recordVersion, errors.New("truncated record header")
		}
		n := int(raw[3])<<8 | int(raw[4])
		if raw[0] != 0x16 || len(raw) < 5+n {
			return nil, recordVersion, errors.New("not a complete handshake record")
		}
		msg = append(msg, raw[5:5+n]...)
		raw = raw[5+n:]
	}
	return msg, recordVersion, nil
}

// refragment re-frames the hello of raw into records of at most size
// payload bytes, as a middlebox or a client with a small record size may.
func refragment(t *testing.T, raw []byte, size int) []byte {
	t.Helper()
	msg, v, err := handshakeMessage(raw)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for len(msg) > 0 {
		n := min(size, len(msg))
		out = append(out, 0x16, v[0], v[1], byte(n>>8), byte(n))
		out = append(out, msg[:n]...)
		msg = msg[n:]
	}
	return out
}
