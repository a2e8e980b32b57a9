package alerts

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// deliverer takes events from the outbox and delivers each to every sink,
// with retries, recording every attempt in the delivery log and the
// per-(event, sink) state in the outbox. One runs per node; the outbox
// hands each event to one of them, and to another if that one dies.
type deliverer struct {
	outbox   Outbox
	sinks    []*sink
	log      DeliveryLog
	consumer string
	idle     time.Duration // RedeliverAfter
	poll     time.Duration // how long one Claim waits for new events
	logger   *slog.Logger
	metrics  *alertMetrics
	rnd      func() float64

	slots chan struct{} // one per event in flight

	mu       sync.Mutex
	inflight map[string]bool // outbox entry ids
	gone     map[string]bool // sinks that answered 410
	failing  bool            // outbox unavailable (logged once)

	// attemptCtx is cancelled when Close gives up waiting: attempts stop
	// and their events stay unacknowledged in the outbox.
	attemptCtx context.Context
	abort      context.CancelFunc
	// loopCtx ends when close starts: it cuts a waiting Claim short.
	loopCtx    context.Context
	loopCancel context.CancelFunc
	stop       chan struct{}
	loopDone   chan struct{}
	wg         sync.WaitGroup
	startOnce  sync.Once
	closeOnce  sync.Once
}

// maxInFlight bounds the events one node delivers at once. An event
// waiting on a sink's backoff holds a slot; alerts are rare, so 64 is far
// above a bad day's need while bounding goroutines.
const maxInFlight = 64

// Consumer housekeeping: every pruneEvery a node deletes the consumers of
// the Redis group idle for pruneIdle with nothing pending (nodes gone).
const (
	pruneEvery = time.Hour
	pruneIdle  = 24 * time.Hour
)

// consumerPruner is implemented by [RedisOutbox].
type consumerPruner interface {
	PruneConsumers(ctx context.Context, idle time.Duration) (int, error)
}

// pollInterval is how long a Claim waits for new events, and how often
// the pending gauge and the claims' heartbeats are refreshed at most.
const pollInterval = time.Second

func newDeliverer(o Outbox, sinks []*sink, dl DeliveryLog, consumer string, idle time.Duration, logger *slog.Logger, m *alertMetrics) *deliverer {
	ctx, cancel := context.WithCancel(context.Background())
	loopCtx, loopCancel := context.WithCancel(ctx)
	return &deliverer{
		loopCtx: loopCtx, loopCancel: loopCancel,
		outbox: o, sinks: sinks, log: dl, consumer: consumer, idle: idle,
		poll: min(pollInterval, idle/3), logger: logger, metrics: m,
		slots:    make(chan struct{}, maxInFlight),
		inflight: map[string]bool{}, gone: map[string]bool{},
		attemptCtx: ctx, abort: cancel,
		stop: make(chan struct{}), loopDone: make(chan struct{}),
	}
}

func (d *deliverer) start() {
	d.startOnce.Do(func() {
		go d.loop()
		go d.heartbeat()
	})
}

func (d *deliverer) loop() {
	defer close(d.loopDone)
	for {
		select {
		case <-d.stop:
			return
		default:
		}
		free := cap(d.slots) - len(d.slots)
		if free == 0 {
			select {
			case <-d.stop:
				return
			case <-time.After(d.poll):
			}
			continue
		}
		ctx, cancel := context.WithTimeout(d.loopCtx, d.poll+5*time.Second)
		entries, err := d.outbox.Claim(ctx, d.consumer, free, d.idle, d.poll)
		cancel()
		if err != nil {
			select {
			case <-d.stop:
				// Entries claimed by a Claim cut short stay pending and
				// are taken over by another node after RedeliverAfter.
				return
			default:
			}
			d.outboxDown(err)
			select {
			case <-d.stop:
				return
			case <-time.After(d.poll):
			}
			continue
		}
		d.outboxUp()
		for _, e := range entries {
			d.mu.Lock()
			busy := d.inflight[e.ID]
			if !busy {
				d.inflight[e.ID] = true
			}
			d.mu.Unlock()
			if busy {
				continue // our own entry, reclaimed while we work on it
			}
			d.slots <- struct{}{}
			d.wg.Add(1)
			go d.deliver(e)
		}
	}
}

