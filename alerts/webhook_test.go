package alerts

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSignerSpecVector checks the signer against the example vector that
// the Standard Webhooks reference libraries test: TestWebhookSign in
// github.com/standard-webhooks/standard-webhooks, libraries/go/webhook_test.go
// (commit 449485caf9c0303530c19524fbe4096680aafcf1).
func TestSignerSpecVector(t *testing.T) {
	s, err := NewSigner("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	got := s.Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("signature %s, want %s", got, want)
	}
}

func TestSignerVerify(t *testing.T) {
	s, err := NewSigner(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewSigner("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	body := []byte(`{"type":"interception.alert"}`)
	headers := func(id string, ts time.Time, sig string) http.Header {
		h := http.Header{}
		h.Set(HeaderWebhookID, id)
		h.Set(HeaderWebhookTimestamp, strconv.FormatInt(ts.Unix(), 10))
		h.Set(HeaderWebhookSignature, sig)
		return h
	}
	good := s.Sign("msg_1", now, body)
	tests := []struct {
		name string
		h    http.Header
		body []byte
		ok   bool
	}{
		{"valid", headers("msg_1", now, good), body, true},
		{"rotation_list_with_one_valid", headers("msg_1", now, "v1,AAAA v1a,BBBB "+good), body, true},
		{"tampered_body", headers("msg_1", now, good), []byte(`{"type":"interception.resolved"}`), false},
		{"replayed_under_another_id", headers("msg_2", now, good), body, false},
		{"signed_with_another_secret", headers("msg_1", now, other.Sign("msg_1", now, body)), body, false},
		{"stale_replay_outside_tolerance", headers("msg_1", now.Add(-10*time.Minute), s.Sign("msg_1", now.Add(-10*time.Minute), body)), body, false},
		{"future_timestamp", headers("msg_1", now.Add(10*time.Minute), s.Sign("msg_1", now.Add(10*time.Minute), body)), body, false},
		{"version_downgrade_v0", headers("msg_1", now, "v0,"+strings.TrimPrefix(good, "v1,")), body, false},
		{"missing_signature", headers("msg_1", now, ""), body, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Verify(tt.h, tt.body, now, 5*time.Minute)
			if (err == nil) != tt.ok {
				t.Fatalf("Verify = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrSignature) {
				t.Errorf("error %v does not wrap ErrSignature", err)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		v    string
		want time.Duration
	}{
		{"absent", "", 0},
		{"seconds", "120", 2 * time.Minute},
		{"http_date", "Fri, 01 May 2026 12:00:30 GMT", 30 * time.Second},
		{"date_in_the_past", "Fri, 01 May 2026 11:00:00 GMT", 0},
		{"zero", "0", 0},
		{"negative", "-5", 0},
		{"garbage", "soon", 0},
		{"receiver_asks_for_years_capped", "999999999", maxRetryAfter},
		{"far_date_capped", "Fri, 01 May 2099 12:00:00 GMT", maxRetryAfter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseRetryAfter(tt.v, now); got != tt.want {
				t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.v, got, tt.want)
			}
		})
	}
}

func TestBackoffDoublesWithJitterAndCap(t *testing.T) {
	lo := func() float64 { return 0 }
	hi := func() float64 { return 0.999999 }
	tests := []struct {
		attempt  int
		min, max time.Duration
	}{
		{1, 2500 * time.Millisecond, 5 * time.Second},
		{2, 5 * time.Second, 10 * time.Second},
		{4, 20 * time.Second, 40 * time.Second},
		{20, 30 * time.Minute, time.Hour}, // capped
	}
	for _, tt := range tests {
		if got := backoff(tt.attempt, 5*time.Second, time.Hour, lo); got != tt.min {
			t.Errorf("attempt %d, lowest jitter: %v, want %v", tt.attempt, got, tt.min)
		}
		if got := backoff(tt.attempt, 5*time.Second, time.Hour, hi); got > tt.max || got < tt.max*99/100 {
			t.Errorf("attempt %d, highest jitter: %v, want just under %v", tt.attempt, got, tt.max)
		}
	}
	// The default source jitters within the same bounds.
	for range 100 {
		if d := backoff(3, time.Second, time.Hour, nil); d < 2*time.Second || d > 4*time.Second {
			t.Fatalf("backoff(3, 1s) = %v, want in [2s, 4s]", d)
		}
	}
}

func TestPostClassifiesResponses(t *testing.T) {
	rc := newReceiver(t)
	rc.answer = func(r *http.Request, _ int) (int, http.Header) {
		switch r.URL.Path {
		case "/ok":
			return http.StatusNoContent, nil
		case "/gone":
			return http.StatusGone, nil
		case "/busy":
			return http.StatusServiceUnavailable, http.Header{"Retry-After": {"7"}}
		case "/moved":
			return http.StatusFound, http.Header{"Location": {"/ok"}}
		}
		return http.StatusNotFound, nil
	}
	tests := []struct {
		path       string
		outcome    string
		status     int
		retryAfter time.Duration
	}{
		{"/ok", OutcomeDelivered, 204, 0},
		{"/gone", OutcomeGone, 410, 0},
		{"/busy", OutcomeRetry, 503, 7 * time.Second},
		{"/moved", OutcomeRetry, 302, 0}, // redirects are not followed
		{"/nope", OutcomeRetry, 404, 0},
	}
	for _, tt := range tests {
		t.Run(strings.TrimPrefix(tt.path, "/"), func(t *testing.T) {
			sinks, err := newSinks([]WebhookConfig{(WebhookConfig{Name: "s", URL: rc.URL + tt.path, Format: FormatJSON}).withDefaults()}, nil)
			if err != nil {
				t.Fatal(err)
			}
			res := sinks[0].post(context.Background(), []byte("{}"), "application/json", nil)
			if res.outcome != tt.outcome || res.status != tt.status || res.retryAfter != tt.retryAfter {
				t.Errorf("got outcome %s status %d retry-after %v (err %v), want %s %d %v",
					res.outcome, res.status, res.retryAfter, res.err, tt.outcome, tt.status, tt.retryAfter)
			}
		})
	}
	// One request per attempt: the redirect to /ok was not followed.
	if n := len(rc.requests()); n != len(tests) {
		t.Errorf("%d requests for %d attempts: a redirect was followed", n, len(tests))
	}
}

func TestPostErrorsDoNotLeakTheURL(t *testing.T) {
	// A Slack URL is its secret; a connection error must not print it.
	addr, _ := refusingAddr(t)
	url := "http://" + addr + "/services/T0/B0/SECRETPATH"
	sinks, err := newSinks([]WebhookConfig{(WebhookConfig{Name: "slack", URL: url, Format: FormatSlack}).withDefaults()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res := sinks[0].post(context.Background(), []byte("{}"), "application/json", nil)
	if res.err == nil || res.outcome != OutcomeRetry {
		t.Fatalf("post to a closed port: %+v", res)
	}
	if strings.Contains(res.err.Error(), "SECRETPATH") {
		t.Errorf("error leaks the URL: %v", res.err)
	}
}
