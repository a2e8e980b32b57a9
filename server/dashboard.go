package server

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/mitmwatch/mitmwatch/alerts"
	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// The dashboard is one static page and two assets, embedded so the binary
// serves them without files or a CDN. The page holds no data: its script
// fetches the JSON API below and inserts every value as text.
//
//go:embed dashboard/index.html dashboard/dashboard.css dashboard/dashboard.js
var dashboardFS embed.FS

// AlertFeed is where the dashboard reads recent alerts and the delivery
// state of their notifications. The alerts package's incident log
// satisfies it through an adapter; nil in [AdminServerConfig] means the dashboard
// says that no alert feed is configured.
type AlertFeed interface {
	// RecentAlerts returns at most n alerts, newest first.
	RecentAlerts(ctx context.Context, n int) ([]AlertView, error)
}

// AlertView is one alert as the dashboard shows it.
type AlertView struct {
	// ID identifies the alert (the incident) across refreshes.
	ID string `json:"id"`
	// Rule names the rule that fired.
	Rule string `json:"rule"`
	// Country, ASN and ASOrg say which network it is about; empty and 0
	// for an alert about no single network.
	Country string `json:"country,omitempty"`
	ASN     uint32 `json:"asn,omitempty"`
	ASOrg   string `json:"as_org,omitempty"`
	// State is "firing" or "resolved".
	State string `json:"state"`
	// Summary is one sentence for a person, e.g. "62% of browser
	// connections from AS9198 intercepted (mitmproxy)".
	Summary string `json:"summary"`
	// Share is the intercepted share that made the rule fire.
	Share float64 `json:"share"`
	// Started is when the alert fired, Updated when it last changed.
	Started time.Time `json:"started"`
	Updated time.Time `json:"updated"`
	// Deliveries is one entry per notification sink.
	Deliveries []DeliveryView `json:"deliveries"`
}

// Delivery states of a notification.
const (
	DeliveryPending   = "pending"   // queued, not tried yet
	DeliveryDelivered = "delivered" // the sink accepted it
	DeliveryRetrying  = "retrying"  // failed, will be tried again
	DeliveryFailed    = "failed"    // given up
)

// DeliveryView is the state of one alert's notification to one sink.
type DeliveryView struct {
	// Sink names the destination ("slack", "webhook:soc"); never its URL.
	Sink string `json:"sink"`
	// State is one of DeliveryPending, DeliveryDelivered, DeliveryRetrying
	// or DeliveryFailed.
	State string `json:"state"`
	// Attempts counts the tries so far.
	Attempts int `json:"attempts"`
	// LastError is the last failure. URLs in it are cut to scheme and
	// host before it is served (webhook URLs embed their secret).
	LastError string `json:"last_error,omitempty"`
	// At is when the state was reached.
	At time.Time `json:"at"`
}

// Limits of the dashboard API. Windows are whole minutes between one
// minute and the Redis store's default maximum; rows and points are capped
// so one request costs a bounded amount whatever its parameters.
const (
	minWindow         = time.Minute
	maxWindow         = alerts.DefaultMaxWindow
	defaultTopLimit   = 50
	maxTopLimit       = 500
	maxSeriesPoints   = 360
	defaultFPWindow   = 24 * time.Hour
	maxFingerprints   = 50
	defaultAlertLimit = 20
	maxAlertLimit     = 100
)

// seriesSteps are the steps a series may use, the smallest one that keeps
// the window within maxSeriesPoints is chosen.
var seriesSteps = [...]time.Duration{
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute,
	15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour,
	3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

// errBadParam marks errors caused by query parameters (400).
var errBadParam = errors.New("bad request")

func badParam(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errBadParam}, args...)...)
}

// dashboard serves the page, its assets and the JSON API.
type dashboard struct {
	store  alerts.Store
	feed   AlertFeed
	grades func(string) fingerprints.Grade
	window time.Duration
	now    func() time.Time
	// queryTimeout bounds each store or feed call of a request.
	queryTimeout time.Duration

	// countries caches the every-country query that totals, products
	// and fingerprint counts come from: one dashboard refresh asks for it
	// up to three times, and every analyst with the page open asks for
	// the same windows, since windows are aligned on minutes.
	countriesMu sync.Mutex
	countries   map[[2]time.Time]countriesEntry
}

// countriesEntry is one cached every-country answer.
type countriesEntry struct {
	at   time.Time
	rows []alerts.NetworkStats
}

