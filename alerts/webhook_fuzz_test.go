package alerts

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzParseRetryAfter: whatever a webhook receiver sends as Retry-After,
// the delay is between 0 and maxRetryAfter, and a plain number of seconds
// is read as exactly that (capped), so a receiver can neither stall
// delivery past the cap nor make a retry come sooner than it asked.
func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{
		"", "0", "120", "-5", "9300000000", "99999999999999999999", "Wed, 21 Oct 2015 07:28:00 GMT",
		"Mon, 07 Dec 2026 09:00:00 GMT", " 30 ", "1e3", "0x10", "Sunday, 06-Nov-94 08:49:37 GMT",
	} {
		f.Add(s)
	}
	now := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d := parseRetryAfter(v, now)
		if d < 0 || d > maxRetryAfter {
			t.Fatalf("parseRetryAfter(%q) = %v, outside [0, %v]", v, d, maxRetryAfter)
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && n > 0 {
			want := maxRetryAfter
			if n < int64(maxRetryAfter/time.Second) {
				want = time.Duration(n) * time.Second
			}
			if d != want {
				t.Errorf("parseRetryAfter(%q) = %v, want %v", v, d, want)
			}
		}
	})
}
