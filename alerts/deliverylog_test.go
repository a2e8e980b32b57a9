package alerts

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// deliveryLogKinds builds a fresh log of each kind keeping size records.
var deliveryLogKinds = []struct {
	name string
	new  func(tb testing.TB, size int) DeliveryLog
}{
	{"memory", func(tb testing.TB, size int) DeliveryLog { return NewMemoryDeliveryLog(size) }},
	{"redis_standalone", func(tb testing.TB, size int) DeliveryLog {
		l, err := NewRedisDeliveryLog(standaloneClient(tb), newPrefix(), size)
		if err != nil {
			tb.Fatal(err)
		}
		return l
	}},
	{"redis_cluster", func(tb testing.TB, size int) DeliveryLog {
		l, err := NewRedisDeliveryLog(clusterClient(tb), newPrefix(), size)
		if err != nil {
			tb.Fatal(err)
		}
		return l
	}},
}

func TestDeliveryLogKeepsTheNewestRecordsBounded(t *testing.T) {
	// A log of size 3, filled partly, exactly, and past its size (the
	// memory ring grows on demand, then overwrites).
	cases := []struct {
		name     string
		appended int
		want     string
	}{
		{"partly_filled", 2, "[msg_1 msg_0]"},
		{"exactly_full", 3, "[msg_2 msg_1 msg_0]"},
		{"wrapped", 5, "[msg_4 msg_3 msg_2]"},
		{"wrapped_twice", 7, "[msg_6 msg_5 msg_4]"},
	}
	for _, kind := range deliveryLogKinds {
		for _, tc := range cases {
			t.Run(kind.name+"/"+tc.name, func(t *testing.T) {
				ctx := context.Background()
				l := kind.new(t, 3)
				if recs, err := l.Recent(ctx, 10); err != nil || len(recs) != 0 {
					t.Fatalf("empty log: %v, %v", recs, err)
				}
				base := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
				for i := range tc.appended {
					r := DeliveryRecord{Time: base.Add(time.Duration(i) * time.Second), EventID: fmt.Sprintf("msg_%d", i), Sink: "soc", Attempt: i + 1, Outcome: OutcomeRetry}
					if err := l.Append(ctx, r); err != nil {
						t.Fatal(err)
					}
				}
				recs, err := l.Recent(ctx, 0)
				if err != nil {
					t.Fatal(err)
				}
				var ids []string
				for _, r := range recs {
					ids = append(ids, r.EventID)
				}
				if fmt.Sprint(ids) != tc.want {
					t.Errorf("records %v, want %s (newest first)", ids, tc.want)
				}
				last := tc.appended - 1
				if recs[0].Attempt != last+1 || !recs[0].Time.Equal(base.Add(time.Duration(last)*time.Second)) {
					t.Errorf("record round trip: %+v", recs[0])
				}
				two, err := l.Recent(ctx, 2)
				if err != nil || len(two) != 2 || two[0].EventID != fmt.Sprintf("msg_%d", last) {
					t.Errorf("Recent(2) = %v, %v", two, err)
				}
			})
		}
	}
}

func TestMemoryDeliveryLogHoldsNoRecordsUntilAppended(t *testing.T) {
	// The ring grows on demand: an edge that never alerts must not keep
	// (and have the garbage collector scan) a thousand empty records.
	l := NewMemoryDeliveryLog(DefaultDeliveryLogSize)
	if c := cap(l.ring); c != 0 {
		t.Fatalf("new log has room for %d records, want 0", c)
	}
	if err := l.Append(context.Background(), DeliveryRecord{EventID: "msg_0"}); err != nil {
		t.Fatal(err)
	}
	if c := cap(l.ring); c > 8 {
		t.Errorf("log of one record has room for %d", c)
	}
}