// Limits of the every-country cache: answers are reused for countriesTTL
// (under the page's 15 s refresh, so a refresh sees data at most that
// old), and at most countriesCacheSize windows are kept.
const (
	countriesTTL       = 10 * time.Second
	countriesCacheSize = 16
)

// allCountries returns Top over every country for [from, to), from the
// cache when fresh. The rows are shared: callers must not modify them.
func (d *dashboard) allCountries(ctx context.Context, from, to time.Time) ([]alerts.NetworkStats, error) {
	key := [2]time.Time{from, to}
	now := d.now()
	d.countriesMu.Lock()
	e, ok := d.countries[key]
	d.countriesMu.Unlock()
	if ok && now.Sub(e.at) < countriesTTL && !now.Before(e.at) {
		return e.rows, nil
	}
	rows, err := d.store.Top(ctx, alerts.TopQuery{From: from, To: to, Group: alerts.GroupCountry, Limit: -1})
	if err != nil {
		return nil, err
	}
	d.countriesMu.Lock()
	defer d.countriesMu.Unlock()
	if d.countries == nil {
		d.countries = make(map[[2]time.Time]countriesEntry)
	}
	for k, old := range d.countries {
		if now.Sub(old.at) >= countriesTTL || now.Before(old.at) {
			delete(d.countries, k)
		}
	}
	if len(d.countries) < countriesCacheSize {
		d.countries[key] = countriesEntry{at: now, rows: rows}
	}
	return rows, nil
}

// windowParam parses the window query parameter: a Go duration ("90m",
// "1h") or whole days ("7d"); def when absent.
func windowParam(r *http.Request, def time.Duration) (time.Duration, error) {
	s := r.URL.Query().Get("window")
	if s == "" {
		return def, nil
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > int(maxWindow/(24*time.Hour)) {
			return 0, badParam("window %q: want a duration such as 15m, 1h, 24h or 7d", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, badParam("window %q: want a duration such as 15m, 1h, 24h or 7d", s)
		}
	}
	if d < minWindow || d > maxWindow || d%time.Minute != 0 {
		return 0, badParam("window %q: want whole minutes between 1m and %dd", s, maxWindow/(24*time.Hour))
	}
	return d, nil
}

// intParam parses a positive integer parameter capped at max; def when
// absent.
func intParam(r *http.Request, name string, def, max int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		return 0, badParam("%s %q: want a number from 1 to %d", name, s, max)
	}
	return n, nil
}

// scopeParam parses scope: network (default), country or asn.
func scopeParam(r *http.Request) (alerts.Group, error) {
	s := r.URL.Query().Get("scope")
	if s == "" {
		return alerts.GroupNetwork, nil
	}
	g, err := alerts.ParseGroup(s)
	if err != nil {
		return 0, badParam("scope %q: want network, country or asn", s)
	}
	return g, nil
}

// span returns the window ending with the current minute: whole UTC
// minutes, so "1h" is exactly 60 buckets, the current one included.
func (d *dashboard) span(window time.Duration) (from, to time.Time) {
	to = d.now().UTC().Truncate(time.Minute).Add(time.Minute)
	return to.Add(-window), to
}

func (d *dashboard) ctx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), d.queryTimeout)
}

// networkRow is one row of the networks table or the country list.
type networkRow struct {
	// Key is what /api/series takes as key for this row's scope:
	// "KZ:9198", "KZ" or "9198".
	Key     string `json:"key"`
	Country string `json:"country,omitempty"`
	ASN     uint32 `json:"asn,omitempty"`
	ASOrg   string `json:"as_org,omitempty"`
	alerts.Counts
	Share   float64 `json:"share"`
	Clients uint64  `json:"clients"`
	// TopProduct is the product behind most intercepted connections.
	TopProduct *productRow `json:"top_product,omitempty"`
}

// productRow is an interception product with its grade.
type productRow struct {
	Name string `json:"name"`
	// Intercepted counts the browser connections it intercepted.
	Intercepted uint64 `json:"intercepted"`
	// Grade is "A", "B", "C", "F", or "" when not known.
	Grade string `json:"grade"`
	// Countries counts the countries it was seen in (in the products
	// list only).
	Countries int `json:"countries,omitempty"`
}

// totalsView sums every country in the window.
type totalsView struct {
	alerts.Counts
	Share float64 `json:"share"`
	// Countries counts the countries with browser connections, Affected
	// those with at least one intercepted connection.
	Countries int `json:"countries"`
	Affected  int `json:"affected"`
}

