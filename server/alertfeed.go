package server

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mitmwatch/mitmwatch/alerts"
)

// AlertSource is the part of the alerts evaluator the dashboard reads: the
// open incidents of every node and the shared delivery log.
// *alerts.Evaluator satisfies it.
type AlertSource interface {
	Incidents(ctx context.Context) ([]*alerts.Incident, error)
	DeliveryLog() alerts.DeliveryLog
}

// deliveryScan is how many delivery records one dashboard refresh reads:
// enough for the alerts a page shows times a few sinks and retries, and a
// fixed cost per refresh whatever the log's size.
const deliveryScan = 500

// NewAlertFeed returns the [AlertFeed] of an alerts evaluator: one
// [AlertView] per incident, open ones first, with the latest delivery
// attempt of its events to each sink.
func NewAlertFeed(src AlertSource) AlertFeed { return &evaluatorFeed{src: src} }

type evaluatorFeed struct{ src AlertSource }

// RecentAlerts implements [AlertFeed].
func (f *evaluatorFeed) RecentAlerts(ctx context.Context, n int) ([]AlertView, error) {
	incs, err := f.src.Incidents(ctx)
	if err != nil {
		return nil, fmt.Errorf("server: alert feed: incidents: %w", err)
	}
	var recs []alerts.DeliveryRecord
	if log := f.src.DeliveryLog(); log != nil {
		if recs, err = log.Recent(ctx, deliveryScan); err != nil {
			return nil, fmt.Errorf("server: alert feed: delivery log: %w", err)
		}
	}

	views := make(map[string]*AlertView)
	var order []string
	view := func(id string) *AlertView {
		v := views[id]
		if v == nil {
			v = &AlertView{ID: id, State: "resolved", Deliveries: []DeliveryView{}}
			views[id] = v
			order = append(order, id)
		}
		return v
	}
	sinkSeen := make(map[[2]string]bool)
	subjects := make(map[string]string)
	// Records come newest first: the first one of a sink is its state.
	for _, r := range recs {
		v := view(incidentOfEvent(r.EventID))
		if v.Rule == "" {
			v.Rule = r.Rule
			v.Country, v.ASN = parseSubject(r.Subject)
			subjects[v.ID] = r.Subject
		}
		if r.Time.After(v.Updated) {
			v.Updated = r.Time
		}
		if v.Started.IsZero() || r.Time.Before(v.Started) {
			v.Started = r.Time
		}
		k := [2]string{v.ID, r.Sink}
		if sinkSeen[k] {
			continue
		}
		sinkSeen[k] = true
		d := DeliveryView{Sink: r.Sink, State: deliveryState(r.Outcome), Attempts: r.Attempt, LastError: r.Error, At: r.Time}
		if d.LastError == "" && r.Status != 0 && r.Outcome != alerts.OutcomeDelivered {
			d.LastError = "HTTP " + strconv.Itoa(r.Status)
		}
		v.Deliveries = append(v.Deliveries, d)
	}
	for _, inc := range incs {
		v := view(inc.ID)
		v.Rule = inc.Rule
		v.Country, v.ASN = inc.Subject.Country, inc.Subject.ASN
		v.Started = inc.OpenedAt
		if inc.LastNotified.After(v.Updated) {
			v.Updated = inc.LastNotified
		}
		if v.Updated.IsZero() {
			v.Updated = inc.OpenedAt
		}
		v.Share = inc.PeakShare
		if !inc.Resolving {
			v.State = "firing"
		}
		v.Summary = incidentSummary(inc)
		if ev := inc.Outgoing; ev != nil {
			if ev.Data.Summary != "" {
				v.Summary = ev.Data.Summary
			}
			v.ASOrg = ev.Data.ASOrg
		}
	}

	out := make([]AlertView, 0, len(order))
	for _, id := range order {
		v := views[id]
		if v.Summary == "" {
			// No longer open: the log keeps the rule and subject, not
			// the event's text.
			v.Summary = subjects[id] + ": " + v.Rule + " (resolved)"
		}
		out = append(out, *v)
	}
	// Open incidents first, then the most recently active.
	slices.SortStableFunc(out, func(a, b AlertView) int {
		if (a.State == "firing") != (b.State == "firing") {
			if a.State == "firing" {
				return -1
			}
			return 1
		}
		return b.Updated.Compare(a.Updated)
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	for i := range out {
		slices.SortFunc(out[i].Deliveries, func(a, b DeliveryView) int { return cmp.Compare(a.Sink, b.Sink) })
	}
	return out, nil
}

// incidentSummary is the line shown for an open incident whose event text
// is not at hand.
func incidentSummary(inc *alerts.Incident) string {
	if inc.PeakShare > 0 {
		return fmt.Sprintf("%s: up to %.0f%% of browser connections intercepted", inc.Subject, inc.PeakShare*100)
	}
	return inc.Subject.String() + ": " + inc.Rule
}

// incidentOfEvent returns the incident id of an event id
// "msg_<incident>_<suffix>" (alerts.Event.ID), or the event id itself if
// it has another form.
func incidentOfEvent(id string) string {
	rest, ok := strings.CutPrefix(id, "msg_")
	if !ok {
		return id
	}
	i := strings.LastIndexByte(rest, '_')
	if i <= 0 {
		return id
	}
	return rest[:i]
}

// parseSubject reads the country and ASN of a subject written by
// alerts.Subject.String: "KZ", "AS9198", "KZ AS9198", optionally followed
// by a JA4.
func parseSubject(s string) (country string, asn uint32) {
	for _, f := range strings.Fields(s) {
		switch {
		case isCountryCode(f) && country == "" && asn == 0:
			country = f
		case strings.HasPrefix(f, "AS") && asn == 0:
			if n, err := strconv.ParseUint(f[2:], 10, 32); err == nil {
				asn = uint32(n)
			}
		}
	}
	return country, asn
}

// deliveryState maps a delivery log outcome to the dashboard's words.
func deliveryState(outcome string) string {
	switch outcome {
	case alerts.OutcomeDelivered:
		return DeliveryDelivered
	case alerts.OutcomeRetry:
		return DeliveryRetrying
	case alerts.OutcomeFailed, alerts.OutcomeGone:
		return DeliveryFailed
	}
	return DeliveryPending
}
