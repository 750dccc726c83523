package lifecycle

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"yujing"
)

type metrics struct {
	transitions *prometheus.CounterVec
	storeErrors prometheus.Counter
	suppressed  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, l *Alerts) (*metrics, error) {
	m := &metrics{
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yujing_alert_transitions_total", Help: "Alert transitions by event and resulting level."}, []string{"event", "level"}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "yujing_alert_store_errors_total", Help: "Alert transitions that could not be saved."}),
		suppressed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yujing_alert_calls_suppressed_total", Help: "Alert transitions whose calls a silence or an inhibition held back."}, []string{"reason"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.transitions, m.storeErrors, m.suppressed, openCollector{l}} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("lifecycle: register metrics: %w", err)
			}
		}
	}
	return m, nil
}

var openDesc = prometheus.NewDesc("yujing_alerts_open", "Open alerts by level and state.", []string{"level", "state"}, nil)

// openCollector reports the open alerts at scrape time.
type openCollector struct{ l *Alerts }

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
	c.l.mu.Lock()
	for _, a := range c.l.open {
		counts[k{a.Level, a.State}]++
	}
	c.l.mu.Unlock()
	for key, n := range counts {
		ch <- prometheus.MustNewConstMetric(openDesc, prometheus.GaugeValue, float64(n), key.l.String(), string(key.s))
	}
}
