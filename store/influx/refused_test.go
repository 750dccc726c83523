package influx_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	ihttp "github.com/influxdata/influxdb-client-go/v2/api/http"

	"yujing"
	"yujing/internal/testenv"
	"yujing/store/influx"
)

func gasReading(sensor int, at time.Time) yujing.Reading {
	return yujing.Reading{Sensor: fmt.Sprintf("s%d", sensor), Site: "plant", Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL",
		Value: float64(sensor), Time: at}
}

func sensorsOf(rs []yujing.Reading) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Sensor)
	}
	return out
}

// TestRefusedByLimit runs InfluxDB 1.8 with max-values-per-tag = 5: a
// request bringing a sixth sensor is refused for good (partial write);
// Write goes on with the requests after it and returns a *RefusedError
// naming the refused request's readings and the reason; writing readings
// InfluxDB already holds again stores each once.
func TestRefusedByLimit(t *testing.T) {
	t.Parallel()
	db := testenv.InfluxDB(t, testenv.WithMaxValuesPerTag(5))
	ctx := t.Context()
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	var first []yujing.Reading
	for i := range 5 {
		first = append(first, gasReading(i, base))
	}
	w5 := newWriter(t, influx.Config{URL: db.URL, Bucket: db.Bucket(), BatchSize: 5})
	if err := w5.Write(ctx, first); err != nil {
		t.Fatalf("Write of 5 sensors: %v", err)
	}
	if l, err := w5.Limits(ctx); err != nil || l != (influx.Limits{MaxValuesPerTag: 5, MaxSeriesPerDatabase: 1000000}) {
		t.Fatalf("Limits = %+v, %v; want max-values-per-tag 5, max-series-per-database 1000000", l, err)
	}

	w := newWriter(t, influx.Config{URL: db.URL, Bucket: db.Bucket(), BatchSize: 2})
	later := base.Add(time.Minute)
	// Two requests: sensors 5 and 6 (new: refused), 0 and 1 (known: taken).
	rs := []yujing.Reading{gasReading(5, later), gasReading(6, later), gasReading(0, later), gasReading(1, later)}
	err := w.Write(ctx, rs)
	var re *influx.RefusedError
	if !errors.As(err, &re) {
		t.Fatalf("Write = %v, want a *RefusedError", err)
	}
	t.Logf("refused: %v", err)
	if influx.Retryable(err) {
		t.Errorf("Retryable(%v) = true", err)
	}
	refusals := influx.Refusals(err, rs)
	if len(refusals) != 1 || refusals[0].Reason != influx.ReasonMaxValuesPerTag ||
		!slices.Equal(sensorsOf(refusals[0].Readings), []string{"s5", "s6"}) {
		t.Fatalf("refusals %+v, want s5 and s6 for %s", refusals, influx.ReasonMaxValuesPerTag)
	}
	if msg := err.Error(); !strings.Contains(msg, "max-values-per-tag limit exceeded") || !strings.Contains(msg, db.Bucket()) {
		t.Errorf("error %q should name the bucket and InfluxDB's reason", msg)
	}
	for _, c := range []struct {
		sensor string
		want   int
	}{{"s0", 2}, {"s1", 2}, {"s2", 1}, {"s5", 0}, {"s6", 0}} {
		got, err := w.Query(ctx, c.sensor, "lel", base, later.Add(time.Second))
		if err != nil || len(got) != c.want {
			t.Errorf("sensor %s: %d readings (%v), want %d", c.sensor, len(got), err, c.want)
		}
	}
	// Writing what InfluxDB holds again (a replay) stores it once.
	if err := w5.Write(ctx, first); err != nil {
		t.Fatal(err)
	}
	if got, err := w.Query(ctx, "s2", "lel", base, later.Add(time.Second)); err != nil || len(got) != 1 {
		t.Errorf("sensor s2 after writing it again: %d readings (%v), want 1", len(got), err)
	}
}

