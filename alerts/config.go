package alerts

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// ErrConfig is wrapped by every configuration error, so callers can tell a
// bad file from an outage with errors.Is.
var ErrConfig = errors.New("alerts: invalid configuration")

// Config is the `alerts:` section of the edge server's YAML:
//
//	alerts:
//	  evaluate_every: 15s
//	  rules: [{name: asn-share, scope: asn, window: 5m, min_connections: 50, min_share: 0.2}]
//	  webhooks: [{url: https://soc.example/hooks/mitm, format: standard, secret: whsec_...}]
//
// The zero value is valid: the [DefaultRules], no webhook (alerts are
// still evaluated, kept as incidents and shown in the delivery log).
type Config struct {
	// EvaluateEvery is how often every node evaluates the rules. Each
	// evaluation reads each rule's window from the store (one Top query per
	// rule; surge baselines are cached, see [RuleConfig].Baseline).
	// Default 15 s, minimum 1 s.
	EvaluateEvery time.Duration `yaml:"evaluate_every"`
	// Rules are the alert rules. Default (empty): [DefaultRules].
	Rules []RuleConfig `yaml:"rules"`
	// Webhooks are the sinks every alert is delivered to. Default none.
	Webhooks []WebhookConfig `yaml:"webhooks"`
	// RedeliverAfter is how long an event a node took from the outbox may
	// stay unacknowledged, its node silent (no heartbeat), before another
	// node takes it over (XAUTOCLAIM in Redis). A live node renews its claim
	// every third of this. Default 1 min, minimum 1 s.
	RedeliverAfter time.Duration `yaml:"redeliver_after"`
	// DeliveryLogSize is how many delivery attempts the delivery log keeps
	// (newest first) for the dashboard. Default 1000.
	DeliveryLogSize int `yaml:"delivery_log_size"`
}

// Rule types.
const (
	// RuleShare fires when the intercepted share of browser connections in
	// a country, ASN or network over the window reaches MinShare.
	RuleShare = "share"
	// RuleSurge fires when the share reaches SurgeFactor times the same
	// country's, ASN's or network's share over the trailing Baseline.
	RuleSurge = "surge"
	// RuleNewFingerprint fires when an intercepted or unknown JA4 first seen
	// within the window reaches MinClients clients in one network.
	RuleNewFingerprint = "new_fingerprint"
)

// Rule scopes: what one incident is about.
const (
	ScopeCountry = "country"
	ScopeASN     = "asn"
	ScopeNetwork = "network"
)

// RuleConfig is one alert rule. Only Name is required; every other field
// has a default that depends on Type. Fields that do not apply to the
// rule's Type must be left out (a typo'd rule fails loudly rather than
// alerting on something else).
type RuleConfig struct {
	// Name identifies the rule in alerts, incident keys and logs: 1–63 of
	// a-z, 0-9, '-', '_', '.', starting with a letter or digit; unique.
	// Required.
	Name string `yaml:"name"`
	// Type is share, surge or new_fingerprint. Default share.
	Type string `yaml:"type"`
	// Scope is what an incident is about: country, asn or network (a
	// country and ASN pair). Default asn; new_fingerprint rules are always
	// per network.
	Scope string `yaml:"scope"`
	// Window is the span the share (or the novelty of a fingerprint) is
	// measured over, in whole minutes of the store. Default 5 min (share,
	// surge) or 1 h (new_fingerprint). Minimum 1 min.
	Window time.Duration `yaml:"window"`
	// MinConnections is the browser connections (spoofed bots left out:
	// [Counts.People]) the window must hold before a share means anything
	// (the denominator of the share).
	// Default 50 (share) or 100 (surge).
	MinConnections uint64 `yaml:"min_connections"`
	// MinShare is, for share rules, the intercepted share that opens an
	// incident, in (0,1]; default 0.2. For surge rules it is a floor the
	// share must also reach, so 0.1% rising to 0.5% is not a surge;
	// default 0.05.
	MinShare float64 `yaml:"min_share"`
	// ResolveBelow is the hysteresis. For share rules: the share below
	// which an open incident counts as recovered, in [0, MinShare);
	// default MinShare/2. For surge rules: the factor over the baseline
	// (recorded when the incident opened) below which it counts as
	// recovered, in [0, SurgeFactor); default SurgeFactor/2. A window with
	// fewer than MinConnections browser connections also counts as
	// recovered.
	ResolveBelow float64 `yaml:"resolve_below"`
	// ResolveAfter is how long the incident must stay recovered before the
	// one interception.resolved notice is sent. Default: Window (a whole
	// window measured below the line).
	ResolveAfter time.Duration `yaml:"resolve_after"`
	// Baseline (surge only) is the trailing span before the window that
	// the share is compared with. It is recomputed at most every
	// Baseline/24 (default: hourly), as it moves slowly and reading 24 h
	// of minutes on every evaluation would load the store. Default 24 h.
	Baseline time.Duration `yaml:"baseline"`
	// SurgeFactor (surge only) is how many times the baseline share the
	// window's share must reach, above 1. Default 5.
	SurgeFactor float64 `yaml:"surge_factor"`
	// MinBaselineConnections (surge only) is the browser connections the
	// baseline needs to be trusted; without it a network has no baseline
	// and no surge is judged (its share rules still apply). Default:
	// MinConnections.
	MinBaselineConnections uint64 `yaml:"min_baseline_connections"`
	// MinClients (new_fingerprint only) is how many clients of one network
	// must carry the new fingerprint. Default 20.
	MinClients uint64 `yaml:"min_clients"`
	// Reminder is how often an incident still open is announced again (an
	// interception.alert with "reminder": N). Default 1 h; minimum
	// EvaluateEvery. new_fingerprint incidents are never reminded.
	Reminder time.Duration `yaml:"reminder"`
	// NoReminder turns reminders off. Default false.
	NoReminder bool `yaml:"no_reminder"`
}

