package notify

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes of a call, the values of the outcome label of
// yujing_notify_calls_total.
const (
	OutcomeSent   = "sent"
	OutcomeFailed = "failed" // gave up: permanent error, attempts used up, or shutdown
)

type metrics struct {
	calls    *prometheus.CounterVec
	attempts *prometheus.CounterVec
	failures *prometheus.CounterVec
	depth    prometheus.GaugeFunc
	send     *prometheus.HistogramVec

	circuit     *prometheus.GaugeVec
	rateLimited *prometheus.CounterVec
	grouped     *prometheus.CounterVec
	inDoubt     *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, channels []string, depth func() float64) (*metrics, error) {
	m := &metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yujing_notify_calls_total", Help: "Calls finished, by channel and outcome (sent or failed)."},
			[]string{"channel", "outcome"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yujing_notify_attempts_total", Help: "Send attempts, including retries, by channel."},
			[]string{"channel"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yujing_notify_failures_total", Help: "Failed send attempts, by channel and reason."},
			[]string{"channel", "reason"}),
		depth: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "yujing_notify_queue_depth", Help: "Calls waiting in the notify queues."}, depth),
		send: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "yujing_notify_send_seconds", Help: "Duration of one send attempt, by channel.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}, // 5ms .. ~10s
			[]string{"channel"}),
		circuit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "yujing_notify_circuit_state", Help: "Circuit breaker state by channel: 0 closed, 1 half-open, 2 open."},
			[]string{"channel"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yujing_notify_rate_limited_total", Help: "Send attempts that waited for their channel's rate limit."},
			[]string{"channel"}),
		grouped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yujing_notify_grouped_calls_total", Help: "Calls queued together with others as one grouped delivery, by channel."},
			[]string{"channel"}),
		inDoubt: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yujing_notify_in_doubt_total",
			Help: "Calls a previous run may have sent, handed on again after a restart, by channel and outcome."},
			[]string{"channel", "outcome"}),
	}
	// Every series exists from the start, so rate() and alerts see zeros.
	for _, ch := range channels {
		m.calls.WithLabelValues(ch, OutcomeSent)
		m.calls.WithLabelValues(ch, OutcomeFailed)
		m.attempts.WithLabelValues(ch)
		for _, r := range Reasons {
			m.failures.WithLabelValues(ch, r)
		}
		m.send.WithLabelValues(ch)
		m.circuit.WithLabelValues(ch).Set(float64(CircuitClosed))
		m.rateLimited.WithLabelValues(ch)
		m.grouped.WithLabelValues(ch)
		for _, o := range InDoubtOutcomes {
			m.inDoubt.WithLabelValues(ch, o)
		}
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.calls, m.attempts, m.failures, m.depth, m.send, m.circuit, m.rateLimited, m.grouped, m.inDoubt} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("notify: register metrics: %w", err)
		}
	}
	return m, nil
}
