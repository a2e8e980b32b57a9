package alerts

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// alertMetrics are the evaluator's and deliverer's metrics. Labels are
// bounded: sink_format has three values, outcome four, type three; never a
// network, ASN, fingerprint, rule or sink name.
type alertMetrics struct {
	deliveries       *prometheus.CounterVec
	deliveryDuration *prometheus.HistogramVec
	outboxPending    prometheus.Gauge
	events           *prometheus.CounterVec
	evaluations      prometheus.Counter
	evaluationErrors prometheus.Counter
	incidentsOpen    prometheus.Gauge
}

// Event kinds, the type label of mitmwatch_alerts_events_total.
const (
	kindAlert    = "alert"
	kindReminder = "reminder"
	kindResolved = "resolved"
)

func newAlertMetrics(reg prometheus.Registerer) (*alertMetrics, error) {
	m := &alertMetrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mitmwatch_alerts_deliveries_total",
			Help: "Webhook delivery attempts by sink format and outcome (delivered, retry, failed: gave up, gone: 410).",
		}, []string{"sink_format", "outcome"}),
		deliveryDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mitmwatch_alerts_delivery_duration_seconds",
			Help:    "Time of one webhook delivery attempt, failed ones included.",
			Buckets: prometheus.ExponentialBuckets(0.005, 4, 8),
		}, []string{"sink_format"}),
		outboxPending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mitmwatch_alerts_outbox_pending",
			Help: "Events in the outbox not yet acknowledged (being delivered or waiting), as last read by this node.",
		}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mitmwatch_alerts_events_total",
			Help: "Events this node put in the outbox, by type (alert, reminder, resolved).",
		}, []string{"type"}),
		evaluations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mitmwatch_alerts_evaluations_total",
			Help: "Rule evaluations run by this node.",
		}),
		evaluationErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mitmwatch_alerts_evaluation_errors_total",
			Help: "Rule evaluations that failed in part (store, incident store or outbox unavailable).",
		}),
		incidentsOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mitmwatch_alerts_incidents_open",
			Help: "Open incidents (all nodes), as of this node's last evaluation.",
		}),
	}
	for _, f := range []string{FormatStandard, FormatSlack, FormatJSON} {
		for _, o := range []string{OutcomeDelivered, OutcomeRetry, OutcomeFailed, OutcomeGone} {
			m.deliveries.WithLabelValues(f, o)
		}
		m.deliveryDuration.WithLabelValues(f)
	}
	for _, k := range []string{kindAlert, kindReminder, kindResolved} {
		m.events.WithLabelValues(k)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.deliveries, m.deliveryDuration, m.outboxPending, m.events, m.evaluations, m.evaluationErrors, m.incidentsOpen} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("alerts: register metrics: %w", err)
		}
	}
	return m, nil
}
