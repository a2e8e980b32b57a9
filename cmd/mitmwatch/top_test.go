package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mitmwatch/mitmwatch/alerts"
	"github.com/mitmwatch/mitmwatch/internal/redistest"
)

// recordTraffic feeds store through a recorder at `at`: per network, n
// browser connections of which intercepted by "Qaznet".
func recordTraffic(t *testing.T, store alerts.Store, at time.Time) {
	t.Helper()
	rec, err := alerts.NewRecorder(store, alerts.RecorderConfig{Clock: func() time.Time { return at }, ClientKey: []byte("k")})
	if err != nil {
		t.Fatal(err)
	}
	nets := []struct {
		cc          string
		asn         uint32
		org         string
		n, intercep int
	}{
		{"KZ", 9198, "JSC Kazakhtelecom", 120, 36},
		{"DE", 3320, "Deutsche Telekom AG", 200, 2},
		{"KZ", 29555, "Mobile Telecom-Service LLP", 50, 5},
	}
	for _, nw := range nets {
		for i := range nw.n {
			o := alerts.Observation{Country: nw.cc, ASN: nw.asn, ASOrg: nw.org, Browser: true, Verdict: alerts.VerdictClean,
				Client: netip.AddrFrom4([4]byte{10, byte(nw.asn), byte(i >> 8), byte(i)})}
			if i < nw.intercep {
				o.Verdict, o.Product, o.JA4 = alerts.VerdictIntercepted, "Qaznet", "t12d130700_aaaaaaaaaaaa_bbbbbbbbbbbb"
			}
			rec.Record(o)
		}
	}
	if err := rec.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestTopPrintsATableFromAMemoryStore(t *testing.T) {
	store := alerts.NewMemoryStore()
	now := time.Date(2026, 5, 1, 12, 30, 0, 0, time.UTC)
	recordTraffic(t, store, now.Add(-20*time.Minute))
	f, err := parseTop(nil, envOf(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := printTop(context.Background(), store, f, now, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(lines) != 6 {
		t.Fatalf("%d lines:\n%s", len(lines), out.String())
	}
	if lines[0] != "Intercepted share of browser connections by network, 2026-05-01 11:30 to 2026-05-01 12:30 UTC (1 h)" {
		t.Errorf("title %q", lines[0])
	}
	// Ranked by share: KZ:9198 30%, KZ:29555 10%, DE:3320 1%.
	for i, want := range []string{"KZ       AS9198   JSC Kazakhtelecom", "KZ       AS29555  Mobile Telecom-Service LLP", "DE       AS3320   Deutsche Telekom AG"} {
		if !strings.HasPrefix(lines[3+i], want) {
			t.Errorf("row %d %q, want it to start %q", i, lines[3+i], want)
		}
	}
	if !strings.Contains(lines[3], "30.0%") || !strings.Contains(lines[3], "Qaznet (36)") {
		t.Errorf("top row %q", lines[3])
	}

	// --group country --json: two countries, machine-readable.
	f, err = parseTop([]string{"--group", "country", "--json"}, envOf(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := printTop(context.Background(), store, f, now, &out); err != nil {
		t.Fatal(err)
	}
	var rows []alerts.NetworkStats
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if len(rows) != 2 || rows[0].Country != "KZ" || rows[0].Browser != 170 || rows[0].Intercepted != 41 {
		t.Errorf("country rows %+v", rows)
	}
}

func TestTopFlags(t *testing.T) {
	env := envOf(map[string]string{"MITMWATCH_TOP_WINDOW": "15m", "MITMWATCH_TOP_GROUP": "asn", "MITMWATCH_TOP_LIMIT": "5"})
	f, err := parseTop([]string{"--limit", "7"}, env, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if f.window != 15*time.Minute || f.group != alerts.GroupASN || f.limit != 7 || f.minBrowser != 1 {
		t.Errorf("flags %+v: env should fill window and group, the flag win for limit", f)
	}
	for _, args := range [][]string{{"--window", "90s"}, {"--window", "0s"}, {"--group", "city"}, {"extra"}} {
		if _, err := parseTop(args, envOf(nil), &bytes.Buffer{}); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}

func TestTopWithoutRedisExplainsWhy(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"top"}, envOf(nil), &stdout, &stderr)
	if code != exitError || !strings.Contains(stderr.String(), "no store.redis") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
}

func TestTopReadsTheSharedRedisStore(t *testing.T) {
	redistest.Require(t)
	srv, err := redistest.Start(redistest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	client := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { client.Close() })
	store, err := alerts.NewRedisStore(client, alerts.RedisConfig{Prefix: "toptest"})
	if err != nil {
		t.Fatal(err)
	}
	recordTraffic(t, store, time.Now().Add(-5*time.Minute))
	cfg := filepath.Join(t.TempDir(), "mitmwatch.yaml")
	yaml := "store:\n  redis:\n    addrs: [\"" + srv.Addr + "\"]\n    key_prefix: toptest\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"top", "--window", "15m", "--group", "asn"}, envOf(map[string]string{"MITMWATCH_CONFIG": cfg}), &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	if !strings.Contains(out, "by asn") || !strings.Contains(out, "AS9198   JSC Kazakhtelecom") || !strings.Contains(out, "30.0%") {
		t.Errorf("output:\n%s", out)
	}
}
