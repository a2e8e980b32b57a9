package alerts

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// outboxKinds builds a fresh outbox of each kind. Takeover tests wait for
// real idle time, so they use short idle periods.
var outboxKinds = []struct {
	name string
	new  func(tb testing.TB) Outbox
}{
	{"memory", func(tb testing.TB) Outbox { return NewMemoryOutbox(0) }},
	{"redis_standalone", func(tb testing.TB) Outbox {
		o, err := NewRedisOutbox(standaloneClient(tb), RedisOutboxConfig{Prefix: newPrefix()})
		if err != nil {
			tb.Fatal(err)
		}
		return o
	}},
	{"redis_cluster", func(tb testing.TB) Outbox {
		o, err := NewRedisOutbox(clusterClient(tb), RedisOutboxConfig{Prefix: newPrefix()})
		if err != nil {
			tb.Fatal(err)
		}
		return o
	}},
}

func testEvent(i int) *Event {
	return &Event{ID: fmt.Sprintf("msg_%d_alert", i), Type: EventAlert, Timestamp: time.Unix(1_700_000_000, 0).UTC(),
		Data: Alert{Rule: "asn-share", Scope: ScopeASN, ASN: uint32(i)}}
}

func eventIDs(es []OutboxEntry) []string {
	var ids []string
	for _, e := range es {
		ids = append(ids, e.Event.ID)
	}
	return ids
}

func TestOutboxHandsEachEventToOneConsumerUntilAcked(t *testing.T) {
	for _, kind := range outboxKinds {
		t.Run(kind.name, func(t *testing.T) {
			ctx := context.Background()
			o := kind.new(t)
			for i := range 3 {
				if err := o.Add(ctx, testEvent(i)); err != nil {
					t.Fatal(err)
				}
			}
			if n, err := o.Pending(ctx); err != nil || n != 3 {
				t.Fatalf("pending %d, %v; want 3", n, err)
			}
			a, err := o.Claim(ctx, "node-a", 2, time.Hour, 0)
			if err != nil {
				t.Fatal(err)
			}
			b, err := o.Claim(ctx, "node-b", 10, time.Hour, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got := eventIDs(a); fmt.Sprint(got) != "[msg_0_alert msg_1_alert]" {
				t.Errorf("node-a got %v", got)
			}
			if got := eventIDs(b); fmt.Sprint(got) != "[msg_2_alert]" {
				t.Errorf("node-b got %v (each event goes to one consumer)", got)
			}
			if a[0].Event.Data.ASN != 0 || a[1].Event.Data.ASN != 1 || !a[0].Event.Timestamp.Equal(testEvent(0).Timestamp) {
				t.Errorf("event round trip: %+v", a[1].Event)
			}
			for _, e := range append(a, b...) {
				if err := o.Ack(ctx, e.ID); err != nil {
					t.Fatal(err)
				}
			}
			if n, err := o.Pending(ctx); err != nil || n != 0 {
				t.Errorf("pending after ack %d, %v", n, err)
			}
			if more, err := o.Claim(ctx, "node-c", 10, 0*time.Second+time.Millisecond, 0); err != nil || len(more) != 0 {
				t.Errorf("acked events handed out again: %v, %v", eventIDs(more), err)
			}
		})
	}
}

func TestOutboxDeadConsumersEntriesAreTakenOver(t *testing.T) {
	const idle = 300 * time.Millisecond
	for _, kind := range outboxKinds {
		t.Run(kind.name, func(t *testing.T) {
			ctx := context.Background()
			o := kind.new(t)
			if err := o.Add(ctx, testEvent(1)); err != nil {
				t.Fatal(err)
			}
			if err := o.Add(ctx, testEvent(2)); err != nil {
				t.Fatal(err)
			}
			dead, err := o.Claim(ctx, "dead", 1, idle, 0)
			if err != nil || len(dead) != 1 {
				t.Fatalf("claim: %v, %v", eventIDs(dead), err)
			}
			alive, err := o.Claim(ctx, "alive", 1, idle, 0)
			if err != nil || len(alive) != 1 {
				t.Fatalf("claim: %v, %v", eventIDs(alive), err)
			}
			// Not idle long enough yet: nothing to take over.
			if got, _ := o.Claim(ctx, "rescuer", 10, time.Hour, 0); len(got) != 0 {
				t.Errorf("took over busy entries %v", eventIDs(got))
			}
			// "alive" keeps its claim fresh; "dead" goes silent.
			time.Sleep(idle + 100*time.Millisecond)
			if err := o.Heartbeat(ctx, "alive", []string{alive[0].ID}); err != nil {
				t.Fatal(err)
			}
			got, err := o.Claim(ctx, "rescuer", 10, idle, 0)
			if err != nil {
				t.Fatal(err)
			}
			if ids := eventIDs(got); fmt.Sprint(ids) != fmt.Sprint(eventIDs(dead)) {
				t.Errorf("rescuer took %v, want only the dead consumer's %v", ids, eventIDs(dead))
			}
			if n, _ := o.Pending(ctx); n != 2 {
				t.Errorf("pending %d, want 2 (nothing acked yet)", n)
			}
		})
	}
}

func TestOutboxClaimWaitsForNewEvents(t *testing.T) {
	for _, kind := range outboxKinds {
		t.Run(kind.name, func(t *testing.T) {
			ctx := context.Background()
			o := kind.new(t)
			if _, err := o.Claim(ctx, "warm", 1, time.Hour, 0); err != nil { // creates the group
				t.Fatal(err)
			}
			done := make(chan []OutboxEntry, 1)
			go func() {
				got, err := o.Claim(ctx, "waiter", 1, time.Hour, 10*time.Second)
				if err != nil {
					t.Error(err)
				}
				done <- got
			}()
			time.Sleep(100 * time.Millisecond)
			if err := o.Add(ctx, testEvent(7)); err != nil {
				t.Fatal(err)
			}
			if got := <-done; len(got) != 1 || got[0].Event.ID != "msg_7_alert" {
				t.Errorf("blocked claim got %v", eventIDs(got))
			}
		})
	}
}

func TestOutboxSinkStates(t *testing.T) {
	for _, kind := range outboxKinds {
		t.Run(kind.name, func(t *testing.T) {
			ctx := context.Background()
			o := kind.new(t)
			if st, err := o.SinkStates(ctx, "msg_x"); err != nil || len(st) != 0 {
				t.Fatalf("fresh states %v, %v", st, err)
			}
			if err := o.SetSinkState(ctx, "msg_x", "soc", SinkState{Attempts: 1, Outcome: OutcomeDelivered}); err != nil {
				t.Fatal(err)
			}
			if err := o.SetSinkState(ctx, "msg_x", "slack", SinkState{Attempts: 3}); err != nil {
				t.Fatal(err)
			}
			if err := o.SetSinkState(ctx, "msg_y", "soc", SinkState{Attempts: 9, Outcome: OutcomeFailed}); err != nil {
				t.Fatal(err)
			}
			st, err := o.SinkStates(ctx, "msg_x")
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]SinkState{"soc": {Attempts: 1, Outcome: OutcomeDelivered}, "slack": {Attempts: 3}}
			if fmt.Sprint(st) != fmt.Sprint(want) {
				t.Errorf("states %v, want %v", st, want)
			}
		})
	}
}

