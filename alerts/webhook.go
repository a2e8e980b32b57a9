package alerts

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks headers (https://www.standardwebhooks.com, spec
// section "Webhook headers").
const (
	HeaderWebhookID        = "webhook-id"
	HeaderWebhookTimestamp = "webhook-timestamp"
	HeaderWebhookSignature = "webhook-signature"
)

// ErrSignature is wrapped by [Signer.Verify] errors.
var ErrSignature = errors.New("alerts: webhook signature not valid")

// Signer signs and verifies Standard Webhooks symmetric signatures: the
// signature of a message is base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))
// sent as "v1,<signature>", where key is the base64-decoded part of the
// "whsec_…" secret (Standard Webhooks specification 1.0.0, "Signature
// scheme"; github.com/standard-webhooks/standard-webhooks,
// spec/standard-webhooks.md).
type Signer struct{ key []byte }

// NewSigner returns a signer for a "whsec_<base64>" secret whose key is 24
// to 64 bytes (the specification asks for at least 24).
func NewSigner(secret string) (*Signer, error) {
	key, err := parseSecret(secret)
	if err != nil {
		return nil, err
	}
	return &Signer{key: key}, nil
}

// Sign returns the webhook-signature value "v1,<base64>" for a message.
func (s *Signer) Sign(id string, ts time.Time, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(s.mac(id, strconv.FormatInt(ts.Unix(), 10), body))
}

func (s *Signer) mac(id, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a received message's headers the way a receiver should:
// webhook-timestamp within tolerance of now (replay protection), and one of
// the space-separated v1 signatures matching, compared in constant time.
// Receivers written in Go (and the tests) can use it.
func (s *Signer) Verify(h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	id, ts, sigs := h.Get(HeaderWebhookID), h.Get(HeaderWebhookTimestamp), h.Get(HeaderWebhookSignature)
	if id == "" || ts == "" || sigs == "" {
		return fmt.Errorf("%w: missing webhook-id, webhook-timestamp or webhook-signature", ErrSignature)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: webhook-timestamp %q is not Unix seconds", ErrSignature, ts)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: webhook-timestamp is %v away from now (tolerance %v)", ErrSignature, d.Round(time.Second), tolerance)
	}
	want := s.mac(id, ts, body)
	for _, sig := range strings.Fields(sigs) {
		v, b64, ok := strings.Cut(sig, ",")
		if !ok || v != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return fmt.Errorf("%w: no v1 signature matches", ErrSignature)
}

// Attempt outcomes, the outcome label of
// mitmwatch_alerts_deliveries_total and of the delivery log.
const (
	// OutcomeDelivered: a 2xx response.
	OutcomeDelivered = "delivered"
	// OutcomeRetry: the attempt failed (non-2xx other than 410, network
	// error, timeout) and another will follow.
	OutcomeRetry = "retry"
	// OutcomeFailed: the attempt failed and was the sink's last
	// (MaxAttempts reached); the event is given up for this sink.
	OutcomeFailed = "failed"
	// OutcomeGone: 410 Gone. The receiver asked not to be sent webhooks any
	// more: this node stops delivering to the sink until restarted.
	OutcomeGone = "gone"
)

// maxRetryAfter caps a receiver's Retry-After, so a receiver answering
// "Retry-After: 99999999" cannot park an event for years.
const maxRetryAfter = 6 * time.Hour

// attemptResult is the outcome of one HTTP attempt.
type attemptResult struct {
	outcome    string // OutcomeDelivered, OutcomeRetry or OutcomeGone
	status     int    // 0 on a network error
	err        error
	retryAfter time.Duration // from a Retry-After header; 0 if none
	duration   time.Duration
}

// userAgent identifies mitmwatch to receivers.
const userAgent = "mitmwatch-alerts/1"

// post makes one attempt: a POST of body with the sink's headers, bounded
// by the sink's timeout. Redirects are not followed (a 3xx is a failure:
// Standard Webhooks, "Delivery success and failure").
func (s *sink) post(ctx context.Context, body []byte, contentType string, extra http.Header) attemptResult {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return attemptResult{outcome: OutcomeRetry, err: fmt.Errorf("alerts: sink %s: build request: %w", s.cfg.Name, err)}
	}
	for k, v := range s.cfg.Headers {
		req.Header.Set(k, v)
	}
	for k, v := range extra {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", userAgent)
	resp, err := s.client.Do(req)
	res := attemptResult{duration: time.Since(start)}
	if err != nil {
		res.outcome = OutcomeRetry
		res.err = fmt.Errorf("alerts: sink %s: %w", s.cfg.Name, redactURLError(err))
		return res
	}
	// Drain a little of the body so the connection can be reused; keep a
	// short excerpt for the log.
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	res.status = resp.StatusCode
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		res.outcome = OutcomeDelivered
	case resp.StatusCode == http.StatusGone:
		res.outcome = OutcomeGone
		res.err = fmt.Errorf("alerts: sink %s: 410 Gone: the receiver asked to stop", s.cfg.Name)
	default:
		res.outcome = OutcomeRetry
		res.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		res.err = fmt.Errorf("alerts: sink %s: HTTP %d: %s", s.cfg.Name, resp.StatusCode, printable(excerpt))
	}
	return res
}

// redactURLError drops the URL from a *url.Error (a Slack webhook URL is
// its secret); the operation and cause stay.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", strings.ToLower(ue.Op), ue.Err)
	}
	return err
}

// printable returns b as a short single-line string.
func printable(b []byte) string {
	s := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(string(b), "?"))
	return strings.TrimSpace(s)
}

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP-date
// (RFC 9110 section 10.2.3). It returns 0 when absent or unparsable, and
// caps the delay at maxRetryAfter.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// backoff is the delay after the attempt-th failure (1-based): Backoff
// doubled per failure, capped at MaxBackoff, drawn uniformly from
// [d/2, d] so that nodes and sinks retrying together spread out.
func backoff(attempt int, base, limit time.Duration, rnd func() float64) time.Duration {
	d := base
	for i := 1; i < attempt && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	if rnd == nil {
		rnd = rand.Float64
	}
	return d/2 + time.Duration(rnd()*float64(d/2))
}
