package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/mitmwatch/mitmwatch/server"
)

// runConfig is `mitmwatch config check [flags] FILE`: it loads FILE with
// the environment overrides, validates it, checks the files it names and
// prints "ok" and the effective configuration with secrets redacted (exit
// 0), or every problem on its own line (exit 1).
func runConfig(ctx context.Context, args []string, env lookupEnv, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		configUsage(stderr)
		return fmt.Errorf("%w: missing subcommand", errUsage)
	}
	switch args[0] {
	case "check":
		return runConfigCheck(args[1:], env, stdout, stderr)
	case "-h", "-help", "--help", "help":
		configUsage(stdout)
		return errHelp
	}
	fmt.Fprintf(stderr, "unknown subcommand %q\n\n", args[0])
	configUsage(stderr)
	return fmt.Errorf("%w: unknown subcommand %q", errUsage, args[0])
}

// configUsage prints the config command's usage and the environment
// overrides, from the table the code applies.
func configUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: mitmwatch config check [flags] FILE   (FILE defaults to $MITMWATCH_CONFIG)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Loads FILE (YAML; examples/mitmwatch.yaml documents every key) over the defaults,")
	fmt.Fprintln(w, "applies the environment overrides below, validates, and checks the files it names.")
	fmt.Fprintln(w, "Prints \"ok\" and the effective configuration with secrets redacted (exit 0),")
	fmt.Fprintln(w, "or every problem on its own line, FILE:LINE: key: problem (exit 1).")
	fmt.Fprintln(w, "Run `mitmwatch config check -h` for its flags.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Environment overrides (defaults < file < environment < flags; empty means unset):")
	for _, o := range server.EnvOverrides() {
		fmt.Fprintf(w, "  %-33s %s (%s)\n", o.Name, o.Key, o.Syntax())
	}
}

func runConfigCheck(args []string, env lookupEnv, stdout, stderr io.Writer) error {
	var skipFiles bool
	fs := newFlagSet("config check", "config check [flags] FILE (env MITMWATCH_CONFIG)", stderr)
	fs.BoolVar(&skipFiles, "skip-files", false,
		"do not read the secret files nor check the other files FILE names (to check a config on another host) (env MITMWATCH_CONFIG_SKIP_FILES)")
	fs.twin("skip-files", "MITMWATCH_CONFIG_SKIP_FILES")
	// FILE may come before or after the flags, which are all boolean, so
	// any argument not starting with '-' is FILE.
	var files, flags []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") && a != "-" {
			flags = append(flags, a)
		} else {
			files = append(files, a)
		}
	}
	if err := fs.parse(flags, env); err != nil {
		return err
	}
	if len(files) == 0 {
		if f, ok := env("MITMWATCH_CONFIG"); ok && f != "" {
			files = append(files, f)
		}
	}
	if len(files) != 1 {
		fmt.Fprintln(stderr, "want exactly one FILE (or MITMWATCH_CONFIG)")
		fs.Usage()
		return fmt.Errorf("%w: want exactly one FILE, got %d", errUsage, len(files))
	}
	file := files[0]

	cfg, err := server.LoadConfig(file, env)
	if cfg == nil { // the file could not be read
		return err
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintln(stderr, "warning:", w)
	}
	// The effective configuration is rendered before ReadFiles moves the
	// *_file secrets into their keys, so it shows where they come from.
	out, yerr := cfg.RedactedYAML()
	if err == nil && !skipFiles {
		err = cfg.ReadFiles()
	}
	if err != nil {
		problems := splitErrors(err)
		for _, p := range problems {
			fmt.Fprintln(stderr, p)
		}
		noun := "problems"
		if len(problems) == 1 {
			noun = "problem"
		}
		return fmt.Errorf("%s: %d %s", file, len(problems), noun)
	}
	if yerr != nil {
		return yerr
	}
	fmt.Fprintln(stdout, "ok")
	_, err = stdout.Write(out)
	return err
}

// splitErrors unwraps an errors.Join.
func splitErrors(err error) []error {
	var j interface{ Unwrap() []error }
	if errors.As(err, &j) {
		return j.Unwrap()
	}
	return []error{err}
}
