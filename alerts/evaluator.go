package alerts

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// EvaluatorConfig configures an [Evaluator]. Store is required; the rest
// has defaults.
type EvaluatorConfig struct {
	// Config is the alerts section (rules, webhooks, intervals); it is
	// validated by NewEvaluator. The zero value means the DefaultRules and
	// no webhook.
	Config Config
	// Store is where the recorder's counts are read. Required.
	Store Store
	// Redis, when set, shares incidents, the outbox and the delivery log
	// between the nodes using it (standalone, Sentinel or Cluster). When
	// nil (embedded mode) they live in this process's memory.
	Redis redis.UniversalClient
	// RedisPrefix starts the coordination keys. Default "mw", the store's
	// default: use the store's prefix.
	RedisPrefix string
	// Incidents, Outbox and DeliveryLog replace the ones Redis (or memory)
	// would give. Default nil.
	Incidents   IncidentStore
	Outbox      Outbox
	DeliveryLog DeliveryLog
	// Node names this node in events, logs and the outbox consumer group;
	// it must be unique among live nodes. Default: a random id.
	Node string
	// Describe returns the grade and verdict reasons of a JA4 that this
	// process noted, for the alert's top fingerprints; [NoteBook.Describe]
	// fits. Alerts also carry what the store keeps per JA4 (every node's
	// grades and reasons, see [FingerprintSighting]): a grade from
	// Describe wins over the store's, reasons are merged. Default none
	// (only the store's).
	Describe func(ja4 string) (FingerprintNote, bool)
	// HTTPClient sends webhooks; it is copied and never follows redirects.
	// Default: a client with its own transport.
	HTTPClient *http.Client
	// Logger receives incidents, deliveries and outages. Default: discard.
	Logger *slog.Logger
	// Registerer receives the metrics listed in doc.go. Default: none.
	Registerer prometheus.Registerer
	// Clock is the evaluation time. Default time.Now. (Delivery timing,
	// backoff and signatures always use the wall clock.)
	Clock func() time.Time
}

// incidentTTL bounds how long an incident no evaluator touches survives:
// every evaluation of every node renews it, so it only expires when no
// node has run for this long.
const incidentTTL = 24 * time.Hour

// Evaluator runs the rules every EvaluateEvery on this node, opens and
// resolves incidents (one per rule and subject across all nodes), puts
// their events in the outbox, and runs this node's deliverer. Every node
// runs one; see doc.go, "Rules and incidents".
type Evaluator struct {
	cfg       Config
	store     Store
	incidents IncidentStore
	outbox    Outbox
	dlog      DeliveryLog
	rules     []*rule
	node      string
	describe  func(string) (FingerprintNote, bool)
	logger    *slog.Logger
	metrics   *alertMetrics
	clock     func() time.Time
	del       *deliverer

	evalMu   sync.Mutex // one evaluation at a time
	failing  bool
	stop     chan struct{}
	loopDone chan struct{}
	loopCtx  context.Context
	cancel   context.CancelFunc

	startOnce sync.Once
	closeOnce sync.Once
}

