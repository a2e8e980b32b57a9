package alerts

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var incidentKinds = []struct {
	name string
	new  func(tb testing.TB) IncidentStore
}{
	{"memory", func(tb testing.TB) IncidentStore { return NewMemoryIncidents() }},
	{"redis_standalone", func(tb testing.TB) IncidentStore {
		s, err := NewRedisIncidents(standaloneClient(tb), newPrefix())
		if err != nil {
			tb.Fatal(err)
		}
		return s
	}},
	{"redis_cluster", func(tb testing.TB) IncidentStore {
		s, err := NewRedisIncidents(clusterClient(tb), newPrefix())
		if err != nil {
			tb.Fatal(err)
		}
		return s
	}},
}

var kzNet = Subject{Scope: ScopeNetwork, Country: "KZ", ASN: 9198}

func newTestIncident(rule string, s Subject) *Incident {
	now := time.Unix(1_700_000_000, 0).UTC()
	return &Incident{ID: randomID(12), Rule: rule, Subject: s, OpenedAt: now, LastNotified: now}
}

func TestIncidentOpensOnceAcrossRacingNodes(t *testing.T) {
	for _, kind := range incidentKinds {
		t.Run(kind.name, func(t *testing.T) {
			ctx := context.Background()
			st := kind.new(t)
			// Eight "nodes" see the same firing subject at once.
			var opened atomic.Int32
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					ok, err := st.Create(ctx, newTestIncident("asn-share", kzNet), time.Hour)
					if err != nil {
						t.Error(err)
					}
					if ok {
						opened.Add(1)
					}
				})
			}
			wg.Wait()
			if n := opened.Load(); n != 1 {
				t.Fatalf("%d nodes opened the incident, want exactly 1", n)
			}
			// Another rule, or another subject, is another incident.
			for _, inc := range []*Incident{newTestIncident("country-share", kzNet), newTestIncident("asn-share", Subject{Scope: ScopeNetwork, Country: "KZ", ASN: 29555})} {
				if ok, err := st.Create(ctx, inc, time.Hour); err != nil || !ok {
					t.Errorf("create %s %s: %v %v", inc.Rule, inc.Subject, ok, err)
				}
			}
			list, err := st.List(ctx)
			if err != nil || len(list) != 3 {
				t.Fatalf("List = %d incidents, %v", len(list), err)
			}
		})
	}
}

func TestIncidentChangesAreCompareAndSet(t *testing.T) {
	for _, kind := range incidentKinds {
		t.Run(kind.name, func(t *testing.T) {
			ctx := context.Background()
			st := kind.new(t)
			inc := newTestIncident("asn-share", kzNet)
			if ok, err := st.Create(ctx, inc, time.Hour); err != nil || !ok {
				t.Fatal(ok, err)
			}
			// Two nodes read the same record and both try to remind.
			a, err := st.Get(ctx, "asn-share", kzNet)
			if err != nil || a == nil || a.ID != inc.ID {
				t.Fatalf("Get = %+v, %v", a, err)
			}
			b, _ := st.Get(ctx, "asn-share", kzNet)
			na, nb := a.clone(), b.clone()
			na.Reminders, nb.Reminders = 1, 1
			okA, errA := st.Update(ctx, a, na, time.Hour)
			okB, errB := st.Update(ctx, b, nb, time.Hour)
			if errA != nil || errB != nil || !okA || okB {
				t.Fatalf("updates: a=%v,%v b=%v,%v; want only the first to win", okA, errA, okB, errB)
			}
			// A stale record cannot delete it; the current one can, once.
			if ok, err := st.Delete(ctx, b); err != nil || ok {
				t.Errorf("stale delete = %v, %v", ok, err)
			}
			cur, _ := st.Get(ctx, "asn-share", kzNet)
			if cur.Reminders != 1 {
				t.Errorf("reminders %d", cur.Reminders)
			}
			if ok, err := st.Delete(ctx, cur); err != nil || !ok {
				t.Errorf("delete = %v, %v", ok, err)
			}
			if ok, _ := st.Delete(ctx, cur); ok {
				t.Error("deleted twice")
			}
			if got, err := st.Get(ctx, "asn-share", kzNet); err != nil || got != nil {
				t.Errorf("after delete: %+v, %v", got, err)
			}
			if list, _ := st.List(ctx); len(list) != 0 {
				t.Errorf("List after delete: %d", len(list))
			}
			// Closed, it can open again (a new incident).
			if ok, _ := st.Create(ctx, newTestIncident("asn-share", kzNet), time.Hour); !ok {
				t.Error("cannot reopen after delete")
			}
		})
	}
}

