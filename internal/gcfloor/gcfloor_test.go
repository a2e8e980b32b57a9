package gcfloor

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestPercentFor(t *testing.T) {
	const (
		kib = 1 << 10
		mib = 1 << 20
	)
	tests := []struct {
		name           string
		floor, heapMin uint64
		base           int
		live, roots    uint64
		want           int
	}{
		{"small live heap: the runtime's minimum scaled to the floor", 64 * mib, 4 * mib, 100, 1 * mib, 2 * mib, 1600},
		{"roots larger than the heap lower it", 64 * mib, 4 * mib, 100, 1 * mib, 9 * mib, 700},
		{"a live heap of some MiB: live + roots*GOGC/100 at the floor", 64 * mib, 4 * mib, 100, 6 * mib, 8 * mib, 725},
		{"live at half the floor: the base", 64 * mib, 4 * mib, 100, 32 * mib, 32 * mib, 100},
		{"live above the floor: the base", 64 * mib, 4 * mib, 100, 80 * mib, 81 * mib, 100},
		{"never below a larger base", 64 * mib, 4 * mib, 400, 8 * mib, 16 * mib, 400},
		{"a floor under the runtime's minimum: the base", 2 * mib, 4 * mib, 100, 100 * kib, 200 * kib, 100},
		{"the minimum's fraction is kept", 10 * mib, 4 * mib, 100, 10 * kib, 10 * kib, 250},
		{"a 512 KiB minimum lets GOGC rise higher", 64 * mib, 512 * kib, 100, 256 * kib, 512 * kib, 12750},
		{"a tiny heap under a huge floor is capped", 1 << 40, 4 * mib, 100, 1024, 1024, maxPercent},
		{"no roots known: the base", 64 * mib, 4 * mib, 100, 0, 0, 100},
		{"fractions are kept, not rounded to whole multiples", 11, 1, 100, 1, 3, 333},
		{"largest floor does not overflow", math.MaxUint64, 4 * mib, 100, 1 << 30, 1 << 30, maxPercent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentFor(tt.floor, tt.heapMin, tt.base, tt.live, tt.roots); got != tt.want {
				t.Errorf("percentFor(%d, %d, %d, %d, %d) = %d, want %d", tt.floor, tt.heapMin, tt.base, tt.live, tt.roots, got, tt.want)
			}
		})
	}
}

func TestHasExperiment(t *testing.T) {
	tests := []struct {
		name, list string
		want       bool
	}{
		{"none set", "", false},
		{"alone", "heapminimum512kib", true},
		{"among others", "greenteagc,heapminimum512kib", true},
		{"turned off again later", "heapminimum512kib,noheapminimum512kib", false},
		{"turned off", "noheapminimum512kib", false},
		{"a longer name is another experiment", "heapminimum512kibx", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hasExperiment(tt.list, experiment512KiBTag); got != tt.want {
				t.Errorf("hasExperiment(%q) = %v, want %v", tt.list, got, tt.want)
			}
		})
	}
}

// The runtime's goal must land at the floor, not above it: with the small
// live heap of a test process, GOGC solved from live + roots alone would
// scale the runtime's 4 MiB minimum to several times the floor.
func TestFloorPutsTheHeapGoalAtTheFloor(t *testing.T) {
	withPercent(t, 100)
	runtime.GC()
	const floor = 32 << 20
	f := Start(floor)
	defer f.Stop()
	s := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}}
	metrics.Read(s)
	goal := value(s[0])
	if goal > floor+floor/100 || goal < floor*9/10 {
		t.Errorf("heap goal %d MiB (GOGC %d) under a %d MiB floor, want the floor", goal>>20, f.Percent(), floor>>20)
	}
}

// withPercent runs the test with GOGC at p and puts the old value back.
func withPercent(t *testing.T, p int) {
	t.Helper()
	old := debug.SetGCPercent(p)
	t.Cleanup(func() { debug.SetGCPercent(old) })
}

