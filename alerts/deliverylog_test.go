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
	for _, kind := range deliveryLogKinds {
		t.Run(kind.name, func(t *testing.T) {
			ctx := context.Background()
			l := kind.new(t, 3)
			if recs, err := l.Recent(ctx, 10); err != nil || len(recs) != 0 {
				t.Fatalf("empty log: %v, %v", recs, err)
			}
			base := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
			for i := range 5 {
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
			if fmt.Sprint(ids) != "[msg_4 msg_3 msg_2]" {
				t.Errorf("records %v, want the 3 newest, newest first", ids)
			}
			if recs[0].Attempt != 5 || !recs[0].Time.Equal(base.Add(4*time.Second)) {
				t.Errorf("record round trip: %+v", recs[0])
			}
			two, err := l.Recent(ctx, 2)
			if err != nil || len(two) != 2 || two[0].EventID != "msg_4" {
				t.Errorf("Recent(2) = %v, %v", two, err)
			}
		})
	}
}