func TestIncidentExpiresWhenNobodyTouchesIt(t *testing.T) {
	for _, kind := range incidentKinds {
		t.Run(kind.name, func(t *testing.T) {
			ctx := context.Background()
			st := kind.new(t)
			kept, dropped := newTestIncident("r", kzNet), newTestIncident("r", Subject{Scope: ScopeASN, ASN: 1})
			for _, inc := range []*Incident{kept, dropped} {
				if ok, err := st.Create(ctx, inc, 300*time.Millisecond); err != nil || !ok {
					t.Fatal(ok, err)
				}
			}
			if err := st.Touch(ctx, kept, time.Hour); err != nil {
				t.Fatal(err)
			}
			time.Sleep(500 * time.Millisecond)
			list, err := st.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 1 || list[0].ID != kept.ID {
				t.Errorf("after expiry: %d incidents, want only the touched one", len(list))
			}
		})
	}
}

func TestIncidentRoundTripsEveryField(t *testing.T) {
	for _, kind := range incidentKinds {
		t.Run(kind.name, func(t *testing.T) {
			ctx := context.Background()
			st := kind.new(t)
			now := time.Unix(1_700_000_000, 0).UTC()
			inc := &Incident{
				ID: "abc", Rule: "new-fingerprint", Subject: Subject{Scope: ScopeNetwork, Country: "DE", ASN: 3320, JA4: ja4Z},
				OpenedAt: now, Node: "edge-1", LastNotified: now, Reminders: 2, ClearSince: &now, Baseline: 0.02,
				PeakShare: 0.4, Outgoing: testEvent(3), OutgoingAt: now, Resolving: true,
			}
			if ok, err := st.Create(ctx, inc, time.Hour); err != nil || !ok {
				t.Fatal(ok, err)
			}
			got, err := st.Get(ctx, inc.Rule, inc.Subject)
			if err != nil {
				t.Fatal(err)
			}
			a, _ := inc.encode()
			b, _ := got.encode()
			if a != b {
				t.Errorf("round trip\n got %s\nwant %s", b, a)
			}
		})
	}
}

func TestIncidentKeysFollowTheStoresHashTags(t *testing.T) {
	// A network's incident lives in the slot of the network's counts
	// ({CC:ASN}); a hostile JA4 cannot inject a brace into the key.
	k, _ := newCoordKeys("mw")
	rk := redisKeys{prefix: "mw"}
	c := clusterClient(t)
	ctx := context.Background()
	slot := func(key string) int64 {
		s, err := c.ClusterKeySlot(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	n := Network{Country: "KZ", ASN: 9198}
	if a, b := slot(k.incident("asn-share", kzNet)), slot(rk.bucket(n, 1)); a != b {
		t.Errorf("incident slot %d, network bucket slot %d", a, b)
	}
	tests := []struct {
		name string
		s    Subject
		want string
	}{
		{"network", kzNet, "mw:{KZ:9198}:inc:r"},
		{"country", Subject{Scope: ScopeCountry, Country: "KZ"}, "mw:{KZ}:inc:r"},
		{"asn", Subject{Scope: ScopeASN, ASN: 9198}, "mw:{AS9198}:inc:r"},
		{"fingerprint", Subject{Scope: ScopeNetwork, Country: "KZ", ASN: 9198, JA4: "t13d1516h2_aaa_bbb"}, "mw:{KZ:9198}:inc:r:t13d1516h2_aaa_bbb"},
		{"ja4_with_brace_injection", Subject{Scope: ScopeNetwork, Country: "KZ", ASN: 9198, JA4: "x}{other"}, "mw:{KZ:9198}:inc:r:h"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := k.incident("r", tt.s)
			if len(got) < len(tt.want) || got[:len(tt.want)] != tt.want {
				t.Errorf("key %q, want %q…", got, tt.want)
			}
			if strings.ContainsAny(got[len("mw:{"+tt.s.tag()+"}"):], "{}") {
				t.Errorf("brace after the hash tag in %q", got)
			}
		})
	}
}
