package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// OutboxEntry is one event taken from the outbox for delivery.
type OutboxEntry struct {
	// ID is the entry's id in the outbox (a stream id in Redis), what Ack
	// and Heartbeat take; Event.ID is the event's own id.
	ID    string
	Event Event
}

// SinkState is how far one event got with one sink. The deliverer records
// it after every attempt, so an event fanned out to two sinks is not sent
// again to the one that took it when the other fails, whichever node
// retries it.
type SinkState struct {
	// Attempts made so far, on any node.
	Attempts int `json:"attempts"`
	// Outcome is "" while attempts remain, else delivered, failed or gone.
	Outcome string `json:"outcome,omitempty"`
}

// Outbox is the durable queue between the evaluator and the sinks:
// [MemoryOutbox] in embedded mode, [RedisOutbox] (a Redis Stream with a
// consumer group) when nodes share Redis. An entry stays in the outbox
// until a deliverer acknowledges it; one whose deliverer died is taken
// over by another after a while.
type Outbox interface {
	// Add appends ev.
	Add(ctx context.Context, ev *Event) error
	// Claim takes up to n entries for consumer: first entries another
	// consumer took and left unacknowledged, silent for at least minIdle
	// (its node died), then new ones, waiting up to block for new ones
	// when there are none.
	Claim(ctx context.Context, consumer string, n int, minIdle, block time.Duration) ([]OutboxEntry, error)
	// Heartbeat renews consumer's claim on entries it is still working
	// on, so no other consumer takes them over.
	Heartbeat(ctx context.Context, consumer string, ids []string) error
	// Ack removes an entry from the pending ones: it is done.
	Ack(ctx context.Context, id string) error
	// SinkStates returns an event's per-sink delivery state.
	SinkStates(ctx context.Context, eventID string) (map[string]SinkState, error)
	// SetSinkState records one sink's state for an event.
	SetSinkState(ctx context.Context, eventID, sink string, st SinkState) error
	// Pending counts entries not yet acknowledged, taken or not.
	Pending(ctx context.Context) (int64, error)
}

// Outbox limits.
const (
	// DefaultOutboxMaxLen bounds the outbox: beyond it the oldest entries
	// are dropped (Redis: XADD MAXLEN ~, which may keep a few more).
	// Alerts are rare; 10 000 is days of a very bad day.
	DefaultOutboxMaxLen = 10_000
	// sinkStateTTL is how long per-sink state outlives its last change:
	// long enough to dedupe a late copy of the event.
	sinkStateTTL = 7 * 24 * time.Hour
)

// MemoryOutbox is the embedded [Outbox]: a slice with the semantics of the
// Redis one (claims, idle takeover, acknowledgement). Its contents die
// with the process: embedded mode has one node and no durable store.
type MemoryOutbox struct {
	mu      sync.Mutex
	seq     uint64
	entries []*memOutboxEntry
	states  map[string]*memSinkStates
	maxLen  int
	notify  chan struct{} // closed and replaced on Add
	now     func() time.Time
}

type memOutboxEntry struct {
	id      string
	ev      Event
	owner   string
	touched time.Time
}

type memSinkStates struct {
	m       map[string]SinkState
	changed time.Time
}

var _ Outbox = (*MemoryOutbox)(nil)

// NewMemoryOutbox returns an empty outbox holding at most maxLen entries
// (default DefaultOutboxMaxLen).
func NewMemoryOutbox(maxLen int) *MemoryOutbox {
	if maxLen <= 0 {
		maxLen = DefaultOutboxMaxLen
	}
	return &MemoryOutbox{
		states: make(map[string]*memSinkStates),
		maxLen: maxLen,
		notify: make(chan struct{}),
		now:    time.Now,
	}
}

// Add implements [Outbox].
func (o *MemoryOutbox) Add(_ context.Context, ev *Event) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seq++
	o.entries = append(o.entries, &memOutboxEntry{id: strconv.FormatUint(o.seq, 10), ev: *ev})
	if len(o.entries) > o.maxLen {
		o.entries = append(o.entries[:0:0], o.entries[len(o.entries)-o.maxLen:]...)
	}
	cutoff := o.now().Add(-sinkStateTTL)
	for id, st := range o.states {
		if st.changed.Before(cutoff) {
			delete(o.states, id)
		}
	}
	close(o.notify)
	o.notify = make(chan struct{})
	return nil
}

