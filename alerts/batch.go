package alerts

import (
	"time"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// Batch is what a [Recorder] hands its [Store] at each flush: the
// observations of one flush interval, pre-aggregated per network and
// minute.
//
// Batches of one recorder carry the same Node and increasing Seq. A store
// applies each batch at most once per network (see [Store.Apply]), which
// makes a retry after a partial failure exact.
type Batch struct {
	// Node identifies the recorder (random per process).
	Node string
	// Seq numbers the recorder's batches from 1, in the order they are
	// applied.
	Seq uint64
	// Time is when the batch was cut.
	Time time.Time
	// Retention is how long the store keeps the batch's minute buckets
	// after the end of their minute.
	Retention time.Duration
	// Buckets hold the counts, one per (network, minute), at most one
	// bucket per pair.
	Buckets []Bucket
	// ASOrgs maps ASNs to organisation names to store for display; only
	// names not written recently are included.
	ASOrgs map[uint32]string
	// JA4Notes holds, per intercepted or unknown browser JA4 of the
	// buckets (clipped like their counters), the TLS grade and verdict
	// reasons the batch's observations carried; a JA4 whose observations
	// carried neither has no entry. Stores keep them with the fingerprint
	// index, so an alert sent by any node can show them.
	JA4Notes map[string]JA4Note
}

// JA4Note is what a batch's observations said about one JA4 beyond counts.
type JA4Note struct {
	// Grade is the latest grade other than GradeNone seen. Stores keep
	// the grade of the newest minute across batches.
	Grade fingerprints.Grade
	// Reasons is the union of the verdicts' reasons.
	Reasons fingerprints.Reasons
}

// merge adds what o says to n: a grade other than GradeNone replaces
// n's, reasons are OR-ed.
func (n JA4Note) merge(o JA4Note) JA4Note {
	if o.Grade != fingerprints.GradeNone {
		n.Grade = o.Grade
	}
	n.Reasons |= o.Reasons
	return n
}

// Bucket is one network's counts for one UTC minute.
type Bucket struct {
	Network Network
	// Minute is the Unix time in minutes (Unix seconds / 60).
	Minute int64
	Counts Counts
	// Products counts intercepted browser connections per product.
	Products map[string]uint64
	// InterceptedJA4 and UnknownJA4 count browser connections per JA4 for
	// those two verdicts.
	InterceptedJA4 map[string]uint64
	UnknownJA4     map[string]uint64
	// Clients are keyed 64-bit hashes of the client addresses seen,
	// distinct within the bucket (never the addresses themselves).
	Clients []uint64
	// JA4Clients are, per JA4 of InterceptedJA4 and UnknownJA4, the keyed
	// hashes of the clients whose browser connections carried it (either
	// verdict), distinct and sorted. A JA4 seen only from observations
	// without a client address has no entry.
	JA4Clients map[string][]uint64
}

// Observations returns the number of observations in the batch.
func (b *Batch) Observations() uint64 {
	var n uint64
	for i := range b.Buckets {
		n += b.Buckets[i].Counts.Connections
	}
	return n
}

// minuteOf returns the Unix minute containing t.
func minuteOf(t time.Time) int64 {
	s := t.Unix()
	if s < 0 {
		return (s - 59) / 60
	}
	return s / 60
}

// minuteTime returns the start of Unix minute m in UTC.
func minuteTime(m int64) time.Time { return time.Unix(m*60, 0).UTC() }

// minuteRange returns the Unix minutes [first, end) that overlap the window
// [from, to): a window ending mid-minute includes that minute.
func minuteRange(from, to time.Time) (first, end int64) {
	first = minuteOf(from)
	if !to.After(from) {
		return first, first
	}
	end = minuteOf(to.Add(-time.Nanosecond)) + 1
	return first, end
}