// Webhook formats.
const (
	// FormatStandard is a Standard Webhooks POST: body {type, timestamp,
	// data}, signed in the webhook-id, webhook-timestamp and
	// webhook-signature headers.
	FormatStandard = "standard"
	// FormatSlack is a Slack incoming-webhook POST: {"text": …} written
	// for a SOC analyst.
	FormatSlack = "slack"
	// FormatJSON is a generic JSON POST: {id, type, timestamp, data};
	// signed like FormatStandard when a secret is set.
	FormatJSON = "json"
)

// WebhookConfig is one sink.
type WebhookConfig struct {
	// Name identifies the sink in the delivery log, metrics-free logs and
	// the per-sink delivery state; 1–63 of A-Z, a-z, 0-9, '-', '_', '.';
	// unique. Default: the URL's host, with "-2", "-3", … for repeats.
	// The URL itself is never logged (Slack's carries its secret).
	Name string `yaml:"name"`
	// URL receives a POST per event: http or https. Required.
	URL string `yaml:"url"`
	// Format is standard, slack or json. Default standard.
	Format string `yaml:"format"`
	// Secret signs Standard Webhooks: "whsec_" followed by the base64 of
	// 24 to 64 random bytes. Required for standard, optional for json,
	// not allowed for slack (Slack does not verify it).
	Secret string `yaml:"secret"`
	// Headers are added to every request (e.g. Authorization for a SIEM).
	// They may not replace Content-Type, User-Agent or the webhook-*
	// headers. Default none. Their values are never logged.
	Headers map[string]string `yaml:"headers"`
	// Timeout bounds one attempt. Default 15 s (Standard Webhooks
	// recommends 15 to 30 s).
	Timeout time.Duration `yaml:"timeout"`
	// MaxAttempts is how many attempts one event gets before it is given
	// up for this sink (logged, counted as failed). Default 20: with the
	// default backoff about 11 h of retries.
	MaxAttempts int `yaml:"max_attempts"`
	// Backoff is the delay after the first failed attempt; it doubles after
	// each failure up to MaxBackoff, and each delay is drawn uniformly from
	// its upper half (jitter). A Retry-After header replaces the delay.
	// Default 5 s.
	Backoff time.Duration `yaml:"backoff"`
	// MaxBackoff caps the delay. Default 1 h.
	MaxBackoff time.Duration `yaml:"max_backoff"`
}

// Defaults of [Config], [RuleConfig] and [WebhookConfig].
const (
	DefaultEvaluateEvery   = 15 * time.Second
	DefaultRedeliverAfter  = time.Minute
	DefaultDeliveryLogSize = 1000

	DefaultShareWindow          = 5 * time.Minute
	DefaultNewFingerprintWindow = time.Hour
	DefaultShareMinConnections  = 50
	DefaultSurgeMinConnections  = 100
	DefaultMinShare             = 0.2
	DefaultSurgeMinShare        = 0.05
	DefaultBaseline             = 24 * time.Hour
	DefaultSurgeFactor          = 5
	DefaultMinClients           = 20
	DefaultReminder             = time.Hour

	DefaultWebhookTimeout = 15 * time.Second
	DefaultMaxAttempts    = 20
	DefaultBackoff        = 5 * time.Second
	DefaultMaxBackoff     = time.Hour
)

