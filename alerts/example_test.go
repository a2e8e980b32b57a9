package alerts_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mitmwatch/mitmwatch/alerts"
)

func ExampleRecorder() {
	ctx := context.Background()
	store := alerts.NewMemoryStore()
	now := time.Date(2019, 7, 19, 18, 0, 30, 0, time.UTC)
	rec, err := alerts.NewRecorder(store, alerts.RecorderConfig{
		ClientKey: []byte("shared by every node"),
		Clock:     func() time.Time { return now },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	rec.Start()

	// What the middleware records per connection.
	for i := range 10 {
		o := alerts.Observation{
			Country: "KZ", ASN: 9198, ASOrg: "JSC Kazakhtelecom", Browser: true,
			Verdict: alerts.VerdictClean,
			Client:  netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}),
		}
		if i < 4 {
			o.Verdict, o.Product = alerts.VerdictIntercepted, "Qaznet Trust Network"
		}
		rec.Record(o)
	}
	rec.Record(alerts.Observation{Country: "DE", ASN: 3320, Browser: true, Verdict: alerts.VerdictClean})

	// Close flushes what is left.
	if err := rec.Close(ctx); err != nil {
		fmt.Println(err)
		return
	}
	rows, err := store.Top(ctx, alerts.TopQuery{From: now.Add(-time.Hour), To: now})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range rows {
		fmt.Printf("%s AS%d %s: %d of %d browser connections intercepted (%.0f%%), %d clients\n",
			r.Country, r.ASN, r.ASOrg, r.Intercepted, r.Browser, 100*r.Share, r.Clients)
	}
	// Output:
	// KZ AS9198 JSC Kazakhtelecom: 4 of 10 browser connections intercepted (40%), 10 clients
	// DE AS3320 : 0 of 1 browser connections intercepted (0%), 0 clients
}

// Many edge nodes share one Redis Cluster; they must share ClientKey so a
// client seen by two nodes counts once.
func ExampleNewRedisStore() {
	client := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs: []string{"10.0.0.1:6379", "10.0.0.2:6379", "10.0.0.3:6379"},
	})
	store, err := alerts.NewRedisStore(client, alerts.RedisConfig{Prefix: "mw"})
	if err != nil {
		fmt.Println(err)
		return
	}
	rec, err := alerts.NewRecorder(store, alerts.RecorderConfig{
		ClientKey: []byte("from the deployment's secret store"),
		Retention: 30 * 24 * time.Hour,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	rec.Start()
	defer rec.Close(context.Background())
}
