package influx_test

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"yujing"
	"yujing/internal/testenv"
	"yujing/store"
	"yujing/store/influx"
)

// TestAggregateStopBound: a reading exactly at from counts, one exactly at
// to does not, for one sensor (Aggregate) and for many (AggregateBySensor).
// (store/parity checks every aggregate against the embedded store.)
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
		{Sensor: "RG-2", Family: yujing.FamilyWeather, Metric: "rain", Unit: "mm", Value: 1000, Time: to},
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
		all, err := w.AggregateBySensor(ctx, "rain", tc.fn, from, to, []string{"RG-1", "RG-2"})
		if want := map[string]float64{"RG-1": tc.want}; err != nil || !maps.Equal(all, want) {
			t.Errorf("%s by sensor = %v, %v; want %v", tc.fn, all, err, want)
		}
	}
	// The window that starts at the last reading holds only it.
	if got, n, err := w.Aggregate(ctx, "RG-1", "rain", store.FuncSum, to, to.Add(time.Hour)); err != nil || n != 1 || got != 1000 {
		t.Errorf("sum from the last reading = %v, %d, %v; want 1000 over 1 reading", got, n, err)
	}
}

// TestAggregateBySensorIDs: sensor ids with the characters InfluxQL's
// string, identifier and regex literals treat specially are each selected
// exactly — by Aggregate, AggregateBySensor and Query — and neighbours
// whose ids a badly quoted alternation would match stay out.
func TestAggregateBySensorIDs(t *testing.T) {
	t.Parallel()
	db := testenv.InfluxDB(t)
	w := newWriter(t, influx.Config{URL: db.URL, Bucket: db.Bucket()})
	ctx := t.Context()
	from := time.Date(2025, 7, 21, 0, 0, 0, 0, time.UTC)
	odd := []string{`RG"1`, `it's`, `a/b`, `x.y*`, `back\slash`, `a|b`, `(c)`, `雨量站-1`, `$^`, `a\/b`, `e\\n`}
	decoys := []string{"a", "b", "x.yy", "xzy", "c", "RG", "RG-1", `"a/b"`}
	// (Line protocol cannot end a tag value or field key with "\".)
	metrics := []string{"rain", `rain"mm`, "rain mm,x=y"}
	var rs []yujing.Reading
	for i, id := range append(append([]string{}, odd...), decoys...) {
		for _, m := range metrics {
			rs = append(rs, yujing.Reading{Sensor: id, Family: yujing.FamilyWeather, Metric: m, Value: float64(i + 1), Time: from.Add(time.Minute)})
		}
	}
	if err := w.Write(ctx, rs); err != nil {
		t.Fatal(err)
	}
	for _, m := range metrics {
		got, err := w.AggregateBySensor(ctx, m, store.FuncSum, from, from.Add(time.Hour), odd)
		want := map[string]float64{}
		for i, id := range odd {
			want[id] = float64(i + 1)
		}
		if err != nil || !maps.Equal(got, want) {
			t.Errorf("%s by sensor = %v, %v;\nwant %v", m, got, err, want)
		}
		for i, id := range odd {
			if v, n, err := w.Aggregate(ctx, id, m, store.FuncSum, from, from.Add(time.Hour)); err != nil || n != 1 || v != float64(i+1) {
				t.Errorf("%s of %q = %v, %d, %v; want %d", m, id, v, n, err, i+1)
			}
			if got, err := w.Query(ctx, id, m, from, from.Add(time.Hour)); err != nil || len(got) != 1 || got[0].Value != float64(i+1) || got[0].Sensor != id {
				t.Errorf("query %s of %q = %+v, %v", m, id, got, err)
			}
		}
	}
}

// qlRequest is what the fake InfluxDB of TestInfluxQLRequest was asked.
type qlRequest struct {
	method, path, contentType, auth string
	params                          url.Values // of the URL
	q                               string     // of the form
}

// fakeInfluxQL is an InfluxDB that records each POST /query and answers
// with answer.
func fakeInfluxQL(t *testing.T, answer func(q string) (int, string)) (*httptest.Server, func() []qlRequest) {
	t.Helper()
	var mu sync.Mutex
	var reqs []qlRequest
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, err := url.ParseQuery(string(body))
		if err != nil {
			t.Errorf("body %q is not a form: %v", body, err)
		}
		q := form.Get("q")
		mu.Lock()
		reqs = append(reqs, qlRequest{r.Method, r.URL.Path, r.Header.Get("Content-Type"), r.Header.Get("Authorization"), r.URL.Query(), q})
		mu.Unlock()
		status, text := answer(q)
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(status)
		io.WriteString(rw, text)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []qlRequest {
		mu.Lock()
		defer mu.Unlock()
		out := reqs
		reqs = nil
		return out
	}
}

