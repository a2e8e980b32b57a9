package middleware

import (
	"crypto/md5"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// Source says where a verdict's fingerprint came from.
type Source string

// Sources, in the order the middleware considers them.
const (
	// SourceListener: mitmwatch's own capture listener read the client's
	// ClientHello on this connection (fingerprints.NewListener and
	// [ConnContext]); the peer is not a trusted proxy.
	SourceListener Source = "listener"
	// SourceUpstreamHello: a trusted proxy passed the client's raw
	// ClientHello in [Config.UpstreamHelloHeader].
	SourceUpstreamHello Source = "upstream_hello"
	// SourceUpstreamFingerprint: a trusted proxy passed the client's JA4
	// and/or JA3 in [Config.UpstreamJA4Header] / [Config.UpstreamJA3Header];
	// the verdict then rests on exact matches alone.
	SourceUpstreamFingerprint Source = "upstream_fingerprint"
	// SourceNone: no fingerprint of the client is known. Either nothing
	// captured the hello, or the peer is a trusted proxy that sent no
	// upstream header: the hello on this connection is then the proxy's
	// own, and judging it against the user's browser would call every
	// visitor intercepted.
	SourceNone Source = "none"
)

// Errors explaining a SourceNone verdict (in [Verdict.Error]).
var (
	// ErrNoFingerprint means no capture listener and no upstream header
	// supplied a fingerprint.
	ErrNoFingerprint = errors.New("middleware: no ClientHello captured for this connection")
	// ErrProxyWithoutFingerprint means the peer is a trusted proxy that
	// passed no fingerprint header; its own hello says nothing about the
	// client.
	ErrProxyWithoutFingerprint = errors.New("middleware: trusted proxy sent no fingerprint header; the hello on this connection is the proxy's")
	// ErrUpstreamHeader wraps a malformed upstream fingerprint header.
	ErrUpstreamHeader = errors.New("middleware: invalid upstream fingerprint header")
)

// hello is what a source yields: a parsed hello with its fingerprints, or
// fingerprints alone, or an error saying why there is nothing.
type hello struct {
	source Source
	h      *fingerprints.ClientHello // nil for upstream_fingerprint and none
	fps    fingerprints.Fingerprints
	// core says fps holds only h's CoreFingerprints; the rest are
	// computed from h when a Verdict is asked for (see entry.verdict).
	core bool
	err  error
}

// listenerHello is the hello of a captured connection, with only the
// fingerprints every request needs computed up front, from c's cache of
// hello shapes.
func listenerHello(h *fingerprints.ClientHello, c *fingerprints.Classifier) hello {
	return hello{source: SourceListener, h: h, fps: c.CoreFingerprints(h), core: true}
}

// Describe returns the part of a [Verdict] that the ClientHello alone
// determines: its fingerprints, the highest TLS version it offers, its ALPN
// list and SNI, with Source "listener". herr is the capture's error (from
// fingerprints.ClientHelloFromContext or a ListenerConfig.OnHello hook);
// when it is set, or h is nil, only Error is set and Source is "none".
// The verdict itself is left unknown: classifying needs the request.
func Describe(h *fingerprints.ClientHello, herr error) Verdict {
	switch {
	case herr != nil:
		return describe(hello{source: SourceNone, err: herr})
	case h == nil:
		return describe(hello{source: SourceNone, err: ErrNoFingerprint})
	}
	return describe(hello{source: SourceListener, h: h, fps: h.Fingerprints()})
}

// describe fills the hello-derived fields of a Verdict.
func describe(src hello) Verdict {
	v := Verdict{Source: src.source, ALPN: []string{}, Fingerprints: src.fps}
	if src.err != nil {
		v.Error = src.err.Error()
	}
	v.Location = Location{Country: UnknownCountry}
	if h := src.h; h != nil {
		v.TLSVersion = versionName(h.MaxVersion())
		if h.ALPN != nil {
			// The hello is immutable once captured: share its list.
			v.ALPN = h.ALPN
		}
		v.SNI = h.ServerName
	} else if src.fps.JA4 != "" {
		v.TLSVersion = ja4VersionName(src.fps.JA4)
	}
	return v
}

// versionName names a TLS version: "TLS 1.3", "SSLv3", or "0x…" for a
// value crypto/tls does not know.
func versionName(v uint16) string {
	if v == 0 {
		return ""
	}
	return tls.VersionName(v)
}

// ja4VersionName reads the TLS version out of a JA4's a part ("t13d…").
func ja4VersionName(ja4 string) string {
	if len(ja4) < 3 {
		return ""
	}
	switch ja4[1:3] {
	case "13":
		return "TLS 1.3"
	case "12":
		return "TLS 1.2"
	case "11":
		return "TLS 1.1"
	case "10":
		return "TLS 1.0"
	case "s3":
		return "SSLv3"
	}
	return ""
}

// fromUpstream reads the fingerprint a trusted proxy passed. The raw hello
// wins over JA4/JA3 (it yields every fingerprint and the stack checks);
// JA4 and JA3 may come together. A header that is present but malformed is
// an error, not a fallback to the next one: a proxy that sends garbage is
// misconfigured, and the operator should hear about it.
func (s *settings) fromUpstream(hdr http.Header) hello {
	if v := hdr[s.helloHeader]; len(v) > 0 {
		raw, err := decodeBase64(v[0])
		if err != nil {
			return hello{source: SourceNone, err: fmt.Errorf("%w: %s: %w", ErrUpstreamHeader, s.helloHeader, err)}
		}
		h, fps, err := fingerprints.Fingerprint(raw)
		if err != nil {
			return hello{source: SourceNone, err: fmt.Errorf("%w: %s: %w", ErrUpstreamHeader, s.helloHeader, err)}
		}
		return hello{source: SourceUpstreamHello, h: h, fps: fps}
	}
	var fps fingerprints.Fingerprints
	if v := hdr[s.ja4Header]; len(v) > 0 {
		ja4 := strings.TrimSpace(v[0])
		if len(ja4) == 36 {
			// The a part is case-sensitive (ALPN characters); the
			// hashes are hex, which some write in capitals.
			ja4 = ja4[:11] + strings.ToLower(ja4[11:])
		}
		if !validJA4(ja4) {
			return hello{source: SourceNone, err: fmt.Errorf("%w: %s: %q is not a JA4", ErrUpstreamHeader, s.ja4Header, truncate(v[0], 64))}
		}
		fps.JA4 = ja4
	}
	if v := hdr[s.ja3Header]; len(v) > 0 {
		val := strings.TrimSpace(v[0])
		switch {
		case validMD5(val):
			fps.JA3Hash = strings.ToLower(val)
		case validJA3(val):
			sum := md5.Sum([]byte(val))
			fps.JA3, fps.JA3Hash = val, hex.EncodeToString(sum[:])
		default:
			return hello{source: SourceNone, err: fmt.Errorf("%w: %s: %q is neither a JA3 string nor its MD5", ErrUpstreamHeader, s.ja3Header, truncate(val, 64))}
		}
	}
	if fps.JA4 == "" && fps.JA3Hash == "" {
		return hello{source: SourceNone, err: ErrProxyWithoutFingerprint}
	}
	return hello{source: SourceUpstreamFingerprint, fps: fps}
}

// maxHelloHeader bounds the decoded hello from a header: the capture
// listener's own cap.
const maxHelloHeader = fingerprints.DefaultMaxHelloSize

func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if base64.StdEncoding.DecodedLen(len(s)) > maxHelloHeader+3 {
		return nil, fingerprints.ErrTooLarge
	}
	s = strings.TrimRight(s, "=")
	enc := base64.RawStdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.RawURLEncoding
	}
	return enc.DecodeString(s)
}