func (d *deliverer) outboxDown(err error) {
	d.mu.Lock()
	first := !d.failing
	d.failing = true
	d.mu.Unlock()
	if first {
		d.logger.Warn("alerts: outbox unavailable; delivery waits", "err", err)
	} else {
		d.logger.Debug("alerts: outbox still unavailable", "err", err)
	}
}

func (d *deliverer) outboxUp() {
	d.mu.Lock()
	was := d.failing
	d.failing = false
	d.mu.Unlock()
	if was {
		d.logger.Info("alerts: outbox available again")
	}
}

// heartbeat renews this node's claims every third of RedeliverAfter, so a
// long retry (a sink down for an hour) is not taken over by another node
// while this one is alive, and refreshes the pending gauge.
func (d *deliverer) heartbeat() {
	t := time.NewTicker(max(d.idle/3, 10*time.Millisecond))
	defer t.Stop()
	lastPrune := time.Now()
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
		}
		if p, ok := d.outbox.(consumerPruner); ok && time.Since(lastPrune) >= pruneEvery {
			lastPrune = time.Now()
			ctx, cancel := context.WithTimeout(d.attemptCtx, 10*time.Second)
			if n, err := p.PruneConsumers(ctx, pruneIdle); err != nil {
				d.logger.Debug("alerts: outbox consumer housekeeping failed", "err", err)
			} else if n > 0 {
				d.logger.Info("alerts: removed outbox consumers of departed nodes", "consumers", n)
			}
			cancel()
		}
		d.mu.Lock()
		ids := make([]string, 0, len(d.inflight))
		for id := range d.inflight {
			ids = append(ids, id)
		}
		d.mu.Unlock()
		ctx, cancel := context.WithTimeout(d.attemptCtx, d.idle/3+time.Second)
		if err := d.outbox.Heartbeat(ctx, d.consumer, ids); err != nil {
			d.logger.Debug("alerts: outbox heartbeat failed", "err", err)
		}
		if n, err := d.outbox.Pending(ctx); err == nil {
			d.metrics.outboxPending.Set(float64(n))
		}
		cancel()
	}
}

