package spool

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	bytes     prometheus.Gauge
	segments  prometheus.Gauge
	appended  prometheus.Counter
	replayed  prometheus.Counter
	full      prometheus.Gauge
	tornBytes prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		bytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "yujing_spool_bytes", Help: "Bytes of spool segment files on disk."}),
		segments: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "yujing_spool_segments", Help: "Spool segment files on disk."}),
		appended: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "yujing_spool_appended_readings_total", Help: "Readings written to the spool (durable)."}),
		replayed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "yujing_spool_replayed_readings_total", Help: "Readings replayed from the spool and committed."}),
		full: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "yujing_spool_full", Help: "1 while the spool is full: readings stay unacknowledged at the broker."}),
		tornBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "yujing_spool_torn_bytes_total", Help: "Bytes cut off the spool when opened: torn tails of crashed writes, or damage."}),
	}
	if reg != nil {
		reg.MustRegister(m.bytes, m.segments, m.appended, m.replayed, m.full, m.tornBytes)
	}
	return m
}

// update sets the size gauges. Caller holds s.mu.
func (m *metrics) update(s *Spool) {
	m.bytes.Set(float64(s.bytes))
	m.segments.Set(float64(len(s.segs)))
}