// NewEvaluator validates cfg and returns an evaluator; Start runs it.
func NewEvaluator(cfg EvaluatorConfig) (*Evaluator, error) {
	if cfg.Store == nil {
		return nil, errors.New("alerts: NewEvaluator: Store is nil")
	}
	if err := cfg.Config.Validate(); err != nil {
		return nil, err
	}
	c := cfg.Config.withDefaults()
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	node := cfg.Node
	if node == "" {
		node = randomID(6)
	} else if !validName(node, true) {
		return nil, fmt.Errorf("%w: node name %q: want 1 to 63 of A-Z, a-z, 0-9, '-', '_', '.'", ErrConfig, node)
	}
	e := &Evaluator{
		cfg: c, store: cfg.Store, node: node, describe: cfg.Describe,
		logger: logger, clock: cfg.Clock,
		incidents: cfg.Incidents, outbox: cfg.Outbox, dlog: cfg.DeliveryLog,
		stop: make(chan struct{}), loopDone: make(chan struct{}),
	}
	if e.clock == nil {
		e.clock = time.Now
	}
	var err error
	if cfg.Redis != nil {
		if e.incidents == nil {
			if e.incidents, err = NewRedisIncidents(cfg.Redis, cfg.RedisPrefix); err != nil {
				return nil, err
			}
		}
		if e.outbox == nil {
			if e.outbox, err = NewRedisOutbox(cfg.Redis, RedisOutboxConfig{Prefix: cfg.RedisPrefix}); err != nil {
				return nil, err
			}
		}
		if e.dlog == nil {
			if e.dlog, err = NewRedisDeliveryLog(cfg.Redis, cfg.RedisPrefix, c.DeliveryLogSize); err != nil {
				return nil, err
			}
		}
	}
	if e.incidents == nil {
		e.incidents = NewMemoryIncidents()
	}
	if e.outbox == nil {
		e.outbox = NewMemoryOutbox(0)
	}
	if e.dlog == nil {
		e.dlog = NewMemoryDeliveryLog(c.DeliveryLogSize)
	}
	if e.metrics, err = newAlertMetrics(cfg.Registerer); err != nil {
		return nil, err
	}
	sinks, err := newSinks(c.Webhooks, cfg.HTTPClient)
	if err != nil {
		return nil, err
	}
	for _, r := range c.Rules {
		e.rules = append(e.rules, newRule(r))
	}
	e.del = newDeliverer(e.outbox, sinks, e.dlog, node, c.RedeliverAfter, logger, e.metrics)
	e.loopCtx, e.cancel = context.WithCancel(context.Background())
	return e, nil
}

// Node returns this node's name.
func (e *Evaluator) Node() string { return e.node }

// DeliveryLog returns the delivery log, for the dashboard.
func (e *Evaluator) DeliveryLog() DeliveryLog { return e.dlog }

// Incidents returns the open incidents of all nodes.
func (e *Evaluator) Incidents(ctx context.Context) ([]*Incident, error) {
	return e.incidents.List(ctx)
}

// Start runs the evaluation loop (one evaluation now, then every
// EvaluateEvery) and the deliverer. Calling it again does nothing.
func (e *Evaluator) Start() {
	e.startOnce.Do(func() {
		e.del.start()
		go e.loop()
	})
}

func (e *Evaluator) loop() {
	defer close(e.loopDone)
	t := time.NewTicker(e.cfg.EvaluateEvery)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(e.loopCtx, e.cfg.EvaluateEvery)
		_ = e.Evaluate(ctx) // logged inside
		cancel()
		select {
		case <-e.stop:
			return
		case <-t.C:
		}
	}
}

// Close stops evaluating and closes the deliverer: deliveries in flight
// may finish until ctx ends; what is left stays in the outbox (durable in
// Redis, for another node or the next start). It returns an error if
// deliveries were cut short.
func (e *Evaluator) Close(ctx context.Context) error {
	err := errors.New("alerts: evaluator already closed")
	e.closeOnce.Do(func() {
		close(e.stop)
		e.startOnce.Do(func() { close(e.loopDone) })
		go func() {
			select {
			case <-ctx.Done():
				e.cancel() // cut a running evaluation short
			case <-e.loopDone:
			}
		}()
		<-e.loopDone
		err = e.del.close(ctx)
		e.cancel()
	})
	return err
}

// grace is how long an event may sit in an incident's Outgoing before
// another evaluation (this node's or another's) puts it in the outbox
// itself: its writer has either died or failed to reach the outbox.
func (e *Evaluator) grace() time.Duration { return 2 * e.cfg.EvaluateEvery }

