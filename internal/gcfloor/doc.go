// Package gcfloor keeps the Go garbage collector from running over and over
// while the heap is small: it raises GOGC while the live heap is under a
// floor, so that the heap may grow to about the floor before the next
// collection, and gives GOGC back once the live heap is large enough for
// the usual pacing.
//
// # Why an edge server wants it
//
// The runtime starts the next collection when the heap has grown by GOGC
// percent of what the last one left live, and never below 4 MiB in all
// (GOGC=100). An edge that terminates TLS allocates some 50 KiB per new
// connection and keeps well under a megabyte live between connections, so
// it collects every few dozen connections, and each collection scans every
// goroutine's stack. With a floor of 64 MiB the edge collected 3 times in
// 4 000 new connections, against 78 times without, and spent a fifth less
// CPU per new connection under load (docs/benchmarks.md); its resident
// memory grew to about the floor (82 MB against 24 MB).
//
// # How
//
// After every collection (a cleanup attached to an object that the
// collection frees, attached anew each time) the package reads the live
// heap and the stack and global roots from runtime/metrics and sets
//
//	GOGC = (floor - live) * 100 / (live + stacks + globals)
//
// which is the runtime's own heap goal, live + (live + roots) * GOGC/100,
// solved for a goal at the floor. Two bounds apply:
//
//   - never above floor / 4 MiB * 100: the runtime's goal is also never
//     under its minimum of 4 MiB scaled by GOGC, and with a live heap of a
//     few hundred KiB the solution above would scale that minimum far past
//     the floor (a 32 MiB floor gave a 438 MiB goal before this bound);
//   - never below the GOGC it started with: a heap whose live part is half
//     the floor or more gets that GOGC back.
//
// A memory limit (GOMEMLIMIT, debug.SetMemoryLimit) still applies: the
// runtime collects as it nears the limit whatever GOGC says.
//
// It changes process-wide settings, so only a program's main should start
// it, and only one at a time; a library never should.
//
// The library others use for this, github.com/bytedance/gopkg/util/gctuner
// (its tuner.go as read on 2026-12-07), keeps its state in package
// variables, caps GOGC at MaxGCPercent (500 unless changed process-wide),
// which at a live heap of 1 MiB is a 6 MiB goal, and drops GOGC to
// MinGCPercent (50) once the heap passes its threshold: a high-water mark
// against running out of memory, not a floor.
package gcfloor
