package alerts

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// netRule is the rule most evaluator tests use: one network at 20% over
// 5 minutes with at least 50 browser connections.
var netRule = RuleConfig{Name: "net-share", Scope: ScopeNetwork, Window: 5 * time.Minute, MinConnections: 50, MinShare: 0.2}

// drain takes every event now in a memory outbox, acknowledging them.
func drain(t *testing.T, o Outbox) []Event {
	t.Helper()
	ctx := context.Background()
	es, err := o.Claim(ctx, "test", 1000, time.Hour, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []Event
	for _, e := range es {
		out = append(out, e.Event)
		if err := o.Ack(ctx, e.ID); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func mustEvaluator(t *testing.T, cfg EvaluatorConfig) *Evaluator {
	t.Helper()
	e, err := NewEvaluator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.Close(ctx)
	})
	return e
}

func evaluate(t *testing.T, e *Evaluator) {
	t.Helper()
	if err := e.Evaluate(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestIncidentLifecycle follows one incident through an hour and a half
// on a fake clock: one alert when the share crosses 20%, nothing while it
// stays open, one reminder after the hour, hysteresis on the way down,
// and one resolved notice once it has stayed below 10% for a window.
func TestIncidentLifecycle(t *testing.T) {
	st := NewMemoryStore()
	clk := newTestClock(t0.Add(5 * time.Second)) // four evaluations per minute, at :05 :20 :35 :50
	ob := NewMemoryOutbox(0)
	e := mustEvaluator(t, EvaluatorConfig{
		Config: Config{EvaluateEvery: 15 * time.Second, Rules: []RuleConfig{netRule}},
		Store:  st, Outbox: ob, Clock: clk.now, Node: "edge-1",
	})
	kz := func(intercepted int) {
		feed(t, st, clk.now(), traffic("KZ", 9198, "JSC Kazakhtelecom", 100, intercepted, "Qaznet", ja4X, 0)...)
	}
	var events []Event
	step := func(intercepted int) {
		kz(intercepted)
		for range 4 { // four evaluations a minute
			evaluate(t, e)
			events = append(events, drain(t, ob)...)
			clk.add(15 * time.Second)
		}
	}
	// Clean traffic: nothing.
	for range 3 {
		step(0)
	}
	if len(events) != 0 {
		t.Fatalf("clean traffic alerted: %+v", events)
	}
	// 30% intercepted for 70 minutes: the 5-minute share climbs 7.5% →
	// 12% → 18% → 24% (the first minutes are diluted by clean ones), so one
	// alert in the 4th minute, then one reminder an hour later.
	for m := range 70 {
		step(30)
		if want := min(max(m-2, 0), 1); m < 60 && len(events) != want {
			t.Fatalf("after %d firing minutes: %d events, want %d", m+1, len(events), want)
		}
	}
	if len(events) != 2 {
		t.Fatalf("after 70 firing minutes: %d events, want the alert and one reminder: %v", len(events), typesOf(events))
	}
	alert, reminder := events[0], events[1]
	if alert.Type != EventAlert || alert.Data.Reminder != 0 || !strings.HasSuffix(alert.ID, "_alert") {
		t.Errorf("alert %s %s reminder %d", alert.ID, alert.Type, alert.Data.Reminder)
	}
	if reminder.Type != EventAlert || reminder.Data.Reminder != 1 || reminder.ID != strings.TrimSuffix(alert.ID, "_alert")+"_r1" {
		t.Errorf("reminder %s %s reminder %d", reminder.ID, reminder.Type, reminder.Data.Reminder)
	}
	if d := reminder.Timestamp.Sub(alert.Timestamp); d < time.Hour || d > time.Hour+time.Minute {
		t.Errorf("reminder %v after the alert, want the first evaluation after 1 h", d)
	}
	if alert.Data.Share != 0.24 || alert.Data.Connections != 500 || alert.Data.Intercepted != 120 || alert.Data.Country != "KZ" || alert.Data.Node != "edge-1" {
		t.Errorf("alert data %+v", alert.Data)
	}
	// The attack stops. The 5-minute share falls 30 → 24 → 18 → 12 → 6 → 0:
	// held between 10% and 20%, clear below 10%, resolved a window later.
	var resolvedAt int
	for m := range 20 {
		n := len(events)
		step(0)
		if len(events) > n && resolvedAt == 0 {
			resolvedAt = m
		}
	}
	if len(events) != 3 {
		t.Fatalf("after recovery: %d events %v, want alert, reminder, resolved", len(events), typesOf(events))
	}
	res := events[2]
	if res.Type != EventResolved || res.ID != strings.TrimSuffix(alert.ID, "_alert")+"_resolved" || res.Data.ResolvedAt == nil || res.Data.PeakShare != 0.3 {
		t.Errorf("resolved %+v", res)
	}
	// Clear from the 4th clean minute (6% < 10%), resolved 5 min later.
	if resolvedAt < 8 || resolvedAt > 9 {
		t.Errorf("resolved in clean minute %d, want 8 or 9 (clear at 3-4, plus resolve_after 5 min)", resolvedAt)
	}
	if incs, _ := e.Incidents(context.Background()); len(incs) != 0 {
		t.Errorf("%d incidents still open", len(incs))
	}
	// It can fire again: a new incident, a new alert.
	for range 5 {
		step(40)
	}
	if len(events) != 4 || events[3].Type != EventAlert || events[3].Data.Incident == alert.Data.Incident {
		t.Errorf("re-fire: %v", typesOf(events))
	}
}

func typesOf(events []Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.ID)
	}
	return out
}

// TestHysteresisFlappingDoesNotResolve: a share bouncing between 12% and
// 25% (never below the 10% resolve line) keeps one incident and sends
// nothing more.
func TestHysteresisFlappingDoesNotResolve(t *testing.T) {
	st := NewMemoryStore()
	clk := newTestClock(t0.Add(30 * time.Second))
	ob := NewMemoryOutbox(0)
	e := mustEvaluator(t, EvaluatorConfig{
		Config: Config{Rules: []RuleConfig{{Name: "r", Scope: ScopeNetwork, Window: time.Minute, MinConnections: 50, MinShare: 0.2, NoReminder: true}}},
		Store:  st, Outbox: ob, Clock: clk.now,
	})
	var events []Event
	for m := range 30 {
		share := 25
		if m%2 == 1 {
			share = 12
		}
		feed(t, st, clk.now(), traffic("KZ", 9198, "", 100, share, "", ja4X, 0)...)
		evaluate(t, e)
		events = append(events, drain(t, ob)...)
		clk.add(time.Minute)
	}
	if len(events) != 1 || events[0].Type != EventAlert {
		t.Errorf("events %v, want one alert", typesOf(events))
	}
}

// TestNewFingerprintAlertsOnceAndClosesSilently: a new JA4 from 25
// clients of one network alerts once; it is never reminded, and when it
// stops being new (first seen more than a window ago) its incident closes
// without a resolved notice, and it does not alert again.
func TestNewFingerprintAlertsOnceAndClosesSilently(t *testing.T) {
	st := NewMemoryStore()
	clk := newTestClock(t0.Add(5 * time.Second))
	ob := NewMemoryOutbox(0)
	e := mustEvaluator(t, EvaluatorConfig{
		Config: Config{Rules: []RuleConfig{{Name: "newfp", Type: RuleNewFingerprint, MinClients: 20}}},
		Store:  st, Outbox: ob, Clock: clk.now,
	})
	const ja4 = "t13d0000h2_111111111111_222222222222"
	var events []Event
	for range 150 { // 2.5 hours, a minute at a time
		var obs []Observation
		for i := range 25 {
			obs = append(obs, Observation{Country: "KZ", ASN: 9198, Browser: true, Verdict: VerdictUnknown, JA4: ja4, Client: addrN(i)})
		}
		feed(t, st, clk.now(), obs...)
		evaluate(t, e)
		events = append(events, drain(t, ob)...)
		clk.add(time.Minute)
	}
	if len(events) != 1 || events[0].Data.RuleType != RuleNewFingerprint || events[0].Data.TopFingerprints[0].JA4 != ja4 {
		t.Fatalf("events %v", typesOf(events))
	}
	if a := events[0].Data; a.Clients != 25 || a.Country != "KZ" || !strings.HasPrefix(a.Summary, "New TLS fingerprint "+ja4) {
		t.Errorf("alert %+v", a)
	}
	if incs, _ := e.Incidents(context.Background()); len(incs) != 0 {
		t.Errorf("%d incidents open after the fingerprint stopped being new", len(incs))
	}
}

// TestOutgoingEventOfADeadNodeIsEnqueuedByAnother: a node that opened an
// incident and died before its event reached the outbox leaves it in the
// incident; after the grace another evaluation enqueues the same event.
func TestOutgoingEventOfADeadNodeIsEnqueuedByAnother(t *testing.T) {
	st := NewMemoryStore()
	clk := newTestClock(t0.Add(30 * time.Second))
	ob := NewMemoryOutbox(0)
	incs := NewMemoryIncidents()
	e := mustEvaluator(t, EvaluatorConfig{
		Config: Config{EvaluateEvery: 15 * time.Second, Rules: []RuleConfig{netRule}},
		Store:  st, Outbox: ob, Incidents: incs, Clock: clk.now,
	})
	feed(t, st, clk.now(), traffic("KZ", 9198, "", 100, 30, "", ja4X, 0)...)
	ev := testEvent(1)
	dead := &Incident{ID: "dead0", Rule: netRule.Name, Subject: kzNet, OpenedAt: clk.now(), LastNotified: clk.now(), Node: "edge-dead", Outgoing: ev, OutgoingAt: clk.now()}
	if ok, err := incs.Create(context.Background(), dead, time.Hour); !ok || err != nil {
		t.Fatal(ok, err)
	}
	evaluate(t, e) // within the grace: the writer may just be slow
	if got := drain(t, ob); len(got) != 0 {
		t.Fatalf("re-enqueued within the grace: %v", typesOf(got))
	}
	clk.add(31 * time.Second)
	evaluate(t, e)
	got := drain(t, ob)
	if len(got) != 1 || got[0].ID != ev.ID {
		t.Fatalf("after the grace: %v, want the dead node's %s", typesOf(got), ev.ID)
	}
	inc, _ := incs.Get(context.Background(), netRule.Name, kzNet)
	if inc == nil || inc.Outgoing != nil || inc.ID != "dead0" {
		t.Errorf("incident after re-enqueue: %+v", inc)
	}
	evaluate(t, e)
	if got := drain(t, ob); len(got) != 0 {
		t.Errorf("enqueued again: %v", typesOf(got))
	}
}

// redisNode builds one evaluator "node" on its own Redis client.
type nodeOpts struct {
	name      string
	hooks     []WebhookConfig
	redeliver time.Duration
	reg       prometheus.Registerer
}

func redisNode(t *testing.T, client redis.UniversalClient, st Store, prefix string, o nodeOpts) *Evaluator {
	t.Helper()
	redeliver := o.redeliver
	if redeliver == 0 {
		redeliver = time.Second
	}
	return mustEvaluator(t, EvaluatorConfig{
		Config: Config{
			EvaluateEvery:  time.Hour, // the tests call Evaluate themselves
			RedeliverAfter: redeliver, Rules: []RuleConfig{netRule}, Webhooks: o.hooks,
		},
		Store: st, Redis: client, RedisPrefix: prefix, Node: o.name, Registerer: o.reg,
	})
}

// redisDeployments are the Redis deployments the multi-node tests run on, each
// giving a fresh client per node.
var redisDeployments = []struct {
	name   string
	client func(t *testing.T) redis.UniversalClient
}{
	{"redis_standalone", func(t *testing.T) redis.UniversalClient { return standaloneClient(t) }},
	{"redis_cluster", func(t *testing.T) redis.UniversalClient { return clusterClient(t) }},
}

func fastHook(url string) WebhookConfig {
	return WebhookConfig{URL: url, Format: FormatStandard, Secret: testSecret, Backoff: 100 * time.Millisecond, MaxBackoff: 500 * time.Millisecond, Timeout: 5 * time.Second}
}

// TestTwoNodesSharingRedisDeliverOneAlert: two nodes evaluate the same
// firing network at the same moments, repeatedly; the receiver gets one
// alert, once.
func TestTwoNodesSharingRedisDeliverOneAlert(t *testing.T) {
	for _, kind := range redisDeployments {
		t.Run(kind.name, func(t *testing.T) {
			prefix := newPrefix()
			rc := newReceiver(t)
			stores := make([]Store, 2)
			nodes := make([]*Evaluator, 2)
			for i := range nodes {
				c := kind.client(t)
				s, err := NewRedisStore(c, RedisConfig{Prefix: prefix})
				if err != nil {
					t.Fatal(err)
				}
				stores[i] = s
				nodes[i] = redisNode(t, c, s, prefix, nodeOpts{name: []string{"edge-a", "edge-b"}[i], hooks: []WebhookConfig{fastHook(rc.URL)}})
			}
			feed(t, stores[0], time.Now().Add(-time.Minute), traffic("KZ", 9198, "JSC Kazakhtelecom", 100, 30, "Qaznet", ja4X, 0)...)
			for _, n := range nodes {
				n.Start()
			}
			for range 5 {
				var wg sync.WaitGroup
				for _, n := range nodes {
					wg.Go(func() {
						if err := n.Evaluate(context.Background()); err != nil {
							t.Error(err)
						}
					})
				}
				wg.Wait()
			}
			eventually(t, "the alert", 10*time.Second, func() bool { return len(rc.delivered()) >= 1 })
			ob, _ := NewRedisOutbox(kind.client(t), RedisOutboxConfig{Prefix: prefix})
			eventually(t, "an empty outbox", 10*time.Second, func() bool {
				n, err := ob.Pending(context.Background())
				return err == nil && n == 0
			})
			if got := rc.requests(); len(got) != 1 {
				t.Fatalf("receiver got %d requests, want exactly 1", len(got))
			}
			env := decodeBody(t, rc.requests()[0].body)
			if env.Type != EventAlert || env.Data.ASN != 9198 {
				t.Errorf("body %+v", env)
			}
			verifier, _ := NewSigner(testSecret)
			r := rc.requests()[0]
			if err := verifier.Verify(r.header, r.body, time.Now(), time.Minute); err != nil {
				t.Error(err)
			}
			recs, err := nodes[1].DeliveryLog().Recent(context.Background(), 0)
			if err != nil || len(recs) != 1 || recs[0].Outcome != OutcomeDelivered {
				t.Errorf("shared delivery log %+v, %v", recs, err)
			}
			incs, err := nodes[0].Incidents(context.Background())
			if err != nil || len(incs) != 1 {
				t.Errorf("open incidents %d, %v", len(incs), err)
			}
		})
	}
}

// TestAlertOfANodeThatNeverSawTheFingerprintCarriesItsNotes: two nodes
// recorded ja4X's traffic into the shared Redis, one noting grade C and a
// reason, the other another reason; a third node, whose own notes lack
// them, sends the one alert. Its top fingerprint still has the grade and
// the alert both reasons: the store keeps every node's notes.
func TestAlertOfANodeThatNeverSawTheFingerprintCarriesItsNotes(t *testing.T) {
	r1, r2, r3 := fingerprints.ReasonMissingGREASE, fingerprints.ReasonCipherOrder, fingerprints.ReasonNoALPN
	noted := func(obs []Observation, g fingerprints.Grade, r fingerprints.Reason) []Observation {
		for i := range obs {
			if obs[i].Verdict == VerdictIntercepted {
				obs[i].Grade, obs[i].Reasons = g, obs[i].Reasons.Add(r)
			}
		}
		return obs
	}
	tests := []struct {
		name string
		// describe builds the emitting node's Describe.
		describe    func() func(string) (FingerprintNote, bool)
		wantGrade   string
		wantReasons []fingerprints.Reason
	}{
		{name: "empty_notebook_shows_the_stores_grade_and_reasons",
			describe:    func() func(string) (FingerprintNote, bool) { return NewNoteBook(0).Describe },
			wantGrade:   "C",
			wantReasons: []fingerprints.Reason{r1, r2}},
		{name: "no_describe_shows_the_stores_grade_and_reasons",
			describe:    func() func(string) (FingerprintNote, bool) { return nil },
			wantGrade:   "C",
			wantReasons: []fingerprints.Reason{r1, r2}},
		{name: "own_grade_wins_and_reasons_are_united_without_duplicates",
			describe: func() func(string) (FingerprintNote, bool) {
				nb := NewNoteBook(0)
				nb.Note(ja4X, fingerprints.GradeF, fingerprints.Reasons(0).Add(r3).Add(r1))
				return nb.Describe
			},
			wantGrade:   "F",
			wantReasons: []fingerprints.Reason{r1, r2, r3}},
	}
	for _, kind := range redisDeployments {
		t.Run(kind.name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					prefix := newPrefix()
					c := kind.client(t)
					st, err := NewRedisStore(c, RedisConfig{Prefix: prefix})
					if err != nil {
						t.Fatal(err)
					}
					at := time.Now().Add(-time.Minute)
					feed(t, st, at, noted(traffic("KZ", 9198, "JSC Kazakhtelecom", 100, 30, "Qaznet", ja4X, 0), fingerprints.GradeC, r1)...)
					feed(t, st, at, noted(traffic("KZ", 9198, "JSC Kazakhtelecom", 50, 10, "Qaznet", ja4X, 100), fingerprints.GradeNone, r2)...)
					// The node that recorded the traffic noted it; the
					// emitter evaluates first and takes the incident.
					seen := NewNoteBook(0)
					seen.Note(ja4X, fingerprints.GradeC, fingerprints.Reasons(0).Add(r1).Add(r2))
					nodes := []*Evaluator{
						mustEvaluator(t, EvaluatorConfig{
							Config: Config{EvaluateEvery: time.Hour, Rules: []RuleConfig{netRule}},
							Store:  st, Redis: kind.client(t), RedisPrefix: prefix, Node: "edge-empty", Describe: tc.describe(),
						}),
						mustEvaluator(t, EvaluatorConfig{
							Config: Config{EvaluateEvery: time.Hour, Rules: []RuleConfig{netRule}},
							Store:  st, Redis: kind.client(t), RedisPrefix: prefix, Node: "edge-seen", Describe: seen.Describe,
						}),
					}
					for _, n := range nodes {
						evaluate(t, n)
					}
					ob, err := NewRedisOutbox(kind.client(t), RedisOutboxConfig{Prefix: prefix})
					if err != nil {
						t.Fatal(err)
					}
					events := drain(t, ob)
					if len(events) != 1 || events[0].Type != EventAlert || events[0].Data.Node != "edge-empty" {
						t.Fatalf("events %v, want one alert from edge-empty", events)
					}
					a := events[0].Data
					if len(a.TopFingerprints) == 0 || a.TopFingerprints[0].JA4 != ja4X {
						t.Fatalf("top fingerprints %+v, want ja4X first", a.TopFingerprints)
					}
					if g := a.TopFingerprints[0].Grade; g != tc.wantGrade {
						t.Errorf("ja4X grade %q, want %q", g, tc.wantGrade)
					}
					var want []string
					for _, r := range tc.wantReasons {
						want = append(want, r.String())
					}
					got := slices.Clone(a.Reasons)
					slices.Sort(got)
					slices.Sort(want)
					if !slices.Equal(got, want) {
						t.Errorf("reasons %q, want %q", a.Reasons, want)
					}
				})
			}
		})
	}
}