// DefaultRules are the rules used when a Config lists none, chosen for a
// mid-size site (some tens of browser connections per second, visitors
// from a few hundred networks):
//
//   - country-share: 10% of a country's browser connections intercepted
//     over 15 min, with at least 200. A state middlebox (Kazakhstan 2019)
//     moves a whole country; corporate proxies and antivirus stay at a few
//     percent of a country, so 10% is far above that background while 200
//     connections (20 intercepted) keep a country with little traffic
//     from alerting on one office.
//   - asn-share: 20% of an ASN's browser connections over 5 min, with at
//     least 50. An ISP or a large organisation behind one proxy shows here
//     first; 5 min reacts fast, and 10 intercepted connections out of 50
//     is more than one user's antivirus.
//   - asn-surge: an ASN's share at 5× its own trailing 24 h share over
//     15 min, with at least 100 connections and a share of at least 5%.
//     It catches a network whose normal background (a few corporate
//     proxies) suddenly multiplies, below the absolute threshold.
//   - new-fingerprint: an intercepted or unknown JA4 first seen in the
//     last hour carried by at least 20 clients of one network: a new
//     interceptor rolled out, or a new browser build mitmwatch does not
//     know yet (worth a signature either way).
func DefaultRules() []RuleConfig {
	return []RuleConfig{
		{Name: "country-share", Type: RuleShare, Scope: ScopeCountry, Window: 15 * time.Minute, MinConnections: 200, MinShare: 0.10},
		{Name: "asn-share", Type: RuleShare, Scope: ScopeASN, Window: 5 * time.Minute, MinConnections: 50, MinShare: 0.20},
		{Name: "asn-surge", Type: RuleSurge, Scope: ScopeASN, Window: 15 * time.Minute, MinConnections: 100, MinShare: 0.05, SurgeFactor: 5, Baseline: 24 * time.Hour},
		{Name: "new-fingerprint", Type: RuleNewFingerprint, Scope: ScopeNetwork, Window: time.Hour, MinClients: 20},
	}
}

// LoadConfigFile reads the `alerts:` section of the server's YAML file at
// path. Other top-level sections belong to the server and are ignored
// here; unknown keys inside `alerts:` are errors. The result is validated
// and has its defaults filled in.
func LoadConfigFile(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, fmt.Errorf("alerts: config: %w", err)
	}
	defer f.Close()
	return LoadConfig(f)
}

