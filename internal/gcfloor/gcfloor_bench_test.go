package gcfloor

import (
	"runtime"
	"testing"
)

// node is a live object with a pointer, so that a collection has something
// to mark.
type node struct {
	next *node
	pad  [48]byte
}

// sinkBytes keeps the benchmark's garbage from being optimised away.
var sinkBytes []byte

// BenchmarkConnectionGarbage allocates per op what a new TLS connection
// allocates in the edge (about 55 KB in some 600 objects, docs/benchmarks.md)
// over a live heap of about half a megabyte, as the edge keeps: without a
// floor and with the default 64 MiB one, run one after the other. gc/op is
// the collections per op; the floor's gain is the ratio of the two ns/op.
func BenchmarkConnectionGarbage(b *testing.B) {
	var live *node
	for range 8 << 10 { // 8 192 × 64 B = 512 KiB
		live = &node{next: live}
	}
	for _, bc := range []struct {
		name  string
		floor uint64
	}{{"floor=off", 0}, {"floor=64MiB", 64 << 20}} {
		b.Run(bc.name, func(b *testing.B) {
			f := Start(bc.floor)
			defer f.Stop()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			before := ms.NumGC
			for b.Loop() {
				for range 600 {
					sinkBytes = make([]byte, 92)
				}
			}
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(ms.NumGC-before)/float64(b.N), "gc/op")
		})
	}
	runtime.KeepAlive(live)
}