// Claim implements [Outbox].
func (o *MemoryOutbox) Claim(ctx context.Context, consumer string, n int, minIdle, block time.Duration) ([]OutboxEntry, error) {
	var timer <-chan time.Time
	for {
		o.mu.Lock()
		now := o.now()
		var out []OutboxEntry
		for _, e := range o.entries {
			if len(out) >= n {
				break
			}
			if e.owner != "" && now.Sub(e.touched) >= minIdle {
				e.owner, e.touched = consumer, now
				out = append(out, OutboxEntry{ID: e.id, Event: e.ev})
			}
		}
		for _, e := range o.entries {
			if len(out) >= n {
				break
			}
			if e.owner == "" {
				e.owner, e.touched = consumer, now
				out = append(out, OutboxEntry{ID: e.id, Event: e.ev})
			}
		}
		wake := o.notify
		o.mu.Unlock()
		if len(out) > 0 || block <= 0 {
			return out, nil
		}
		if timer == nil {
			t := time.NewTimer(block)
			defer t.Stop()
			timer = t.C
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-timer:
			return nil, nil
		case <-wake:
		}
	}
}

// Heartbeat implements [Outbox].
func (o *MemoryOutbox) Heartbeat(_ context.Context, consumer string, ids []string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.now()
	for _, e := range o.entries {
		for _, id := range ids {
			if e.id == id && e.owner == consumer {
				e.touched = now
			}
		}
	}
	return nil
}

// Ack implements [Outbox].
func (o *MemoryOutbox) Ack(_ context.Context, id string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i, e := range o.entries {
		if e.id == id {
			o.entries = append(o.entries[:i], o.entries[i+1:]...)
			break
		}
	}
	return nil
}

// SinkStates implements [Outbox].
func (o *MemoryOutbox) SinkStates(_ context.Context, eventID string) (map[string]SinkState, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[string]SinkState{}
	if st := o.states[eventID]; st != nil {
		for k, v := range st.m {
			out[k] = v
		}
	}
	return out, nil
}

// SetSinkState implements [Outbox].
func (o *MemoryOutbox) SetSinkState(_ context.Context, eventID, sink string, s SinkState) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	st := o.states[eventID]
	if st == nil {
		st = &memSinkStates{m: map[string]SinkState{}}
		o.states[eventID] = st
	}
	st.m[sink] = s
	st.changed = o.now()
	return nil
}

// Pending implements [Outbox].
func (o *MemoryOutbox) Pending(context.Context) (int64, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return int64(len(o.entries)), nil
}

// RedisOutboxConfig configures a [RedisOutbox]. The zero value is valid.
type RedisOutboxConfig struct {
	// Prefix starts every key. Default "mw".
	Prefix string
	// Group is the consumer group the deliverers of all nodes share.
	// Default "deliverers".
	Group string
	// MaxLen bounds the stream (XADD MAXLEN ~). Default
	// DefaultOutboxMaxLen.
	MaxLen int64
}

// RedisOutbox is the durable [Outbox] of nodes sharing Redis: a Stream
// P:{outbox}:events read by one consumer group. XADD appends; XREADGROUP
// hands each new entry to one node's deliverer, where it stays pending
// until XACK; a deliverer renews its claim (XCLAIM to itself, which resets
// the idle time) while it works, and XAUTOCLAIM hands entries idle longer
// than minIdle (their node died mid-delivery) to another node. Per-sink
// state is a HASH per event, P:{outbox}:s:<event id>. All keys share the
// hash tag {outbox}: one slot on a Cluster.
type RedisOutbox struct {
	c      redis.UniversalClient
	k      coordKeys
	group  string
	maxLen int64

	groupOnce sync.Mutex
	groupOK   bool
	cursor    sync.Map // consumer → XAUTOCLAIM cursor
}

var _ Outbox = (*RedisOutbox)(nil)

// NewRedisOutbox returns an outbox on client; the stream and group are
// created on first use.
func NewRedisOutbox(client redis.UniversalClient, cfg RedisOutboxConfig) (*RedisOutbox, error) {
	if client == nil {
		return nil, errors.New("alerts: NewRedisOutbox: client is nil")
	}
	k, err := newCoordKeys(cfg.Prefix)
	if err != nil {
		return nil, err
	}
	if cfg.Group == "" {
		cfg.Group = "deliverers"
	}
	if cfg.MaxLen <= 0 {
		cfg.MaxLen = DefaultOutboxMaxLen
	}
	return &RedisOutbox{c: client, k: k, group: cfg.Group, maxLen: cfg.MaxLen}, nil
}

