package server

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// NewRegistry returns the registry a mitmwatch process exposes on its admin
// listener's /metrics: the standard Go runtime (go_…) and process
// (process_…) collectors, which every Prometheus user expects under those
// names, and mitmwatch_build_info. Components register their own
// mitmwatch_… metrics into it (alerts.RecorderConfig.Registerer, the admin
// handler's). No metric carries a label whose values come from traffic:
// IPs, ASNs, countries and fingerprints are unbounded and live in the
// alerts store instead.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newBuildInfo(),
	)
	return reg
}

// newBuildInfo is mitmwatch_build_info: a constant 1 labelled with the
// module version and Go version, one series per process, so dashboards can
// tell which release each node runs.
func newBuildInfo() prometheus.Collector {
	version := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		version = bi.Main.Version
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "mitmwatch_build_info",
		Help:        "Always 1; labels say which mitmwatch and Go versions this process runs.",
		ConstLabels: prometheus.Labels{"version": version, "go_version": runtime.Version()},
	})
	g.Set(1)
	return g
}

// Route names of the admin listener: the only values of the route label.
const (
	routeDashboard    = "dashboard"
	routeAsset        = "dashAsset"
	routeTop          = "api_top"
	routeSeries       = "api_series"
	routeFingerprints = "api_fingerprints"
	routeAlerts       = "api_alerts"
	routeMetrics      = "metrics"
	routeHealthz      = "healthz"
	routeReadyz       = "readyz"
	routePprof        = "pprof"
	routeOther        = "other"
)

// adminMetrics instrument the admin listener. Labels are the fixed route
// names above and the status class ("2xx"…"5xx"): at most 10 × 5 series
// whatever the traffic.
type adminMetrics struct {
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	authFailures prometheus.Counter
}

func newAdminMetrics(reg prometheus.Registerer) (*adminMetrics, error) {
	m := &adminMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mitmwatch_admin_requests_total",
			Help: "Requests to the admin listener by route and status class.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mitmwatch_admin_request_duration_seconds",
			Help:    "Time to answer an admin request, store queries included, by route.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 7),
		}, []string{"route"}),
		authFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mitmwatch_admin_auth_failures_total",
			Help: "Admin requests refused for a missing or wrong token, or a foreign Host header.",
		}),
	}
	var err error
	m.requests, err = registerCollector(reg, m.requests)
	if err != nil {
		return nil, err
	}
	m.duration, err = registerCollector(reg, m.duration)
	if err != nil {
		return nil, err
	}
	m.authFailures, err = registerCollector(reg, m.authFailures)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// registerCollector registers c, or returns the collector already registered under
// the same description: a second admin handler on the same registry (a
// restart within one process, tests) shares the first one's series instead
// of failing.
func registerCollector[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, fmt.Errorf("server: register admin metrics: %w", err)
	}
	return c, nil
}

// observe records one answered request.
func (m *adminMetrics) observe(route string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, statusClass(status)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

// statusClass maps a status code to "1xx"…"5xx"; anything out of range
// (which net/http would not send) counts as "5xx".
func statusClass(code int) string {
	switch {
	case code >= 100 && code < 200:
		return "1xx"
	case code >= 200 && code < 300:
		return "2xx"
	case code >= 300 && code < 400:
		return "3xx"
	case code >= 400 && code < 500:
		return "4xx"
	}
	return "5xx"
}