// TestReceiverDownThenBackDeliversOnce holds the receiver down (connection
// refused) for a real 30 s, the figure, with 1 s-to-4 s backoff
// (the default starts at 5 s): about ten failed attempts, then exactly one
// delivery when it returns.
func TestReceiverDownThenBackDeliversOnce(t *testing.T) {
	c := standaloneClient(t)
	prefix := newPrefix()
	st, _ := NewRedisStore(c, RedisConfig{Prefix: prefix})
	addr, release := refusingAddr(t) // the receiver is down: connections are refused
	hook := fastHook("http://" + addr + "/hook")
	hook.Backoff, hook.MaxBackoff = time.Second, 4*time.Second
	node := redisNode(t, c, st, prefix, nodeOpts{name: "edge-a", hooks: []WebhookConfig{hook}})
	feed(t, st, time.Now().Add(-time.Minute), traffic("KZ", 9198, "", 100, 30, "", ja4X, 0)...)
	node.Start()
	evaluate(t, node)
	down := time.Now()
	time.Sleep(30 * time.Second)
	recs, _ := node.DeliveryLog().Recent(context.Background(), 0)
	if len(recs) < 3 {
		t.Fatalf("%d attempts while down for 30 s, want several", len(recs))
	}
	for _, r := range recs {
		if r.Outcome != OutcomeRetry || r.Status != 0 || r.Error == "" || r.NextAttempt == nil {
			t.Errorf("attempt while down: %+v", r)
		}
	}
	// The receiver comes back on the same address.
	release()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	rc := &receiver{}
	srv := &http.Server{Handler: http.HandlerFunc(rc.serve)}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	eventually(t, "delivery after the receiver returned", 10*time.Second, func() bool { return len(rc.delivered()) == 1 })
	ob, _ := NewRedisOutbox(c, RedisOutboxConfig{Prefix: prefix})
	eventually(t, "an empty outbox", 10*time.Second, func() bool {
		n, err := ob.Pending(context.Background())
		return err == nil && n == 0
	})
	evaluate(t, node) // still firing: no new alert
	time.Sleep(500 * time.Millisecond)
	if n := len(rc.requests()); n != 1 {
		t.Errorf("receiver got %d requests, want 1", n)
	}
	recs, _ = node.DeliveryLog().Recent(context.Background(), 0)
	if recs[0].Outcome != OutcomeDelivered || recs[0].Attempt != len(recs) {
		t.Errorf("last record %+v of %d", recs[0], len(recs))
	}
	t.Logf("down %v, %d failed attempts, delivered on attempt %d", rc.requests()[0].at.Sub(down).Round(time.Millisecond), len(recs)-1, recs[0].Attempt)
}

