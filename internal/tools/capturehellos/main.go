// Command capturehellos regenerates mitmwatch's own ClientHello corpus,
// testdata/clienthello: one raw, record-framed ClientHello per client
// (<name>.hex) with a metadata file (<name>.json) saying which client sent
// it, its User-Agent, how it was captured and, when an HTTP request
// followed, that request's protocol, method and headers. The files are
// golden inputs for JA3/JA4, inputs of the tshark and dreadl0ck/ja3
// oracles, and the detection corpus (hello + headers → expected verdict).
// The format is described in testdata/clienthello/README.md.
//
// # How it captures
//
// The tool generates a throwaway CA and a certificate for "localhost"
// signed by it, and serves HTTPS on 127.0.0.1 through mitmwatch's own
// capture listener (fingerprints.NewListener, ConnContext,
// ClientHelloFromContext): the bytes written are exactly what that
// listener read. Clients are sent to https://localhost:<port>/capture/<name>
// so that their hellos carry SNI; the path ties a request (and the hello of
// the connection that carried it) to the client that made it. The clients,
// by group (-only):
//
//	utls       every browser parrot of utls v1.8.2, handshake only (the hello
//	           is recorded by the listener's OnHello hook, even when the
//	           handshake then fails); the User-Agent is assigned by hand
//	go         Go net/http with crypto/tls defaults
//	curl       curl -sk (Debian curl, OpenSSL)
//	python     python3 urllib.request with an unverified SSL context
//	chromium   Debian chromium, headless, fresh profile
//	firefox    Debian firefox-esr, headless, fresh profile trusting the CA
//	           (certutil from libnss3-tools)
//	mitmproxy  chromium, firefox-esr and curl through Debian mitmdump
//	           --ssl-insecure: the hello is then mitmproxy's and the request
//	           the browser's, as under real interception
//
// Everything listens on 127.0.0.1 only, every client run has a timeout, and
// child processes run in their own process group, which is killed by id
// when they finish or time out.
//
// # Running it
//
// From the repository root (scripts/regen-testdata does this):
//
//	go run ./internal/tools/capturehellos -out testdata/clienthello
//	go run ./internal/tools/capturehellos -only utls,go -out /tmp/hellos
//	go run ./internal/tools/capturehellos -list
//
// A client whose program is not installed is skipped with a message. The
// exit status is 1 if any capture failed (or a written hello does not parse
// or lacks SNI "localhost"), 2 on a usage error.
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options are the command-line flags.
type options struct {
	out     string
	groups  map[string]bool
	timeout time.Duration
	keepTmp bool
	verbose bool
	list    bool
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("capturehellos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{}
	only := fs.String("only", strings.Join(allGroups(), ","), "comma-separated capture groups to run")
	fs.StringVar(&o.out, "out", "testdata/clienthello", "directory to write <name>.hex and <name>.json into")
	fs.DurationVar(&o.timeout, "timeout", 90*time.Second, "time limit for each client program run")
	fs.BoolVar(&o.keepTmp, "keep-tmp", false, "keep the temporary directory (browser profiles, mitmproxy confdir) for debugging")
	fs.BoolVar(&o.verbose, "v", false, "debug logging")
	fs.BoolVar(&o.list, "list", false, "list the captures the selected groups would make, and exit")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: capturehellos [flags]\n\nCaptures ClientHellos of many clients into -out. Groups: %s.\n\n", strings.Join(allGroups(), ", "))
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("capturehellos: unexpected arguments %q", fs.Args())
	}
	if o.timeout <= 0 {
		return nil, errors.New("capturehellos: -timeout must be positive")
	}
	var err error
	if o.groups, err = parseGroups(*only); err != nil {
		return nil, err
	}
	return o, nil
}

// parseGroups parses -only: known group names separated by commas.
func parseGroups(s string) (map[string]bool, error) {
	groups := map[string]bool{}
	for g := range strings.SplitSeq(s, ",") {
		g = strings.TrimSpace(g)
		if g == "" {
			continue
		}
		if !slices.Contains(allGroups(), g) {
			return nil, fmt.Errorf("capturehellos: -only: unknown group %q (want %s)", g, strings.Join(allGroups(), ","))
		}
		groups[g] = true
	}
	if len(groups) == 0 {
		return nil, errors.New("capturehellos: -only: no group selected")
	}
	return groups, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	js := jobs(o.groups)
	if o.list {
		for _, j := range js {
			fmt.Fprintf(stdout, "%-10s %s\n", j.group, j.label)
		}
		return 0
	}
	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if err := capture(ctx, o, js, stdout, log); err != nil {
		log.Error("capture failed", "err", err)
		return 1
	}
	return 0
}

