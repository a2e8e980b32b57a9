package alerts

import (
	"math"
	"math/bits"
)

// hll is a HyperLogLog (Flajolet, Fusy, Gandouet, Meunier, "HyperLogLog: the
// analysis of a near-optimal cardinality estimation algorithm", AofA 2007)
// with 2^14 registers, the precision Redis uses (standard error 0.81%), fed
// with the recorder's keyed client hashes directly: they are already
// uniform 64-bit values. It is the memory store's stand-in for Redis's
// PFADD/PFCOUNT.
//
// Small sets are kept sparse (register index → value), so a quiet network's
// minute costs a few bytes instead of 16 KiB.
type hll struct {
	sparse map[uint16]uint8
	dense  []uint8
}

const (
	hllP         = 14
	hllM         = 1 << hllP
	hllSparseMax = 2048 // past this the dense form is smaller
)

func (h *hll) add(x uint64) {
	// The rank is the position of the first 1 bit in the remaining 50 bits;
	// the guard bit caps it at 51.
	h.raise(uint16(x>>(64-hllP)), uint8(bits.LeadingZeros64(x<<hllP|1<<(hllP-1))+1))
}

// raise sets register idx to rank if that is higher, turning the sparse
// form dense once it outgrows hllSparseMax.
func (h *hll) raise(idx uint16, rank uint8) {
	if h.dense != nil {
		if rank > h.dense[idx] {
			h.dense[idx] = rank
		}
		return
	}
	if h.sparse == nil {
		h.sparse = make(map[uint16]uint8)
	}
	if rank > h.sparse[idx] {
		h.sparse[idx] = rank
	}
	if len(h.sparse) > hllSparseMax {
		h.densify()
	}
}

func (h *hll) densify() {
	h.dense = make([]uint8, hllM)
	for i, r := range h.sparse {
		h.dense[i] = r
	}
	h.sparse = nil
}

// merge folds o's registers into h (set union).
func (h *hll) merge(o *hll) {
	if o.dense != nil {
		if h.dense == nil {
			h.densify()
		}
		for i, r := range o.dense {
			if r > h.dense[i] {
				h.dense[i] = r
			}
		}
		return
	}
	for i, r := range o.sparse {
		h.raise(i, r)
	}
}

// count estimates the number of distinct values added: the raw HyperLogLog
// estimate, with linear counting while registers are still empty (the
// small-range correction of the paper, Fig. 3).
func (h *hll) count() uint64 {
	m := float64(hllM)
	var sum float64
	zeros := 0
	if h.dense != nil {
		for _, r := range h.dense {
			sum += math.Ldexp(1, -int(r))
			if r == 0 {
				zeros++
			}
		}
	} else {
		zeros = hllM - len(h.sparse)
		sum = float64(zeros)
		for _, r := range h.sparse {
			sum += math.Ldexp(1, -int(r))
		}
	}
	alpha := 0.7213 / (1 + 1.079/m)
	e := alpha * m * m / sum
	if e <= 2.5*m && zeros > 0 {
		e = m * math.Log(m/float64(zeros))
	}
	return uint64(e + 0.5)
}