// TestNodeKilledMidDeliveryAnotherNodeDeliversIt: node A takes the event
// and is killed while its POST is in flight (its deliverer stops without
// acknowledging); node B takes the event over after RedeliverAfter
// (XAUTOCLAIM) and delivers it.
func TestNodeKilledMidDeliveryAnotherNodeDeliversIt(t *testing.T) {
	for _, kind := range redisDeployments {
		t.Run(kind.name, func(t *testing.T) {
			prefix := newPrefix()
			ca := kind.client(t)
			st, _ := NewRedisStore(ca, RedisConfig{Prefix: prefix})
			inFlight := make(chan struct{}, 1)
			rc := newReceiver(t)
			rc.answer = func(r *http.Request, n int) (int, http.Header) {
				if r.Header.Get("X-Node") == "edge-a" {
					inFlight <- struct{}{}
					<-r.Context().Done() // hangs until A dies
				}
				return http.StatusOK, nil
			}
			hookA, hookB := fastHook(rc.URL), fastHook(rc.URL)
			hookA.Headers = map[string]string{"X-Node": "edge-a"}
			hookB.Headers = map[string]string{"X-Node": "edge-b"}
			a := redisNode(t, ca, st, prefix, nodeOpts{name: "edge-a", hooks: []WebhookConfig{hookA}})
			feed(t, st, time.Now().Add(-time.Minute), traffic("KZ", 9198, "", 100, 30, "", ja4X, 0)...)
			a.Start()
			evaluate(t, a)
			select {
			case <-inFlight:
			case <-time.After(10 * time.Second):
				t.Fatal("node A never sent")
			}
			dead, cancel := context.WithCancel(context.Background())
			cancel()
			if err := a.Close(dead); err == nil {
				t.Error("Close cut a delivery short without saying so")
			}
			b := redisNode(t, kind.client(t), st, prefix, nodeOpts{name: "edge-b", hooks: []WebhookConfig{hookB}})
			b.Start()
			eventually(t, "node B's delivery", 15*time.Second, func() bool { return len(rc.delivered()) == 1 })
			d := rc.delivered()[0]
			if d.header.Get("X-Node") != "edge-b" {
				t.Errorf("delivered by %s", d.header.Get("X-Node"))
			}
			if id := d.header.Get(HeaderWebhookID); !strings.HasPrefix(id, "msg_") || !strings.HasSuffix(id, "_alert") {
				t.Errorf("webhook-id %q", id)
			}
			// B writes its log entry after the receiver has answered, so
			// the entry may trail the delivery by a moment.
			var recs []DeliveryRecord
			eventually(t, "node B's delivery log entry", 5*time.Second, func() bool {
				recs, _ = b.DeliveryLog().Recent(context.Background(), 0)
				return len(recs) > 0
			})
			if len(recs) != 1 || recs[0].Node != "edge-b" || recs[0].Outcome != OutcomeDelivered {
				t.Errorf("delivery log %+v", recs)
			}
		})
	}
}

