package alerts

import (
	"net/netip"
	"sync/atomic"
	"time"
)

// addrN returns a distinct IPv4 address for each n (10.0.0.0/8 and up).
func addrN(n int) netip.Addr {
	v := uint32(10<<24) + uint32(n)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// testClock is a settable clock for recorders under test.
type testClock struct{ ns atomic.Int64 }

func newTestClock(t time.Time) *testClock {
	c := &testClock{}
	c.set(t)
	return c
}

func (c *testClock) now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }
func (c *testClock) set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func (c *testClock) add(d time.Duration) { c.ns.Add(int64(d)) }

// t0 is the start of the scenario's first minute: an hour ago, so Redis
// TTLs (absolute, from the real clock) keep the scenario's keys alive.
var t0 = time.Now().UTC().Truncate(time.Minute).Add(-time.Hour)

const (
	ja4X = "t12d130700_aaaaaaaaaaaa_bbbbbbbbbbbb" // intercepted, KZ first
	ja4Y = "t13d1516h2_cccccccccccc_dddddddddddd" // unknown, KZ
	ja4Z = "t12i090800_eeeeeeeeeeee_ffffffffffff" // unknown, DE, later
)

// recordScenario records the shared store-contract scenario over three
// minutes from t0, moving clk; the expected values are spelled out in the
// tests.
//
//	minute 0  KZ:9198  100 browser (60 clean, 30 intercepted "Qaznet" ja4X,
//	                   10 unknown ja4Y) + 20 non-browser; 40 clients
//	minute 0  DE:3320  100 browser clean; 1 spoofed
//	minute 0  US:0     1 browser intercepted, no product, no JA4
//	minute 1  KZ:29555 50 browser (45 clean, 5 intercepted "Qaznet" ja4X)
//	minute 1  DE:3320  100 browser clean, 1 spoofed
//	minute 2  DE:3320  10 browser unknown ja4Z
//
// between runs after minutes 0 and 1 (a flush, or nothing).
func recordScenario(r *Recorder, clk *testClock, between func()) {
	clk.set(t0.Add(5 * time.Second))
	kz := Observation{Country: "KZ", ASN: 9198, ASOrg: "JSC Kazakhtelecom", Browser: true}
	for i := range 120 {
		o := kz
		o.Client = addrN(i % 40)
		switch {
		case i < 60:
			o.Verdict = VerdictClean
		case i < 90:
			o.Verdict, o.Product, o.JA4 = VerdictIntercepted, "Qaznet", ja4X
		case i < 100:
			o.Verdict, o.JA4 = VerdictUnknown, ja4Y
		default:
			o.Browser, o.Verdict, o.JA4 = false, VerdictUnknown, ja4Y
		}
		r.Record(o)
	}
	de := Observation{Country: "de", ASN: 3320, ASOrg: "Deutsche Telekom AG", Browser: true, Verdict: VerdictClean}
	for i := range 100 {
		o := de
		o.Client = addrN(1000 + i)
		r.Record(o)
	}
	r.Record(Observation{Country: "DE", ASN: 3320, Browser: true, Verdict: VerdictSpoofed, Client: addrN(2000)})
	r.Record(Observation{Country: "US", Browser: true, Verdict: VerdictIntercepted})

	between()
	clk.set(t0.Add(65 * time.Second))
	for i := range 50 {
		o := Observation{Country: "KZ", ASN: 29555, ASOrg: "Mobile Telecom-Service LLP", Browser: true, Verdict: VerdictClean, Client: addrN(3000 + i)}
		if i < 5 {
			o.Verdict, o.Product, o.JA4 = VerdictIntercepted, "Qaznet", ja4X
		}
		r.Record(o)
	}
	for i := range 100 {
		o := de
		o.Client = addrN(1000 + i)
		r.Record(o)
	}
	r.Record(Observation{Country: "DE", ASN: 3320, Browser: true, Verdict: VerdictSpoofed, Client: addrN(2000)})

	between()
	clk.set(t0.Add(125 * time.Second))
	for i := range 10 {
		r.Record(Observation{Country: "DE", ASN: 3320, Browser: true, Verdict: VerdictUnknown, JA4: ja4Z, Client: addrN(4000 + i)})
	}
}
