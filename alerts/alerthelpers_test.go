package alerts

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// testSecret is a valid Standard Webhooks secret for tests (24 zero bytes
// would do too; this is the base64 of "mitmwatch test secret 24b").
const testSecret = "whsec_bWl0bXdhdGNoIHRlc3Qgc2VjcmV0IDI0Yg=="

// feed records observations into st as if seen at `at`, through a real
// Recorder (its own node, so batches never collide).
func feed(t testing.TB, st Store, at time.Time, obs ...Observation) {
	t.Helper()
	r, err := NewRecorder(st, RecorderConfig{Clock: func() time.Time { return at }, ClientKey: []byte("test")})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range obs {
		r.Record(o)
	}
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// traffic returns n browser observations of one network from n distinct
// clients (base+i), of which the first intercepted are intercepted (by
// product, with ja4) and the rest clean.
func traffic(country string, asn uint32, org string, n, intercepted int, product, ja4 string, base int) []Observation {
	out := make([]Observation, n)
	for i := range out {
		o := Observation{Country: country, ASN: asn, ASOrg: org, Browser: true, Verdict: VerdictClean, Client: addrN(base + i)}
		if i < intercepted {
			o.Verdict, o.Product, o.JA4 = VerdictIntercepted, product, ja4
		}
		out[i] = o
	}
	return out
}

// received is one request a receiver answered.
type received struct {
	header http.Header
	body   []byte
	status int
	at     time.Time
}

// receiver is an httptest webhook receiver on 127.0.0.1 whose answer the
// test sets, recording every request it answered.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	reqs   []received
	answer func(r *http.Request, n int) (status int, header http.Header)
}

func newReceiver(t testing.TB) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	n := len(rc.reqs)
	answer := rc.answer
	rc.mu.Unlock()
	status, h := http.StatusOK, http.Header(nil)
	if answer != nil {
		status, h = answer(r, n)
	}
	if r.Context().Err() != nil {
		return // the sender gave up (a killed node): not answered
	}
	for k, v := range h {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, received{header: r.Header.Clone(), body: body, status: status, at: time.Now()})
	rc.mu.Unlock()
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.reqs...)
}

// delivered returns the requests answered 2xx.
func (rc *receiver) delivered() []received {
	var out []received
	for _, r := range rc.requests() {
		if r.status >= 200 && r.status < 300 {
			out = append(out, r)
		}
	}
	return out
}

// eventually polls cond until it holds or the deadline passes; it never
// asserts on how long that took.
func eventually(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// decodeBody decodes a standard or json webhook body.
func decodeBody(t testing.TB, b []byte) jsonEnvelope {
	t.Helper()
	var env jsonEnvelope
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatalf("body %s: %v", b, err)
	}
	return env
}
