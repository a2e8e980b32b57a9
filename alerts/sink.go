package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// sink is one configured webhook, ready to send: its config with defaults,
// its signer (standard, and json with a secret), and the HTTP client.
type sink struct {
	cfg    WebhookConfig
	signer *Signer
	client *http.Client
}

// newSinks builds the sinks of a validated, defaulted config. client is
// copied so that redirects are never followed; nil means a client of its
// own (no shared DefaultClient state).
func newSinks(hooks []WebhookConfig, client *http.Client) ([]*sink, error) {
	var c http.Client
	if client != nil {
		c = *client
	} else {
		c.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.Timeout = 0 // each attempt has its own deadline (WebhookConfig.Timeout)
	sinks := make([]*sink, len(hooks))
	for i, w := range hooks {
		s := &sink{cfg: w, client: &c}
		if w.Secret != "" && w.Format != FormatSlack {
			signer, err := NewSigner(w.Secret)
			if err != nil {
				return nil, fmt.Errorf("%w: alerts.webhooks[%d].secret: %v", ErrConfig, i, err)
			}
			s.signer = signer
		}
		sinks[i] = s
	}
	return sinks, nil
}

// envelope is the Standard Webhooks body: {type, timestamp, data}.
type envelope struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      *Alert    `json:"data"`
}

// jsonEnvelope is the generic JSON body: the envelope and the event id.
type jsonEnvelope struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      *Alert    `json:"data"`
}

// body renders ev in the sink's format.
func (s *sink) body(ev *Event) ([]byte, error) {
	switch s.cfg.Format {
	case FormatSlack:
		return json.Marshal(slackMessage{Text: slackText(ev)})
	case FormatJSON:
		return json.Marshal(jsonEnvelope{ID: ev.ID, Type: ev.Type, Timestamp: ev.Timestamp.UTC(), Data: &ev.Data})
	default:
		return json.Marshal(envelope{Type: ev.Type, Timestamp: ev.Timestamp.UTC(), Data: &ev.Data})
	}
}

// send makes one attempt to deliver ev. A signed sink signs this attempt's
// timestamp: Standard Webhooks' webhook-timestamp is the time of the
// attempt (receivers reject stale ones), while webhook-id stays the
// event's across retries.
func (s *sink) send(ctx context.Context, ev *Event, now time.Time) attemptResult {
	body, err := s.body(ev)
	if err != nil {
		return attemptResult{outcome: OutcomeRetry, err: fmt.Errorf("alerts: sink %s: encode: %w", s.cfg.Name, err)}
	}
	var h http.Header
	if s.signer != nil {
		h = http.Header{}
		// Lower-case keys as the specification writes them; Go sends them
		// canonicalised anyway and HTTP header names are case-insensitive.
		h.Set(HeaderWebhookID, ev.ID)
		h.Set(HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
		h.Set(HeaderWebhookSignature, s.signer.Sign(ev.ID, now, body))
	}
	return s.post(ctx, body, "application/json", h)
}

// slackMessage is a Slack incoming-webhook payload.
type slackMessage struct {
	Text string `json:"text"`
}

// slackText writes an event for a SOC analyst reading Slack: a headline,
// then the numbers, products, fingerprints and reasons, one per line.
// Every value from outside mitmwatch is escaped (Slack treats <…> as links
// and mentions).
func slackText(ev *Event) string {
	a := &ev.Data
	var b strings.Builder
	icon := ":rotating_light:"
	if ev.Type == EventResolved {
		icon = ":white_check_mark:"
	} else if a.Reminder > 0 {
		icon = ":warning:"
	}
	fmt.Fprintf(&b, "%s *%s*\n", icon, slackEscape(a.Summary))
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }
	clients := "clients"
	if a.RuleType == RuleNewFingerprint {
		clients = "clients with the new fingerprint" // Alert.Clients
	}
	fmt.Fprintf(&b, "Window %s to %s: %d of %d browser connections intercepted (%.1f%%), %d unknown, ~%d %s.\n",
		ts(a.WindowStart), a.WindowEnd.UTC().Format("15:04 UTC"), a.Intercepted, a.Connections, 100*a.Share, a.Unknown, a.Clients, clients)
	if len(a.TopProducts) > 0 {
		parts := make([]string, len(a.TopProducts))
		for i, p := range a.TopProducts {
			parts[i] = fmt.Sprintf("%s (%d)", slackEscape(p.Name), p.Connections)
		}
		fmt.Fprintf(&b, "Products: %s\n", strings.Join(parts, ", "))
	}
	for _, f := range a.TopFingerprints {
		fmt.Fprintf(&b, "Fingerprint `%s` %s, %d connections", slackEscape(f.JA4), f.Verdict, f.Connections)
		if f.Grade != "" {
			fmt.Fprintf(&b, ", TLS grade %s", slackEscape(f.Grade))
		}
		if f.FirstSeen != nil {
			fmt.Fprintf(&b, ", first seen %s", ts(*f.FirstSeen))
		}
		b.WriteString("\n")
	}
	for _, r := range a.Reasons {
		fmt.Fprintf(&b, "• %s\n", slackEscape(r))
	}
	fmt.Fprintf(&b, "Incident %s, open since %s", slackEscape(a.Incident), ts(a.FirstSeen))
	if a.Node != "" {
		fmt.Fprintf(&b, ", node %s", slackEscape(a.Node))
	}
	return b.String()
}

// slackEscaper escapes the three characters Slack's message formatting
// reserves (https://api.slack.com/reference/surfaces/formatting#escaping).
// It is built once: a Replacer builds a 256-entry table on first use, which
// per call cost 6 KiB for every escaped value of a message. A Replacer is
// immutable and safe for concurrent use.
var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// slackEscape escapes s for a Slack message (see slackEscaper).
func slackEscape(s string) string { return slackEscaper.Replace(s) }
