package alerting

import (
	"github.com/prometheus/client_golang/prometheus"

	"yujing"
)

type metrics struct {
	evalSeconds prometheus.Histogram
	transitions *prometheus.CounterVec
	outOfOrder  prometheus.Counter
	storeErrors prometheus.Counter
	callErrors  prometheus.Counter
	suppressed  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, e *Engine) *metrics {
	m := &metrics{
		evalSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "yujing_rule_evaluation_seconds", Help: "Time to evaluate one rule on one reading.",
			Buckets: prometheus.ExponentialBuckets(1e-7, 4, 10)}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yujing_alert_transitions_total", Help: "Alert transitions by event and resulting level."}, []string{"event", "level"}),
		outOfOrder: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "yujing_rule_out_of_order_readings_total", Help: "Readings older than one already evaluated, skipped."}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "yujing_alert_store_errors_total", Help: "Alert transitions that could not be saved."}),
		callErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "yujing_alert_call_errors_total", Help: "Calls that could not be handed to the notify stage."}),
		suppressed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yujing_alert_calls_suppressed_total", Help: "Alert transitions whose calls a silence or an inhibition held back."}, []string{"reason"}),
	}
	if reg != nil {
		reg.MustRegister(m.evalSeconds, m.transitions, m.outOfOrder, m.storeErrors, m.callErrors, m.suppressed, openCollector{e})
	}
	return m
}

var openDesc = prometheus.NewDesc("yujing_alerts_open", "Open alerts by level and state.", []string{"level", "state"}, nil)

// openCollector reports the open alerts at scrape time.
type openCollector struct{ e *Engine }

func (c openCollector) Describe(ch chan<- *prometheus.Desc) { ch <- openDesc }

func (c openCollector) Collect(ch chan<- prometheus.Metric) {
	type k struct {
		l yujing.Level
		s yujing.State
	}
	counts := map[k]int{}
	for _, l := range yujing.Levels {
		for _, s := range []yujing.State{yujing.StateFiring, yujing.StateAcknowledged, yujing.StateDisposing, yujing.StateResolved} {
			counts[k{l, s}] = 0
		}
	}
	c.e.amu.Lock()
	for _, a := range c.e.open {
		counts[k{a.Level, a.State}]++
	}
	c.e.amu.Unlock()
	for key, n := range counts {
		ch <- prometheus.MustNewConstMetric(openDesc, prometheus.GaugeValue, float64(n), key.l.String(), string(key.s))
	}
}
