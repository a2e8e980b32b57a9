package server

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mitmwatch/mitmwatch/alerts"
)

// alertSource is an AlertSource over the alerts package's memory stores.
type alertSource struct {
	incs *alerts.MemoryIncidents
	log  alerts.DeliveryLog
	err  error
}

func (s *alertSource) Incidents(ctx context.Context) ([]*alerts.Incident, error) {
	if s.err != nil {
		return nil, s.err
	}
	return s.incs.List(ctx)
}

func (s *alertSource) DeliveryLog() alerts.DeliveryLog { return s.log }

func TestAlertFeedFromEvaluatorState(t *testing.T) {
	ctx := context.Background()
	t0 := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	src := &alertSource{incs: alerts.NewMemoryIncidents(), log: alerts.NewMemoryDeliveryLog(100)}

	// Open: KZ AS9198 since t0, alert delivered to slack, retrying on the
	// SOC webhook, then a reminder that failed on the webhook.
	kz := &alerts.Incident{ID: "kzinc", Rule: "share", Subject: alerts.Subject{Scope: alerts.ScopeNetwork, Country: "KZ", ASN: 9198},
		OpenedAt: t0, LastNotified: t0.Add(30 * time.Minute), PeakShare: 0.62}
	if ok, err := src.incs.Create(ctx, kz, time.Hour); !ok || err != nil {
		t.Fatalf("create incident: %v %v", ok, err)
	}
	// Open with no sink configured: no delivery record at all.
	tr := &alerts.Incident{ID: "trinc", Rule: "new-fp", Subject: alerts.Subject{Scope: alerts.ScopeCountry, Country: "TR"}, OpenedAt: t0.Add(5 * time.Minute)}
	if ok, err := src.incs.Create(ctx, tr, time.Hour); !ok || err != nil {
		t.Fatalf("create incident: %v %v", ok, err)
	}
	recs := []alerts.DeliveryRecord{
		// Oldest first; the log returns newest first.
		{Time: t0.Add(-48 * time.Hour), EventID: "msg_usinc_alert", EventType: alerts.EventAlert, Rule: "share", Subject: "US AS7922", Sink: "slack", Attempt: 1, Outcome: alerts.OutcomeDelivered},
		{Time: t0.Add(-47 * time.Hour), EventID: "msg_usinc_resolved", EventType: alerts.EventResolved, Rule: "share", Subject: "US AS7922", Sink: "slack", Attempt: 1, Outcome: alerts.OutcomeDelivered},
		{Time: t0, EventID: "msg_kzinc_alert", EventType: alerts.EventAlert, Rule: "share", Subject: "KZ AS9198", Sink: "slack", Attempt: 1, Outcome: alerts.OutcomeDelivered, Status: 200},
		{Time: t0.Add(time.Second), EventID: "msg_kzinc_alert", EventType: alerts.EventAlert, Rule: "share", Subject: "KZ AS9198", Sink: "webhook:soc", Attempt: 1, Outcome: alerts.OutcomeRetry, Status: 503},
		{Time: t0.Add(time.Minute), EventID: "msg_kzinc_alert", EventType: alerts.EventAlert, Rule: "share", Subject: "KZ AS9198", Sink: "webhook:soc", Attempt: 2, Outcome: alerts.OutcomeRetry,
			Error: `Post "https://soc.example/hook/SECRET": timeout`},
		{Time: t0.Add(30 * time.Minute), EventID: "msg_kzinc_r1", EventType: alerts.EventAlert, Rule: "share", Subject: "KZ AS9198", Sink: "webhook:soc", Attempt: 5, Outcome: alerts.OutcomeGone, Status: 410},
	}
	for _, r := range recs {
		if err := src.log.Append(ctx, r); err != nil {
			t.Fatal(err)
		}
	}

	views, err := NewAlertFeed(src).RecentAlerts(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(views) != 3 {
		t.Fatalf("%d views %+v, want KZ, TR (open) and US (resolved)", len(views), views)
	}
	kzv, trv, usv := views[0], views[1], views[2]
	if kzv.ID != "kzinc" || kzv.State != "firing" || kzv.Country != "KZ" || kzv.ASN != 9198 || !near(kzv.Share, 0.62) ||
		!kzv.Started.Equal(t0) || kzv.Summary != "KZ AS9198: up to 62% of browser connections intercepted" {
		t.Errorf("KZ view %+v", kzv)
	}
	want := []DeliveryView{
		{Sink: "slack", State: DeliveryDelivered, Attempts: 1, At: t0},
		{Sink: "webhook:soc", State: DeliveryFailed, Attempts: 5, LastError: "HTTP 410", At: t0.Add(30 * time.Minute)},
	}
	if len(kzv.Deliveries) != 2 || kzv.Deliveries[0] != want[0] || kzv.Deliveries[1] != want[1] {
		t.Errorf("KZ deliveries %+v, want the latest per sink %+v", kzv.Deliveries, want)
	}
	if trv.ID != "trinc" || trv.State != "firing" || trv.Country != "TR" || len(trv.Deliveries) != 0 || trv.Deliveries == nil {
		t.Errorf("TR view %+v, want firing with no deliveries", trv)
	}
	if usv.ID != "usinc" || usv.State != "resolved" || usv.Country != "US" || usv.ASN != 7922 ||
		usv.Summary != "US AS7922: share (resolved)" || len(usv.Deliveries) != 1 {
		t.Errorf("US view %+v", usv)
	}

	if views, _ := NewAlertFeed(src).RecentAlerts(ctx, 1); len(views) != 1 || views[0].ID != "kzinc" {
		t.Errorf("n=1: %+v, want the open KZ incident only", views)
	}

	// Through the API, delivery errors are redacted and the retry shows.
	a := newTestAdmin(t, AdminServerConfig{Alerts: NewAlertFeed(src)}, testNow)
	var got alertsResponse
	getJSON(t, a, "/api/alerts", 200, &got)
	if !got.Configured || len(got.Alerts) != 3 {
		t.Fatalf("%+v", got)
	}
}

func TestAlertFeedErrors(t *testing.T) {
	src := &alertSource{incs: alerts.NewMemoryIncidents(), err: errors.New("redis down")}
	if _, err := NewAlertFeed(src).RecentAlerts(context.Background(), 5); err == nil {
		t.Error("incident store error swallowed")
	}
	src = &alertSource{incs: alerts.NewMemoryIncidents()} // no delivery log
	views, err := NewAlertFeed(src).RecentAlerts(context.Background(), 5)
	if err != nil || len(views) != 0 {
		t.Errorf("no log, no incidents: %v %v", views, err)
	}
}

func TestParseSubject(t *testing.T) {
	tests := []struct {
		in      string
		country string
		asn     uint32
	}{
		{"KZ", "KZ", 0},
		{"AS9198", "", 9198},
		{"KZ AS9198", "KZ", 9198},
		{"KZ AS9198 t13d2911h2_c36778b98fa1_1f22a2ca17c4", "KZ", 9198},
		{"AS99999999999", "", 0},
		{"", "", 0},
		{"kz as9198", "", 0},
	}
	for _, tt := range tests {
		if c, a := parseSubject(tt.in); c != tt.country || a != tt.asn {
			t.Errorf("parseSubject(%q) = %q, %d; want %q, %d", tt.in, c, a, tt.country, tt.asn)
		}
	}
}

func TestIncidentOfEvent(t *testing.T) {
	for in, want := range map[string]string{
		"msg_abc123_alert": "abc123", "msg_abc123_r2": "abc123", "msg_abc123_resolved": "abc123",
		"other": "other", "msg_": "msg_", "msg__x": "msg__x",
	} {
		if got := incidentOfEvent(in); got != want {
			t.Errorf("incidentOfEvent(%q) = %q, want %q", in, got, want)
		}
	}
}