// ensureGroup creates the stream and group once (XGROUP CREATE … 0
// MKSTREAM: from the stream's start, so events added before any node
// created the group are delivered too).
func (o *RedisOutbox) ensureGroup(ctx context.Context) error {
	o.groupOnce.Lock()
	defer o.groupOnce.Unlock()
	if o.groupOK {
		return nil
	}
	err := o.c.XGroupCreateMkStream(ctx, o.k.stream(), o.group, "0").Err()
	if err != nil && !redis.HasErrorPrefix(err, "BUSYGROUP") {
		return fmt.Errorf("alerts: redis outbox: create group: %w", err)
	}
	o.groupOK = true
	return nil
}

// Add implements [Outbox] with XADD MAXLEN ~.
func (o *RedisOutbox) Add(ctx context.Context, ev *Event) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("alerts: redis outbox: encode: %w", err)
	}
	if err := o.ensureGroup(ctx); err != nil {
		return err
	}
	err = o.c.XAdd(ctx, &redis.XAddArgs{
		Stream: o.k.stream(), MaxLen: o.maxLen, Approx: true,
		Values: []any{"event", b},
	}).Err()
	if err != nil {
		return fmt.Errorf("alerts: redis outbox: add %s: %w", ev.ID, err)
	}
	return nil
}

func decodeEntries(msgs []redis.XMessage) []OutboxEntry {
	out := make([]OutboxEntry, 0, len(msgs))
	for _, m := range msgs {
		s, _ := m.Values["event"].(string)
		var ev Event
		if s == "" || json.Unmarshal([]byte(s), &ev) != nil {
			// Not ours or damaged: hand it on with an empty event, which
			// the deliverer acknowledges and logs, so it does not cycle
			// between nodes for ever.
			out = append(out, OutboxEntry{ID: m.ID})
			continue
		}
		out = append(out, OutboxEntry{ID: m.ID, Event: ev})
	}
	return out
}

// Claim implements [Outbox]: XAUTOCLAIM (continuing from where this
// consumer's last one stopped), then XREADGROUP > with BLOCK. If the
// group has vanished (the stream was deleted) it is created again and the
// claim retried once.
func (o *RedisOutbox) Claim(ctx context.Context, consumer string, n int, minIdle, block time.Duration) ([]OutboxEntry, error) {
	out, err := o.claim(ctx, consumer, n, minIdle, block)
	if err != nil && len(out) == 0 && redis.HasErrorPrefix(errors.Unwrap(err), "NOGROUP") {
		o.resetGroup()
		return o.claim(ctx, consumer, n, minIdle, block)
	}
	return out, err
}

