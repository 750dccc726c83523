package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"yujing"
	"yujing/alerting"
	"yujing/alerting/alertingtest"
	"yujing/alerting/lifecycle"
	"yujing/ingest"
	"yujing/store"
	"yujing/store/sqlite"
	"yujing/web"
)

// transitionsFixture raises n alerts on an engine with the embedded state
// database on disk (synchronous=FULL: every transition is on disk when it
// returns).
func transitionsFixture(b *testing.B, n int) (*alertingtest.Stack, []int64) {
	b.Helper()
	var sensors []yujing.Sensor
	for i := range n {
		sensors = append(sensors, yujing.Sensor{ID: fmt.Sprintf("S%d", i), Site: "p", Family: yujing.FamilyGas, Metric: "lel"})
	}
	reg, _ := ingest.NewRegistry([]yujing.Site{{ID: "p"}}, sensors)
	st, err := sqlite.OpenState(context.Background(), filepath.Join(b.TempDir(), "state.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	var tiers alerting.Tiers
	tiers.Value[yujing.Red], tiers.Set[yujing.Red] = 50, true
	eng := alertingtest.New(b, []*alerting.Rule{{Name: "gas", Match: alerting.Selector{Family: yujing.FamilyGas}, Above: tiers}},
		st, reg, alertingtest.Options{})
	ctx := context.Background()
	t0 := time.Now()
	for i := range sensors {
		eng.Observe(ctx, []yujing.Reading{{Sensor: sensors[i].ID, Site: "p", Metric: "lel", Value: 60, Time: t0}})
	}
	as, err := eng.List(ctx, store.AlertFilter{Limit: n})
	if err != nil || len(as) != n {
		b.Fatalf("%d alerts, %v", len(as), err)
	}
	ids := make([]int64, n)
	for i, a := range as {
		ids[i] = a.ID
	}
	return eng, ids
}

// BenchmarkTransitions: acknowledgements and disposal records per second,
// through the engine and through the HTTP API. Each is one durable
// transition (the alert row and its history entry in one transaction).
func BenchmarkTransitions(b *testing.B) {
	b.Run("engine", func(b *testing.B) {
		eng, ids := transitionsFixture(b, b.N)
		ctx := context.Background()
		b.ResetTimer()
		for i := range b.N {
			if _, err := eng.Ack(ctx, ids[i], lifecycle.Action{By: "bench"}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "transitions/s")
	})
	b.Run("api", func(b *testing.B) {
		eng, ids := transitionsFixture(b, b.N)
		srv := httptest.NewServer(web.New(web.Options{Alerts: eng}).Handler())
		defer srv.Close()
		client := srv.Client()
		b.ResetTimer()
		for i := range b.N {
			resp, err := client.Post(fmt.Sprintf("%s/api/v1/alerts/%d/dispose", srv.URL, ids[i]), "application/json",
				strings.NewReader(`{"by": "bench", "note": "关阀"}`))
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Fatalf("dispose: %v %v", err, resp.Status)
			}
			resp.Body.Close()
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "transitions/s")
	})
}