// TestCloseLeavesTheRestInTheOutbox: Close with a deadline while a sink
// is down returns, reports it, and the event waits in Redis for the next
// node.
func TestCloseLeavesTheRestInTheOutbox(t *testing.T) {
	c := standaloneClient(t)
	prefix := newPrefix()
	st, _ := NewRedisStore(c, RedisConfig{Prefix: prefix})
	downAddr, _ := refusingAddr(t)
	down := fastHook("http://" + downAddr + "/")
	down.Backoff, down.MaxBackoff = time.Hour, time.Hour
	a := redisNode(t, c, st, prefix, nodeOpts{name: "edge-a", hooks: []WebhookConfig{down}})
	feed(t, st, time.Now().Add(-time.Minute), traffic("KZ", 9198, "", 100, 30, "", ja4X, 0)...)
	a.Start()
	evaluate(t, a)
	eventually(t, "a failed attempt", 10*time.Second, func() bool {
		recs, _ := a.DeliveryLog().Recent(context.Background(), 0)
		return len(recs) > 0
	})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := a.Close(ctx); err == nil {
		t.Error("Close reported success with an undelivered event")
	}
	ob, _ := NewRedisOutbox(c, RedisOutboxConfig{Prefix: prefix})
	if n, err := ob.Pending(context.Background()); err != nil || n != 1 {
		t.Fatalf("pending after close %d, %v; want the event kept", n, err)
	}
	rc := newReceiver(t)
	up := fastHook(rc.URL)
	up.Name = down.withDefaults().Name // same sink name, now reachable
	b := redisNode(t, c, st, prefix, nodeOpts{name: "edge-b", hooks: []WebhookConfig{up}})
	b.Start()
	eventually(t, "delivery by the next node", 15*time.Second, func() bool { return len(rc.delivered()) == 1 })
	// The log entry follows the receiver's answer.
	var recs []DeliveryRecord
	eventually(t, "the next node's delivery log entry", 5*time.Second, func() bool {
		recs, _ = b.DeliveryLog().Recent(context.Background(), 1)
		return len(recs) == 1 && recs[0].Node == "edge-b"
	})
	if recs[0].Attempt != 2 {
		t.Errorf("attempt %d, want 2 (the attempt count survives the node)", recs[0].Attempt)
	}
}

