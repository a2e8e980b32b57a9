package alerts

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// RecorderConfig configures a [Recorder]. The zero value is valid.
type RecorderConfig struct {
	// FlushInterval is how often pre-aggregated counts go to the store.
	// Default 1 s.
	FlushInterval time.Duration
	// FlushTimeout bounds one store call made by the background flusher.
	// Default 5 s.
	FlushTimeout time.Duration
	// Retention is how long stores keep minute buckets (a TTL in Redis).
	// Default 30 days.
	Retention time.Duration
	// BufferLimit is how many batches wait, oldest first, while the store
	// is down or slow; when a new batch would exceed it the oldest is
	// dropped, counted in mitmwatch_alerts_dropped_total and logged.
	// Default 900 (15 minutes at a 1 s interval).
	BufferLimit int
	// ClientKey is the secret of the keyed hash that feeds the
	// unique-client HyperLogLogs. Default: a random key per process, which
	// is fine for one node; nodes sharing a Redis must share a ClientKey,
	// or the same client counts once per node (unique counts over-count).
	ClientKey []byte
	// Logger receives overflow warnings and store outages. Default: discard.
	Logger *slog.Logger
	// Registerer receives the mitmwatch_alerts_… metrics. Default: none
	// (the counters still show in [Recorder.Stats]).
	Registerer prometheus.Registerer
	// Clock returns the current time. Default time.Now.
	Clock func() time.Time
}

// Defaults of [RecorderConfig].
const (
	DefaultFlushInterval = time.Second
	DefaultFlushTimeout  = 5 * time.Second
	DefaultRetention     = 30 * 24 * time.Hour
	DefaultBufferLimit   = 900
)

// JA4ClientRetention caps how long stores keep the distinct clients per
// network, minute and intercepted or unknown JA4 (Bucket.JA4Clients),
// when Retention is longer. They are one HyperLogLog per fingerprint and
// minute, so a network with several intercepted or unknown fingerprints
// has more of them than of its two other per-minute keys, and only the
// new_fingerprint rule reads them, over a window of at most this length. Counts and the other data keep
// Retention.
const JA4ClientRetention = 7 * 24 * time.Hour

// orgRefresh is how often an AS organisation name is written again, so its
// TTL in Redis outlives the counts that need it.
const orgRefresh = time.Hour

// Recorder counts observations without waiting on anything: [Recorder.Record]
// updates an in-memory pre-aggregation, and a flusher hands it to the
// [Store] every FlushInterval as one [Batch]. Batches the store cannot take
// wait in a bounded buffer and are retried in order.
type Recorder struct {
	store   Store
	cfg     RecorderConfig
	log     *slog.Logger
	clock   func() time.Time
	hasher  clientHasher
	node    string
	metrics *recorderMetrics

	shards    []shard
	shardMask uint32
	countries [26 * 26]string

	// closed is set by Close; Record checks it under the shard lock, so
	// no observation slips in after the final flush unseen.
	closed atomic.Bool
	// lateLogged makes the first Record after Close log once.
	lateLogged atomic.Bool

	// flushMu serialises flushes; it guards everything below and the
	// shards' spare aggregates.
	flushMu  sync.Mutex
	seq      uint64
	pending  []*Batch
	failing  bool
	orgsSent map[uint32]orgSent

	startOnce sync.Once
	stop      chan struct{}
	loopDone  chan struct{}
	closeOnce sync.Once
}

type orgSent struct {
	name string
	at   time.Time
}

// shard is one lock's share of the pre-aggregation; padded so two shards'
// locks do not share a cache line.
type shard struct {
	mu    sync.Mutex
	cur   *aggregate
	spare *aggregate // owned by the flusher (Recorder.flushMu)
	_     [48]byte
}