// LoadConfig is [LoadConfigFile] on a reader.
func LoadConfig(r io.Reader) (Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, 4<<20))
	if err != nil {
		return Config{}, fmt.Errorf("alerts: config: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Config{}, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	var section *yaml.Node
	if len(doc.Content) == 1 && doc.Content[0].Kind == yaml.MappingNode {
		top := doc.Content[0]
		for i := 0; i+1 < len(top.Content); i += 2 {
			if top.Content[i].Value == "alerts" {
				section = top.Content[i+1]
			}
		}
	}
	if section == nil {
		return Config{}, fmt.Errorf("%w: no top-level alerts: section", ErrConfig)
	}
	if err := checkKeys(section, reflect.TypeFor[Config](), "alerts"); err != nil {
		return Config{}, err
	}
	var c Config
	if err := section.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("%w: alerts: %v", ErrConfig, err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c.withDefaults(), nil
}

// checkKeys rejects mapping keys that no yaml tag of t names, with the
// path of the key ("alerts.rules[0].min_shar"), and durations written as
// numbers (yaml reads 15 as a number, not "15s").
func checkKeys(n *yaml.Node, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch {
	case t == reflect.TypeFor[time.Duration]():
		if n.Kind == yaml.ScalarNode && n.Tag != "!!str" {
			return fmt.Errorf("%w: %s: %q is not a duration (write e.g. \"15s\" or \"5m\") (line %d)", ErrConfig, path, n.Value, n.Line)
		}
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		fields := map[string]reflect.Type{}
		for f := range t.Fields() {
			if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); name != "" && name != "-" {
				fields[name] = f.Type
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			ft, ok := fields[k]
			if !ok {
				return fmt.Errorf("%w: %s.%s: unknown key (line %d)", ErrConfig, path, k, n.Content[i].Line)
			}
			if err := checkKeys(n.Content[i+1], ft, path+"."+k); err != nil {
				return err
			}
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, c := range n.Content {
			if err := checkKeys(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Validate checks every field and returns all problems at once, each
// naming its key as it appears in the YAML ("alerts.rules[0].min_share:
// must be in (0,1]"), joined and wrapping [ErrConfig]. Zero values are
// valid (they mean the default).
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: %s", ErrConfig, key, fmt.Sprintf(format, args...)))
	}
	if c.EvaluateEvery != 0 && c.EvaluateEvery < time.Second {
		bad("alerts.evaluate_every", "must be at least 1s (got %v)", c.EvaluateEvery)
	}
	if c.RedeliverAfter != 0 && c.RedeliverAfter < time.Second {
		bad("alerts.redeliver_after", "must be at least 1s (got %v)", c.RedeliverAfter)
	}
	if c.DeliveryLogSize < 0 {
		bad("alerts.delivery_log_size", "must not be negative")
	}
	every := cmp0(c.EvaluateEvery, DefaultEvaluateEvery)
	names := map[string]int{}
	for i, r := range c.Rules {
		p := fmt.Sprintf("alerts.rules[%d]", i)
		r.validate(p, every, bad)
		if j, dup := names[r.Name]; dup && r.Name != "" {
			bad(p+".name", "%q is already the name of alerts.rules[%d]", r.Name, j)
		}
		names[r.Name] = i
	}
	sinks := map[string]int{}
	for i, w := range c.Webhooks {
		p := fmt.Sprintf("alerts.webhooks[%d]", i)
		w.validate(p, bad)
		if w.Name != "" {
			if j, dup := sinks[w.Name]; dup {
				bad(p+".name", "%q is already the name of alerts.webhooks[%d]", w.Name, j)
			}
			sinks[w.Name] = i
		}
	}
	return errors.Join(errs...)
}

func (r RuleConfig) validate(p string, every time.Duration, bad func(key, format string, args ...any)) {
	if !validName(r.Name, false) {
		bad(p+".name", "required: 1 to 63 of a-z, 0-9, '-', '_', '.', starting with a letter or digit (got %q)", r.Name)
	}
	typ := r.Type
	switch typ {
	case "":
		typ = RuleShare
	case RuleShare, RuleSurge, RuleNewFingerprint:
	default:
		bad(p+".type", "must be share, surge or new_fingerprint (got %q)", r.Type)
		return
	}
	switch r.Scope {
	case "", ScopeCountry, ScopeASN, ScopeNetwork:
		if typ == RuleNewFingerprint && r.Scope != "" && r.Scope != ScopeNetwork {
			bad(p+".scope", "new_fingerprint rules are per network (got %q)", r.Scope)
		}
	default:
		bad(p+".scope", "must be country, asn or network (got %q)", r.Scope)
	}
	if r.Window != 0 && (r.Window < time.Minute || r.Window%time.Minute != 0) {
		bad(p+".window", "must be a whole number of minutes, at least 1m (got %v)", r.Window)
	}
	if typ == RuleNewFingerprint && r.Window > JA4ClientRetention {
		bad(p+".window", "a new_fingerprint window must be at most %v, how long clients per fingerprint are kept (got %v)", JA4ClientRetention, r.Window)
	}
	if r.ResolveAfter < 0 {
		bad(p+".resolve_after", "must not be negative")
	}
	if r.Reminder != 0 && r.Reminder < every {
		bad(p+".reminder", "must be at least alerts.evaluate_every (%v) (got %v)", every, r.Reminder)
	}
	only := func(key string, set bool, types ...string) {
		if set && !slices.Contains(types, typ) {
			bad(p+"."+key, "does not apply to a %s rule", typ)
		}
	}
	only("min_connections", r.MinConnections != 0, RuleShare, RuleSurge)
	only("min_share", r.MinShare != 0, RuleShare, RuleSurge)
	only("resolve_below", r.ResolveBelow != 0, RuleShare, RuleSurge)
	only("resolve_after", r.ResolveAfter != 0, RuleShare, RuleSurge)
	only("baseline", r.Baseline != 0, RuleSurge)
	only("surge_factor", r.SurgeFactor != 0, RuleSurge)
	only("min_baseline_connections", r.MinBaselineConnections != 0, RuleSurge)
	only("min_clients", r.MinClients != 0, RuleNewFingerprint)
	only("reminder", r.Reminder != 0, RuleShare, RuleSurge)
	only("no_reminder", r.NoReminder, RuleShare, RuleSurge)
	if math.IsNaN(r.MinShare) || r.MinShare < 0 || r.MinShare > 1 {
		bad(p+".min_share", "must be in (0,1] (got %v)", r.MinShare)
	}
	switch typ {
	case RuleShare:
		ms := cmpf(r.MinShare, DefaultMinShare)
		if math.IsNaN(r.ResolveBelow) || r.ResolveBelow < 0 || (r.ResolveBelow != 0 && r.ResolveBelow >= ms) {
			bad(p+".resolve_below", "must be in [0, min_share) = [0, %v) (got %v)", ms, r.ResolveBelow)
		}
	case RuleSurge:
		f := cmpf(r.SurgeFactor, DefaultSurgeFactor)
		if math.IsNaN(r.SurgeFactor) || math.IsInf(r.SurgeFactor, 0) || r.SurgeFactor < 0 || (r.SurgeFactor != 0 && r.SurgeFactor <= 1) {
			bad(p+".surge_factor", "must be above 1 (got %v)", r.SurgeFactor)
		}
		if math.IsNaN(r.ResolveBelow) || r.ResolveBelow < 0 || (r.ResolveBelow != 0 && r.ResolveBelow >= f) {
			bad(p+".resolve_below", "must be a factor in [0, surge_factor) = [0, %v) (got %v)", f, r.ResolveBelow)
		}
		if r.Baseline != 0 && (r.Baseline < time.Hour || r.Baseline%time.Minute != 0) {
			bad(p+".baseline", "must be a whole number of minutes, at least 1h (got %v)", r.Baseline)
		}
	}
}

func (w WebhookConfig) validate(p string, bad func(key, format string, args ...any)) {
	if w.Name != "" && !validName(w.Name, true) {
		bad(p+".name", "must be 1 to 63 of A-Z, a-z, 0-9, '-', '_', '.' (got %q)", w.Name)
	}
	u, err := url.Parse(w.URL)
	switch {
	case w.URL == "":
		bad(p+".url", "required")
	case err != nil:
		bad(p+".url", "not a URL") // the URL may hold a secret: not echoed
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		bad(p+".url", "must be an absolute http or https URL")
	}
	format := w.Format
	switch format {
	case "":
		format = FormatStandard
	case FormatStandard, FormatSlack, FormatJSON:
	default:
		bad(p+".format", "must be standard, slack or json (got %q)", w.Format)
	}
	switch {
	case w.Secret == "" && format == FormatStandard:
		bad(p+".secret", "required for the standard format (whsec_ followed by base64 of 24 to 64 random bytes)")
	case w.Secret != "" && format == FormatSlack:
		bad(p+".secret", "does not apply to the slack format")
	case w.Secret != "":
		if _, err := parseSecret(w.Secret); err != nil {
			bad(p+".secret", "%v", strings.TrimPrefix(err.Error(), "alerts: "))
		}
	}
	for k := range w.Headers {
		ck := http.CanonicalHeaderKey(k)
		if ck == "Content-Type" || ck == "User-Agent" || ck == "Content-Length" || ck == "Host" || strings.HasPrefix(ck, "Webhook-") {
			bad(p+".headers."+k, "may not be set (mitmwatch sets it)")
		} else if strings.ContainsAny(k, " :\r\n") || k == "" {
			bad(p+".headers."+k, "is not a valid header name")
		}
	}
	if w.Timeout < 0 {
		bad(p+".timeout", "must not be negative")
	}
	if w.MaxAttempts < 0 {
		bad(p+".max_attempts", "must not be negative")
	}
	if w.Backoff < 0 {
		bad(p+".backoff", "must not be negative")
	}
	if w.MaxBackoff < 0 || (w.MaxBackoff != 0 && w.MaxBackoff < cmp0(w.Backoff, DefaultBackoff)) {
		bad(p+".max_backoff", "must be at least backoff")
	}
}

// withDefaults returns c with every zero field set to its default. Call it
// on a validated Config.
func (c Config) withDefaults() Config {
	c.EvaluateEvery = cmp0(c.EvaluateEvery, DefaultEvaluateEvery)
	c.RedeliverAfter = cmp0(c.RedeliverAfter, DefaultRedeliverAfter)
	if c.DeliveryLogSize == 0 {
		c.DeliveryLogSize = DefaultDeliveryLogSize
	}
	rules := c.Rules
	if len(rules) == 0 {
		rules = DefaultRules()
	}
	c.Rules = make([]RuleConfig, len(rules))
	for i, r := range rules {
		c.Rules[i] = r.withDefaults()
	}
	hooks := c.Webhooks
	c.Webhooks = make([]WebhookConfig, len(hooks))
	used := map[string]bool{}
	for _, w := range hooks {
		used[w.Name] = w.Name != ""
	}
	for i, w := range hooks {
		w = w.withDefaults()
		if w.Name == "" {
			base := "webhook"
			if u, err := url.Parse(w.URL); err == nil && validName(u.Hostname(), true) {
				base = u.Hostname()
			}
			w.Name = base
			for n := 2; used[w.Name]; n++ {
				w.Name = fmt.Sprintf("%s-%d", base, n)
			}
			used[w.Name] = true
		}
		c.Webhooks[i] = w
	}
	return c
}

// remindEvery is how often an open incident of the rule is reminded; 0
// means never.
func (r RuleConfig) remindEvery() time.Duration {
	if r.NoReminder || r.Type == RuleNewFingerprint {
		return 0
	}
	return r.Reminder
}

func (r RuleConfig) withDefaults() RuleConfig {
	if r.Type == "" {
		r.Type = RuleShare
	}
	switch r.Type {
	case RuleNewFingerprint:
		r.Scope = ScopeNetwork
		r.Window = cmp0(r.Window, DefaultNewFingerprintWindow)
		if r.MinClients == 0 {
			r.MinClients = DefaultMinClients
		}
		return r // never reminded (see remindEvery), never resolved
	case RuleSurge:
		if r.MinConnections == 0 {
			r.MinConnections = DefaultSurgeMinConnections
		}
		r.MinShare = cmpf(r.MinShare, DefaultSurgeMinShare)
		r.SurgeFactor = cmpf(r.SurgeFactor, DefaultSurgeFactor)
		r.ResolveBelow = cmpf(r.ResolveBelow, r.SurgeFactor/2)
		r.Baseline = cmp0(r.Baseline, DefaultBaseline)
		if r.MinBaselineConnections == 0 {
			r.MinBaselineConnections = r.MinConnections
		}
	default:
		if r.MinConnections == 0 {
			r.MinConnections = DefaultShareMinConnections
		}
		r.MinShare = cmpf(r.MinShare, DefaultMinShare)
		r.ResolveBelow = cmpf(r.ResolveBelow, r.MinShare/2)
	}
	if r.Scope == "" {
		r.Scope = ScopeASN
	}
	r.Window = cmp0(r.Window, DefaultShareWindow)
	r.ResolveAfter = cmp0(r.ResolveAfter, r.Window)
	r.Reminder = cmp0(r.Reminder, DefaultReminder)
	return r
}

func (w WebhookConfig) withDefaults() WebhookConfig {
	if w.Format == "" {
		w.Format = FormatStandard
	}
	w.Timeout = cmp0(w.Timeout, DefaultWebhookTimeout)
	if w.MaxAttempts == 0 {
		w.MaxAttempts = DefaultMaxAttempts
	}
	w.Backoff = cmp0(w.Backoff, DefaultBackoff)
	w.MaxBackoff = cmp0(w.MaxBackoff, DefaultMaxBackoff)
	return w
}

// parseSecret decodes a "whsec_<base64>" secret into the HMAC key.
func parseSecret(s string) ([]byte, error) {
	b64, ok := strings.CutPrefix(s, "whsec_")
	if !ok {
		return nil, errors.New("alerts: secret must start with whsec_")
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, errors.New("alerts: secret after whsec_ is not standard base64")
	}
	if len(key) < 24 || len(key) > 64 {
		return nil, fmt.Errorf("alerts: secret key is %d bytes, want 24 to 64", len(key))
	}
	return key, nil
}

// validName reports whether s may name a rule (lower case) or a sink.
func validName(s string, upper bool) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case upper && c >= 'A' && c <= 'Z':
		case i > 0 && (c == '-' || c == '_' || c == '.'):
		default:
			return false
		}
	}
	return true
}

func cmp0(v, def time.Duration) time.Duration {
	if v == 0 {
		return def
	}
	return v
}

func cmpf(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}