// TestOneSinkFailingDoesNotResendToTheOther: with two sinks, the one that
// took the event is not sent it again while the other is retried.
func TestOneSinkFailingDoesNotResendToTheOther(t *testing.T) {
	st := NewMemoryStore()
	ok, flaky := newReceiver(t), newReceiver(t)
	flaky.answer = func(_ *http.Request, n int) (int, http.Header) {
		if n < 3 {
			return http.StatusBadGateway, nil
		}
		return http.StatusOK, nil
	}
	e := mustEvaluator(t, EvaluatorConfig{
		Config: Config{Rules: []RuleConfig{netRule}, Webhooks: []WebhookConfig{
			{Name: "siem", URL: ok.URL, Format: FormatJSON, Backoff: 20 * time.Millisecond},
			{Name: "soc", URL: flaky.URL, Format: FormatStandard, Secret: testSecret, Backoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond},
		}},
		Store: st,
	})
	feed(t, st, time.Now(), traffic("KZ", 9198, "", 100, 30, "", ja4X, 0)...)
	e.del.start()
	evaluate(t, e)
	eventually(t, "the flaky sink's delivery", 10*time.Second, func() bool { return len(flaky.delivered()) == 1 })
	eventually(t, "the event's acknowledgement", 10*time.Second, func() bool {
		n, _ := e.outbox.Pending(context.Background())
		return n == 0
	})
	if n := len(ok.requests()); n != 1 {
		t.Errorf("the healthy sink got %d requests, want 1", n)
	}
	if n := len(flaky.requests()); n != 4 {
		t.Errorf("the flaky sink got %d requests, want 3 failures and 1 success", n)
	}
	ids := map[string]bool{}
	for _, r := range flaky.requests() {
		ids[r.header.Get(HeaderWebhookID)] = true
	}
	if len(ids) != 1 {
		t.Errorf("webhook-id changed across retries: %v", ids)
	}
}