// deliver sends one event to every sink that has not had it yet, then
// acknowledges it. Interrupted by Close it returns without acknowledging,
// leaving the event to another node (or this one after a restart).
func (d *deliverer) deliver(e OutboxEntry) {
	defer func() {
		d.mu.Lock()
		delete(d.inflight, e.ID)
		d.mu.Unlock()
		<-d.slots
		d.wg.Done()
	}()
	ctx := d.attemptCtx
	if e.Event.ID == "" {
		d.logger.Error("alerts: outbox entry is not an event; acknowledged and dropped", "entry", e.ID)
		d.ack(ctx, e.ID)
		return
	}
	var states map[string]SinkState
	for wait := d.poll; ; wait = min(2*wait, time.Minute) {
		var err error
		if states, err = d.outbox.SinkStates(ctx, e.Event.ID); err == nil {
			break
		}
		d.logger.Warn("alerts: cannot read delivery state; retrying", "event", e.Event.ID, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
	var wg sync.WaitGroup
	for _, s := range d.sinks {
		st := states[s.cfg.Name]
		if st.Outcome != "" {
			continue // this sink is done with the event (another attempt's node did it)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.deliverSink(ctx, &e.Event, s, st)
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return
	}
	d.ack(ctx, e.ID)
}

func (d *deliverer) ack(ctx context.Context, id string) {
	for wait := d.poll; ; wait = min(2*wait, time.Minute) {
		err := d.outbox.Ack(ctx, id)
		if err == nil {
			return
		}
		d.logger.Warn("alerts: cannot acknowledge a delivered event; retrying", "entry", id, "err", err)
		select {
		case <-ctx.Done():
			return // another node will find every sink done and ack it
		case <-time.After(wait):
		}
	}
}

func (d *deliverer) isGone(s *sink) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.gone[s.cfg.Name]
}

// deliverSink makes the remaining attempts of ev to s until one succeeds,
// the sink answers 410, MaxAttempts is reached or ctx ends.
func (d *deliverer) deliverSink(ctx context.Context, ev *Event, s *sink, st SinkState) {
	subject := Subject{Scope: ev.Data.Scope, Country: ev.Data.Country, ASN: ev.Data.ASN}.String()
	for st.Outcome == "" {
		if d.isGone(s) {
			st.Outcome = OutcomeGone
			d.setState(ctx, ev, s, st)
			return
		}
		st.Attempts++
		res := s.send(ctx, ev, time.Now())
		if ctx.Err() != nil && res.outcome != OutcomeDelivered {
			return // shutting down: this attempt does not count
		}
		outcome := res.outcome
		var next time.Duration
		if outcome == OutcomeRetry {
			if st.Attempts >= s.cfg.MaxAttempts {
				outcome = OutcomeFailed
			} else if next = res.retryAfter; next == 0 {
				next = backoff(st.Attempts, s.cfg.Backoff, s.cfg.MaxBackoff, d.rnd)
			}
		}
		if outcome != OutcomeRetry {
			st.Outcome = outcome
		}
		rec := DeliveryRecord{
			Time: time.Now().UTC(), EventID: ev.ID, EventType: ev.Type, Incident: ev.Data.Incident, Rule: ev.Data.Rule,
			Subject: subject, Sink: s.cfg.Name, Format: s.cfg.Format, Attempt: st.Attempts,
			Outcome: outcome, Status: res.status, DurationMS: float64(res.duration.Microseconds()) / 1000,
			Node: d.consumer,
		}
		if res.err != nil {
			rec.Error = res.err.Error()
		}
		if next > 0 {
			t := rec.Time.Add(next)
			rec.NextAttempt = &t
		}
		d.metrics.deliveries.WithLabelValues(s.cfg.Format, outcome).Inc()
		d.metrics.deliveryDuration.WithLabelValues(s.cfg.Format).Observe(res.duration.Seconds())
		if err := d.log.Append(ctx, rec); err != nil {
			d.logger.Debug("alerts: delivery log unavailable", "err", err)
		}
		d.setState(ctx, ev, s, st)
		attrs := []any{"event", ev.ID, "type", ev.Type, "rule", ev.Data.Rule, "subject", subject,
			"sink", s.cfg.Name, "attempt", st.Attempts, "status", res.status}
		switch outcome {
		case OutcomeDelivered:
			d.logger.Info("alerts: delivered", attrs...)
		case OutcomeGone:
			d.mu.Lock()
			d.gone[s.cfg.Name] = true
			d.mu.Unlock()
			d.logger.Error("alerts: sink answered 410 Gone; no more deliveries to it until restart (remove or fix it in the configuration)", attrs...)
		case OutcomeFailed:
			d.logger.Error("alerts: delivery given up after the last attempt", append(attrs, "err", res.err)...)
		default:
			d.logger.Warn("alerts: delivery failed; will retry", append(attrs, "err", res.err, "retry_in", next.Round(time.Millisecond))...)
			select {
			case <-ctx.Done():
				return
			case <-time.After(next):
			}
		}
	}
}

// setState records the sink state; an error only risks a repeat (with the
// same webhook-id, which receivers deduplicate on), so it is logged.
func (d *deliverer) setState(ctx context.Context, ev *Event, s *sink, st SinkState) {
	if err := d.outbox.SetSinkState(ctx, ev.ID, s.cfg.Name, st); err != nil {
		d.logger.Warn("alerts: cannot record delivery state", "event", ev.ID, "sink", s.cfg.Name, "err", err)
	}
}

// close stops taking events and waits for deliveries in flight until ctx
// ends; then it aborts them, and their events stay in the outbox for
// another node (Redis) or are lost with the process (memory). It reports
// whether every delivery finished.
func (d *deliverer) close(ctx context.Context) error {
	var err error
	d.closeOnce.Do(func() {
		close(d.stop)
		d.loopCancel()
		d.startOnce.Do(func() { close(d.loopDone) })
		<-d.loopDone
		done := make(chan struct{})
		go func() { d.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			d.mu.Lock()
			n := len(d.inflight)
			d.mu.Unlock()
			d.abort()
			<-done
			err = errors.New("alerts: close: deliveries interrupted; their events stay in the outbox")
			d.logger.Warn("alerts: close deadline reached; undelivered events stay in the outbox", "in_flight", n)
		}
		d.abort()
	})
	return err
}