// churn allocates n bytes of garbage in 1 KiB pieces and returns how many
// collections ran meanwhile.
func churn(n int) uint32 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.NumGC
	var keep []byte
	for i := 0; i < n/1024; i++ {
		keep = make([]byte, 1024)
		keep[0] = byte(i)
	}
	_ = keep
	runtime.ReadMemStats(&ms)
	return ms.NumGC - before
}

func TestFloorLetsTheHeapGrowToItBeforeCollecting(t *testing.T) {
	withPercent(t, 100)
	runtime.GC()
	without := churn(48 << 20)

	f := Start(256 << 20)
	defer f.Stop()
	runtime.GC()
	waitAdjusted(t, f, 1)
	with := churn(48 << 20)

	// Without the floor the runtime collects every 4 MiB or so: about a
	// dozen times for 48 MiB. With a 256 MiB floor 48 MiB of garbage fits
	// under the goal, and cleanups that run late may let one more in.
	if without < 6 {
		t.Fatalf("without the floor %d collections for 48 MiB: the test's premise (a 4 MiB goal) does not hold", without)
	}
	if with > 1 {
		t.Errorf("with a 256 MiB floor %d collections for 48 MiB of garbage, want at most 1 (without: %d)", with, without)
	}
	if p := f.Percent(); p <= 100 {
		t.Errorf("GOGC under the floor = %d, want above the base 100", p)
	}
}

// waitAdjusted waits until f has looked at n collections since Start.
func waitAdjusted(t *testing.T, f *Floor, n uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for f.Adjustments() < n+1 { // +1: Start's own
		if time.Now().After(deadline) {
			t.Fatalf("the floor saw %d collections in 10 s, want %d", f.Adjustments()-1, n)
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
}

func TestStopRestoresTheGOGCStartFound(t *testing.T) {
	withPercent(t, 150)
	f := Start(128 << 20)
	if got := currentPercent(); got <= 150 {
		t.Fatalf("after Start GOGC = %d, want above 150", got)
	}
	waitAdjusted(t, f, 2)
	f.Stop()
	f.Stop() // twice is harmless
	if got := currentPercent(); got != 150 {
		t.Errorf("after Stop GOGC = %d, want 150", got)
	}
	// Cleanups still pending must not set it again.
	runtime.GC()
	runtime.GC()
	time.Sleep(10 * time.Millisecond)
	if got := currentPercent(); got != 150 {
		t.Errorf("after Stop and two more collections GOGC = %d, want 150", got)
	}
	if f.Base() != 150 || f.Percent() != 150 {
		t.Errorf("Base, Percent = %d, %d; want 150, 150", f.Base(), f.Percent())
	}
}

func TestStartLeavesAnOperatorsChoiceAlone(t *testing.T) {
	tests := []struct {
		name    string
		percent int
		floor   uint64
	}{
		{"GOGC=off", -1, 64 << 20},
		{"GOGC=0", 0, 64 << 20},
		{"no floor", 100, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			withPercent(t, tt.percent)
			f := Start(tt.floor)
			if f.Percent() != tt.percent || f.Base() != tt.percent {
				t.Errorf("Percent, Base = %d, %d; want %d for both", f.Percent(), f.Base(), tt.percent)
			}
			runtime.GC()
			time.Sleep(10 * time.Millisecond)
			if got := debug.SetGCPercent(tt.percent); got != tt.percent {
				t.Errorf("GOGC after Start = %d, want %d untouched", got, tt.percent)
			}
			f.Stop()
			if got := debug.SetGCPercent(tt.percent); got != tt.percent {
				t.Errorf("GOGC after Stop = %d, want %d untouched", got, tt.percent)
			}
		})
	}
}

func TestCurrentPercentReadsWithoutChanging(t *testing.T) {
	for _, p := range []int{-1, 0, 100, 375} {
		withPercent(t, p)
		if got := currentPercent(); got != p {
			t.Errorf("GOGC %d read as %d", p, got)
		}
	}
}
