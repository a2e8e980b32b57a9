package pcapwrite

import (
	"io"
	"testing"
)

// BenchmarkWriteFlow writes a typical 1.8 KB ClientHello flow (a Chrome
// hello with an ML-KEM key share) in 1460-byte segments.
func BenchmarkWriteFlow(b *testing.B) {
	w, err := NewWriter(io.Discard, LinkTypeEthernet)
	if err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 1800)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if err := w.WriteFlow(Flow{}, payload); err != nil {
			b.Fatal(err)
		}
	}
}
