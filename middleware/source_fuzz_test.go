package middleware

import (
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"testing"
)

// FuzzFromUpstream: the fingerprint headers a trusted proxy passes
// (X-Mitmwatch-ClientHello, -JA4, -JA3) never panic the middleware, and
// what it accepts from them is well formed: a JA4 of the right shape, a
// JA3 hash of 32 lowercase hex digits, a JA3 string that hashes to it,
// printable ASCII only (these values go into logs and, on the edge, into
// the Mitmwatch-* request headers). A refusal is an error, not a
// half-filled fingerprint. An empty argument leaves its header out.
func FuzzFromUpstream(f *testing.F) {
	f.Add("", "t13d1516h2_8daaf6152771_02713d6af862", "")
	f.Add("", "T13D1516H2_8DAAF6152771_02713D6AF862", "3859EEFFF506BE3EB74171D82728EB4D")
	f.Add("", "", "771,4865-4866,0-23-65281,29-23-24,0")
	f.Add("", "t13d1516h2_8daaf6152771_02713d6af86\n", "771,4865;DROP,0,29,0")
	f.Add("FgMBAAEBAAD9AwM=", "", "")
	f.Add("-_-_", "", "")
	s, err := Config{}.settings()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, hello, ja4, ja3 string) {
		hdr := http.Header{}
		for name, v := range map[string]string{s.helloHeader: hello, s.ja4Header: ja4, s.ja3Header: ja3} {
			if v != "" {
				hdr[name] = []string{v}
			}
		}
		got := s.fromUpstream(hdr)
		if got.err != nil {
			if got.source != SourceNone || got.h != nil || got.fps.JA4 != "" || got.fps.JA3Hash != "" {
				t.Errorf("refused (%v) but kept %+v", got.err, got.fps)
			}
			return
		}
		switch got.source {
		case SourceUpstreamHello:
			if got.h == nil {
				t.Error("hello accepted without a parsed hello")
			}
		case SourceUpstreamFingerprint:
			if got.fps.JA4 != "" && !validJA4(got.fps.JA4) {
				t.Errorf("JA4 %q accepted", got.fps.JA4)
			}
			if got.fps.JA3Hash != "" && (len(got.fps.JA3Hash) != 32 || !isHex(got.fps.JA3Hash)) {
				t.Errorf("JA3 hash %q accepted", got.fps.JA3Hash)
			}
			if got.fps.JA3 != "" && (!validJA3(got.fps.JA3) || ja3MD5(got.fps.JA3) != got.fps.JA3Hash) {
				t.Errorf("JA3 %q with hash %q accepted", got.fps.JA3, got.fps.JA3Hash)
			}
		default:
			t.Fatalf("source %v without an error", got.source)
		}
		for _, v := range []string{got.fps.JA4, got.fps.JA3, got.fps.JA3Hash} {
			for i := 0; i < len(v); i++ {
				if v[i] < 0x20 || v[i] > 0x7e {
					t.Fatalf("accepted %q: byte %#x is not printable ASCII", v, v[i])
				}
			}
		}
	})
}

func ja3MD5(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
