package influx_test

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	ihttp "github.com/influxdata/influxdb-client-go/v2/api/http"

	"yujing"
	"yujing/internal/testenv"
	"yujing/store/influx"
)

func newWriter(t *testing.T, cfg influx.Config) *influx.Writer {
	t.Helper()
	w, err := influx.New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	t.Cleanup(w.Close)
	return w
}

// sameReadings fails t unless got and want hold equal readings in order.
func sameReadings(t *testing.T, got, want []yujing.Reading) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d readings, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if !g.Time.Equal(w.Time) {
			t.Fatalf("reading %d: time %s, want %s", i, g.Time.Format(time.RFC3339Nano), w.Time.Format(time.RFC3339Nano))
		}
		g.Time, w.Time = time.Time{}, time.Time{}
		if g != w {
			t.Fatalf("reading %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func TestWriteQuery(t *testing.T) {
	t.Parallel()
	db := testenv.InfluxDB(t)
	// A batch size that does not divide the number of readings exercises
	// the chunking, including a short last request.
	w := newWriter(t, influx.Config{URL: db.URL, Bucket: db.Bucket(), BatchSize: 128, Timeout: 5 * time.Second})
	ctx := t.Context()
	if err := w.Ping(ctx); err != nil {
		t.Fatal(err)
	}

	base := time.Date(2024, 7, 1, 8, 0, 0, 0, time.UTC)
	// Distinct millisecond steps plus a nanosecond offset: the schema must
	// keep full precision.
	at := func(i int) time.Time {
		return base.Add(time.Duration(i)*time.Millisecond + time.Duration(i%1000)*time.Nanosecond)
	}
	const n = 500
	var gas, flood, temp, all []yujing.Reading
	for i := range n {
		gas = append(gas, yujing.Reading{
			Sensor: "gas-01", Site: "plant A, 北区", Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL",
			Value: float64(i)*0.37 - 12.5 + 1e-9*float64(i%3), Time: at(i),
		})
		flood = append(flood, yujing.Reading{
			Sensor: "river=2 gauge", Site: "", Family: "", Metric: "water level", Unit: "",
			Value: 123456.789012345 + math.Pow(2, float64(i%60)) - float64(i)/7, Time: at(i).Add(time.Microsecond),
		})
	}
	// Another metric of the same sensor must not leak into a "lel" query.
	for i := range 10 {
		temp = append(temp, yujing.Reading{
			Sensor: "gas-01", Site: "plant A, 北区", Family: yujing.FamilyGas, Metric: "temp_c", Unit: "℃",
			Value: 20 + float64(i), Time: at(i),
		})
	}
	// Interleave so every request mixes series.
	for i := range n {
		all = append(all, gas[i], flood[i])
	}
	all = append(all, temp...)

	began := time.Now()
	if err := w.Write(ctx, all); err != nil {
		t.Fatalf("Write: %v", err)
	}
	t.Logf("wrote %d readings in %v", len(all), time.Since(began))

	from, to := base, at(n)
	got, err := w.Query(ctx, "gas-01", "lel", from, to)
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	sameReadings(t, got, gas)

	got, err = w.Query(ctx, "river=2 gauge", "water level", from, to)
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	sameReadings(t, got, flood) // no family, site or unit come back empty

	got, err = w.Query(ctx, "gas-01", "temp_c", from, to)
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	sameReadings(t, got, temp)

	// The window is [from, to): a reading exactly at to is left out.
	got, err = w.Query(ctx, "gas-01", "lel", at(100), at(200))
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	sameReadings(t, got, gas[100:200])

	if got, err := w.Query(ctx, "gas-01", "lel", to, from); err != nil || len(got) != 0 {
		t.Fatalf("Query with an empty window = %d readings, %v", len(got), err)
	}
	if got, err := w.Query(ctx, `no"such"${sensor}`, "lel", from, to); err != nil || len(got) != 0 {
		t.Fatalf("Query of an unknown sensor = %d readings, %v", len(got), err)
	}

	// Writing everything again overwrites: a failed batch can be retried whole.
	if err := w.Write(ctx, all); err != nil {
		t.Fatalf("second Write: %v", err)
	}
	got, err = w.Query(ctx, "gas-01", "lel", from, to)
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	sameReadings(t, got, gas)

	t.Run("invalid readings are skipped and reported", func(t *testing.T) {
		ok := yujing.Reading{Sensor: "gas-02", Family: yujing.FamilyGas, Metric: "lel", Value: 3, Time: base}
		bad := []yujing.Reading{
			{Sensor: "gas-02", Metric: "lel", Value: math.NaN(), Time: base.Add(time.Second)},
			{Sensor: "gas-02", Metric: "lel", Value: math.Inf(1), Time: base.Add(2 * time.Second)},
			{Sensor: "gas-02", Metric: "", Value: 1, Time: base.Add(3 * time.Second)},
			{Sensor: "", Metric: "lel", Value: 1, Time: base.Add(4 * time.Second)},
			{Sensor: "gas-02", Metric: "lel", Value: 1},
		}
		err := w.Write(ctx, append(bad[:2:2], append([]yujing.Reading{ok}, bad[2:]...)...))
		if !errors.Is(err, influx.ErrInvalidReading) {
			t.Fatalf("Write = %v, want ErrInvalidReading", err)
		}
		if influx.Retryable(err) {
			t.Errorf("Retryable(%v) = true", err)
		}
		if !strings.Contains(err.Error(), "skipped 5 of 6") {
			t.Errorf("error %q does not count the skipped readings", err)
		}
		if rf := influx.Refusals(err, nil); len(rf) != 1 || rf[0].Reason != influx.ReasonInvalidReading || len(rf[0].Readings) != 5 {
			t.Errorf("Refusals = %+v, want the 5 invalid readings", rf)
		}
		got, err := w.Query(ctx, "gas-02", "lel", base, base.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		sameReadings(t, got, []yujing.Reading{ok})
	})

	t.Run("field type conflict is not retryable", func(t *testing.T) {
		// Store "lel" of measurement "hazard" as a string through the 1.x
		// API; a float "lel" in the same shard is then rejected.
		resp, err := http.Post(db.URL+"/write?db="+db.Database, "text/plain",
			strings.NewReader(fmt.Sprintf(`hazard,sensor=x lel="high" %d`, base.UnixNano())))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		err = w.Write(ctx, []yujing.Reading{{Sensor: "tank-1", Family: yujing.FamilyHazard, Metric: "lel", Value: 1, Time: base}})
		if err == nil {
			t.Fatal("Write with a conflicting field type: want an error")
		}
		t.Logf("field type conflict: %v", err)
		if influx.Retryable(err) {
			t.Errorf("Retryable(%v) = true", err)
		}
		if !strings.Contains(err.Error(), "field type conflict") || !strings.Contains(err.Error(), db.Bucket()) {
			t.Errorf("error %q should name the bucket and the server's reason", err)
		}
	})
}

func TestWriteToStoppedServer(t *testing.T) {
	t.Parallel()
	db := testenv.InfluxDB(t)
	w := newWriter(t, influx.Config{URL: db.URL, Bucket: db.Bucket(), Timeout: 2 * time.Second})
	r := yujing.Reading{Sensor: "rain-1", Family: yujing.FamilyWeather, Metric: "mm", Value: 1.5, Time: time.Now().UTC()}
	if err := w.Write(t.Context(), []yujing.Reading{r}); err != nil {
		t.Fatal(err)
	}

	db.Stop()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	began := time.Now()
	r.Time = r.Time.Add(time.Second)
	err := w.Write(ctx, []yujing.Reading{r})
	took := time.Since(began)
	t.Logf("Write to a stopped server: %v after %v", err, took)
	if err == nil {
		t.Fatal("Write to a stopped server succeeded")
	}
	if took > 3500*time.Millisecond {
		t.Errorf("Write to a stopped server took %v", took)
	}
	if !strings.Contains(err.Error(), db.Bucket()) {
		t.Errorf("error %q does not name the bucket", err)
	}
	if !influx.Retryable(err) {
		t.Errorf("Retryable(%v) = false, want true", err)
	}
	if err := w.Ping(ctx); err == nil {
		t.Error("Ping of a stopped server succeeded")
	}

	// After the outage the same Writer works again.
	db.Start()
	if err := w.Write(t.Context(), []yujing.Reading{r}); err != nil {
		t.Fatalf("Write after restart: %v", err)
	}
	got, err := w.Query(t.Context(), "rain-1", "mm", r.Time.Add(-time.Minute), r.Time.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("after restart got %d readings, want 2", len(got))
	}
}

// A server that accepts connections but never answers must not hang Write
// past its context.
func TestWriteToHungServer(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { <-done; c.Close() }()
		}
	}()

	w := newWriter(t, influx.Config{URL: "http://" + l.Addr().String(), Bucket: "yujing/autogen", Timeout: time.Minute})
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	began := time.Now()
	err = w.Write(ctx, []yujing.Reading{{Sensor: "s", Metric: "m", Value: 1, Time: time.Now()}})
	took := time.Since(began)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Write = %v, want context.DeadlineExceeded", err)
	}
	if took > 2*time.Second {
		t.Fatalf("Write returned after %v", took)
	}
	if !influx.Retryable(err) {
		t.Errorf("Retryable(%v) = false", err)
	}
}