// TestRetryAfterIsHonoured: a 429 with Retry-After: 1 delays the next
// attempt by 1 s, not by the 10 ms backoff.
func TestRetryAfterIsHonoured(t *testing.T) {
	st := NewMemoryStore()
	rc := newReceiver(t)
	rc.answer = func(_ *http.Request, n int) (int, http.Header) {
		if n == 0 {
			return http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}}
		}
		return http.StatusOK, nil
	}
	e := mustEvaluator(t, EvaluatorConfig{
		Config: Config{Rules: []RuleConfig{netRule}, Webhooks: []WebhookConfig{{URL: rc.URL, Format: FormatJSON, Backoff: 10 * time.Millisecond}}},
		Store:  st,
	})
	feed(t, st, time.Now(), traffic("KZ", 9198, "", 100, 30, "", ja4X, 0)...)
	e.del.start()
	evaluate(t, e)
	eventually(t, "the second attempt", 10*time.Second, func() bool { return len(rc.delivered()) == 1 })
	reqs := rc.requests()
	if gap := reqs[1].at.Sub(reqs[0].at); gap < time.Second {
		t.Errorf("second attempt %v after a Retry-After: 1", gap)
	}
	recs, _ := e.DeliveryLog().Recent(context.Background(), 0)
	first := recs[len(recs)-1]
	if first.Status != 429 || first.NextAttempt == nil || first.NextAttempt.Sub(first.Time) != time.Second {
		t.Errorf("first attempt record %+v: next attempt should be exactly 1 s later", first)
	}
}

