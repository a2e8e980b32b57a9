package server

import (
	"context"
	"errors"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mitmwatch/mitmwatch/alerts"
	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// gradeB grades mitmproxy B and knows nothing else, as a ProductGrades fed
// by the classifier would.
func gradeB(product string) fingerprints.Grade {
	if product == "mitmproxy" {
		return fingerprints.GradeB
	}
	return fingerprints.GradeNone
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestAPITopNetworks(t *testing.T) {
	a := newTestAdmin(t, AdminServerConfig{Store: kzFixture(t), Grades: gradeB}, testNow)
	var got topResponse
	getJSON(t, a, "/api/top", 200, &got)

	if got.Scope != "network" || got.Window != "1h" {
		t.Errorf("scope %q window %q, want network 1h", got.Scope, got.Window)
	}
	wantTo := time.Date(2026, 11, 24, 12, 31, 0, 0, time.UTC)
	if !got.To.Equal(wantTo) || !got.From.Equal(wantTo.Add(-time.Hour)) {
		t.Errorf("window [%v, %v), want the hour ending with the current minute", got.From, got.To)
	}
	tot := got.Totals
	if tot.Browser != 150 || tot.Intercepted != 60 || tot.Connections != 170 || !near(tot.Share, 0.4) ||
		tot.Countries != 2 || tot.Affected != 1 {
		t.Errorf("totals %+v, want 170 connections, 150 browser, 60 intercepted, share 0.4, 2 countries, 1 affected", tot)
	}
	if len(got.Rows) != 2 {
		t.Fatalf("rows %+v, want KZ:9198 and DE:3320", got.Rows)
	}
	kz := got.Rows[0]
	if kz.Key != "KZ:9198" || kz.Country != "KZ" || kz.ASN != 9198 || kz.ASOrg != "JSC Kazakhtelecom" ||
		kz.Browser != 100 || kz.Intercepted != 60 || !near(kz.Share, 0.6) || kz.Clients == 0 {
		t.Errorf("first row %+v, want KZ:9198 with 60 of 100 intercepted", kz)
	}
	if kz.TopProduct == nil || *kz.TopProduct != (productRow{Name: "mitmproxy", Intercepted: 60, Grade: "B"}) {
		t.Errorf("KZ top product %+v, want mitmproxy 60 grade B", kz.TopProduct)
	}
	de := got.Rows[1]
	if de.Key != "DE:3320" || de.Share != 0 || de.TopProduct != nil || de.Connections != 70 {
		t.Errorf("second row %+v, want clean DE:3320 with 70 connections", de)
	}
	if len(got.Products) != 1 || got.Products[0] != (productRow{Name: "mitmproxy", Intercepted: 60, Grade: "B", Countries: 1}) {
		t.Errorf("products %+v, want mitmproxy 60 B in 1 country", got.Products)
	}
}

func TestAPITopScopes(t *testing.T) {
	a := newTestAdmin(t, AdminServerConfig{Store: kzFixture(t)}, testNow)
	tests := []struct {
		name     string
		query    string
		wantKeys []string
	}{
		{"country_rows_keyed_by_code", "scope=country", []string{"KZ", "DE"}},
		{"asn_rows_keyed_by_number", "scope=asn", []string{"9198", "3320"}},
		{"network_explicit", "scope=network", []string{"KZ:9198", "DE:3320"}},
		{"limit_cuts_rows_not_totals", "scope=country&limit=1", []string{"KZ"}},
		{"limit_network_rows", "limit=1", []string{"KZ:9198"}},
		{"window_too_short_for_data_two_minutes_ago", "window=1m", nil},
		{"window_in_days", "window=7d", []string{"KZ:9198", "DE:3320"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got topResponse
			getJSON(t, a, "/api/top?"+tt.query, 200, &got)
			var keys []string
			for _, r := range got.Rows {
				keys = append(keys, r.Key)
			}
			if strings.Join(keys, ",") != strings.Join(tt.wantKeys, ",") {
				t.Errorf("keys %v, want %v", keys, tt.wantKeys)
			}
			if got.Rows == nil || got.Products == nil {
				t.Error("rows and products must be [] rather than null")
			}
			if len(tt.wantKeys) > 0 && got.Totals.Browser != 150 {
				t.Errorf("totals %+v: limit must not cut them", got.Totals)
			}
		})
	}
}

func TestAPIParameterValidation(t *testing.T) {
	a := newTestAdmin(t, AdminServerConfig{Store: kzFixture(t)}, testNow)
	tests := []struct {
		name, target, wantErr string
	}{
		{"window_garbage", "/api/top?window=abc", "window"},
		{"window_zero", "/api/top?window=0", "window"},
		{"window_negative", "/api/top?window=-1h", "window"},
		{"window_seconds", "/api/top?window=30s", "window"},
		{"window_not_whole_minutes", "/api/top?window=90s", "window"},
		{"window_beyond_max", "/api/top?window=32d", "window"},
		{"window_huge_days_overflow", "/api/top?window=99999999999999999d", "window"},
		{"window_zero_days", "/api/top?window=0d", "window"},
		{"window_hours_beyond_max", "/api/top?window=100000h", "window"},
		{"scope_unknown", "/api/top?scope=planet", "scope"},
		{"scope_case", "/api/top?scope=Country", "scope"},
		{"limit_zero", "/api/top?limit=0", "limit"},
		{"limit_huge", "/api/top?limit=1000000", "limit"},
		{"limit_not_a_number", "/api/top?limit=ten", "limit"},
		{"series_key_missing", "/api/series", "key"},
		{"series_network_key_without_asn", "/api/series?key=KZ", "key"},
		{"series_network_key_bad_asn", "/api/series?key=KZ:abc", "key"},
		{"series_network_key_lowercase_country", "/api/series?key=kz:9198", "key"},
		{"series_country_key_lowercase", "/api/series?scope=country&key=kz", "key"},
		{"series_country_key_three_letters", "/api/series?scope=country&key=KAZ", "key"},
		{"series_country_key_injection", "/api/series?scope=country&key=%3Cscript%3E", "key"},
		{"series_asn_key_negative", "/api/series?scope=asn&key=-1", "key"},
		{"series_asn_key_beyond_32_bits", "/api/series?scope=asn&key=4294967296", "key"},
		{"series_bad_window", "/api/series?key=KZ:9198&window=1y", "window"},
		{"series_bad_scope", "/api/series?scope=x&key=KZ", "scope"},
		{"fingerprints_bad_window", "/api/fingerprints?window=forever", "window"},
		{"fingerprints_limit_beyond_cap", "/api/fingerprints?limit=51", "limit"},
		{"alerts_limit_zero", "/api/alerts?limit=0", "limit"},
		{"alerts_limit_beyond_cap", "/api/alerts?limit=101", "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got apiError
			getJSON(t, a, tt.target, http.StatusBadRequest, &got)
			if !strings.HasPrefix(got.Error, tt.wantErr) {
				t.Errorf("error %q, want it to start with %q", got.Error, tt.wantErr)
			}
		})
	}
}

func TestAPISeries(t *testing.T) {
	a := newTestAdmin(t, AdminServerConfig{Store: kzFixture(t)}, testNow)
	dataMinute := testNow.Add(-time.Minute).Truncate(time.Minute)
	tests := []struct {
		name       string
		query      string
		wantStep   string
		wantPoints int
		// wantAt is the browser/intercepted counts expected in the point
		// covering dataMinute.
		wantBrowser, wantIntercepted uint64
	}{
		{"network_hour_per_minute", "key=KZ:9198", "1m", 60, 100, 60},
		{"country", "scope=country&key=KZ", "1m", 60, 100, 60},
		{"asn", "scope=asn&key=9198", "1m", 60, 100, 60},
		{"clean_network", "key=DE:3320", "1m", 60, 50, 0},
		{"network_without_data", "key=FR:3215", "1m", 60, 0, 0},
		{"six_hours_still_per_minute", "key=KZ:9198&window=6h", "1m", 360, 100, 60},
		{"day_in_5_minute_steps", "key=KZ:9198&window=24h", "5m", 288, 100, 60},
		{"week_in_30_minute_steps", "key=KZ:9198&window=7d", "30m", 336, 100, 60},
		{"month_in_2_hour_steps", "key=KZ:9198&window=30d", "2h", 360, 100, 60},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got seriesResponse
			getJSON(t, a, "/api/series?"+tt.query, 200, &got)
			if got.Step != tt.wantStep || len(got.Points) != tt.wantPoints {
				t.Fatalf("step %s with %d points, want %s with %d", got.Step, len(got.Points), tt.wantStep, tt.wantPoints)
			}
			var found bool
			for _, p := range got.Points {
				covers := !p.Start.After(dataMinute) && p.Start.Add(parseWindowForTest(t, got.Step)).After(dataMinute)
				if covers {
					found = true
					if p.Browser != tt.wantBrowser || p.Intercepted != tt.wantIntercepted {
						t.Errorf("point %v: %d of %d intercepted, want %d of %d", p.Start, p.Intercepted, p.Browser, tt.wantIntercepted, tt.wantBrowser)
					}
					if p.Browser > 0 && !near(p.Share, float64(p.Intercepted)/float64(p.Browser)) {
						t.Errorf("point %v: share %v", p.Start, p.Share)
					}
				} else if p.Browser != 0 {
					t.Errorf("point %v has %d browser connections; data is only at %v", p.Start, p.Browser, dataMinute)
				}
			}
			if !found {
				t.Errorf("no point covers %v", dataMinute)
			}
		})
	}
}

