package alerts

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

func BenchmarkSignerSign(b *testing.B) {
	s, _ := NewSigner(testSecret)
	ev := sampleAlertEvent()
	sk := &sink{cfg: WebhookConfig{Format: FormatStandard}}
	body, _ := sk.body(ev)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	now := time.Now()
	for b.Loop() {
		_ = s.Sign(ev.ID, now, body)
	}
}

func BenchmarkSinkBody(b *testing.B) {
	ev := sampleAlertEvent()
	for _, f := range []string{FormatStandard, FormatSlack, FormatJSON} {
		b.Run(f, func(b *testing.B) {
			sk := &sink{cfg: WebhookConfig{Format: f}}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := sk.body(ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNoteBookNote is the request-path cost of noting a verdict whose
// JA4 is already known, from all CPUs at once.
func BenchmarkNoteBookNote(b *testing.B) {
	nb := NewNoteBook(0)
	var r fingerprints.Reasons
	r = r.Add(fingerprints.Reason(1))
	nb.Note(ja4X, fingerprints.GradeC, r)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			nb.Note(ja4X, fingerprints.GradeC, r)
		}
	})
}

// BenchmarkEvaluate is one evaluation of the default rules over a memory
// store holding an hour of traffic from n networks (one in ten firing),
// after the first evaluation opened their incidents: the steady state of
// the loop every node runs every 15 s.
func BenchmarkEvaluate(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("networks=%d", n), func(b *testing.B) {
			st := NewMemoryStore()
			now := t0.Add(59*time.Minute + 30*time.Second)
			var obs []Observation
			for i := range n {
				intercepted := 0
				if i%10 == 0 {
					intercepted = 30
				}
				obs = append(obs, traffic(fmt.Sprintf("%c%c", 'A'+i%26, 'A'+i/26%26), uint32(1000+i), "AS org", 100, intercepted, "Product", ja4X, 0)...)
			}
			feed(b, st, now.Add(-2*time.Minute), obs...)
			e, err := NewEvaluator(EvaluatorConfig{Store: st, Clock: func() time.Time { return now }})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			if err := e.Evaluate(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := e.Evaluate(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEvaluateRedis is the same steady state against a real
// redis-server (standalone), 100 networks: what each node's evaluation
// costs the shared Redis.
func BenchmarkEvaluateRedis(b *testing.B) {
	c := standaloneClient(b)
	prefix := newPrefix()
	st, err := NewRedisStore(c, RedisConfig{Prefix: prefix})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	var obs []Observation
	for i := range 100 {
		intercepted := 0
		if i%10 == 0 {
			intercepted = 30
		}
		obs = append(obs, traffic("KZ", uint32(1000+i), "AS org", 100, intercepted, "Product", ja4X, 0)...)
	}
	feed(b, st, now.Add(-2*time.Minute), obs...)
	e, err := NewEvaluator(EvaluatorConfig{Store: st, Redis: c, RedisPrefix: prefix, Clock: time.Now})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := e.Evaluate(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := e.Evaluate(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTopRedis is one Top over the last hour of a real redis-server
// (standalone) holding 100 networks, each with 20 intercepted JA4s seen in
// each of 30 minutes: without and with the per-JA4 client counts
// (TopQuery.JA4Clients), which only the new_fingerprint rule asks for.
func BenchmarkTopRedis(b *testing.B) {
	c := standaloneClient(b)
	st, err := NewRedisStore(c, RedisConfig{Prefix: newPrefix()})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	for m := range 30 {
		var obs []Observation
		for i := range 100 {
			for j := range 20 {
				obs = append(obs, traffic("KZ", uint32(1000+i), "AS org", 2, 1, "Product", fmt.Sprintf("t13d1516h2_%012d_bbbbbbbbbbbb", j), 100*i+j)...)
			}
		}
		feed(b, st, now.Add(time.Duration(m-30)*time.Minute), obs...)
	}
	ctx := context.Background()
	for _, ja4 := range []bool{false, true} {
		b.Run(fmt.Sprintf("ja4_clients=%v", ja4), func(b *testing.B) {
			q := TopQuery{From: now.Add(-time.Hour), To: now.Add(time.Minute), Limit: -1, JA4Clients: ja4}
			b.ReportAllocs()
			for b.Loop() {
				rows, err := st.Top(ctx, q)
				if err != nil || len(rows) != 100 {
					b.Fatalf("Top: %d rows, %v", len(rows), err)
				}
			}
		})
	}
}