// Compression by default except to InfluxDB on the same host.
func TestGzipByDefault(t *testing.T) {
	for url, want := range map[string]bool{
		"http://127.0.0.1:8086":     false,
		"http://127.0.0.53:8086/":   false,
		"http://localhost:8086":     false,
		"http://LOCALHOST:8086":     false,
		"http://[::1]:8086":         false,
		"http://influxdb:8086":      true,
		"https://10.0.0.5:8086":     true,
		"https://influx.example.cn": true,
		"http://[fe80::1]:8086":     true,
	} {
		if got := influx.GzipByDefault(url); got != want {
			t.Errorf("GzipByDefault(%q) = %v, want %v", url, got, want)
		}
		w, err := influx.New(influx.Config{URL: url, Bucket: "yujing"})
		if err != nil {
			t.Fatal(err)
		}
		if w.Gzip() != want {
			t.Errorf("New(%q).Gzip() = %v, want %v", url, w.Gzip(), want)
		}
		w.Close()
	}
}

// The wire format: v2 write endpoint, gzip unless turned off or to a
// loopback address, nanoseconds, the 1.8 token form and the schema of
// doc.go, in chunks of BatchSize.
func TestWriteRequest(t *testing.T) {
	on, off := true, false
	for _, c := range []struct {
		name     string
		gzip     *bool
		encoding string // Content-Encoding
	}{
		{"not by default to a loopback address", nil, ""},
		{"gzip on", &on, "gzip"},
		{"gzip off", &off, ""},
	} {
		t.Run(c.name, func(t *testing.T) { testWriteRequest(t, c.gzip, c.encoding) })
	}
}

