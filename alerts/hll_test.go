package alerts

import (
	"math"
	"testing"
)

func TestHLLCount(t *testing.T) {
	h, _ := newClientHasher([]byte("k"))
	tests := []struct {
		name string
		n    int
		// tol is the allowed relative error: 4 standard errors (0.81%)
		// for large sets; linear counting is near exact for small ones.
		tol float64
	}{
		{name: "empty_is_zero", n: 0, tol: 0},
		{name: "small_set_sparse_linear_counting", n: 100, tol: 0.02},
		{name: "crosses_sparse_to_dense", n: 5000, tol: 0.033},
		{name: "large_set_raw_estimate", n: 200000, tol: 0.033},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var x hll
			for i := range tc.n {
				v := h.hash(addrN(i))
				x.add(v)
				x.add(v) // duplicates do not count
			}
			got := float64(x.count())
			if math.Abs(got-float64(tc.n)) > tc.tol*float64(tc.n) {
				t.Fatalf("count = %v, want %d ± %.1f%%", got, tc.n, tc.tol*100)
			}
		})
	}
}

func TestHLLMergeIsUnion(t *testing.T) {
	h, _ := newClientHasher([]byte("k"))
	tests := []struct {
		name          string
		a, b, overlap int
	}{
		{name: "sparse_into_sparse", a: 300, b: 300, overlap: 100},
		{name: "sparse_into_sparse_crosses_to_dense", a: 1500, b: 1500, overlap: 100},
		{name: "dense_into_sparse", a: 200, b: 20000, overlap: 100},
		{name: "sparse_into_dense", a: 20000, b: 200, overlap: 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var a, b, all hll
			for i := range tc.a {
				a.add(h.hash(addrN(i)))
				all.add(h.hash(addrN(i)))
			}
			for i := tc.a - tc.overlap; i < tc.a-tc.overlap+tc.b; i++ {
				b.add(h.hash(addrN(i)))
				all.add(h.hash(addrN(i)))
			}
			a.merge(&b)
			want := float64(tc.a + tc.b - tc.overlap)
			if got := float64(a.count()); math.Abs(got-want) > 0.033*want {
				t.Fatalf("union count = %v, want %v ± 3.3%%", got, want)
			}
			// Registers are a union's max: merging gives exactly what one
			// HLL fed every value holds.
			if got, direct := a.count(), all.count(); got != direct {
				t.Fatalf("merged count = %d, one HLL fed every value counts %d", got, direct)
			}
		})
	}
}