// TestInfluxQLRequest checks each request as InfluxDB's v1 API documents
// POST /query — db and rp from the bucket, epoch=ns, chunked=true, the
// statement in the form body, "Authorization: Token user:password" — the
// statements for every aggregate, how a chunked answer with a sensor under
// two measurements is merged, and the errors, which name what was asked
// but never the token.
func TestInfluxQLRequest(t *testing.T) {
	t.Parallel()
	from := time.Date(2025, 7, 21, 0, 0, 0, 0, time.UTC)
	to := from.Add(3 * time.Hour)
	ns := func(d time.Duration) int64 { return from.Add(d).UnixNano() }
	// Two chunks; RG-1 has readings under "weather" and under "reading".
	answers := map[string]string{
		"sum": `{"results":[{"statement_id":0,"series":[{"name":"weather","tags":{"sensor":"RG-1"},"columns":["time","sum"],"values":[[` + fmt.Sprint(ns(0)) + `,50.5]]}],"partial":true}]}
{"results":[{"statement_id":0,"series":[{"name":"reading","tags":{"sensor":"RG-1"},"columns":["time","sum"],"values":[[` + fmt.Sprint(ns(0)) + `,1.25]]},{"name":"weather","tags":{"sensor":"RG-2"},"columns":["time","sum"],"values":[[` + fmt.Sprint(ns(0)) + `,0]]}]}]}
`,
		"rate": `{"results":[{"statement_id":0,"series":[{"name":"weather","tags":{"sensor":"RG-1"},"columns":["time","first"],"values":[[` + fmt.Sprint(ns(time.Hour)) + `,10]]},{"name":"reading","tags":{"sensor":"RG-1"},"columns":["time","first"],"values":[[` + fmt.Sprint(ns(0)) + `,4]]}]}]}
{"results":[{"statement_id":1,"series":[{"name":"weather","tags":{"sensor":"RG-1"},"columns":["time","last"],"values":[[` + fmt.Sprint(ns(2*time.Hour)) + `,16]]},{"name":"reading","tags":{"sensor":"RG-1"},"columns":["time","last"],"values":[[` + fmt.Sprint(ns(30*time.Minute)) + `,99]]}]}]}
`,
	}
	srv, taken := fakeInfluxQL(t, func(q string) (int, string) {
		switch {
		case strings.HasPrefix(q, `SELECT "`): // Query
			return http.StatusOK, `{"results":[{"statement_id":0}]}`
		case strings.Contains(q, "first("):
			return http.StatusOK, answers["rate"]
		case strings.Contains(q, `"broken"`):
			return http.StatusOK, `{"results":[{"statement_id":0,"error":"database not found: yujing"}]}`
		case strings.Contains(q, `"denied"`):
			return http.StatusUnauthorized, `{"error":"authorization failed"}`
		case strings.Contains(q, `"garbled"`):
			return http.StatusOK, `{"results":[{"statement_id":0,"series":[{"name":"weather","tags":{"sensor":"RG-1"},"columns":["time","sum"],"values":[[1,"x"]]}]}]}`
		}
		return http.StatusOK, answers["sum"]
	})
	w := newWriter(t, influx.Config{URL: srv.URL, Token: "user:secret", Bucket: "yujing/autogen"})
	ctx := t.Context()

	got, err := w.AggregateBySensor(ctx, "rain", store.FuncSum, from, to, []string{"RG-1", "RG-2", "a/b.c"})
	if want := map[string]float64{"RG-1": 51.75, "RG-2": 0}; err != nil || !maps.Equal(got, want) {
		t.Errorf("sum by sensor = %v, %v; want %v", got, err, want)
	}
	reqs := taken()
	want := qlRequest{method: "POST", path: "/query", contentType: "application/x-www-form-urlencoded", auth: "Token user:secret",
		params: url.Values{"db": {"yujing"}, "rp": {"autogen"}, "epoch": {"ns"}, "chunked": {"true"}},
		q:      `SELECT sum("rain"::field) FROM /.*/ WHERE "sensor"::tag =~ /^(RG-1|RG-2|a\/b\.c)$/ AND time >= '2025-07-21T00:00:00Z' AND time < '2025-07-21T03:00:00Z' GROUP BY "sensor"`}
	if len(reqs) != 1 || fmt.Sprint(reqs[0]) != fmt.Sprint(want) {
		t.Errorf("requests %+v,\nwant [%+v]", reqs, want)
	}

	// Rate: the oldest first and the newest last across both measurements.
	got, err = w.AggregateBySensor(ctx, "rain", store.FuncRate, from, to, []string{"RG-1"})
	if want := map[string]float64{"RG-1": 12.0 / 120}; err != nil || !maps.Equal(got, want) {
		t.Errorf("rate by sensor = %v, %v; want %v", got, err, want)
	}
	taken()

	// The statements of each aggregate; Aggregate adds a count and selects
	// one sensor by equality.
	const tail = ` FROM /.*/ WHERE "sensor"::tag =~ /^(S)$/ AND time >= '2025-07-21T00:00:00Z' AND time < '2025-07-21T03:00:00Z' GROUP BY "sensor"`
	const one = ` FROM /.*/ WHERE "sensor"::tag = 'it\'s' AND time >= '2025-07-21T00:00:00Z' AND time < '2025-07-21T03:00:00Z' GROUP BY "sensor"`
	for _, tc := range []struct {
		fn          store.Func
		many, alone string
	}{
		{store.FuncSum, `SELECT sum("m"::field)` + tail, `SELECT sum("m"::field)` + one + `; SELECT count("m"::field)` + one},
		{store.FuncMean, `SELECT sum("m"::field), count("m"::field)` + tail, `SELECT sum("m"::field), count("m"::field)` + one},
		{store.FuncMax, `SELECT max("m"::field)` + tail, `SELECT max("m"::field)` + one + `; SELECT count("m"::field)` + one},
		{store.FuncMin, `SELECT min("m"::field)` + tail, `SELECT min("m"::field)` + one + `; SELECT count("m"::field)` + one},
		{store.FuncCount, `SELECT count("m"::field)` + tail, `SELECT count("m"::field)` + one},
		{store.FuncLast, `SELECT last("m"::field)` + tail, `SELECT last("m"::field)` + one + `; SELECT count("m"::field)` + one},
		{store.FuncRate, `SELECT first("m"::field)` + tail + `; SELECT last("m"::field)` + tail,
			`SELECT first("m"::field)` + one + `; SELECT last("m"::field)` + one + `; SELECT count("m"::field)` + one},
	} {
		w.AggregateBySensor(ctx, "m", tc.fn, from, to, []string{"S"})
		w.Aggregate(ctx, "it's", "m", tc.fn, from, to)
		reqs := taken()
		if len(reqs) != 2 || reqs[0].q != tc.many || reqs[1].q != tc.alone {
			t.Errorf("%s: statements\n%q\nwant\n%q\n%q", tc.fn, reqs, tc.many, tc.alone)
		}
	}

	// No request for nothing.
	if got, err := w.AggregateBySensor(ctx, "rain", store.FuncSum, from, to, nil); err != nil || got == nil || len(got) != 0 {
		t.Errorf("no sensors: %v, %v", got, err)
	}
	if got, err := w.AggregateBySensor(ctx, "rain", store.FuncSum, to, from, []string{"RG-1"}); err != nil || got == nil || len(got) != 0 {
		t.Errorf("backwards: %v, %v", got, err)
	}
	if reqs := taken(); len(reqs) != 0 {
		t.Errorf("%d requests for empty windows", len(reqs))
	}

	for _, tc := range []struct{ metric, want string }{
		{"broken", `influx: aggregate sum over bucket "yujing/autogen" metric "broken" of 1 sensors: InfluxDB answered 200: statement 0: database not found: yujing`},
		{"denied", `influx: aggregate sum over bucket "yujing/autogen" metric "denied" of 1 sensors: InfluxDB answered 401: authorization failed`},
		{"garbled", `influx: aggregate sum over bucket "yujing/autogen" metric "garbled" of 1 sensors: series weather sensor "RG-1": value x (string) is not a number`},
	} {
		_, err := w.AggregateBySensor(ctx, tc.metric, store.FuncSum, from, to, []string{"RG-1"})
		if err == nil || err.Error() != tc.want || strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: %v\nwant %s", tc.metric, err, tc.want)
		}
	}
	var qe *influx.QueryError
	if _, err := w.AggregateBySensor(ctx, "denied", store.FuncSum, from, to, []string{"RG-1"}); !errors.As(err, &qe) || qe.Status != http.StatusUnauthorized {
		t.Errorf("denied: %v, want a QueryError with status 401", err)
	}
	var ue *store.UnknownFuncError
	for _, sensors := range [][]string{nil, {"RG-1"}} {
		if _, err := w.AggregateBySensor(ctx, "rain", "median", from, to, sensors); !errors.As(err, &ue) {
			t.Errorf("median of %v: %v, want an UnknownFuncError", sensors, err)
		}
	}
	if _, _, err := w.Aggregate(ctx, "RG-1", "rain", "median", from, to); !errors.As(err, &ue) {
		t.Errorf("median: %v, want an UnknownFuncError", err)
	}
	taken()

	// A bucket without a retention policy: the database's default one.
	w2 := newWriter(t, influx.Config{URL: srv.URL, Bucket: "rain"})
	if _, err := w2.Query(ctx, "RG-1", "rain", from, to); err != nil {
		t.Fatal(err)
	}
	reqs = taken()
	want = qlRequest{method: "POST", path: "/query", contentType: "application/x-www-form-urlencoded",
		params: url.Values{"db": {"rain"}, "epoch": {"ns"}, "chunked": {"true"}},
		q:      `SELECT "rain"::field, "site"::tag, "unit"::tag FROM /.*/ WHERE "sensor"::tag = 'RG-1' AND time >= '2025-07-21T00:00:00Z' AND time < '2025-07-21T03:00:00Z'`}
	if len(reqs) != 1 || fmt.Sprint(reqs[0]) != fmt.Sprint(want) {
		t.Errorf("requests %+v,\nwant [%+v]", reqs, want)
	}
}