// Evaluate runs every rule once at the clock's time: it measures each
// rule's window, advances the open incidents (reminder, recovery,
// resolution) and opens incidents for subjects now firing. Errors of one
// rule do not stop the others; the joined error is returned and logged.
func (e *Evaluator) Evaluate(ctx context.Context) error {
	e.evalMu.Lock()
	defer e.evalMu.Unlock()
	now := e.clock()
	e.metrics.evaluations.Inc()
	var errs []error
	open, err := e.incidents.List(ctx)
	if err != nil {
		e.evalFailed(err)
		return err
	}
	byRule := map[string][]*Incident{}
	for _, inc := range open {
		byRule[inc.Rule] = append(byRule[inc.Rule], inc)
	}
	d := &details{store: e.store, describe: e.describe, now: now}
	for _, r := range e.rules {
		m, err := r.measure(ctx, e.store, now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		seen := map[Subject]bool{}
		for _, inc := range byRule[r.cfg.Name] {
			seen[inc.Subject] = true
			if err := e.advance(ctx, r, m, inc, now, d); err != nil {
				errs = append(errs, err)
			}
		}
		subjects := slices.SortedFunc(maps.Keys(m.findings), compareSubjects)
		for _, s := range subjects {
			f := m.findings[s]
			if f.cond != condFiring || seen[s] {
				continue
			}
			if err := e.open(ctx, r, m, f, now, d); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if n, err := e.incidents.List(ctx); err == nil {
		e.metrics.incidentsOpen.Set(float64(len(n)))
	}
	if err := errors.Join(errs...); err != nil {
		e.evalFailed(err)
		return err
	}
	if e.failing {
		e.failing = false
		e.logger.Info("alerts: evaluation works again")
	}
	return nil
}

func (e *Evaluator) evalFailed(err error) {
	e.metrics.evaluationErrors.Inc()
	if !e.failing {
		e.failing = true
		e.logger.Warn("alerts: evaluation failed; retrying every evaluate_every", "err", err)
	} else {
		e.logger.Debug("alerts: evaluation still failing", "err", err)
	}
}

func compareSubjects(a, b Subject) int {
	if c := cmp.Compare(a.Scope, b.Scope); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Country, b.Country); c != 0 {
		return c
	}
	if c := cmp.Compare(a.ASN, b.ASN); c != 0 {
		return c
	}
	return cmp.Compare(a.JA4, b.JA4)
}

// newEvent builds an event about f for inc.
func (e *Evaluator) newEvent(ctx context.Context, r *rule, m *measurement, f *finding, inc *Incident, typ, suffix string, now time.Time, d *details) *Event {
	a := r.alert(ctx, m, f, inc, d)
	a.Node = e.node
	a.Reminder = inc.Reminders
	if typ == EventResolved {
		t := now.UTC()
		a.ResolvedAt = &t
		a.PeakShare = inc.PeakShare
		a.Reminder = 0
	}
	a.summarize(typ)
	return &Event{ID: "msg_" + inc.ID + "_" + suffix, Type: typ, Timestamp: now.UTC(), Data: a}
}

// open opens an incident for a firing subject. Of several nodes doing so
// at once, one Create succeeds (SET NX) and only that node emits.
func (e *Evaluator) open(ctx context.Context, r *rule, m *measurement, f *finding, now time.Time, d *details) error {
	inc := &Incident{
		ID: randomID(12), Rule: r.cfg.Name, Subject: f.subject, OpenedAt: now.UTC(),
		Node: e.node, LastNotified: now.UTC(), PeakShare: f.row.Share,
	}
	if f.baseline != nil {
		inc.Baseline = f.baseline.Share
	}
	ev := e.newEvent(ctx, r, m, f, inc, EventAlert, "alert", now, d)
	inc.Outgoing, inc.OutgoingAt = ev, now.UTC()
	ok, err := e.incidents.Create(ctx, inc, incidentTTL)
	if err != nil && !ok {
		return err
	}
	if !ok {
		// Another node opened it first (or it is open but was missing from
		// the index: Get indexes it again). Nothing to emit.
		_, err := e.incidents.Get(ctx, r.cfg.Name, f.subject)
		return err
	}
	e.logger.Info("alerts: incident opened", "incident", inc.ID, "rule", r.cfg.Name, "subject", f.subject.String(),
		"share", f.row.Share, "browser_connections", f.row.Browser, "intercepted", f.row.Intercepted)
	return e.emit(ctx, inc, kindAlert)
}

// emit puts inc.Outgoing in the outbox and then clears it from the
// incident (or, for a resolution, deletes the incident). If the outbox
// fails, Outgoing stays and a later evaluation retries after the grace.
func (e *Evaluator) emit(ctx context.Context, inc *Incident, kind string) error {
	ev := inc.Outgoing
	if err := e.outbox.Add(ctx, ev); err != nil {
		return fmt.Errorf("alerts: incident %s: enqueue %s: %w", inc.ID, ev.ID, err)
	}
	e.metrics.events.WithLabelValues(kind).Inc()
	if inc.Resolving {
		if _, err := e.incidents.Delete(ctx, inc); err != nil {
			return err
		}
		e.logger.Info("alerts: incident resolved", "incident", inc.ID, "rule", inc.Rule, "subject", inc.Subject.String())
		return nil
	}
	next := inc.clone()
	next.Outgoing, next.OutgoingAt = nil, time.Time{}
	_, err := e.incidents.Update(ctx, inc, next, incidentTTL)
	return err
}

// advance moves an open incident on by one evaluation.
func (e *Evaluator) advance(ctx context.Context, r *rule, m *measurement, inc *Incident, now time.Time, d *details) error {
	if inc.Outgoing != nil {
		if now.Sub(inc.OutgoingAt) < e.grace() {
			return e.incidents.Touch(ctx, inc, incidentTTL)
		}
		// Its writer died or could not reach the outbox: claim the retry
		// (compare-and-set, so one node does it) and enqueue the same event.
		next := inc.clone()
		next.OutgoingAt = now.UTC()
		ok, err := e.incidents.Update(ctx, inc, next, incidentTTL)
		if err != nil || !ok {
			return err
		}
		e.logger.Warn("alerts: re-enqueueing an event its node did not confirm", "incident", inc.ID, "event", inc.Outgoing.ID)
		kind := kindAlert
		if next.Resolving {
			kind = kindResolved
		} else if next.Reminders > 0 {
			kind = kindReminder
		}
		return e.emit(ctx, next, kind)
	}
	f := r.judge(m, inc)
	next := inc.clone()
	switch f.cond {
	case condGone:
		_, err := e.incidents.Delete(ctx, inc)
		if err == nil {
			e.logger.Info("alerts: incident closed: fingerprint no longer new", "incident", inc.ID, "rule", inc.Rule, "subject", inc.Subject.String())
		}
		return err
	case condFiring, condHold:
		changed := false
		if next.ClearSince != nil {
			next.ClearSince, changed = nil, true
		}
		if f.row.Share > next.PeakShare {
			next.PeakShare, changed = f.row.Share, true
		}
		if every := r.cfg.remindEvery(); every > 0 && now.Sub(inc.LastNotified) >= every {
			next.Reminders++
			next.LastNotified = now.UTC()
			ev := e.newEvent(ctx, r, m, f, next, EventAlert, fmt.Sprintf("r%d", next.Reminders), now, d)
			next.Outgoing, next.OutgoingAt = ev, now.UTC()
			ok, err := e.incidents.Update(ctx, inc, next, incidentTTL)
			if err != nil || !ok {
				return err // another node reminded first
			}
			return e.emit(ctx, next, kindReminder)
		}
		if changed {
			_, err := e.incidents.Update(ctx, inc, next, incidentTTL)
			return err
		}
		return e.incidents.Touch(ctx, inc, incidentTTL)
	default: // condClear
		if next.ClearSince == nil {
			t := now.UTC()
			next.ClearSince = &t
			_, err := e.incidents.Update(ctx, inc, next, incidentTTL)
			return err
		}
		if now.Sub(*next.ClearSince) < r.cfg.ResolveAfter {
			return e.incidents.Touch(ctx, inc, incidentTTL)
		}
		next.Resolving = true
		ev := e.newEvent(ctx, r, m, f, next, EventResolved, "resolved", now, d)
		next.Outgoing, next.OutgoingAt = ev, now.UTC()
		ok, err := e.incidents.Update(ctx, inc, next, incidentTTL)
		if err != nil || !ok {
			return err // another node resolves it
		}
		return e.emit(ctx, next, kindResolved)
	}
}
