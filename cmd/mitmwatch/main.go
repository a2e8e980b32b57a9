// Command mitmwatch detects HTTPS interception by fingerprinting TLS
// ClientHellos.
//
// Usage:
//
//	mitmwatch [demo] [flags]        the demo (default): https://127.0.0.1:8443/
//	mitmwatch serve [--config FILE] the edge server: TLS, detection, reverse proxy, admin
//	mitmwatch fingerprint [flags]   print the fingerprint of every connection
//	mitmwatch eval [DIR]            classify a labelled corpus (testdata/corpus)
//	mitmwatch top [--window 1h]     networks with the highest intercepted share (shared Redis store)
//	mitmwatch alerts test           send a sample alert to every configured webhook
//	mitmwatch config check FILE     validate a configuration file, print it with secrets redacted
//	mitmwatch help [command]
//
// Every flag has an environment twin (MITMWATCH_…) named in its help text;
// a flag given on the command line wins over the environment, which wins
// over the configuration file (serve), which wins over the default. Run
// `mitmwatch help <command>` for its flags.
//
// This file and its siblings hold flags and dispatch only; the work is in
// package server.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	// run parses args (after the command name) and runs; it returns
	// errUsage-wrapped errors for bad usage.
	run func(ctx context.Context, args []string, env lookupEnv, stdout, stderr io.Writer) error
}

// lookupEnv is os.LookupEnv, injected for tests.
type lookupEnv func(string) (string, bool)

// errUsage marks an error the user can fix by changing the command line;
// the usage has already been printed.
var errUsage = errors.New("usage error")

func commands() []command {
	return []command{
		{name: "demo", summary: "serve the demo page on https://127.0.0.1:8443/ (default)", run: runDemo},
		{name: "serve", summary: "the edge server: TLS, detection, reverse proxy, admin (serve --config FILE)", run: runServe},
		{name: "fingerprint", summary: "print one JSON line per TLS connection (learn your proxy's signature)", run: runFingerprint},
		{name: "eval", summary: "classify a labelled corpus and print the confusion matrix", run: runEval},
		{name: "top", summary: "networks with the highest intercepted share over --window (reads store.redis)", run: runTop},
		{name: "alerts", summary: "alerts test: send a sample alert to every configured webhook", run: runAlerts},
		{name: "config", summary: "check a configuration file: config check FILE (prints it, secrets redacted)", run: runConfig},
	}
}

// run dispatches to a subcommand and returns the exit code.
func run(ctx context.Context, args []string, env lookupEnv, stdout, stderr io.Writer) int {
	name, rest := "demo", args
	if len(args) > 0 {
		switch a := args[0]; {
		case a == "help" || a == "-h" || a == "-help" || a == "--help":
			if len(args) > 1 {
				// `mitmwatch help fingerprint` is `mitmwatch fingerprint -h`.
				name, rest = args[1], []string{"-h"}
				break
			}
			usage(stdout)
			return exitOK
		case len(a) > 0 && a[0] == '-':
			// Flags without a command: the demo's.
		default:
			name, rest = a, args[1:]
		}
	}
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		err := c.run(ctx, rest, env, stdout, stderr)
		switch {
		case err == nil:
			return exitOK
		case errors.Is(err, errHelp):
			return exitOK
		case errors.Is(err, errUsage):
			return exitUsage
		default:
			fmt.Fprintf(stderr, "mitmwatch %s: %v\n", name, err)
			return exitError
		}
	}
	fmt.Fprintf(stderr, "mitmwatch: unknown command %q\n\n", name)
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "mitmwatch detects HTTPS interception by fingerprinting TLS ClientHellos.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: mitmwatch [command] [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "  help         this text; `mitmwatch help <command>` for a command's flags")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Each flag has an environment twin (MITMWATCH_…); flags win over the environment.")
}
