package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// errHelp is returned when -h was asked for: the help is printed and the
// exit code is 0.
var errHelp = flag.ErrHelp

// flagSet is a flag.FlagSet whose flags may have an environment twin.
type flagSet struct {
	*flag.FlagSet
	env map[string]string // flag name → environment variable
}

func newFlagSet(name, synopsis string, stderr io.Writer) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), env: map[string]string{}}
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: mitmwatch %s\n\nFlags (a flag wins over its environment twin, which wins over the default):\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// twin names the environment twin of a flag already defined; its help text
// must say so (the helpers below do).
func (fs *flagSet) twin(flagName, envName string) {
	fs.env[flagName] = envName
}

// stringVar defines a string flag with an environment twin.
func (fs *flagSet) stringVar(p *string, name, envName, value, usage string) {
	fs.StringVar(p, name, value, fmt.Sprintf("%s (env %s)", usage, envName))
	fs.twin(name, envName)
}

// parse parses args, then fills every flag not given on the command line
// from its environment twin if set: defaults < env < flags. It returns
// errHelp after -h and an errUsage-wrapped error (usage printed) otherwise.
func (fs *flagSet) parse(args []string, env lookupEnv) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return fmt.Errorf("%w: %v", errUsage, err) // flag printed it and the usage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for name, envName := range fs.env {
		v, ok := env(envName)
		if given[name] || !ok || v == "" {
			continue
		}
		if err := fs.Set(name, v); err != nil {
			fmt.Fprintf(fs.Output(), "invalid value %q for %s: %v\n", v, envName, err)
			return fmt.Errorf("%w: %s: %v", errUsage, envName, err)
		}
	}
	return nil
}

// logLevel is a flag.Value for a slog level: debug, info, warn, error.
type logLevel struct{ slog.Level }

func (l *logLevel) Set(s string) error {
	return l.UnmarshalText([]byte(strings.ToUpper(s)))
}

// newLogger returns a text logger on w at level.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// commonFlags are the flags of every serving command.
type commonFlags struct {
	certDir string
	level   logLevel
}

func (c *commonFlags) register(fs *flagSet) {
	fs.stringVar(&c.certDir, "cert-dir", "MITMWATCH_CERT_DIR", "",
		"directory caching the self-signed certificate (default: the user cache directory + /mitmwatch)")
	c.level.Level = slog.LevelInfo
	fs.Var(&c.level, "log-level", "log level: debug, info, warn or error (default info) (env MITMWATCH_LOG_LEVEL)")
	fs.twin("log-level", "MITMWATCH_LOG_LEVEL")
}
