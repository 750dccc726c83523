package influx_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"yujing"
	"yujing/internal/testenv"
	"yujing/store"
	"yujing/store/influx"
)

// TestAggregateStopBound: InfluxDB 1.8 includes points at exactly range()'s
// stop (influxdata/influxdb#19966); Aggregate must not. A reading exactly at
// from counts, one exactly at to does not. (store/parity checks every
// aggregate against the embedded store.)
func TestAggregateStopBound(t *testing.T) {
	t.Parallel()
	db := testenv.InfluxDB(t)
	w := newWriter(t, influx.Config{URL: db.URL, Bucket: db.Bucket()})
	ctx := t.Context()
	from := time.Date(2025, 7, 21, 0, 0, 0, 0, time.UTC)
	to := from.Add(3 * time.Hour)
	rs := []yujing.Reading{
		{Sensor: "RG-1", Family: yujing.FamilyWeather, Metric: "rain", Unit: "mm", Value: 50, Time: from},
		{Sensor: "RG-1", Family: yujing.FamilyWeather, Metric: "rain", Unit: "mm", Value: 7, Time: from.Add(time.Hour)},
		{Sensor: "RG-1", Family: yujing.FamilyWeather, Metric: "rain", Unit: "mm", Value: 1000, Time: to},
	}
	if err := w.Write(ctx, rs); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		fn   store.Func
		want float64
	}{
		{store.FuncSum, 57}, {store.FuncMax, 50}, {store.FuncLast, 7}, {store.FuncCount, 2},
		{store.FuncRate, -43.0 / 60},
	} {
		got, n, err := w.Aggregate(ctx, "RG-1", "rain", tc.fn, from, to)
		if err != nil || n != 2 || got != tc.want {
			t.Errorf("%s = %v, %d, %v; want %v over 2 readings", tc.fn, got, n, err, tc.want)
		}
	}
	// The window that starts at the last reading holds only it.
	if got, n, err := w.Aggregate(ctx, "RG-1", "rain", store.FuncSum, to, to.Add(time.Hour)); err != nil || n != 1 || got != 1000 {
		t.Errorf("sum from the last reading = %v, %d, %v; want 1000 over 1 reading", got, n, err)
	}
}

// TestAggregateFlux checks the script sent (the _time filter, the quoting)
// and that errors carry what was asked, against a fake server.
func TestAggregateFlux(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var queries []string
	fail := false
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var body struct {
			Query string `json:"query"`
		}
		data, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(data, &body)
		mu.Lock()
		queries = append(queries, body.Query)
		f := fail
		mu.Unlock()
		if f {
			http.Error(rw, `{"code":"internal error","message":"boom"}`, http.StatusInternalServerError)
			return
		}
		rw.Header().Set("Content-Type", "text/csv")
		// No tables: an empty window.
	}))
	defer srv.Close()
	w := newWriter(t, influx.Config{URL: srv.URL, Bucket: "yujing/autogen"})
	from := time.Date(2025, 7, 21, 0, 0, 0, 0, time.UTC)
	to := from.Add(3 * time.Hour)
	v, n, err := w.Aggregate(t.Context(), `RG"1`, "rain", store.FuncSum, from, to)
	if err != nil || n != 0 || v != 0 {
		t.Fatalf("empty answer: %v, %d, %v; want 0, 0, nil", v, n, err)
	}
	mu.Lock()
	q := queries[0]
	fail = true
	mu.Unlock()
	for _, want := range []string{
		`range(start: 2025-07-21T00:00:00Z, stop: 2025-07-21T03:00:00Z)`,
		`r._field == "rain" and r.sensor == "RG\"1" and r._time < 2025-07-21T03:00:00Z`,
		`|> sum() |> yield(name: "v")`,
		`|> count() |> yield(name: "n")`,
	} {
		if !strings.Contains(q, want) {
			t.Errorf("query lacks %q:\n%s", want, q)
		}
	}
	_, _, err = w.Aggregate(t.Context(), "RG-1", "rain", store.FuncMean, from, to)
	if err == nil || !strings.Contains(err.Error(), `aggregate mean over bucket "yujing/autogen" sensor "RG-1" metric "rain"`) {
		t.Errorf("server error: %v", err)
	}
	var ue *store.UnknownFuncError
	if _, _, err := w.Aggregate(t.Context(), "RG-1", "rain", "median", from, to); !errors.As(err, &ue) {
		t.Errorf("median: %v, want an UnknownFuncError", err)
	}
}