// Test410StopsDelivering: a 410 Gone ends the event's delivery to that
// sink at once, and this node sends it nothing more.
func Test410StopsDelivering(t *testing.T) {
	st := NewMemoryStore()
	rc := newReceiver(t)
	rc.answer = func(*http.Request, int) (int, http.Header) { return http.StatusGone, nil }
	e := mustEvaluator(t, EvaluatorConfig{
		Config: Config{Rules: []RuleConfig{netRule}, Webhooks: []WebhookConfig{{URL: rc.URL, Format: FormatJSON, Backoff: 10 * time.Millisecond}}},
		Store:  st,
	})
	feed(t, st, time.Now(), traffic("KZ", 9198, "", 100, 30, "", ja4X, 0)...)
	e.del.start()
	evaluate(t, e)
	pendingZero := func() bool { n, _ := e.outbox.Pending(context.Background()); return n == 0 }
	eventually(t, "the gone event's acknowledgement", 10*time.Second, pendingZero)
	// A second incident elsewhere.
	feed(t, st, time.Now(), traffic("DE", 3320, "", 100, 30, "", ja4X, 0)...)
	evaluate(t, e)
	eventually(t, "the second event's acknowledgement", 10*time.Second, pendingZero)
	if n := len(rc.requests()); n != 1 {
		t.Errorf("receiver got %d requests after answering 410, want 1", n)
	}
	recs, _ := e.DeliveryLog().Recent(context.Background(), 0)
	if len(recs) != 1 || recs[0].Outcome != OutcomeGone || recs[0].Status != 410 {
		t.Errorf("delivery log %+v", recs)
	}
}

