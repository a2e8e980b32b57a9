package server

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mitmwatch/mitmwatch/alerts"
)

// boundedLabels are the label names a mitmwatch_ metric may carry, each
// with the pattern its values must match: fixed sets, never values taken
// from traffic.
var boundedLabels = map[string]*regexp.Regexp{
	"route":      regexp.MustCompile(`^(dashboard|asset|api_top|api_series|api_fingerprints|api_alerts|metrics|healthz|readyz|other)$`),
	"code":       regexp.MustCompile(`^[1-5]xx$`),
	"version":    regexp.MustCompile(`.`),
	"go_version": regexp.MustCompile(`^go`),
}

func TestMetricsExposition(t *testing.T) {
	reg := NewRegistry()
	store := kzFixture(t)
	// The recorder's metrics share the registry, as in the real process.
	if _, err := alerts.NewRecorder(store, alerts.RecorderConfig{Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	a := newTestAdmin(t, AdminServerConfig{Store: store, Registry: reg, Token: testToken}, testNow)

	// Requests that carry traffic-derived values in their URLs: none of
	// these may come back as a label value.
	for _, target := range []string{
		"/api/series?key=KZ:9198", "/api/series?scope=asn&key=9198", "/api/top?scope=country",
		"/api/fingerprints", "/api/top?window=bogus", "/" + ja4Mitmproxy, "/healthz", "/readyz",
		"/api/alerts?limit=" + strings.Repeat("9", 40),
	} {
		r := adminRequest("GET", target)
		r.Header.Set("Authorization", "Bearer "+testToken)
		do(a, r)
	}
	do(a, adminRequest("GET", "/api/top")) // no token: an auth failure

	r := adminRequest("GET", "/metrics")
	r.Header.Set("Authorization", "Bearer "+testToken)
	resp, body := do(a, r)
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	// Sample values are left out of the search: a Go runtime gauge such
	// as go_memstats_heap_alloc_bytes 4919872 is not a leaked ASN.
	named := withoutSampleValues(body)
	for _, leak := range []string{"9198", "KZ", "Kazakhtelecom", ja4Mitmproxy, "mitmproxy", "10.0.", testToken} {
		if strings.Contains(named, leak) {
			t.Errorf("/metrics contains %q outside sample values", leak)
		}
	}

	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	var names []string
	for name, mf := range families {
		names = append(names, name)
		switch {
		case strings.HasPrefix(name, "mitmwatch_"):
		case strings.HasPrefix(name, "go_"), strings.HasPrefix(name, "process_"):
			// The standard runtime collectors, under their standard
			// names; their labels are fixed by client_golang.
			continue
		default:
			t.Errorf("metric %s is neither mitmwatch_… nor a standard go_/process_ one", name)
			continue
		}
		if mf.GetType().String() == "COUNTER" && !strings.HasSuffix(name, "_total") {
			t.Errorf("counter %s lacks _total", name)
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				re, ok := boundedLabels[lp.GetName()]
				if !ok {
					t.Errorf("%s has label %q, not one of the bounded ones", name, lp.GetName())
					continue
				}
				if !re.MatchString(lp.GetValue()) {
					t.Errorf("%s{%s=%q}: value outside its fixed set", name, lp.GetName(), lp.GetValue())
				}
			}
		}
	}
	for _, want := range []string{
		"mitmwatch_admin_requests_total", "mitmwatch_admin_request_duration_seconds",
		"mitmwatch_admin_auth_failures_total", "mitmwatch_build_info",
		"mitmwatch_alerts_recorded_total", "go_goroutines", "process_cpu_seconds_total",
	} {
		if !slices.Contains(names, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if got := counterValue(families["mitmwatch_admin_auth_failures_total"]); got != 1 {
		t.Errorf("auth failures = %v, want 1", got)
	}
	if !strings.Contains(body, `mitmwatch_admin_requests_total{code="4xx",route="api_top"} 2`) {
		t.Errorf("bad-window and unauthenticated /api/top not counted as 4xx; got:\n%s", grepLines(body, "mitmwatch_admin_requests_total"))
	}
	if !strings.Contains(body, `route="other"`) {
		t.Error("an unknown path is not counted under route=\"other\"")
	}
}

func counterValue(mf *dto.MetricFamily) float64 {
	var v float64
	for _, m := range mf.GetMetric() {
		v += m.GetCounter().GetValue()
	}
	return v
}

func grepLines(s, sub string) string {
	var out []string
	for l := range strings.Lines(s) {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

func TestAdminHandlersShareARegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	for i := range 2 {
		if _, err := NewAdminHandler(AdminServerConfig{Registry: reg}); err != nil {
			t.Fatalf("handler %d on the same registry: %v", i+1, err)
		}
	}
}

func TestAdminMetricsConflictingRegistration(t *testing.T) {
	reg := prometheus.NewRegistry()
	// Something else took the name with other labels: a real conflict
	// must be reported, not papered over.
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "mitmwatch_admin_requests_total", Help: "x"}))
	if _, err := NewAdminHandler(AdminServerConfig{Registry: reg}); err == nil {
		t.Fatal("conflicting metric accepted")
	}
}

func TestStatusClass(t *testing.T) {
	for code, want := range map[int]string{100: "1xx", 200: "2xx", 204: "2xx", 303: "3xx", 401: "4xx", 499: "4xx", 503: "5xx", 0: "5xx", 999: "5xx"} {
		if got := statusClass(code); got != want {
			t.Errorf("statusClass(%d) = %q, want %q", code, got, want)
		}
	}
}

// withoutSampleValues is a Prometheus text exposition without the value
// (and timestamp) of each sample line: names, labels and comments only.
func withoutSampleValues(body string) string {
	var b strings.Builder
	for line := range strings.Lines(body) {
		if !strings.HasPrefix(line, "#") {
			if i := strings.LastIndexByte(line, '}'); i >= 0 {
				line = line[:i+1] + "\n"
			} else if name, _, ok := strings.Cut(line, " "); ok {
				line = name + "\n"
			}
		}
		b.WriteString(line)
	}
	return b.String()
}