// result is one line of the final summary.
type result struct {
	name, via, sni, ja4, status string
	bytes, records              int
}

// capture runs the jobs and writes their files into o.out.
func capture(ctx context.Context, o *options, js []job, stdout io.Writer, log *slog.Logger) error {
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return fmt.Errorf("capturehellos: %w", err)
	}
	tmp, err := os.MkdirTemp("", "capturehellos-")
	if err != nil {
		return fmt.Errorf("capturehellos: %w", err)
	}
	if o.keepTmp {
		log.Info("keeping temporary directory", "dir", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	now := time.Now().UTC()
	pki, err := newTestPKI(now, 24*time.Hour)
	if err != nil {
		return err
	}
	srv, err := startCaptureServer(pki.Leaf, log)
	if err != nil {
		return err
	}
	defer srv.Close()
	log.Info("capture server listening", "url", srv.URL(""))
	r := &runner{srv: srv, pki: pki, tmp: tmp, log: log, timeout: o.timeout,
		date: now.Format(time.DateOnly), versions: map[string]string{}}
	defer r.close()

	var results []result
	var failed, skipped int
	for _, j := range js {
		if ctx.Err() != nil {
			return fmt.Errorf("capturehellos: interrupted before %s: %w", j.label, ctx.Err())
		}
		log.Info("capturing", "group", j.group, "capture", j.label)
		m, raw, err := j.run(r, ctx)
		switch {
		case errors.Is(err, errMissingBinary):
			skipped++
			log.Warn("skipped: client not installed", "capture", j.label, "err", err)
			results = append(results, result{name: j.label, status: "skipped (not installed)"})
			continue
		case err != nil:
			failed++
			log.Error("capture failed", "capture", j.label, "err", err)
			results = append(results, result{name: j.label, status: "FAILED"})
			continue
		}
		res := result{name: m.Name, via: m.Via, bytes: len(raw), records: countRecords(raw), status: "ok"}
		if m.HandshakeError != "" {
			res.status = "ok (handshake failed)"
		}
		// The hello is written even if it does not check out, so that it
		// can be looked at; the run still fails.
		var checkErr error
		res.sni, res.ja4, checkErr = checkHello(raw)
		if checkErr != nil {
			log.Error("captured hello does not check out", "capture", m.Name, "err", checkErr)
			res.status = "FAILED (check)"
		}
		if err := writeCapture(o.out, m, raw); err != nil {
			log.Error("write failed", "capture", m.Name, "err", err)
			res.status = "FAILED (write)"
		}
		if strings.HasPrefix(res.status, "FAILED") {
			failed++
		} else {
			log.Info("captured", "capture", m.Name, "bytes", len(raw), "ua", m.UserAgent)
		}
		results = append(results, res)
	}

	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVIA\tBYTES\tRECORDS\tSNI\tJA4\tSTATUS")
	for _, x := range results {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\n", x.name, x.via, x.bytes, x.records, x.sni, x.ja4, x.status)
	}
	tw.Flush()
	fmt.Fprintf(stdout, "%d captures written to %s, %d skipped, %d failed\n", len(results)-skipped-failed, o.out, skipped, failed)
	if failed > 0 {
		return fmt.Errorf("capturehellos: %d capture(s) failed", failed)
	}
	return nil
}

// checkHello parses a captured hello with mitmwatch's parser and checks
// that it names "localhost" in SNI, as every client was sent there.
func checkHello(raw []byte) (sni, ja4 string, err error) {
	h, err := fingerprints.ParseClientHello(raw)
	if err != nil {
		return "", "", err
	}
	if len(h.Raw) != len(raw) {
		return h.ServerName, "", fmt.Errorf("capturehellos: %d bytes captured but the hello ends at %d", len(raw), len(h.Raw))
	}
	if h.ServerName != "localhost" {
		return h.ServerName, "", fmt.Errorf("capturehellos: SNI %q, want localhost", h.ServerName)
	}
	return h.ServerName, h.Fingerprints().JA4, nil
}

// countRecords counts the TLS records the hello spans (more than one when
// a client fragments a large hello at the record layer).
func countRecords(raw []byte) int {
	n := 0
	for len(raw) >= 5 {
		l := int(binary.BigEndian.Uint16(raw[3:5]))
		n++
		if len(raw) < 5+l {
			break
		}
		raw = raw[5+l:]
	}
	return n
}