// NewRecorder returns a recorder writing to store. Call Start to flush in
// the background and Close to flush what is left.
func NewRecorder(store Store, cfg RecorderConfig) (*Recorder, error) {
	if store == nil {
		return nil, errors.New("alerts: NewRecorder: store is nil")
	}
	for _, f := range []struct {
		name string
		v    time.Duration
	}{{"FlushInterval", cfg.FlushInterval}, {"FlushTimeout", cfg.FlushTimeout}, {"Retention", cfg.Retention}} {
		if f.v < 0 {
			return nil, fmt.Errorf("alerts: RecorderConfig.%s is negative (%v)", f.name, f.v)
		}
	}
	if cfg.BufferLimit < 0 {
		return nil, fmt.Errorf("alerts: RecorderConfig.BufferLimit is negative (%d)", cfg.BufferLimit)
	}
	if cfg.Retention != 0 && cfg.Retention < time.Minute {
		return nil, fmt.Errorf("alerts: RecorderConfig.Retention %v is shorter than one minute bucket", cfg.Retention)
	}
	if cfg.FlushInterval == 0 {
		cfg.FlushInterval = DefaultFlushInterval
	}
	if cfg.FlushTimeout == 0 {
		cfg.FlushTimeout = DefaultFlushTimeout
	}
	if cfg.Retention == 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.BufferLimit == 0 {
		cfg.BufferLimit = DefaultBufferLimit
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	hasher, err := newClientHasher(cfg.ClientKey)
	if err != nil {
		return nil, err
	}
	m, err := newRecorderMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, fmt.Errorf("alerts: node id: %w", err)
	}
	// A few shards per CPU keep parallel Record calls off each other's
	// locks; a power of two makes the shard choice a mask.
	n := 1 << bits.Len(uint(4*runtime.GOMAXPROCS(0)-1))
	r := &Recorder{
		store:     store,
		cfg:       cfg,
		log:       log,
		clock:     cfg.Clock,
		hasher:    hasher,
		node:      hex.EncodeToString(id[:]),
		metrics:   m,
		shards:    make([]shard, n),
		shardMask: uint32(n - 1),
		orgsSent:  make(map[uint32]orgSent),
		stop:      make(chan struct{}),
		loopDone:  make(chan struct{}),
	}
	for i := range r.shards {
		r.shards[i].cur = newAggregate()
		r.shards[i].spare = newAggregate()
	}
	for i := range r.countries {
		r.countries[i] = string([]byte{byte('A' + i/26), byte('A' + i%26)})
	}
	return r, nil
}

// Node returns the recorder's random node id, the Batch.Node of its
// batches.
func (r *Recorder) Node() string { return r.node }

// Stats returns a snapshot of the recorder's counters.
func (r *Recorder) Stats() RecorderStats { return r.metrics.stats() }

// countryIndex returns the index in r.countries of the canonical
// upper-case two-letter code for c, or of "ZZ". The strings come from that
// table, so the aggregate never keeps the caller's memory alive and "kz"
// and "KZ" count together.
func countryIndex(c string) uint16 {
	if len(c) == 2 {
		a, b := c[0]|0x20, c[1]|0x20 // ASCII lower case
		if a >= 'a' && a <= 'z' && b >= 'a' && b <= 'z' {
			return uint16(a-'a')*26 + uint16(b-'a')
		}
	}
	return ('Z'-'A')*26 + ('Z' - 'A')
}

// Record counts one observation. It never blocks on I/O and does not
// allocate once the networks and minutes in use have been seen: it takes
// one shard lock and updates in-memory counters. After Close, observations
// are counted as dropped.
func (r *Recorder) Record(o Observation) {
	minute := minuteOf(r.clock())
	ci := countryIndex(o.Country)
	var h uint64
	hasClient := o.Client.IsValid()
	if hasClient {
		h = r.hasher.hash(o.Client)
	}
	// Spread networks over shards (Fibonacci hashing of ASN and country).
	x := (o.ASN ^ uint32(ci)<<20) * 0x9E3779B1
	sh := &r.shards[(x>>16)&r.shardMask]
	sh.mu.Lock()
	if r.closed.Load() {
		sh.mu.Unlock()
		r.lateRecord()
		return
	}
	sh.cur.add(minute, r.countries[ci], ci, &o, h, hasClient)
	sh.mu.Unlock()
}

func (r *Recorder) lateRecord() {
	r.metrics.dropped.Add(1)
	if r.lateLogged.CompareAndSwap(false, true) {
		r.log.Warn("alerts: Record called after Close; observation dropped (counted in mitmwatch_alerts_dropped_total)")
	}
}

// Start runs the background flusher: every FlushInterval it cuts a batch
// and hands pending batches to the store. Calling it again does nothing.
func (r *Recorder) Start() {
	r.startOnce.Do(func() { go r.loop() })
}

func (r *Recorder) loop() {
	defer close(r.loopDone)
	t := time.NewTicker(r.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), r.cfg.FlushTimeout)
			_ = r.Flush(ctx)
			cancel()
		}
	}
}

