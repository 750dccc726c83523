package cluster

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Kinds of lease, the values of the kind label.
const (
	kindPartition = "partition"
	kindLeader    = "leader"
)

type metrics struct {
	owned        prometheus.GaugeFunc
	leaseAge     prometheus.GaugeFunc
	live         prometheus.Gauge
	acquisitions *prometheus.CounterVec
	failovers    *prometheus.CounterVec
	lost         *prometheus.CounterVec
	refused      *prometheus.CounterVec
	renewFails   prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, owned, leaseAge func() float64) (*metrics, error) {
	m := &metrics{
		owned: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "yujing_cluster_partitions_owned", Help: "Partitions this node holds."}, owned),
		leaseAge: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "yujing_cluster_lease_age_seconds",
			Help: "Seconds since the least recently renewed lease this node holds was last renewed (0 when it holds none)."}, leaseAge),
		live: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "yujing_cluster_live_nodes", Help: "Nodes whose heartbeat has not expired, as this node last read them."}),
		acquisitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yujing_cluster_acquisitions_total", Help: "Leases this node took, by kind (partition or leader)."},
			[]string{"kind"}),
		failovers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yujing_cluster_failovers_total",
			Help: "Leases this node took from a holder that had not released them (its lease expired), by kind."},
			[]string{"kind"}),
		lost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yujing_cluster_leases_lost_total",
			Help: "Leases this node let go without releasing them (deadline passed, found taken, fenced), by kind."},
			[]string{"kind"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yujing_cluster_fenced_refusals_total", Help: "Fenced writes refused because their lease was no longer held, by kind."},
			[]string{"kind"}),
		renewFails: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "yujing_cluster_renewal_failures_total",
			Help: "Renewal rounds (heartbeat and lease renewals) that failed, e.g. PostgreSQL unreachable."}),
	}
	// Every series exists from the start, so rate() and alerts see zeros.
	for _, k := range []string{kindPartition, kindLeader} {
		m.acquisitions.WithLabelValues(k)
		m.failovers.WithLabelValues(k)
		m.lost.WithLabelValues(k)
		m.refused.WithLabelValues(k)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.owned, m.leaseAge, m.live, m.acquisitions, m.failovers, m.lost, m.refused, m.renewFails} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("cluster: metrics: %w", err)
		}
	}
	return m, nil
}
