package alerts

import (
	"fmt"
	"strings"
	"time"
)

// Event types, the `type` of a webhook body.
const (
	// EventAlert announces an incident (and, with Alert.Reminder > 0,
	// reminds of one still open).
	EventAlert = "interception.alert"
	// EventResolved says an incident's condition has stayed below its
	// resolve line for the rule's ResolveAfter; sent once per incident.
	EventResolved = "interception.resolved"
)

// Event is one message for the sinks: what the outbox stores and every
// webhook delivers. ID is the webhook-id and stays the same across
// retries, sinks and nodes, so receivers can deduplicate on it.
type Event struct {
	// ID is "msg_<incident>_alert", "msg_<incident>_r<N>" (N-th reminder)
	// or "msg_<incident>_resolved": derived from the incident, so an event
	// that two nodes enqueue (see [Evaluator]) carries one id. It never
	// holds a '.', which Standard Webhooks forbids in ids (the signed
	// content is "{id}.{timestamp}.{body}").
	ID string `json:"id"`
	// Type is EventAlert or EventResolved.
	Type string `json:"type"`
	// Timestamp is when the event occurred (not when it is delivered).
	Timestamp time.Time `json:"timestamp"`
	// Data is the alert.
	Data Alert `json:"data"`
}

// Alert is the data of an event: everything a SOC analyst needs to judge
// an incident without opening the dashboard.
type Alert struct {
	// Summary is one sentence saying what happened.
	Summary string `json:"summary"`
	// Incident identifies the incident (one per rule and subject).
	Incident string `json:"incident"`
	// Rule and RuleType name the rule that fired (share, surge,
	// new_fingerprint).
	Rule     string `json:"rule"`
	RuleType string `json:"rule_type"`
	// Scope is country, asn or network: which of Country and ASN the
	// incident is about (both for network).
	Scope   string `json:"scope"`
	Country string `json:"country,omitempty"`
	ASN     uint32 `json:"asn,omitempty"`
	// ASOrg is the AS organisation, for asn and network scopes.
	ASOrg string `json:"as_org,omitempty"`
	// Connections is the browser connections in the window: the
	// denominator of Share (only a client claiming a browser can be judged
	// against it). AllConnections adds the non-browser ones.
	Connections    uint64 `json:"connections"`
	AllConnections uint64 `json:"all_connections"`
	// Intercepted and Unknown split Connections by verdict.
	Intercepted uint64 `json:"intercepted"`
	Unknown     uint64 `json:"unknown"`
	// Share is Intercepted / Connections.
	Share float64 `json:"share"`
	// PeakShare is the highest share measured while the incident was open
	// (resolved notices).
	PeakShare float64 `json:"peak_share,omitempty"`
	// Threshold is the share that opens the incident (for surge rules:
	// SurgeFactor × the baseline share, at least MinShare).
	Threshold float64 `json:"threshold,omitempty"`
	// Baseline is the surge rule's trailing baseline.
	Baseline *Baseline `json:"baseline,omitempty"`
	// Clients estimates the distinct clients in the window (all verdicts);
	// for a new_fingerprint alert, the distinct clients whose browser
	// connections carried the new JA4.
	Clients uint64 `json:"clients"`
	// WindowStart and WindowEnd bound the measured window (whole minutes:
	// the store counts per minute).
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	// TopProducts are the interception products named most in the window.
	TopProducts []ProductCount `json:"top_products"`
	// TopFingerprints are the intercepted and unknown JA4s seen most.
	TopFingerprints []FingerprintCount `json:"top_fingerprints"`
	// Reasons is a sample of the verdicts' reasons for those fingerprints.
	Reasons []string `json:"reasons"`
	// FirstSeen is when the condition was first seen (the incident opened).
	FirstSeen time.Time `json:"first_seen"`
	// Reminder counts reminders: 0 for the first alert.
	Reminder int `json:"reminder,omitempty"`
	// ResolvedAt is set on interception.resolved.
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`
	// Node is the node that emitted the event.
	Node string `json:"node,omitempty"`
	// Test marks the sample sent by `mitmwatch alerts test`.
	Test bool `json:"test,omitempty"`
}

// Baseline is what a surge was measured against.
type Baseline struct {
	Share       float64   `json:"share"`
	Connections uint64    `json:"connections"`
	Factor      float64   `json:"factor"`
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
}

// ProductCount is an interception product and its intercepted browser
// connections in the window.
type ProductCount struct {
	Name        string `json:"name"`
	Connections uint64 `json:"connections"`
}

// FingerprintCount is a JA4 and its browser connections in the window.
type FingerprintCount struct {
	JA4 string `json:"ja4"`
	// Verdict is intercepted or unknown.
	Verdict     string `json:"verdict"`
	Connections uint64 `json:"connections"`
	// Grade is the interceptor's TLS grade (A, B, C, F) when known: this
	// node's [NoteBook], else the store's (any node's).
	Grade string `json:"grade,omitempty"`
	// FirstSeen is when the JA4 was first seen anywhere (within the
	// store's retention).
	FirstSeen *time.Time `json:"first_seen,omitempty"`
}

// subjectName is how a summary names the incident's subject.
func (a *Alert) subjectName() string {
	var b strings.Builder
	switch a.Scope {
	case ScopeCountry:
		b.WriteString(a.Country)
	case ScopeASN:
		fmt.Fprintf(&b, "AS%d", a.ASN)
	default:
		fmt.Fprintf(&b, "%s AS%d", a.Country, a.ASN)
	}
	if a.ASOrg != "" && a.Scope != ScopeCountry {
		fmt.Fprintf(&b, " (%s)", a.ASOrg)
	}
	return b.String()
}

// summarize sets a.Summary for an event of type typ.
func (a *Alert) summarize(typ string) {
	subj := a.subjectName()
	window := humanDuration(a.WindowEnd.Sub(a.WindowStart))
	pct := func(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }
	var s string
	switch {
	case typ == EventResolved:
		s = fmt.Sprintf("Resolved: %s is back to %s of %d browser connections intercepted over %v (rule %s, open since %s).",
			subj, pct(a.Share), a.Connections, window, a.Rule, a.FirstSeen.UTC().Format("2006-01-02 15:04 UTC"))
	case a.RuleType == RuleNewFingerprint && len(a.TopFingerprints) > 0:
		s = fmt.Sprintf("New TLS fingerprint %s (%s) from %d clients in %s within %v (rule %s).",
			a.TopFingerprints[0].JA4, a.TopFingerprints[0].Verdict, a.Clients, subj, window, a.Rule)
	case a.RuleType == RuleSurge && a.Baseline != nil:
		s = fmt.Sprintf("Interception surge in %s: %s of %d browser connections intercepted over %v, %.1f× its baseline of %s (rule %s).",
			subj, pct(a.Share), a.Connections, window, surgeRatio(a.Share, a.Baseline.Share), pct(a.Baseline.Share), a.Rule)
	default:
		s = fmt.Sprintf("HTTPS interception in %s: %s of %d browser connections intercepted over %v (rule %s).",
			subj, pct(a.Share), a.Connections, window, a.Rule)
	}
	if a.Reminder > 0 && typ == EventAlert {
		s = fmt.Sprintf("Reminder %d, still open: %s", a.Reminder, s)
	}
	if a.Test {
		s = "[TEST] " + s
	}
	a.Summary = s
}

// humanDuration writes d rounded up to the minute as people do: "5 min",
// "2 h", "1 h 30 min". Up, because a window ending mid-minute still spans
// that minute.
func humanDuration(d time.Duration) string {
	d = (d + time.Minute - 1).Truncate(time.Minute)
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case h == 0:
		return fmt.Sprintf("%d min", m)
	case m == 0:
		return fmt.Sprintf("%d h", h)
	default:
		return fmt.Sprintf("%d h %d min", h, m)
	}
}

// surgeRatio is share/baseline; a zero baseline gives the share over a
// floor of one intercepted connection in ten thousand, so the ratio stays
// finite and JSON-encodable.
func surgeRatio(share, baseline float64) float64 {
	return share / max(baseline, 1e-4)
}
