package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mitmwatch/mitmwatch/alerts"
	"github.com/mitmwatch/mitmwatch/server"
)

// topFlags are `mitmwatch top`'s flags.
type topFlags struct {
	config     string
	window     time.Duration
	group      alerts.Group
	limit      int
	minBrowser uint64
	json       bool
}

// groupFlag is a flag.Value for network, country or asn.
type groupFlag struct{ g *alerts.Group }

func (f groupFlag) String() string {
	if f.g == nil {
		return alerts.GroupNetwork.String()
	}
	return f.g.String()
}

func (f groupFlag) Set(s string) error {
	g, err := alerts.ParseGroup(s)
	if err == nil {
		*f.g = g
	}
	return err
}

func parseTop(args []string, env lookupEnv, stderr io.Writer) (topFlags, error) {
	f := topFlags{window: time.Hour, limit: 20, minBrowser: 1}
	fs := newFlagSet("top", "top [--window 1h] [--group network|country|asn] [flags]", stderr)
	fs.stringVar(&f.config, "config", "MITMWATCH_CONFIG", "",
		"configuration `FILE` whose store.redis is read (the embedded memory store lives inside 'mitmwatch serve': see its dashboard)")
	fs.DurationVar(&f.window, "window", f.window, "how far back from now to rank, in whole minutes (env MITMWATCH_TOP_WINDOW)")
	fs.twin("window", "MITMWATCH_TOP_WINDOW")
	fs.Var(groupFlag{&f.group}, "group", "rows: `network` (country and ASN), country or asn (env MITMWATCH_TOP_GROUP)")
	fs.twin("group", "MITMWATCH_TOP_GROUP")
	fs.IntVar(&f.limit, "limit", f.limit, "rows shown; -1 for all (env MITMWATCH_TOP_LIMIT)")
	fs.twin("limit", "MITMWATCH_TOP_LIMIT")
	fs.Uint64Var(&f.minBrowser, "min-browser", f.minBrowser, "leave out rows with fewer browser connections (env MITMWATCH_TOP_MIN_BROWSER)")
	fs.twin("min-browser", "MITMWATCH_TOP_MIN_BROWSER")
	fs.BoolVar(&f.json, "json", false, "print the rows as JSON instead of a table (env MITMWATCH_TOP_JSON)")
	fs.twin("json", "MITMWATCH_TOP_JSON")
	if err := fs.parse(args, env); err != nil {
		return f, err
	}
	if f.window < time.Minute || f.window%time.Minute != 0 {
		fmt.Fprintf(stderr, "--window %v: want a whole number of minutes, at least 1m\n", f.window)
		return f, fmt.Errorf("%w: --window %v", errUsage, f.window)
	}
	return f, nil
}

// runTop is `mitmwatch top`: the networks with the highest intercepted
// share over the last --window, read from the shared Redis store.
func runTop(ctx context.Context, args []string, env lookupEnv, stdout, stderr io.Writer) error {
	f, err := parseTop(args, env, stderr)
	if err != nil {
		return err
	}
	store, closeStore, err := openSharedStore(f.config, env)
	if err != nil {
		return err
	}
	defer closeStore()
	return printTop(ctx, store, f, time.Now(), stdout)
}

// printTop queries store and writes the table (or JSON) to w.
func printTop(ctx context.Context, store alerts.Store, f topFlags, now time.Time, w io.Writer) error {
	q := alerts.TopQuery{From: now.Add(-f.window), To: now, Group: f.group, Limit: f.limit, MinBrowser: f.minBrowser}
	rows, err := store.Top(ctx, q)
	if err != nil {
		return err
	}
	if f.json {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if rows == nil {
			rows = []alerts.NetworkStats{}
		}
		return enc.Encode(rows)
	}
	return alerts.WriteTop(w, rows, q)
}

// openSharedStore opens the Redis store that the configuration's
// store.redis names.
func openSharedStore(path string, env lookupEnv) (alerts.Store, func(), error) {
	cfg, err := server.LoadConfig(path, env)
	if err != nil {
		return nil, nil, fmt.Errorf("configuration:\n%w", err)
	}
	if err := cfg.ReadFiles(); err != nil {
		return nil, nil, fmt.Errorf("configuration:\n%w", err)
	}
	r := cfg.Store.Redis
	if r == nil {
		return nil, nil, errors.New("no store.redis in the configuration (--config or MITMWATCH_CONFIG): " +
			"the embedded memory store lives inside 'mitmwatch serve', whose dashboard shows the same table")
	}
	// ADAPTER(server): the same mapping as the server's redisOptions; use
	// an exported constructor from package server once there is one.
	o := &redis.UniversalOptions{Addrs: r.Addrs, Username: r.Username, Password: r.Password, DB: r.DB, MasterName: r.MasterName}
	if r.TLS {
		o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	client := redis.NewUniversalClient(o)
	store, err := alerts.NewRedisStore(client, alerts.RedisConfig{Prefix: r.KeyPrefix})
	if err != nil {
		client.Close()
		return nil, nil, err
	}
	return store, func() { client.Close() }, nil
}
