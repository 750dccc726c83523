package web_test

import (
	"cmp"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"yujing"
	"yujing/ingest"
	"yujing/store/sqlite"
	"yujing/web"
)

// readingsFixture serves the readings API over a real embedded reading
// store holding a gas detector's %LEL (one reading a minute for the last
// 12 hours, ramping up) and a tank's level and pressure.
func readingsFixture(t *testing.T, now time.Time) *httptest.Server {
	t.Helper()
	reg, err := ingest.NewRegistry([]yujing.Site{{ID: "plant", Name: "甲化工厂"}}, []yujing.Sensor{
		{ID: "GT-1", Site: "plant", Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL"},
		{ID: "TK-1", Site: "plant", Family: yujing.FamilyHazard, Metric: "level", Units: map[string]string{"level": "m", "pressure": "MPa"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := sqlite.OpenReadings(t.Context(), filepath.Join(t.TempDir(), "readings.db"), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rs.Close() })
	var batch []yujing.Reading
	for i := range 12 * 60 {
		at := now.Add(-time.Duration(12*60-i) * time.Minute)
		batch = append(batch,
			yujing.Reading{Sensor: "GT-1", Site: "plant", Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL", Value: float64(i) / 10, Time: at},
			yujing.Reading{Sensor: "TK-1", Site: "plant", Family: yujing.FamilyHazard, Metric: "pressure", Unit: "MPa", Value: 0.4, Time: at})
	}
	if err := rs.Write(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	srv := web.New(web.Options{Alerts: testEngine(t, reg, func() time.Time { return now }), Sensors: reg, Readings: rs, Now: func() time.Time { return now }})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return hs
}

func TestReadingsAPI(t *testing.T) {
	now := time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC)
	hs := readingsFixture(t, now)
	rfc := func(t time.Time) string { return url.QueryEscape(t.Format(time.RFC3339)) }
	cases := []struct {
		name     string
		sensor   string // "" is GT-1
		query    string
		metric   string
		unit     string
		count    int
		first    float64 // value of the first point
		from, to time.Time
	}{
		{"default: the last 6 hours of the sensor's own metric", "", "", "lel", "%LEL", 6 * 60, 36, now.Add(-6 * time.Hour), now},
		{"explicit window, from inclusive and to exclusive", "", "?from=" + rfc(now.Add(-2*time.Hour)) + "&to=" + rfc(now.Add(-time.Hour)),
			"lel", "%LEL", 60, 60, now.Add(-2 * time.Hour), now.Add(-time.Hour)},
		{"from only: 6 hours on, not past now", "", "?from=" + rfc(now.Add(-3*time.Hour)), "lel", "%LEL", 3 * 60, 54, now.Add(-3 * time.Hour), now},
		{"to only: the 6 hours before", "", "?to=" + rfc(now.Add(-6*time.Hour)), "lel", "%LEL", 6 * 60, 0, now.Add(-12 * time.Hour), now.Add(-6 * time.Hour)},
		{"another metric of a multi-metric device, its unit", "TK-1", "?metric=pressure&from=" + rfc(now.Add(-10*time.Minute)),
			"pressure", "MPa", 10, 0.4, now.Add(-10 * time.Minute), now},
		{"a window with nothing in it", "", "?from=" + rfc(now.Add(-48*time.Hour)) + "&to=" + rfc(now.Add(-47*time.Hour)),
			"lel", "%LEL", 0, 0, now.Add(-48 * time.Hour), now.Add(-47 * time.Hour)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sensor := cmp.Or(c.sensor, "GT-1")
			u := hs.URL + "/api/v1/sensors/" + sensor + "/readings" + c.query
			var got web.ReadingSeries
			if code := getInto(t, u, &got); code != http.StatusOK {
				t.Fatalf("status %d", code)
			}
			if got.Metric != c.metric || got.Unit != c.unit || got.Count != c.count || len(got.Points) != c.count || got.Downsampled {
				t.Fatalf("metric %q unit %q count %d points %d downsampled %v; want %q %q %d", got.Metric, got.Unit, got.Count, len(got.Points), got.Downsampled, c.metric, c.unit, c.count)
			}
			if !got.From.Equal(c.from) || !got.To.Equal(c.to) {
				t.Errorf("window %s – %s, want %s – %s", got.From, got.To, c.from, c.to)
			}
			if c.count > 0 && math.Abs(got.Points[0].Value-c.first) > 1e-9 {
				t.Errorf("first value %v, want %v", got.Points[0].Value, c.first)
			}
			for i, p := range got.Points {
				if p.Time.Before(c.from) || !p.Time.Before(c.to) || (i > 0 && !p.Time.After(got.Points[i-1].Time)) {
					t.Fatalf("point %d at %s: outside the window or out of order", i, p.Time)
				}
			}
		})
	}
}

func TestReadingsAPIErrors(t *testing.T) {
	now := time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC)
	hs := readingsFixture(t, now)
	cases := []struct {
		path string
		code int
		want string
	}{
		{"/api/v1/sensors/NOPE/readings", 404, "sensor NOPE"},
		{"/api/v1/sensors/TK-1/readings?metric=flow", 400, `metric: sensor TK-1 does not report "flow"`},
		{"/api/v1/sensors/GT-1/readings?from=yesterday", 400, `from: want an RFC 3339 time`},
		{"/api/v1/sensors/GT-1/readings?to=2025-07-01", 400, `to: want an RFC 3339 time`},
		{"/api/v1/sensors/GT-1/readings?from=2025-07-01T10:00:00Z&to=2025-07-01T09:00:00Z", 400, "from: 2025-07-01T10:00:00Z is not before to 2025-07-01T09:00:00Z"},
		{"/api/v1/sensors/GT-1/readings?from=2025-01-01T00:00:00Z&to=2025-07-01T00:00:00Z", 400, "longer than 31 days"},
		{"/api/v1/sensors/GT-1/readings?points=1", 400, "points: want a whole number from 2 to 1000"},
		{"/api/v1/sensors/GT-1/readings?points=5000", 400, "points: want a whole number from 2 to 1000"},
	}
	for _, c := range cases {
		var e struct{ Error string }
		if code := getInto(t, hs.URL+c.path, &e); code != c.code || !strings.Contains(e.Error, c.want) {
			t.Errorf("GET %s: %d %q, want %d with %q", c.path, code, e.Error, c.code, c.want)
		}
	}

	// A server without a reading store says so.
	reg, _ := ingest.NewRegistry([]yujing.Site{{ID: "p"}}, []yujing.Sensor{{ID: "S", Site: "p", Family: yujing.FamilyGas, Metric: "lel"}})
	bare := httptest.NewServer(web.New(web.Options{Alerts: testEngine(t, reg, time.Now), Sensors: reg}).Handler())
	defer bare.Close()
	var e struct{ Error string }
	if code := getInto(t, bare.URL+"/api/v1/sensors/S/readings", &e); code != 404 || e.Error != "readings are not kept here" {
		t.Errorf("without a store: %d %q", code, e.Error)
	}
}

// TestReadingsAPIDownsamplesKeepingSpikes: 12 hours of one-minute readings
// asked for as 100 points come back as at most 100, and a one-minute spike
// over the red threshold is still among them.
func TestReadingsAPIDownsamplesKeepingSpikes(t *testing.T) {
	now := time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC)
	hs := readingsFixture(t, now)
	var got web.ReadingSeries
	u := hs.URL + "/api/v1/sensors/GT-1/readings?points=100&from=" + url.QueryEscape(now.Add(-12*time.Hour).Format(time.RFC3339)) +
		"&to=" + url.QueryEscape(now.Format(time.RFC3339))
	if code := getInto(t, u, &got); code != 200 {
		t.Fatalf("status %d", code)
	}
	if got.Count != 720 || !got.Downsampled || len(got.Points) > 100 || len(got.Points) < 90 {
		t.Fatalf("count %d downsampled %v points %d; want 720 readings in ≤ 100 points", got.Count, got.Downsampled, len(got.Points))
	}
	if first, last := got.Points[0].Value, got.Points[len(got.Points)-1].Value; first != 0 || last != 71.9 {
		t.Errorf("ramp ends %v … %v, want 0 … 71.9 (the lowest and the highest reading)", first, last)
	}

	var rs []yujing.Reading
	base := now.Add(-time.Hour)
	for i := range 3600 {
		v := 5.0
		if i == 1234 {
			v = 62 // one second over the red threshold
		}
		rs = append(rs, yujing.Reading{Value: v, Time: base.Add(time.Duration(i) * time.Second)})
	}
	pts := web.Downsample(rs, 1000)
	if len(pts) > 1000 || !slices.ContainsFunc(pts, func(p web.ReadingPoint) bool { return p.Value == 62 && p.Time.Equal(rs[1234].Time) }) {
		t.Fatalf("downsampled to %d points, spike kept: %v", len(pts), slices.ContainsFunc(pts, func(p web.ReadingPoint) bool { return p.Value == 62 }))
	}
}

// FuzzDownsample: whatever the series and the limit, the points are at
// most the limit, in time order, taken from the series, and keep its
// highest and lowest value.
func FuzzDownsample(f *testing.F) {
	f.Add([]byte{1, 2, 3, 200, 4, 5}, 4)
	f.Add([]byte{9}, 2)
	f.Add([]byte{}, 1000)
	f.Add(make([]byte, 300), 7)
	f.Fuzz(func(t *testing.T, vals []byte, limit int) {
		if limit < 2 || limit > web.MaxReadingPoints {
			return
		}
		t0 := time.Unix(1_700_000_000, 0)
		rs := make([]yujing.Reading, len(vals))
		hi, lo := math.Inf(-1), math.Inf(1)
		for i, v := range vals {
			rs[i] = yujing.Reading{Value: float64(v), Time: t0.Add(time.Duration(i) * time.Second)}
			hi, lo = max(hi, float64(v)), min(lo, float64(v))
		}
		pts := web.Downsample(rs, limit)
		if len(pts) > limit || (len(rs) <= limit && len(pts) != len(rs)) {
			t.Fatalf("%d readings, limit %d: %d points", len(rs), limit, len(pts))
		}
		seenHi, seenLo := len(rs) == 0, len(rs) == 0
		for i, p := range pts {
			if i > 0 && !p.Time.After(pts[i-1].Time) {
				t.Fatalf("point %d not after point %d", i, i-1)
			}
			at := int(p.Time.Sub(t0) / time.Second)
			if at < 0 || at >= len(rs) || rs[at].Value != p.Value {
				t.Fatalf("point %d (%v at %d) is not a reading of the series", i, p.Value, at)
			}
			seenHi, seenLo = seenHi || p.Value == hi, seenLo || p.Value == lo
		}
		if !seenHi || !seenLo {
			t.Fatalf("highest %v kept %v, lowest %v kept %v", hi, seenHi, lo, seenLo)
		}
	})
}

// getInto GETs url and decodes its JSON body into v.
func getInto(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: decode: %v", url, err)
	}
	return resp.StatusCode
}