// Flush cuts a batch of everything recorded so far and hands the pending
// batches to the store, oldest first, stopping at the first error (the
// failed batch and those after it stay pending). The background flusher
// calls it; tests and commands may too.
func (r *Recorder) Flush(ctx context.Context) error {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	if b := r.cut(); b != nil {
		r.pending = append(r.pending, b)
		for len(r.pending) > r.cfg.BufferLimit {
			old := r.pending[0]
			r.pending[0] = nil
			r.pending = r.pending[1:]
			n := old.Observations()
			total := r.metrics.dropped.Add(n)
			r.log.Warn("alerts: pending buffer full, dropped the oldest batch",
				"observations", n, "batch_seq", old.Seq, "batch_time", old.Time,
				"buffer_limit", r.cfg.BufferLimit, "dropped_total", total)
		}
	}
	defer func() { r.metrics.pending.Store(int64(len(r.pending))) }()
	applied := 0
	for len(r.pending) > 0 {
		b := r.pending[0]
		start := time.Now()
		err := r.store.Apply(ctx, b)
		r.metrics.flushDuration.Observe(time.Since(start).Seconds())
		if err != nil {
			r.metrics.flushErrors.Add(1)
			if !r.failing {
				r.failing = true
				r.log.Warn("alerts: store unavailable, keeping batches to retry",
					"err", err, "pending", len(r.pending), "buffer_limit", r.cfg.BufferLimit)
			} else {
				r.log.Debug("alerts: store still unavailable", "err", err, "pending", len(r.pending))
			}
			return fmt.Errorf("alerts: flush batch %d: %w", b.Seq, err)
		}
		r.metrics.flushes.Add(1)
		now := r.clock()
		for asn, name := range b.ASOrgs {
			r.orgsSent[asn] = orgSent{name: name, at: now}
		}
		r.pending[0] = nil
		r.pending = r.pending[1:]
		applied++
	}
	r.pending = nil // drop the emptied backing array
	if r.failing {
		r.failing = false
		r.log.Info("alerts: store available again", "batches_applied", applied)
	}
	return nil
}

// cut swaps every shard's aggregate for its empty spare and turns the
// full ones into a batch; nil if nothing was recorded. Called with flushMu.
func (r *Recorder) cut() *Batch {
	now := r.clock()
	var buckets []Bucket
	var orgs map[uint32]string
	var notes map[string]JA4Note
	var n uint64
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.Lock()
		a := sh.cur
		sh.cur = sh.spare
		sh.mu.Unlock()

		n += a.observations()
		buckets = a.appendBuckets(buckets)
		for asn, name := range a.orgs {
			if s, ok := r.orgsSent[asn]; ok && s.name == name && now.Sub(s.at) < orgRefresh {
				continue
			}
			if orgs == nil {
				orgs = make(map[uint32]string)
			}
			orgs[asn] = name
		}
		for ja4, note := range a.notes {
			if notes == nil {
				notes = make(map[string]JA4Note)
			}
			notes[ja4] = notes[ja4].merge(note)
		}
		a.reset()
		sh.spare = a
	}
	r.metrics.recorded.Add(n)
	if len(buckets) == 0 {
		return nil
	}
	sortBuckets(buckets)
	r.seq++
	return &Batch{
		Node:      r.node,
		Seq:       r.seq,
		Time:      now,
		Retention: r.cfg.Retention,
		Buckets:   buckets,
		ASOrgs:    orgs,
		JA4Notes:  notes,
	}
}

// Close stops the background flusher and flushes what is left, retrying
// until the store takes it or ctx ends. Observations still pending then are
// counted as dropped and logged, and the error says how many. Record calls
// after Close count as dropped.
func (r *Recorder) Close(ctx context.Context) error {
	err := errors.New("alerts: recorder already closed")
	r.closeOnce.Do(func() {
		// Set closed under every shard lock: a Record that got its lock
		// before sees closed=false and is in the final cut; one after sees
		// true and counts itself dropped.
		for i := range r.shards {
			r.shards[i].mu.Lock()
			r.closed.Store(true)
			r.shards[i].mu.Unlock()
		}
		close(r.stop)
		// If Start was never called, close loopDone here (and make later
		// Start calls no-ops); otherwise the loop closes it on stop.
		r.startOnce.Do(func() { close(r.loopDone) })
		<-r.loopDone
		err = r.drainOnClose(ctx)
	})
	return err
}

func (r *Recorder) drainOnClose(ctx context.Context) error {
	wait := 10 * time.Millisecond
	for {
		err := r.Flush(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			r.flushMu.Lock()
			var n uint64
			for _, b := range r.pending {
				n += b.Observations()
			}
			batches := len(r.pending)
			r.pending = nil
			r.metrics.pending.Store(0)
			r.flushMu.Unlock()
			r.metrics.dropped.Add(n)
			r.log.Error("alerts: close: store unavailable until the deadline, observations dropped",
				"observations", n, "batches", batches, "err", err)
			return fmt.Errorf("alerts: close: %d observations in %d batches not stored: %w", n, batches, err)
		case <-time.After(wait):
		}
		wait = min(2*wait, r.cfg.FlushInterval)
	}
}