type topResponse struct {
	Scope    string       `json:"scope"`
	Window   string       `json:"window"`
	From     time.Time    `json:"from"`
	To       time.Time    `json:"to"`
	Totals   totalsView   `json:"totals"`
	Rows     []networkRow `json:"rows"`
	Products []productRow `json:"products"`
}

// top answers /api/top: the rows of one scope ranked by intercepted
// share, the totals over every country, and the products seen.
func (d *dashboard) top(w http.ResponseWriter, r *http.Request) (any, error) {
	group, err := scopeParam(r)
	if err != nil {
		return nil, err
	}
	window, err := windowParam(r, d.window)
	if err != nil {
		return nil, err
	}
	limit, err := intParam(r, "limit", defaultTopLimit, maxTopLimit)
	if err != nil {
		return nil, err
	}
	if d.store == nil {
		return nil, errNoStore
	}
	ctx, cancel := d.ctx(r)
	defer cancel()
	from, to := d.span(window)
	// Every country, for the totals and the products: countries are few
	// (about 250), so this row set is bounded whatever the traffic.
	countries, err := d.allCountries(ctx, from, to)
	if err != nil {
		return nil, err
	}
	rows := countries
	if group != alerts.GroupCountry {
		if rows, err = d.store.Top(ctx, alerts.TopQuery{From: from, To: to, Group: group, Limit: limit}); err != nil {
			return nil, err
		}
	} else if len(rows) > limit {
		rows = rows[:limit]
	}

	resp := topResponse{
		Scope:  group.String(),
		Window: formatWindow(window),
		From:   from,
		To:     to,
		Rows:   make([]networkRow, 0, len(rows)),
	}
	for _, c := range countries {
		resp.Totals.Counts.Add(c.Counts)
		resp.Totals.Countries++
		if c.Intercepted > 0 {
			resp.Totals.Affected++
		}
	}
	resp.Totals.Share = resp.Totals.InterceptedShare()
	for _, s := range rows {
		resp.Rows = append(resp.Rows, networkRow{
			Key:        rowKey(group, s),
			Country:    s.Country,
			ASN:        s.ASN,
			ASOrg:      s.ASOrg,
			Counts:     s.Counts,
			Share:      s.Share,
			Clients:    s.Clients,
			TopProduct: d.topProduct(s.Products),
		})
	}
	resp.Products = d.products(countries)
	return resp, nil
}

var errNoStore = errors.New("no alerts store configured")

// rowKey is the /api/series key of a row.
func rowKey(g alerts.Group, s alerts.NetworkStats) string {
	switch g {
	case alerts.GroupCountry:
		return s.Country
	case alerts.GroupASN:
		return strconv.FormatUint(uint64(s.ASN), 10)
	}
	return alerts.Network{Country: s.Country, ASN: s.ASN}.String()
}

func (d *dashboard) grade(product string) string {
	if d.grades == nil {
		return ""
	}
	return d.grades(product).String()
}

// topProduct is the product with the most intercepted connections (ties
// by name, so the choice is stable across refreshes).
func (d *dashboard) topProduct(products map[string]uint64) *productRow {
	var best *productRow
	for name, n := range products {
		if best == nil || n > best.Intercepted || (n == best.Intercepted && name < best.Name) {
			best = &productRow{Name: name, Intercepted: n}
		}
	}
	if best != nil {
		best.Grade = d.grade(best.Name)
	}
	return best
}