// TestMaxAttemptsGivesUp: a sink failing every attempt gets MaxAttempts,
// the last one logged as failed, and the event is acknowledged.
func TestMaxAttemptsGivesUp(t *testing.T) {
	st := NewMemoryStore()
	rc := newReceiver(t)
	rc.answer = func(*http.Request, int) (int, http.Header) { return http.StatusInternalServerError, nil }
	e := mustEvaluator(t, EvaluatorConfig{
		Config: Config{Rules: []RuleConfig{netRule}, Webhooks: []WebhookConfig{{URL: rc.URL, Format: FormatJSON, Backoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, MaxAttempts: 3}}},
		Store:  st,
	})
	feed(t, st, time.Now(), traffic("KZ", 9198, "", 100, 30, "", ja4X, 0)...)
	e.del.start()
	evaluate(t, e)
	eventually(t, "the acknowledgement", 10*time.Second, func() bool { n, _ := e.outbox.Pending(context.Background()); return n == 0 })
	recs, _ := e.DeliveryLog().Recent(context.Background(), 0)
	var outcomes []string
	for _, r := range slices.Backward(recs) {
		outcomes = append(outcomes, r.Outcome)
	}
	if !slices.Equal(outcomes, []string{OutcomeRetry, OutcomeRetry, OutcomeFailed}) || len(rc.requests()) != 3 {
		t.Errorf("outcomes %v with %d requests", outcomes, len(rc.requests()))
	}
}

func TestMetricsHaveOnlyBoundedLabels(t *testing.T) {
	st := NewMemoryStore()
	rc := newReceiver(t)
	reg := prometheus.NewRegistry()
	e := mustEvaluator(t, EvaluatorConfig{
		Config:     Config{Rules: []RuleConfig{netRule}, Webhooks: []WebhookConfig{{URL: rc.URL, Format: FormatSlack}}},
		Store:      st,
		Registerer: reg,
	})
	feed(t, st, time.Now(), traffic("KZ", 9198, "", 100, 30, "", ja4X, 0)...)
	e.del.start()
	evaluate(t, e)
	eventually(t, "delivery", 10*time.Second, func() bool { return len(rc.delivered()) == 1 })
	eventually(t, "the delivery counter", 10*time.Second, func() bool {
		return metricValue(t, reg, "mitmwatch_alerts_deliveries_total", map[string]string{"sink_format": "slack", "outcome": "delivered"}) == 1
	})
	if v := metricValue(t, reg, "mitmwatch_alerts_events_total", map[string]string{"type": "alert"}); v != 1 {
		t.Errorf("events_total{type=alert} = %v", v)
	}
	if v := metricValue(t, reg, "mitmwatch_alerts_incidents_open", nil); v != 1 {
		t.Errorf("incidents_open = %v", v)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{"sink_format": true, "outcome": true, "type": true}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if !allowed[l.GetName()] {
					t.Errorf("%s has label %s", mf.GetName(), l.GetName())
				}
			}
		}
	}
	// A second evaluator on the same registry is a configuration error,
	// not a panic.
	if _, err := NewEvaluator(EvaluatorConfig{Store: st, Registerer: reg}); err == nil {
		t.Error("duplicate registration accepted")
	}
}

func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue metrics
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return -1
}

func TestNewEvaluatorRejects(t *testing.T) {
	st := NewMemoryStore()
	tests := []struct {
		name string
		cfg  EvaluatorConfig
		want error
	}{
		{"no_store", EvaluatorConfig{}, nil},
		{"bad_rule", EvaluatorConfig{Store: st, Config: Config{Rules: []RuleConfig{{Name: "a", MinShare: 3}}}}, ErrConfig},
		{"node_name_with_braces", EvaluatorConfig{Store: st, Node: "a}{b"}, ErrConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewEvaluator(tt.cfg)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("err %v, want %v", err, tt.want)
			}
		})
	}
}