func TestRefusals(t *testing.T) {
	rs := []yujing.Reading{gasReading(1, time.Unix(1, 0))}
	httpErr := func(code int, msg string) error {
		return fmt.Errorf("influx: write 1 points to bucket %q (0 of 1 written before): %w", "y/autogen",
			&ihttp.Error{StatusCode: code, Code: http.StatusText(code), Message: msg})
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"max values per tag", httpErr(400, `partial write: max-values-per-tag limit exceeded (5/5): measurement="gas" tag="sensor" value="s6" dropped=2`), influx.ReasonMaxValuesPerTag},
		{"max series", httpErr(400, `partial write: max-series-per-database limit exceeded: (1000000) dropped=10`), influx.ReasonMaxSeriesPerDatabase},
		{"field type", httpErr(400, `partial write: field type conflict: input field "lel" on measurement "hazard" is type float, already exists as type string dropped=1`), influx.ReasonFieldTypeConflict},
		{"retention", httpErr(400, `partial write: points beyond retention policy dropped=3`), influx.ReasonBeyondRetention},
		{"too large", httpErr(413, `Request Entity Too Large`), influx.ReasonTooLarge},
		{"v2 unprocessable", httpErr(422, `failure writing points to database`), influx.ReasonOther},
		{"invalid", fmt.Errorf("x: %w", influx.ErrInvalidReading), influx.ReasonInvalidReading},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if influx.Retryable(tt.err) {
				t.Fatalf("Retryable(%v) = true", tt.err)
			}
			got := influx.Refusals(tt.err, rs)
			if len(got) != 1 || got[0].Reason != tt.want || got[0].Err != tt.err || len(got[0].Readings) != 1 {
				t.Fatalf("Refusals = %+v, want all of rs for %s", got, tt.want)
			}
		})
	}
}

func TestLimitsNotReported(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
	}{
		{"InfluxDB 2", http.StatusBadRequest, `{"code":"invalid","message":"unsupported statement"}`},
		{"not admin", http.StatusOK, `{"results":[{"statement_id":0,"error":"error authorizing query: yujing not authorized to execute statement 'SHOW DIAGNOSTICS', requires admin privilege"}]}`},
		{"no config-data", http.StatusOK, `{"results":[{"statement_id":0,"series":[{"name":"build","columns":["Version"],"values":[["1.8.10"]]}]}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var auth string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				auth = r.Header.Get("Authorization")
				if r.URL.Path != "/query" || r.URL.Query().Get("q") != "SHOW DIAGNOSTICS" {
					t.Errorf("request %s", r.URL)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			w := newWriter(t, influx.Config{URL: srv.URL, Bucket: "yujing/autogen", Token: "yujing:pw"})
			_, err := w.Limits(context.Background())
			if !errors.Is(err, influx.ErrNoLimits) {
				t.Fatalf("Limits: %v, want ErrNoLimits", err)
			}
			if auth != "Token yujing:pw" {
				t.Errorf("Authorization %q, want the token", auth)
			}
		})
	}
}

func TestDemand(t *testing.T) {
	var sensors []yujing.Sensor
	for i := range 7 {
		sensors = append(sensors, yujing.Sensor{ID: fmt.Sprintf("g%d", i), Site: fmt.Sprintf("site%d", i%2), Family: yujing.FamilyGas,
			Region: "320506", Metric: "lel", Unit: "%LEL"})
	}
	sensors = append(sensors,
		yujing.Sensor{ID: "t1", Site: "site0", Family: yujing.FamilyHazard, Metric: "level", Unit: "m",
			Units: map[string]string{"level": "m", "pressure": "MPa", "temp": "℃"}},
		yujing.Sensor{ID: "r1", Site: "site0", Metric: "rain_1h"}) // no family, no unit
	d := influx.DemandOf(sensors)
	want := influx.Demand{Series: 7 + 3 + 1, TagValues: 7, Measurement: "gas", Tag: "sensor"}
	if !reflect.DeepEqual(d, want) {
		t.Fatalf("DemandOf = %+v, want %+v", d, want)
	}
	tests := []struct {
		name   string
		limits influx.Limits
		want   []string
	}{
		{"fits", influx.Defaults18, nil},
		{"off", influx.Limits{}, nil},
		{"values", influx.Limits{MaxValuesPerTag: 5}, []string{`max-values-per-tag is 5, and tag "sensor" of measurement "gas" needs 7 values`}},
		{"both", influx.Limits{MaxValuesPerTag: 5, MaxSeriesPerDatabase: 10}, []string{"max-values-per-tag is 5", "max-series-per-database is 10, and the sensors make at least 11 series"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.limits.Exceeded(d)
			if len(got) != len(tt.want) {
				t.Fatalf("Exceeded = %q, want %d sentences", got, len(tt.want))
			}
			for i := range got {
				if !strings.Contains(got[i], tt.want[i]) {
					t.Errorf("sentence %d %q, want it to contain %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}