// validJA4 checks the shape of a JA4 (FoxIO, technical_details/JA4.md):
// "t13d1516h2_8daaf6152771_02713d6af862": a 10-character a part (protocol,
// version, SNI flag, two 2-digit counts, ALPN characters) and two
// 12-hex-digit hashes.
func validJA4(s string) bool {
	if len(s) != 36 || s[10] != '_' || s[23] != '_' {
		return false
	}
	if c := s[0]; c != 't' && c != 'q' && c != 'd' {
		return false
	}
	if c := s[3]; c != 'd' && c != 'i' {
		return false
	}
	for i := 4; i < 8; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	for _, i := range []int{1, 2, 8, 9} {
		if !isAlnum(s[i]) {
			return false
		}
	}
	return isHex(s[11:23]) && isHex(s[24:])
}

func validMD5(s string) bool { return len(s) == 32 && isHex(strings.ToLower(s)) }

// validJA3 checks the shape of a JA3 string: five comma-separated fields of
// dash-separated decimal numbers, the first one not empty.
func validJA3(s string) bool {
	if len(s) > 4096 {
		return false
	}
	fields := strings.Split(s, ",")
	if len(fields) != 5 || fields[0] == "" {
		return false
	}
	for _, f := range fields {
		for i := 0; i < len(f); i++ {
			if (f[i] < '0' || f[i] > '9') && f[i] != '-' {
				return false
			}
		}
	}
	return true
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// stripUpstream removes the upstream fingerprint headers from a request
// whose peer is not trusted, so that neither the middleware nor the
// handler behind it can be fooled by a client claiming a hello it did not
// send. It reports whether anything was removed.
func (s *settings) stripUpstream(hdr http.Header) bool {
	removed := false
	for _, k := range [...]string{s.helloHeader, s.ja4Header, s.ja3Header} {
		if _, ok := hdr[k]; ok {
			delete(hdr, k)
			removed = true
		}
	}
	return removed
}
