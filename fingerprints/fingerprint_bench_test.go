package fingerprints

import (
	"testing"

	utls "github.com/refraction-networking/utls"
)

// chrome133Record is a real Chrome 133 hello (the utls v1.8.2 parrot, with
// its post-quantum key share) framed in one TLS record.
func chrome133Record(b *testing.B) []byte {
	return frameRecords(utlsHello(b, utls.HelloChrome_133, "www.example.com"), 0x0301, 0)
}

// attackerRecord is a hello of ~64 KiB: the most a capture accepts by
// default, packed with thousands of cipher suites and extensions.
func attackerRecord() []byte {
	th := testHello{}
	for i := range 8000 {
		th.ciphers = append(th.ciphers, uint16(i))
	}
	for i := range 3000 {
		th.exts = append(th.exts, extEmpty(uint16(0x1000+i)))
	}
	return th.records(1 << 14)
}

func BenchmarkParseClientHello(b *testing.B) {
	for _, bc := range []struct {
		name string
		raw  []byte
	}{{"chrome133", chrome133Record(b)}, {"attacker64KiB", attackerRecord()}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.raw)))
			for b.Loop() {
				if _, err := ParseClientHello(bc.raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkJA3(b *testing.B) {
	h, _ := ParseClientHello(chrome133Record(b))
	b.ReportAllocs()
	for b.Loop() {
		_ = h.JA3()
		_ = h.JA3Hash()
	}
}

func BenchmarkJA4(b *testing.B) {
	h, _ := ParseClientHello(chrome133Record(b))
	b.ReportAllocs()
	for b.Loop() {
		_ = h.JA4()
	}
}

// BenchmarkParseJA3JA4 is the per-connection cost the capture issue sets a
// target for: parse, JA3 (string and hash) and JA4 together.
func BenchmarkParseJA3JA4(b *testing.B) {
	raw := chrome133Record(b)
	b.ReportAllocs()
	for b.Loop() {
		h, err := ParseClientHello(raw)
		if err != nil {
			b.Fatal(err)
		}
		_ = h.JA3()
		_ = h.JA3Hash()
		_ = h.JA4()
	}
}

func BenchmarkFingerprints(b *testing.B) {
	h, _ := ParseClientHello(chrome133Record(b))
	b.ReportAllocs()
	for b.Loop() {
		_ = h.Fingerprints()
	}
}

// BenchmarkCoreFingerprints is what a captured connection computes up
// front (JA3, its hash, JA4), against BenchmarkFingerprints' all eight.
//
//	go test ./fingerprints -run '^$' -bench 'Fingerprints$' -benchmem -count 6
func BenchmarkCoreFingerprints(b *testing.B) {
	h, _ := ParseClientHello(chrome133Record(b))
	b.ReportAllocs()
	for b.Loop() {
		_ = h.CoreFingerprints()
	}
}

// BenchmarkCoreFingerprintsOnNewGoroutine computes the fingerprints on a
// fresh goroutine each time, as the edge does for every new connection (on
// the connection's goroutine, whose stack starts small). The difference to
// the same goroutine is what a stack frame too large for a new goroutine
// costs: the runtime copies the stack into a bigger one.
func BenchmarkCoreFingerprintsOnNewGoroutine(b *testing.B) {
	h, _ := ParseClientHello(chrome133Record(b))
	benchOnNewGoroutine(b, h.CoreFingerprints)
}

// BenchmarkFingerprintsOnNewGoroutine is the same for all eight
// fingerprints: what the first FromContext or verdict endpoint of a
// connection pays, on that connection's goroutine.
func BenchmarkFingerprintsOnNewGoroutine(b *testing.B) {
	h, _ := ParseClientHello(chrome133Record(b))
	benchOnNewGoroutine(b, h.Fingerprints)
}

// benchOnNewGoroutine runs f on a new goroutine per iteration, and, as the
// baseline, on the benchmark's own goroutine beside an empty new one.
func benchOnNewGoroutine(b *testing.B, f func() Fingerprints) {
	done := make(chan Fingerprints)
	for _, fresh := range []bool{false, true} {
		name := "same_goroutine"
		if fresh {
			name = "new_goroutine"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if fresh {
					go func() { done <- f() }()
				} else {
					go func() { done <- Fingerprints{} }()
					_ = f()
				}
				<-done
			}
		})
	}
}
