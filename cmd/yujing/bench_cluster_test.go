package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkCluster measures what coordination costs in CPU: the same load
// (the 1 000 gauges of TestClusterFailover reporting every 2 s for
// clusterBenchRounds rounds; 200 of them red from the start, each warning
// escalating in two steps to a local webhook) on
//
//   - sqlite-1: one node keeping its state in SQLite (a node alone),
//   - postgres-1: one node in cluster mode on PostgreSQL,
//   - cluster-3: three nodes in cluster mode on PostgreSQL,
//
// all on an external mosquitto and InfluxDB. The CPU is the yujing
// processes' (utime + stime from /proc/<pid>/stat, summed over the nodes)
// from when every node is ready and the partitions are shared until the
// last reading is in InfluxDB and the last call at the webhook; it is
// reported per reading stored and per call delivered (the same CPU
// divided two ways: readings dominate), and each variant's ratio to
// sqlite-1 as x-sqlite-1. PostgreSQL's, InfluxDB's and mosquitto's own CPU
// are not counted.
//
//	YUJING_CLUSTER_BENCH=1 go test -run '^$' -bench Cluster -benchtime 1x ./cmd/yujing/
func BenchmarkCluster(b *testing.B) {
	if testing.Short() || os.Getenv("YUJING_CLUSTER_BENCH") != "1" {
		b.Skip("the cluster's cost of coordination: YUJING_CLUSTER_BENCH=1 (make bench)")
	}
	variants := []struct {
		name   string
		sqlite bool
		nodes  int
	}{{"sqlite-1", true, 1}, {"postgres-1", false, 1}, {"cluster-3", false, 3}}
	var base float64 // sqlite-1's CPU per reading, measured first
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			var cpu, idle time.Duration
			var readings, calls int
			for range b.N {
				m := clusterBenchRun(b, v.sqlite, v.nodes)
				cpu, idle, readings, calls = cpu+m.cpu, idle+m.idle, readings+m.readings, calls+m.calls
			}
			b.ReportMetric(float64(idle.Microseconds())/1000/clusterBenchIdle.Seconds()/float64(b.N), "idle-cpu-ms/s")
			perReading := float64(cpu.Microseconds()) / float64(readings)
			if v.name == "sqlite-1" {
				base = perReading
			}
			b.ReportMetric(perReading, "cpu-µs/reading")
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(calls), "cpu-ms/call")
			b.ReportMetric(float64(readings)/float64(b.N), "readings/op")
			b.ReportMetric(float64(calls)/float64(b.N), "calls/op")
			if base > 0 {
				// The same load in every variant, so the ratio of CPU per
				// reading is also the ratio per call.
				b.ReportMetric(perReading/base, "x-sqlite-1")
			}
		})
	}
}

// clusterBenchRounds is how many rounds of the 1 000 gauges a run
// measures (2 s apart); clusterBenchIdle how long the nodes' CPU is
// measured without load first (their fixed cost: leases, sessions, ticks).
const (
	clusterBenchRounds = 30
	clusterBenchIdle   = 10 * time.Second
)

// clusterBenchMeasure is one run's: the nodes' CPU under load and idle,
// the readings stored and the calls delivered.
type clusterBenchMeasure struct {
	cpu, idle       time.Duration
	readings, calls int
}

// clusterBenchRun starts nodes on fresh services, measures them idle,
// then runs the load.
func clusterBenchRun(b *testing.B, sqlite bool, nodes int) (m clusterBenchMeasure) {
	b.StopTimer()
	e := newClusterEnv(b, clusterSpec{sites: 40, perSite: 25, ttl: 2 * time.Second, deadline: 10 * time.Second, sqlite: sqlite, logLevel: "info"})
	sp := e.spec
	ns := e.addNodes(b, nodes)
	startNodes(b, ns...)
	if !sqlite {
		e.waitShared(b, nodes)
	}
	idle := nodesCPU(b, ns)
	time.Sleep(clusterBenchIdle) // the measuring window, not a wait for a condition
	m.idle = nodesCPU(b, ns) - idle
	var red []string
	for s := range sp.sites {
		for i := range 5 {
			red = append(red, gaugeID(s, i))
		}
	}
	before := nodesCPU(b, ns)
	b.StartTimer()
	g := startGauges(b, e.mq.URL(), sp.sites, sp.perSite, 2*time.Second, red...)
	pollUntil(b, 2*clusterBenchRounds*2*time.Second, fmt.Sprintf("%d rounds of the gauges", clusterBenchRounds), func() bool {
		n, _ := g.published()
		return n >= clusterBenchRounds*sp.sites*sp.perSite
	})
	g.halt()
	published, err := g.published()
	if err != nil {
		b.Fatal(err)
	}
	pollUntil(b, time.Minute, "every reading in InfluxDB", func() bool {
		m.readings = influxCount(b, e.db, "SELECT count(rain_1h) FROM weather")
		return m.readings >= published
	})
	pollUntil(b, time.Minute, "every red warning's second step", func() bool { return e.recv.stepCalls(2) >= len(red) })
	b.StopTimer()
	m.cpu = nodesCPU(b, ns) - before
	e.recv.mu.Lock()
	m.calls = len(e.recv.calls)
	e.recv.mu.Unlock()
	stopNodes(syscall.SIGTERM, ns...)
	return m
}

// nodesCPU sums the nodes' processes' CPU time (user and system).
func nodesCPU(tb testing.TB, nodes []*clusterNode) time.Duration {
	tb.Helper()
	var sum time.Duration
	for _, n := range nodes {
		d, err := processCPU(n.pid())
		if err != nil {
			tb.Fatal(err)
		}
		sum += d
	}
	return sum
}

// processCPU reads utime + stime of pid from /proc/<pid>/stat, in clock
// ticks of 10 ms (USER_HZ is 100 on Linux).
func processCPU(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	// After "pid (comm)": state is field 3, utime field 14, stime 15.
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}
