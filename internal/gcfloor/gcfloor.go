package gcfloor

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
)

// maxPercent bounds the GOGC the floor sets: a live heap of a few hundred
// KiB under a floor of gigabytes would otherwise ask for millions.
const maxPercent = 1_000_000

// The runtime's smallest heap goal at GOGC=100 (defaultHeapMinimum in
// runtime/mgcpacer.go, Go 1.26): 4 MiB, or 512 KiB in a program built with
// GOEXPERIMENT=heapminimum512kib. The runtime scales it with GOGC, so it
// bounds the GOGC a floor may set.
const (
	heapMinimum         = 4 << 20
	heapMinimum512KiB   = 512 << 10
	experiment512KiBTag = "heapminimum512kib"
)

// Metric names read after each collection (runtime/metrics, Go 1.21).
const (
	metricLive    = "/gc/heap/live:bytes"
	metricStacks  = "/gc/scan/stack:bytes"
	metricGlobals = "/gc/scan/globals:bytes"
	metricObjects = "/memory/classes/heap/objects:bytes"
	metricPercent = "/gc/gogc:percent"
)

// Floor is a started heap floor. Its zero value is not usable: call
// [Start].
type Floor struct {
	floor   uint64
	heapMin uint64 // the runtime's smallest goal at GOGC=100
	base    int

	stopped atomic.Bool
	// mu serialises tune and Stop, so that a cleanup running late cannot
	// set GOGC after Stop gave the base back.
	mu      sync.Mutex
	samples [4]metrics.Sample
	percent int
	tunes   atomic.Uint64
}

// Start raises GOGC so that the heap may grow to floor bytes before a
// collection, and keeps adjusting it after every collection until Stop.
// The GOGC in force when Start is called (100, or the GOGC environment
// variable's) is the least it sets and what Stop restores. With floor 0,
// or with GOGC off or 0 (an operator's explicit choice), Start changes
// nothing and returns a Floor whose Stop does nothing.
func Start(floor uint64) *Floor {
	f := &Floor{floor: floor, heapMin: runtimeHeapMinimum(), base: currentPercent()}
	f.percent = f.base
	if floor == 0 || f.base <= 0 {
		f.stopped.Store(true)
		return f
	}
	f.samples[0].Name = metricLive
	f.samples[1].Name = metricStacks
	f.samples[2].Name = metricGlobals
	f.samples[3].Name = metricObjects
	f.tune()
	f.arm()
	return f
}

// Stop gives GOGC back the value it had when Start was called and stops
// adjusting it. It is safe to call more than once.
func (f *Floor) Stop() {
	if f.stopped.Swap(true) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	debug.SetGCPercent(f.base)
	f.percent = f.base
}

// Percent returns the GOGC the floor last set (the base before the first
// adjustment and after Stop).
func (f *Floor) Percent() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.percent
}

// Base returns the GOGC that was in force when Start was called.
func (f *Floor) Base() int { return f.base }

// Adjustments returns how many collections the floor has looked at.
func (f *Floor) Adjustments() uint64 { return f.tunes.Load() }

// sentinel is the object whose collection says a cycle ended. It holds a
// pointer so that the allocator never batches it with other small objects
// (a tiny allocation can outlive its own reachability by far).
type sentinel struct{ _ *Floor }

// arm attaches the next cleanup. The cleanup's argument is f, not the
// sentinel, so the sentinel stays unreachable and the next collection
// frees it.
func (f *Floor) arm() {
	runtime.AddCleanup(&sentinel{}, (*Floor).afterGC, f)
}

// afterGC runs in the runtime's cleanup goroutine after a collection.
func (f *Floor) afterGC() {
	if f.stopped.Load() {
		return
	}
	f.tune()
	f.arm()
}

// tune reads the heap and sets GOGC for the next cycle.
func (f *Floor) tune() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped.Load() {
		return
	}
	metrics.Read(f.samples[:])
	live := value(f.samples[0])
	if live == 0 {
		// Before the first collection the live heap is not known yet:
		// take everything allocated so far as live.
		live = value(f.samples[3])
	}
	roots := live + value(f.samples[1]) + value(f.samples[2])
	p := percentFor(f.floor, f.heapMin, f.base, live, roots)
	f.tunes.Add(1)
	if p != f.percent {
		debug.SetGCPercent(p)
		f.percent = p
	}
}

// percentFor is the GOGC that puts the heap goal at floor, and never below
// base. roots is the live heap plus the stacks and globals the collector
// scans; heapMin is the runtime's smallest goal at GOGC=100.
//
// The runtime's goal is the larger of two (gcControllerState.commit in
// runtime/mgcpacer.go, Go 1.26): live + roots*GOGC/100, and heapMin scaled
// by GOGC, heapMin*GOGC/100. The first alone, solved for floor, asks for a
// GOGC in the tens of thousands when the live heap is a few hundred KiB,
// and the second then puts the goal far above the floor (at 12 700, 4 MiB
// becomes 508 MiB). So GOGC is the smaller of the two solutions: with a
// small live heap the goal is the scaled minimum, exactly the floor.
func percentFor(floor, heapMin uint64, base int, live, roots uint64) int {
	if roots == 0 || live >= floor {
		return base
	}
	p := (floor - live) / roots * 100
	if rem := (floor - live) % roots; rem != 0 {
		p += rem * 100 / roots
	}
	if heapMin > 0 {
		p = min(p, floor/heapMin*100+floor%heapMin*100/heapMin)
	}
	switch {
	case p > maxPercent:
		return maxPercent
	case int(p) < base:
		return base
	}
	return int(p)
}

// runtimeHeapMinimum is the runtime's smallest heap goal at GOGC=100 in
// this program: 512 KiB if it was built with
// GOEXPERIMENT=heapminimum512kib, else 4 MiB.
func runtimeHeapMinimum() uint64 {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "GOEXPERIMENT" && hasExperiment(s.Value, experiment512KiBTag) {
				return heapMinimum512KiB
			}
		}
	}
	return heapMinimum
}

// hasExperiment reports whether the comma-separated GOEXPERIMENT list
// turns name on.
func hasExperiment(list, name string) bool {
	on := false
	for e := range strings.SplitSeq(list, ",") {
		switch e {
		case name:
			on = true
		case "no" + name:
			on = false
		}
	}
	return on
}

// currentPercent reads GOGC without changing it: -1 when the collector is
// off (GOGC=off reads as the largest uint64) or the runtime cannot say.
func currentPercent() int {
	s := []metrics.Sample{{Name: metricPercent}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return -1
	}
	v := s[0].Value.Uint64()
	if v > math.MaxInt32 {
		return -1
	}
	return int(v)
}

func value(s metrics.Sample) uint64 {
	if s.Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s.Value.Uint64()
}