func parseWindowForTest(t *testing.T, s string) time.Duration {
	t.Helper()
	r := adminRequest("GET", "/?window="+s)
	d, err := windowParam(r, 0)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestAPIFingerprints(t *testing.T) {
	store := kzFixture(t)
	// An unknown hello from a Turkish network, first seen 3 hours ago,
	// and one seen 3 days ago that a 24 h window must leave out.
	unk := alerts.Observation{Country: "TR", ASN: 9121, Browser: true, Verdict: alerts.VerdictUnknown, JA4: "t12d1209h2_d34a8e72043a_b39be8c56a14",
		Grade: fingerprints.GradeC, Reasons: fingerprints.Reasons(0).Add(fingerprints.ReasonNoALPN)}
	feed(t, store, testNow.Add(-3*time.Hour), unk, 2)
	old := alerts.Observation{Country: "US", ASN: 7922, Browser: true, Verdict: alerts.VerdictIntercepted, JA4: "t12d0000h1_000000000000_000000000000"}
	feed(t, store, testNow.Add(-72*time.Hour), old, 1)

	a := newTestAdmin(t, AdminServerConfig{Store: store}, testNow)
	var got fingerprintsResponse
	getJSON(t, a, "/api/fingerprints", 200, &got)
	if got.Window != "1d" {
		t.Errorf("window %q, want the 24 h default", got.Window)
	}
	if len(got.Fingerprints) != 2 {
		t.Fatalf("fingerprints %+v, want the mitmproxy and the unknown JA4", got.Fingerprints)
	}
	mitm, tr := got.Fingerprints[0], got.Fingerprints[1]
	if mitm.JA4 != ja4Mitmproxy || mitm.Verdict != "intercepted" || mitm.Intercepted != 60 || mitm.Unknown != 0 ||
		len(mitm.Networks) != 1 || mitm.Networks[0].Country != "KZ" || mitm.Networks[0].ASN != 9198 || mitm.Networks[0].ASOrg != "JSC Kazakhtelecom" {
		t.Errorf("newest %+v, want mitmproxy's JA4 intercepted 60 times in KZ AS9198", mitm)
	}
	if tr.JA4 != unk.JA4 || tr.Verdict != "unknown" || tr.Unknown != 2 || len(tr.Networks) != 1 || tr.Networks[0].Country != "TR" {
		t.Errorf("second %+v, want the unknown JA4 from TR", tr)
	}
	// The grade and reasons the recording node noted travel with the JA4.
	if want := unk.Reasons.Strings(); tr.Grade != "C" || !slices.Equal(tr.Reasons, want) {
		t.Errorf("TR fingerprint grade %q reasons %q, want C and %q", tr.Grade, tr.Reasons, want)
	}
	if mitm.Grade != "" || mitm.Reasons == nil || len(mitm.Reasons) != 0 {
		t.Errorf("mitmproxy fingerprint grade %q reasons %#v, want none noted (and [] not null)", mitm.Grade, mitm.Reasons)
	}

	getJSON(t, a, "/api/fingerprints?window=7d", 200, &got)
	if len(got.Fingerprints) != 3 {
		t.Errorf("7 d window: %d fingerprints, want 3", len(got.Fingerprints))
	}
	getJSON(t, a, "/api/fingerprints?limit=1", 200, &got)
	if len(got.Fingerprints) != 1 || got.Fingerprints[0].JA4 != ja4Mitmproxy {
		t.Errorf("limit=1: %+v, want only the newest", got.Fingerprints)
	}

	empty := newTestAdmin(t, AdminServerConfig{Store: alerts.NewMemoryStore()}, testNow)
	getJSON(t, empty, "/api/fingerprints", 200, &got)
	if got.Fingerprints == nil || len(got.Fingerprints) != 0 {
		t.Errorf("empty store: %#v, want []", got.Fingerprints)
	}
}

// fakeFeed is an AlertFeed with fixed contents.
type fakeFeed struct {
	views []AlertView
	err   error
	asked int
}

func (f *fakeFeed) RecentAlerts(ctx context.Context, n int) ([]AlertView, error) {
	f.asked = n
	return f.views, f.err
}

func TestAPIAlerts(t *testing.T) {
	t.Run("no_feed_configured", func(t *testing.T) {
		a := newTestAdmin(t, AdminServerConfig{}, testNow)
		var got alertsResponse
		getJSON(t, a, "/api/alerts", 200, &got)
		if got.Configured || got.Alerts == nil || len(got.Alerts) != 0 {
			t.Errorf("%+v, want configured false and []", got)
		}
	})
	t.Run("alerts_with_delivery_state", func(t *testing.T) {
		started := testNow.Add(-10 * time.Minute)
		feed := &fakeFeed{views: []AlertView{{
			ID: "kz-9198", Rule: "share-above-20pct", Country: "KZ", ASN: 9198, ASOrg: "JSC Kazakhtelecom",
			State: "firing", Summary: "60% of browser connections from AS9198 intercepted", Share: 0.6,
			Started: started, Updated: started,
			Deliveries: []DeliveryView{
				{Sink: "slack", State: DeliveryDelivered, Attempts: 1, At: started},
				{Sink: "webhook:soc", State: DeliveryRetrying, Attempts: 3, At: started,
					LastError: `Post "https://hooks.example.com/services/T000/B000/XXXXSECRET?sig=abc": dial tcp: connection refused`},
			},
		}, {ID: "old", Rule: "r", State: "resolved"}}}
		a := newTestAdmin(t, AdminServerConfig{Alerts: feed}, testNow)
		var got alertsResponse
		getJSON(t, a, "/api/alerts?limit=5", 200, &got)
		if feed.asked != 5 {
			t.Errorf("feed asked for %d, want 5", feed.asked)
		}
		if !got.Configured || len(got.Alerts) != 2 {
			t.Fatalf("%+v, want 2 alerts", got)
		}
		d := got.Alerts[0].Deliveries
		if len(d) != 2 || d[0].State != "delivered" || d[1].State != "retrying" || d[1].Attempts != 3 {
			t.Errorf("deliveries %+v", d)
		}
		if strings.Contains(d[1].LastError, "SECRET") || strings.Contains(d[1].LastError, "sig=") ||
			!strings.Contains(d[1].LastError, "https://hooks.example.com/…") {
			t.Errorf("last error %q: the webhook URL's secret path must be cut", d[1].LastError)
		}
		if got.Alerts[1].Deliveries == nil {
			t.Error("deliveries must be [] rather than null")
		}
		if !strings.Contains(feed.views[0].Deliveries[1].LastError, "SECRET") {
			t.Error("redaction modified the feed's own slice")
		}
	})
	t.Run("feed_returning_more_than_asked_is_cut", func(t *testing.T) {
		feed := &fakeFeed{views: make([]AlertView, 30)}
		a := newTestAdmin(t, AdminServerConfig{Alerts: feed}, testNow)
		var got alertsResponse
		getJSON(t, a, "/api/alerts", 200, &got)
		if len(got.Alerts) != defaultAlertLimit {
			t.Errorf("%d alerts, want %d", len(got.Alerts), defaultAlertLimit)
		}
	})
	t.Run("feed_error_is_503_without_detail", func(t *testing.T) {
		logs := &syncBuffer{}
		a := newTestAdmin(t, AdminServerConfig{Alerts: &fakeFeed{err: errors.New("redis 10.0.0.5: timeout")}, Logger: newTextLogger(logs)}, testNow)
		var got apiError
		getJSON(t, a, "/api/alerts", 503, &got)
		if strings.Contains(got.Error, "10.0.0.5") {
			t.Errorf("error %q leaks the internal detail", got.Error)
		}
		if !strings.Contains(logs.String(), "10.0.0.5") {
			t.Errorf("the detail is not logged: %s", logs)
		}
	})
}

// failingStore fails every query.
type failingStore struct{ alerts.Store }

var errStoreDown = errors.New("dial tcp 10.0.0.5:6379: connection refused")

func (failingStore) Top(context.Context, alerts.TopQuery) ([]alerts.NetworkStats, error) {
	return nil, errStoreDown
}
func (failingStore) Series(context.Context, alerts.SeriesQuery) ([]alerts.Point, error) {
	return nil, errStoreDown
}
func (failingStore) NewFingerprints(context.Context, alerts.FingerprintQuery) ([]alerts.FingerprintSighting, error) {
	return nil, errStoreDown
}

func TestAPIStoreUnavailable(t *testing.T) {
	logs := &syncBuffer{}
	broken := newTestAdmin(t, AdminServerConfig{Store: failingStore{}, Logger: newTextLogger(logs)}, testNow)
	none := newTestAdmin(t, AdminServerConfig{}, testNow)
	for _, path := range []string{"/api/top", "/api/series?key=KZ:9198", "/api/fingerprints"} {
		var got apiError
		getJSON(t, broken, path, 503, &got)
		if strings.Contains(got.Error, "10.0.0.5") || got.Error == "" {
			t.Errorf("%s: error %q: want a plain message without the internal address", path, got.Error)
		}
		getJSON(t, none, path, 503, &got)
		if got.Error != "no alerts store configured" {
			t.Errorf("%s without a store: %q", path, got.Error)
		}
	}
	if !strings.Contains(logs.String(), errStoreDown.Error()) {
		t.Errorf("store error not logged: %s", logs)
	}
}

func TestAPIEmptyStore(t *testing.T) {
	a := newTestAdmin(t, AdminServerConfig{Store: alerts.NewMemoryStore()}, testNow)
	var got topResponse
	getJSON(t, a, "/api/top", 200, &got)
	if got.Totals.Browser != 0 || got.Totals.Share != 0 || got.Rows == nil || len(got.Rows) != 0 || got.Products == nil {
		t.Errorf("%+v, want zero totals and empty lists", got)
	}
}

func TestRedactURLs(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"no_url", "connection refused", "connection refused"},
		{"slack_webhook_path_is_the_secret", `Post "https://hooks.slack.com/services/T0/B0/abc": EOF`, `Post "https://hooks.slack.com/…": EOF`},
		{"query_token", "GET http://hook.internal:8080/x?token=abc failed", "GET http://hook.internal:8080/… failed"},
		{"userinfo_password", "https://user:pa55@hook.example/x", "https://hook.example/…"},
		{"fragment", "https://hook.example#frag", "https://hook.example/…"},
		{"two_urls", "https://a.example/1 then http://b.example/2", "https://a.example/… then http://b.example/…"},
		{"uppercase_scheme", "HTTPS://A.EXAMPLE/SECRET", "HTTPS://A.EXAMPLE/…"},
		{"bare_host_kept", "https://a.example", "https://a.example/…"},
		{"long_error_cut_before_a_url_secret", strings.Repeat("e", 290) + " https://h.example/SECRET", strings.Repeat("e", 290) + " https://h…/…"},
		{"long_error_cut_inside_the_secret", strings.Repeat("e", 270) + " https://h.example/SECRET" + strings.Repeat("x", 50), strings.Repeat("e", 270) + " https://h.example/…"},
		{"cut_on_a_rune_boundary", strings.Repeat("é", 200), strings.Repeat("é", 150) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redactURLs(tt.in); got != tt.want {
				t.Errorf("redactURLs(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSeriesStepKeepsPointsBounded(t *testing.T) {
	for _, w := range []time.Duration{time.Minute, time.Hour, 6 * time.Hour, 6*time.Hour + time.Minute, 24 * time.Hour, 7 * 24 * time.Hour, maxWindow} {
		s := seriesStep(w)
		if n := (w + s - 1) / s; n > maxSeriesPoints {
			t.Errorf("window %v: step %v gives %d points, more than %d", w, s, n, maxSeriesPoints)
		}
		if w <= 6*time.Hour && s != time.Minute {
			t.Errorf("window %v: step %v, want per-minute up to 6 h", w, s)
		}
	}
}

func TestFormatWindow(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Minute: "1m", 90 * time.Minute: "90m", time.Hour: "1h", 36 * time.Hour: "36h", 48 * time.Hour: "2d",
	} {
		if got := formatWindow(d); got != want {
			t.Errorf("formatWindow(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestDashboardAssets(t *testing.T) {
	a := newTestAdmin(t, AdminServerConfig{}, time.Time{})
	tests := []struct {
		path, contentType string
	}{
		{"/", "text/html; charset=utf-8"},
		{"/dashboard.js", "text/javascript; charset=utf-8"},
		{"/dashboard.css", "text/css; charset=utf-8"},
	}
	external := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`)
	for _, tt := range tests {
		t.Run(strings.Trim(tt.path, "/"), func(t *testing.T) {
			resp, body := do(a, adminRequest("GET", tt.path))
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tt.contentType {
				t.Fatalf("%d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			// Nothing from another origin: no CDN, no web font. The one
			// absolute URL allowed is the SVG namespace name, which is
			// an identifier and is never fetched.
			for _, m := range external.FindAllString(body, -1) {
				if m != "http://www.w3.org" {
					t.Errorf("reference to another origin: %q", m)
				}
			}
			if strings.Contains(body, "@import") || strings.Contains(body, "@font-face") {
				t.Error("CSS imports or fonts")
			}
		})
	}

	_, page := do(a, adminRequest("GET", "/"))
	// No inline script or style: the CSP forbids them, and the page must
	// not depend on an exception.
	if regexp.MustCompile(`<script[^>]*>[^<]+</script>`).MatchString(page) || strings.Contains(page, "<style") ||
		regexp.MustCompile(`\sstyle=`).MatchString(page) || regexp.MustCompile(`\son[a-z]+=`).MatchString(page) {
		t.Error("index.html has inline script, style or event handlers")
	}
	_, js := do(a, adminRequest("GET", "/dashboard.js"))
	// Data goes in as text only.
	for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "setAttribute('style'", "setAttribute(\"style\""} {
		if strings.Contains(js, sink) {
			t.Errorf("dashboard.js uses %s", sink)
		}
	}
	for _, want := range []string{"15000", "api/top", "api/series", "api/fingerprints", "api/alerts", "No intercepted connections in "} {
		if !strings.Contains(js, want) {
			t.Errorf("dashboard.js lacks %q", want)
		}
	}
}

// countingStore counts Top calls per group.
type countingStore struct {
	alerts.Store
	mu  sync.Mutex
	top map[alerts.Group]int
}

func (s *countingStore) Top(ctx context.Context, q alerts.TopQuery) ([]alerts.NetworkStats, error) {
	s.mu.Lock()
	s.top[q.Group]++
	s.mu.Unlock()
	return s.Store.Top(ctx, q)
}

func (s *countingStore) calls(g alerts.Group) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.top[g]
}

func TestAllCountriesCachedAcrossRequests(t *testing.T) {
	store := &countingStore{Store: kzFixture(t), top: map[alerts.Group]int{}}
	now := testNow
	a := newTestAdmin(t, AdminServerConfig{Store: store}, testNow)
	a.dash.now = func() time.Time { return now }

	// One page refresh, twice (two analysts).
	for range 2 {
		getJSON(t, a, "/api/top?scope=network", 200, nil)
		getJSON(t, a, "/api/top?scope=country", 200, nil)
	}
	if got := store.calls(alerts.GroupCountry); got != 1 {
		t.Errorf("every-country query ran %d times for one window, want 1", got)
	}
	if got := store.calls(alerts.GroupNetwork); got != 2 {
		t.Errorf("network query ran %d times, want 2 (not cached)", got)
	}
	// Another window is another entry.
	getJSON(t, a, "/api/top?window=6h", 200, nil)
	if got := store.calls(alerts.GroupCountry); got != 2 {
		t.Errorf("after a 6 h request: %d every-country queries, want 2", got)
	}
	// Past the TTL (same minute, so the same window) it is asked again,
	// and the answer reflects new data.
	now = testNow.Add(countriesTTL)
	feed(t, store, testNow.Add(-time.Minute), alerts.Observation{Country: "FR", ASN: 3215, Browser: true, Verdict: alerts.VerdictClean}, 10)
	var got topResponse
	getJSON(t, a, "/api/top?scope=country", 200, &got)
	if store.calls(alerts.GroupCountry) != 3 || got.Totals.Countries != 3 {
		t.Errorf("after the TTL: %d queries, %d countries; want a fresh answer with FR", store.calls(alerts.GroupCountry), got.Totals.Countries)
	}
	// A clock stepped back (same minute, same window) does not serve an
	// entry from its future forever.
	now = testNow.Add(-25 * time.Second)
	getJSON(t, a, "/api/top?scope=country", 200, nil)
	if store.calls(alerts.GroupCountry) != 4 {
		t.Error("entry from the future served")
	}
}
