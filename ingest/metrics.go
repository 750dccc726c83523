package ingest

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	messages    prometheus.Counter
	readings    *prometheus.CounterVec
	rejected    *prometheus.CounterVec
	ignored     *prometheus.CounterVec
	superseded  prometheus.Counter
	storeErrors prometheus.Counter
	storeWrites prometheus.Counter
	queueDepth  prometheus.GaugeFunc
	unacked     prometheus.GaugeFunc
	batch       prometheus.Histogram
	connected   prometheus.Gauge
	partitions  prometheus.GaugeFunc
	reconnects  prometheus.Counter
	documents   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, depth, unacked, partitions func() float64) *metrics {
	m := &metrics{
		messages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "yujing_ingest_messages_total", Help: "MQTT messages received."}),
		readings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yujing_ingest_readings_total", Help: "Readings by stage: decoded (valid) and stored (durable)."}, []string{"stage"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yujing_ingest_rejected_total", Help: "Messages or entries refused, by reason."}, []string{"reason"}),
		ignored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yujing_ingest_ignored_total",
			Help: "Values set aside without being an error, by reason: node_metric is a Sparkplug edge node's own metric with no sensor on the node's NDATA topic."}, []string{"reason"}),
		superseded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "yujing_ingest_superseded_total",
			Help: "BIRTH values (a device's stated current state, often a placeholder) replaced by the value a newer message (a Sparkplug DATA with a later seq) gave the same instant."}),
		storeWrites: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "yujing_ingest_store_writes_total", Help: "Writes to the store; the shards' batches ready together go in one."}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "yujing_ingest_store_errors_total", Help: "Failed attempts to write readings to the store (retried)."}),
		queueDepth: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "yujing_ingest_queue_depth", Help: "Messages waiting in the ingest pipeline."}, depth),
		unacked: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "yujing_ingest_unacknowledged_messages",
			Help: "QoS 1 messages received and not yet acknowledged (acknowledged in arrival order once durable)."}, unacked),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "yujing_ingest_batch_seconds", Help: "Time from dequeue until a batch is durable (its messages are then acknowledged in arrival order).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "yujing_mqtt_connected", Help: "1 while the MQTT subscriber is connected."}),
		partitions: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "yujing_ingest_partition_sessions",
			Help: "MQTT sessions of the partitions this node holds (one client each, <client_id>-p<n>) that are connected."}, partitions),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "yujing_mqtt_connects_total", Help: "Successful MQTT (re)connections."}),
		documents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yujing_ingest_documents_total", Help: "Documents applied (issued warnings: CAP), by kind; refused ones count under yujing_ingest_rejected_total."}, []string{"kind"}),
	}
	m.readings.WithLabelValues("decoded")
	m.readings.WithLabelValues("stored")
	m.ignored.WithLabelValues(IgnoredNodeMetric)
	if reg != nil {
		reg.MustRegister(m.messages, m.readings, m.rejected, m.ignored, m.superseded, m.storeErrors, m.storeWrites, m.queueDepth, m.unacked, m.batch, m.connected, m.partitions, m.reconnects, m.documents)
	}
	return m
}