func testWriteRequest(t *testing.T, gz *bool, encoding string) {
	type request struct {
		query, auth, encoding string
		lines                 []string
	}
	reqs := make(chan request, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				t.Errorf("body is not gzip: %v", err)
				http.Error(rw, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		raw, _ := io.ReadAll(body)
		reqs <- request{r.URL.Path + "?" + r.URL.RawQuery, r.Header.Get("Authorization"), r.Header.Get("Content-Encoding"),
			strings.Split(strings.TrimSpace(string(raw)), "\n")}
		rw.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)

	w := newWriter(t, influx.Config{URL: srv.URL + "/", Token: "user:secret", Bucket: "yujing/autogen", BatchSize: 2, Gzip: gz})
	if w.Gzip() != (encoding == "gzip") {
		t.Errorf("Gzip() = %v with Config.Gzip %v", w.Gzip(), gz)
	}
	ts := time.Date(2024, 7, 1, 8, 0, 0, 123456789, time.UTC)
	err := w.Write(t.Context(), []yujing.Reading{
		{Sensor: "g1", Site: "s 1", Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL", Value: 12.5, Time: ts, Region: "330106", Industry: "化工"},
		{Sensor: "r1", Metric: "mm", Value: 3, Time: ts},
		{Sensor: "r1", Metric: "mm", Value: -0.25, Time: ts.Add(time.Nanosecond)},
	})
	if err != nil {
		t.Fatal(err)
	}
	close(reqs)
	var got []request
	for r := range reqs {
		got = append(got, r)
	}
	ns := ts.UnixNano()
	want := []request{
		{"/api/v2/write?bucket=yujing%2Fautogen&org=&precision=ns", "Token user:secret", encoding, []string{
			fmt.Sprintf(`gas,industry=化工,region=330106,sensor=g1,site=s\ 1,unit=%%LEL lel=12.5 %d`, ns),
			fmt.Sprintf(`reading,sensor=r1 mm=3 %d`, ns),
		}},
		{"/api/v2/write?bucket=yujing%2Fautogen&org=&precision=ns", "Token user:secret", encoding, []string{
			fmt.Sprintf(`reading,sensor=r1 mm=-0.25 %d`, ns+1),
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("requests:\n got %q\nwant %q", got, want)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  influx.Config
		want string // substrings of the error, "" for none
	}{
		{"ok", influx.Config{URL: "http://127.0.0.1:8086", Bucket: "yujing/autogen"}, ""},
		{"ok v2", influx.Config{URL: "https://influx.example:8086/", Token: "t", Org: "o", Bucket: "b", BatchSize: 10, Timeout: time.Second}, ""},
		{"empty", influx.Config{}, "url is required\nbucket is required"},
		{"bad scheme", influx.Config{URL: "127.0.0.1:8086", Bucket: "b"}, "want http://host:port"},
		{"negative", influx.Config{URL: "http://h:1", Bucket: "b", BatchSize: -1, Timeout: -time.Second}, "batch_size -1: must not be negative\ntimeout -1s: must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				w, err := influx.New(tt.cfg)
				if err != nil {
					t.Fatalf("New = %v", err)
				}
				w.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want it to contain %q", err, tt.want)
			}
			if _, err := influx.New(tt.cfg); err == nil {
				t.Fatal("New accepted an invalid config")
			}
		})
	}
}

func TestRetryable(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{fmt.Errorf("x: %w", influx.ErrInvalidReading), false},
		{fmt.Errorf("x: %w", &ihttp.Error{StatusCode: http.StatusBadRequest}), false},
		{fmt.Errorf("x: %w", &ihttp.Error{StatusCode: http.StatusRequestEntityTooLarge}), false},
		{fmt.Errorf("x: %w", &ihttp.Error{StatusCode: http.StatusUnauthorized}), true},
		{fmt.Errorf("x: %w", &ihttp.Error{StatusCode: http.StatusNotFound}), true}, // database not created yet
		{fmt.Errorf("x: %w", &ihttp.Error{StatusCode: http.StatusServiceUnavailable}), true},
		{fmt.Errorf("x: %w", ihttp.NewError(context.DeadlineExceeded)), true},
	}
	for _, tt := range tests {
		if got := influx.Retryable(tt.err); got != tt.want {
			t.Errorf("Retryable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