// products sums the products over the country rows, most intercepted
// first.
func (d *dashboard) products(rows []alerts.NetworkStats) []productRow {
	idx := make(map[string]int)
	out := []productRow{}
	for _, r := range rows {
		for name, n := range r.Products {
			i, ok := idx[name]
			if !ok {
				i = len(out)
				idx[name] = i
				out = append(out, productRow{Name: name, Grade: d.grade(name)})
			}
			out[i].Intercepted += n
			out[i].Countries++
		}
	}
	slices.SortFunc(out, func(a, b productRow) int {
		if c := cmp.Compare(b.Intercepted, a.Intercepted); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return out
}

type seriesPoint struct {
	Start time.Time `json:"start"`
	alerts.Counts
	Share   float64 `json:"share"`
	Clients uint64  `json:"clients"`
}

type seriesResponse struct {
	Scope  string        `json:"scope"`
	Key    string        `json:"key"`
	Window string        `json:"window"`
	Step   string        `json:"step"`
	Points []seriesPoint `json:"points"`
}

// series answers /api/series: one country, ASN or network over the
// window, one point per step.
func (d *dashboard) series(w http.ResponseWriter, r *http.Request) (any, error) {
	group, err := scopeParam(r)
	if err != nil {
		return nil, err
	}
	key := r.URL.Query().Get("key")
	q := alerts.SeriesQuery{Group: group}
	switch group {
	case alerts.GroupCountry:
		if !isCountryCode(key) {
			return nil, badParam("key %q: want a two-letter country code such as KZ", key)
		}
		q.Country = key
	case alerts.GroupASN:
		asn, err := strconv.ParseUint(key, 10, 32)
		if err != nil {
			return nil, badParam("key %q: want an AS number such as 9198", key)
		}
		q.ASN = uint32(asn)
	default:
		n, err := alerts.ParseNetwork(key)
		if err != nil || !isCountryCode(n.Country) {
			return nil, badParam("key %q: want country:ASN such as KZ:9198", key)
		}
		q.Country, q.ASN = n.Country, n.ASN
	}
	window, err := windowParam(r, d.window)
	if err != nil {
		return nil, err
	}
	if d.store == nil {
		return nil, errNoStore
	}
	q.Step = seriesStep(window)
	q.From, q.To = d.span(window)
	ctx, cancel := d.ctx(r)
	defer cancel()
	pts, err := d.store.Series(ctx, q)
	if err != nil {
		return nil, err
	}
	resp := seriesResponse{
		Scope:  group.String(),
		Key:    key,
		Window: formatWindow(window),
		Step:   formatWindow(q.Step),
		Points: make([]seriesPoint, len(pts)),
	}
	for i, p := range pts {
		resp.Points[i] = seriesPoint{Start: p.Start, Counts: p.Counts, Share: p.InterceptedShare(), Clients: p.Clients}
	}
	return resp, nil
}

// isCountryCode reports whether s is two upper-case ASCII letters (ZZ, the
// unknown country, included).
func isCountryCode(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

// seriesStep is the smallest step keeping window within maxSeriesPoints.
func seriesStep(window time.Duration) time.Duration {
	for _, s := range seriesSteps {
		if window/s <= maxSeriesPoints {
			return s
		}
	}
	return seriesSteps[len(seriesSteps)-1]
}

type fingerprintRow struct {
	JA4 string `json:"ja4"`
	// Verdict is "intercepted", "unknown" or "intercepted, unknown":
	// what the browser connections carrying it were judged.
	Verdict string `json:"verdict"`
	// Grade is the TLS grade of the hello (A, B, C, F; "" when no node
	// noted one), and Reasons the verdict reasons noted for it.
	Grade       string    `json:"grade"`
	Reasons     []string  `json:"reasons"`
	Intercepted uint64    `json:"intercepted"`
	Unknown     uint64    `json:"unknown"`
	FirstSeen   time.Time `json:"first_seen"`
	LastSeen    time.Time `json:"last_seen"`
	// Networks says where, earliest first.
	Networks []alerts.FingerprintNetwork `json:"networks"`
}

type fingerprintsResponse struct {
	Window       string           `json:"window"`
	Fingerprints []fingerprintRow `json:"fingerprints"`
}

// fingerprints answers /api/fingerprints: the intercepted or unknown JA4s
// first seen within the window (default 24 h), with the connections that
// carried them in that window.
func (d *dashboard) fingerprints(w http.ResponseWriter, r *http.Request) (any, error) {
	window, err := windowParam(r, defaultFPWindow)
	if err != nil {
		return nil, err
	}
	limit, err := intParam(r, "limit", maxFingerprints, maxFingerprints)
	if err != nil {
		return nil, err
	}
	if d.store == nil {
		return nil, errNoStore
	}
	ctx, cancel := d.ctx(r)
	defer cancel()
	from, to := d.span(window)
	sightings, err := d.store.NewFingerprints(ctx, alerts.FingerprintQuery{Since: from, Limit: limit})
	if err != nil {
		return nil, err
	}
	resp := fingerprintsResponse{Window: formatWindow(window), Fingerprints: make([]fingerprintRow, 0, len(sightings))}
	if len(sightings) == 0 {
		return resp, nil
	}
	// Connection counts per JA4 come from the country rows (bounded in
	// number; they carry the per-JA4 counters of their networks).
	countries, err := d.allCountries(ctx, from, to)
	if err != nil {
		return nil, err
	}
	for _, s := range sightings {
		row := fingerprintRow{JA4: s.JA4, Grade: s.Grade, Reasons: s.Reasons, FirstSeen: s.FirstSeen, LastSeen: s.LastSeen, Networks: s.Networks}
		if row.Reasons == nil {
			row.Reasons = []string{}
		}
		for _, c := range countries {
			row.Intercepted += c.InterceptedJA4[s.JA4]
			row.Unknown += c.UnknownJA4[s.JA4]
		}
		switch {
		case row.Intercepted > 0 && row.Unknown > 0:
			row.Verdict = "intercepted, unknown"
		case row.Unknown > 0:
			row.Verdict = "unknown"
		default:
			// The index holds only intercepted and unknown JA4s; with
			// no count in the window (seen before the window's first
			// minute rounds) intercepted is the likelier label.
			row.Verdict = "intercepted"
		}
		if row.Networks == nil {
			row.Networks = []alerts.FingerprintNetwork{}
		}
		resp.Fingerprints = append(resp.Fingerprints, row)
	}
	return resp, nil
}

type alertsResponse struct {
	// Configured is false when no alert feed is wired in.
	Configured bool        `json:"configured"`
	Alerts     []AlertView `json:"alerts"`
}

// alerts answers /api/alerts: the latest alerts and their deliveries.
func (d *dashboard) alerts(w http.ResponseWriter, r *http.Request) (any, error) {
	limit, err := intParam(r, "limit", defaultAlertLimit, maxAlertLimit)
	if err != nil {
		return nil, err
	}
	if d.feed == nil {
		return alertsResponse{Alerts: []AlertView{}}, nil
	}
	ctx, cancel := d.ctx(r)
	defer cancel()
	views, err := d.feed.RecentAlerts(ctx, limit)
	if err != nil {
		return nil, err
	}
	if len(views) > limit {
		views = views[:limit]
	}
	out := make([]AlertView, len(views))
	for i, v := range views {
		v.Deliveries = slices.Clone(v.Deliveries)
		if v.Deliveries == nil {
			v.Deliveries = []DeliveryView{}
		}
		for j := range v.Deliveries {
			v.Deliveries[j].LastError = redactURLs(v.Deliveries[j].LastError)
		}
		out[i] = v
	}
	return alertsResponse{Configured: true, Alerts: out}, nil
}

// deliveryURLPattern matches absolute http(s) URLs up to whitespace or a
// quote. No \b: a word boundary sends Go's regexp to its slower engine,
// and a scheme glued to a word is still a URL worth cutting.
var deliveryURLPattern = regexp.MustCompile(`(?i)https?://[^\s"'<>]+`)

// maxDeliveryError is how much of a delivery error the dashboard shows; a
// sink's echoed response body can be long, and a person needs the start.
const maxDeliveryError = 300

// redactURLs cuts s to maxDeliveryError bytes and every URL in it to its
// scheme and host. Delivery errors
// from net/http quote the request URL, and a webhook URL (Slack's, most
// Standard Webhooks endpoints) is itself the credential: it must not reach
// a page that anyone with dashboard access can read.
func redactURLs(s string) string {
	if len(s) > maxDeliveryError {
		cut := maxDeliveryError
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return deliveryURLPattern.ReplaceAllStringFunc(s, func(u string) string {
		scheme, rest, _ := strings.Cut(u, "://")
		host, _, _ := strings.Cut(rest, "/")
		host, _, _ = strings.Cut(host, "?")
		host, _, _ = strings.Cut(host, "#")
		if i := strings.LastIndexByte(host, '@'); i >= 0 {
			host = host[i+1:] // drop user:password@
		}
		return scheme + "://" + host + "/…"
	})
}

// formatWindow prints a duration the way the API takes it: "1h", "90m",
// "7d".
func formatWindow(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return d.String()
}

// dashAsset is one embedded file of the dashboard.
type dashAsset struct {
	body        []byte
	contentType string
}

// loadDashboardAssets reads the embedded dashboard files.
func loadDashboardAssets() (map[string]dashAsset, error) {
	files := map[string]string{
		"/":              "dashboard/index.html",
		"/dashboard.css": "dashboard/dashboard.css",
		"/dashboard.js":  "dashboard/dashboard.js",
	}
	types := map[string]string{
		"/":              "text/html; charset=utf-8",
		"/dashboard.css": "text/css; charset=utf-8",
		"/dashboard.js":  "text/javascript; charset=utf-8",
	}
	out := make(map[string]dashAsset, len(files))
	for path, name := range files {
		b, err := dashboardFS.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("server: dashboard asset: %w", err)
		}
		out[path] = dashAsset{body: b, contentType: types[path]}
	}
	return out, nil
}