func (o *RedisOutbox) claim(ctx context.Context, consumer string, n int, minIdle, block time.Duration) ([]OutboxEntry, error) {
	if err := o.ensureGroup(ctx); err != nil {
		return nil, err
	}
	start := "0-0"
	if v, ok := o.cursor.Load(consumer); ok {
		start = v.(string)
	}
	msgs, next, err := o.c.XAutoClaim(ctx, &redis.XAutoClaimArgs{
		Stream: o.k.stream(), Group: o.group, Consumer: consumer,
		MinIdle: minIdle, Start: start, Count: int64(n),
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("alerts: redis outbox: autoclaim: %w", err)
	}
	o.cursor.Store(consumer, next)
	out := decodeEntries(msgs)
	if len(out) >= n {
		return out, nil
	}
	if len(out) > 0 {
		block = -1 // return what was reclaimed without waiting
	}
	args := &redis.XReadGroupArgs{
		Group: o.group, Consumer: consumer,
		Streams: []string{o.k.stream(), ">"},
		Count:   int64(n - len(out)), Block: block,
	}
	if block <= 0 {
		args.Block = -1 // no BLOCK argument
	}
	streams, err := o.c.XReadGroup(ctx, args).Result()
	if errors.Is(err, redis.Nil) {
		return out, nil
	}
	if err != nil {
		return out, fmt.Errorf("alerts: redis outbox: read: %w", err)
	}
	for _, s := range streams {
		out = append(out, decodeEntries(s.Messages)...)
	}
	return out, nil
}

// resetGroup makes the next call create the group again (the stream was
// deleted, e.g. by FLUSHALL).
func (o *RedisOutbox) resetGroup() {
	o.groupOnce.Lock()
	o.groupOK = false
	o.groupOnce.Unlock()
}

// Heartbeat implements [Outbox]: XCLAIM … 0 JUSTID to the same consumer
// resets the entries' idle time.
func (o *RedisOutbox) Heartbeat(ctx context.Context, consumer string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	err := o.c.XClaimJustID(ctx, &redis.XClaimArgs{
		Stream: o.k.stream(), Group: o.group, Consumer: consumer, MinIdle: 0, Messages: ids,
	}).Err()
	if err != nil {
		return fmt.Errorf("alerts: redis outbox: heartbeat: %w", err)
	}
	return nil
}

// Ack implements [Outbox] with XACK.
func (o *RedisOutbox) Ack(ctx context.Context, id string) error {
	if err := o.c.XAck(ctx, o.k.stream(), o.group, id).Err(); err != nil {
		return fmt.Errorf("alerts: redis outbox: ack %s: %w", id, err)
	}
	return nil
}

// SinkStates implements [Outbox] with HGETALL.
func (o *RedisOutbox) SinkStates(ctx context.Context, eventID string) (map[string]SinkState, error) {
	m, err := o.c.HGetAll(ctx, o.k.sinkState(eventID)).Result()
	if err != nil {
		return nil, fmt.Errorf("alerts: redis outbox: sink state of %s: %w", eventID, err)
	}
	out := make(map[string]SinkState, len(m))
	for k, v := range m {
		var st SinkState
		if err := json.Unmarshal([]byte(v), &st); err != nil {
			return nil, fmt.Errorf("alerts: redis outbox: sink state of %s/%s: %w", eventID, k, err)
		}
		out[k] = st
	}
	return out, nil
}

// SetSinkState implements [Outbox]: HSET and EXPIRE in one MULTI.
func (o *RedisOutbox) SetSinkState(ctx context.Context, eventID, sink string, st SinkState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("alerts: redis outbox: encode sink state: %w", err)
	}
	key := o.k.sinkState(eventID)
	_, err = o.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, sink, b)
		p.Expire(ctx, key, sinkStateTTL)
		return nil
	})
	if err != nil {
		return fmt.Errorf("alerts: redis outbox: set sink state of %s/%s: %w", eventID, sink, err)
	}
	return nil
}

// Pending implements [Outbox]: the group's pending entries (XPENDING) plus
// those not yet read (the group's lag, XINFO GROUPS).
func (o *RedisOutbox) Pending(ctx context.Context) (int64, error) {
	if err := o.ensureGroup(ctx); err != nil {
		return 0, err
	}
	p, err := o.c.XPending(ctx, o.k.stream(), o.group).Result()
	if err != nil {
		return 0, fmt.Errorf("alerts: redis outbox: pending: %w", err)
	}
	groups, err := o.c.XInfoGroups(ctx, o.k.stream()).Result()
	if err != nil {
		return 0, fmt.Errorf("alerts: redis outbox: groups: %w", err)
	}
	n := p.Count
	for _, g := range groups {
		if g.Name == o.group && g.Lag > 0 {
			n += g.Lag
		}
	}
	return n, nil
}

// PruneConsumers deletes the group's consumers that have no pending entry
// and have been inactive for longer than idle: each node that ever ran left
// one (a random name per process), and XINFO CONSUMERS would otherwise grow
// with every restart. A consumer with pending entries is kept: XAUTOCLAIM
// moves those first.
func (o *RedisOutbox) PruneConsumers(ctx context.Context, idle time.Duration) (int, error) {
	if err := o.ensureGroup(ctx); err != nil {
		return 0, err
	}
	cs, err := o.c.XInfoConsumers(ctx, o.k.stream(), o.group).Result()
	if err != nil {
		return 0, fmt.Errorf("alerts: redis outbox: consumers: %w", err)
	}
	n := 0
	for _, c := range cs {
		if c.Pending != 0 || c.Idle < idle {
			continue
		}
		if err := o.c.XGroupDelConsumer(ctx, o.k.stream(), o.group, c.Name).Err(); err != nil {
			return n, fmt.Errorf("alerts: redis outbox: delete consumer: %w", err)
		}
		n++
	}
	return n, nil
}