func TestMemoryOutboxIsBounded(t *testing.T) {
	ctx := context.Background()
	o := NewMemoryOutbox(2)
	for i := range 4 {
		if err := o.Add(ctx, testEvent(i)); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := o.Claim(ctx, "c", 10, time.Hour, 0)
	if ids := eventIDs(got); !slices.Equal(ids, []string{"msg_2_alert", "msg_3_alert"}) {
		t.Errorf("kept %v, want the 2 newest", ids)
	}
}

func TestRedisOutboxKeysShareOneSlot(t *testing.T) {
	// On a Cluster every outbox key must hash to one slot: the stream, the
	// per-event state and the delivery log.
	k, _ := newCoordKeys("mw")
	keys := []string{k.stream(), k.sinkState("msg_a_alert"), k.sinkState("msg_b_resolved"), k.deliveryLog()}
	c := clusterClient(t)
	ctx := context.Background()
	slots := map[int64][]string{}
	for _, key := range keys {
		s, err := c.ClusterKeySlot(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		slots[s] = append(slots[s], key)
	}
	if len(slots) != 1 {
		t.Errorf("outbox keys on several slots: %v", slots)
	}
}

func TestRedisOutboxSurvivesAFlushedStream(t *testing.T) {
	// The group is created on first use; if the stream disappears (an
	// operator's FLUSHDB) the outbox creates it again instead of failing
	// for ever with NOGROUP.
	ctx := context.Background()
	c := standaloneClient(t)
	p := newPrefix()
	o, err := NewRedisOutbox(c, RedisOutboxConfig{Prefix: p})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Add(ctx, testEvent(1)); err != nil {
		t.Fatal(err)
	}
	if err := c.Del(ctx, p+":{outbox}:events").Err(); err != nil {
		t.Fatal(err)
	}
	if err := o.Add(ctx, testEvent(2)); err != nil {
		t.Fatal(err)
	}
	got, err := o.Claim(ctx, "c", 1, time.Hour, 0)
	if err != nil || len(got) != 1 || got[0].Event.ID != "msg_2_alert" {
		t.Errorf("after recreation: %v, %v", eventIDs(got), err)
	}
}

func TestRedisOutboxPrunesDepartedConsumersOnly(t *testing.T) {
	ctx := context.Background()
	c := standaloneClient(t)
	p := newPrefix()
	o, err := NewRedisOutbox(c, RedisOutboxConfig{Prefix: p})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := o.Add(ctx, testEvent(i)); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := o.Claim(ctx, "busy", 1, time.Hour, 0); len(got) != 1 { // keeps a pending entry
		t.Fatal("claim")
	}
	got, err := o.Claim(ctx, "departed", 1, time.Hour, 0) // delivers and leaves
	if err != nil || len(got) != 1 {
		t.Fatal(got, err)
	}
	if err := o.Ack(ctx, got[0].ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	n, err := o.PruneConsumers(ctx, 200*time.Millisecond)
	if err != nil || n != 1 {
		t.Fatalf("pruned %d, %v; want 1", n, err)
	}
	cs, err := c.XInfoConsumers(ctx, p+":{outbox}:events", "deliverers").Result()
	if err != nil || len(cs) != 1 || cs[0].Name != "busy" {
		t.Errorf("consumers left %+v, %v", cs, err)
	}
}
