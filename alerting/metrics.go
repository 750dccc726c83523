package alerting

import (
	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	evalSeconds prometheus.Histogram
	outOfOrder  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		evalSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "yujing_rule_evaluation_seconds", Help: "Time to evaluate one rule on one reading.",
			Buckets: prometheus.ExponentialBuckets(1e-7, 4, 10)}),
		outOfOrder: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "yujing_rule_out_of_order_readings_total", Help: "Readings older than one already evaluated, skipped."}),
	}
	if reg != nil {
		reg.MustRegister(m.evalSeconds, m.outOfOrder)
	}
	return m
}
