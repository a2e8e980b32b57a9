package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/mitmwatch/mitmwatch/alerts"
	"github.com/mitmwatch/mitmwatch/server"
)

// runAlerts is `mitmwatch alerts <subcommand>`; the one subcommand is
// test.
func runAlerts(ctx context.Context, args []string, env lookupEnv, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		alertsUsage(stderr)
		return fmt.Errorf("%w: missing subcommand", errUsage)
	}
	switch args[0] {
	case "test":
		return runAlertsTest(ctx, args[1:], env, stdout, stderr, nil)
	case "-h", "-help", "--help", "help":
		alertsUsage(stdout)
		return errHelp
	}
	fmt.Fprintf(stderr, "unknown subcommand %q\n\n", args[0])
	alertsUsage(stderr)
	return fmt.Errorf("%w: unknown subcommand %q", errUsage, args[0])
}

func alertsUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: mitmwatch alerts test [--config FILE]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Sends one sample interception.alert (marked \"test\": true, about the")
	fmt.Fprintln(w, "documentation ASN 64496) to every webhook of the configuration's alerts")
	fmt.Fprintln(w, "section, once each, and prints what each answered. Exit 1 if any failed.")
	fmt.Fprintln(w, "Run `mitmwatch alerts test -h` for its flags.")
}

// runAlertsTest is `mitmwatch alerts test`. client is the HTTP client
// (nil: the alerts package's default); tests pass theirs.
func runAlertsTest(ctx context.Context, args []string, env lookupEnv, stdout, stderr io.Writer, client *http.Client) error {
	var path string
	fs := newFlagSet("alerts test", "alerts test [--config FILE]", stderr)
	fs.stringVar(&path, "config", "MITMWATCH_CONFIG", "", "configuration `FILE` whose alerts.webhooks receive the sample")
	if err := fs.parse(args, env); err != nil {
		return err
	}
	cfg, err := server.LoadConfig(path, env)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	if err := cfg.ReadFiles(); err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	results, err := alerts.SendTest(ctx, cfg.Alerts.Config(), client)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	failed := 0
	for _, r := range results {
		status := "-"
		if r.Status != 0 {
			status = fmt.Sprintf("HTTP %d", r.Status)
		}
		verdict, detail := "ok", fmt.Sprintf("in %v", r.Duration.Round(time.Millisecond))
		if r.Err != nil {
			verdict, detail = "FAIL", r.Err.Error()
			failed++
		}
		fmt.Fprintf(tw, "%s\t%s (%s)\t%s\t%s\n", verdict, r.Sink, r.Format, status, detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d webhooks did not take the sample alert", failed, len(results))
	}
	return nil
}
