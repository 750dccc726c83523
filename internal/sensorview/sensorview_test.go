package sensorview

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"yujing"
	"yujing/ingest"
	"yujing/internal/apiclient"
)

func TestAgo(t *testing.T) {
	now := time.Now()
	at := func(d time.Duration) *time.Time { t := now.Add(-d); return &t }
	for _, c := range []struct {
		t    *time.Time
		want string
	}{
		{nil, "never"},
		{&time.Time{}, "never"},
		{at(-time.Second), "just now"},
		{at(8 * time.Second), "8s ago"},
		{at(3*time.Minute + 10*time.Second), "3m ago"},
		{at(2*time.Hour + 5*time.Minute), "2h5m ago"},
		{at(47 * time.Hour), "47h0m ago"},
		{at(4*24*time.Hour + time.Hour), "4d ago"},
	} {
		if got := Ago(now, c.t); got != c.want {
			t.Errorf("Ago(%v) = %q, want %q", c.t, got, c.want)
		}
	}
}

func TestLastValues(t *testing.T) {
	for _, c := range []struct {
		st   ingest.Status
		want string
	}{
		{ingest.Status{}, ""},
		{ingest.Status{Sensor: yujing.Sensor{Metric: "lel"}, Last: []yujing.Reading{{Metric: "lel", Value: 12.5, Unit: "%LEL"}}}, "12.5 %LEL"},
		{ingest.Status{Sensor: yujing.Sensor{Metric: "level"}, Last: []yujing.Reading{
			{Metric: "pressure", Value: 0.42, Unit: "MPa"}, {Metric: "level", Value: 9.1, Unit: "m"}, {Metric: "alarm", Value: 0}}},
			"level 9.1 m, pressure 0.42 MPa, alarm 0"},
	} {
		if got := LastValues(&c.st); got != c.want {
			t.Errorf("LastValues = %q, want %q", got, c.want)
		}
	}
}

// TestStatesAndTable: the status word is fault while a fault or stuck rule
// has an open warning on the sensor (a threshold rule's is no fault),
// else online or offline; without the rules it says why fault is not told;
// the table lines up with Chinese names.
func TestStatesAndTable(t *testing.T) {
	rules := `[{"name": "gas-lel", "kind": "threshold"}, {"name": "gas-fault", "kind": "fault"}, {"name": "frozen", "kind": "stuck"}]`
	alerts := `[{"id": 1, "rule": "gas-lel", "sensor": "GT-101"}, {"id": 2, "rule": "gas-fault", "sensor": "GT-102"},
		{"id": 3, "rule": "frozen", "sensor": "TK-201"}, {"id": 4, "rule": "frozen", "sensor": "GONE-1"}]`
	var queries []string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queries = append(queries, r.URL.RequestURI())
		switch r.URL.Path {
		case "/api/v1/rules":
			if rules == "" {
				w.WriteHeader(http.StatusForbidden)
				w.Write([]byte(`{"error": "forbidden"}`))
				return
			}
			w.Write([]byte(rules))
		case "/api/v1/alerts":
			w.Write([]byte(alerts))
		default:
			http.NotFound(w, r)
		}
	}))
	defer hs.Close()
	api, err := apiclient.New(hs.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	seen := now.Add(-8 * time.Second)
	sts := []ingest.Status{
		{Sensor: yujing.Sensor{ID: "GT-101", Name: "罐区可燃气体探测器", Family: "gas", Site: "demo-plant", Metric: "lel"}, Online: true, LastSeen: &seen,
			Last: []yujing.Reading{{Metric: "lel", Value: 30, Unit: "%LEL"}}},
		{Sensor: yujing.Sensor{ID: "GT-102", Family: "gas", Site: "demo-plant", Metric: "lel"}, Online: true, LastSeen: &seen},
		{Sensor: yujing.Sensor{ID: "TK-201", Name: "1号储罐", Family: "hazard", Site: "demo-plant", Metric: "level"}},
		{Sensor: yujing.Sensor{ID: "TK-202", Name: "2号储罐", Family: "hazard", Site: "demo-plant", Metric: "level"}},
	}
	states, open, note := States(t.Context(), api, sts, "")
	want := map[string]string{"GT-101": "online", "GT-102": "fault", "TK-201": "fault", "TK-202": "offline"}
	if note != "" || len(open) != 4 || len(states) != len(want) {
		t.Fatalf("states %v, %d open, note %q", states, len(open), note)
	}
	for id, w := range want {
		if states[id] != w {
			t.Errorf("%s: %s, want %s", id, states[id], w)
		}
	}
	if q := queries[len(queries)-1]; q != "/api/v1/alerts?state=firing%2Cacknowledged%2Cdisposing" {
		t.Errorf("alerts asked as %s", q)
	}
	var b strings.Builder
	if err := WriteTable(&b, sts, states, now); err != nil {
		t.Fatal(err)
	}
	wantTable := "" +
		"ID      NAME                FAMILY  SITE        LAST VALUE  LAST SEEN  STATUS\n" +
		"GT-101  罐区可燃气体探测器  gas     demo-plant  30 %LEL     8s ago     online\n" +
		"GT-102  -                   gas     demo-plant  -           8s ago     fault\n" +
		"TK-201  1号储罐             hazard  demo-plant  -           never      fault\n" +
		"TK-202  2号储罐             hazard  demo-plant  -           never      offline\n"
	if b.String() != wantTable {
		t.Errorf("table:\n%s\nwant\n%s", b.String(), wantTable)
	}

	// One sensor: its warnings only.
	states, _, _ = States(t.Context(), api, sts[1:2], "GT-102")
	if q := queries[len(queries)-1]; q != "/api/v1/alerts?sensor=GT-102&state=firing%2Cacknowledged%2Cdisposing" || states["GT-102"] != "fault" {
		t.Errorf("one sensor: %v, asked %s", states, q)
	}

	// Without the rules: online or offline, and why fault is not told.
	rules = ""
	states, open, note = States(t.Context(), api, sts, "")
	if states["GT-102"] != "online" || open != nil || !strings.HasPrefix(note, "fault status unknown: ") || !strings.Contains(note, "403") {
		t.Errorf("no rules: %v, %v, %q", states, open, note)
	}

	var js strings.Builder
	if err := WriteJSON(&js, sts[:1], map[string]string{"GT-101": "online"}); err != nil {
		t.Fatal(err)
	}
	var items []map[string]any
	if err := json.Unmarshal([]byte(js.String()), &items); err != nil || len(items) != 1 || items[0]["id"] != "GT-101" || items[0]["status"] != "online" ||
		!strings.Contains(js.String(), "罐区可燃气体探测器") {
		t.Errorf("json: %v\n%s", err, js.String())
	}
}

func TestShow(t *testing.T) {
	lo, hi := 0.0, 100.0
	seen := time.Date(2026, 7, 1, 8, 0, 0, 0, time.Local)
	now := seen.Add(90 * time.Second)
	st := ingest.Status{Sensor: yujing.Sensor{ID: "GT-104", Name: "东门探测器", Family: "gas", Site: "demo-plant", Region: "320506",
		Topic: "yujing/demo-plant/GT-104", Decoder: "json", Metric: "lel", Unit: "%LEL", Min: &lo, Max: &hi,
		Tags: map[string]string{"vendor": "汉威"}}, Interval: "10s", LastSeen: &seen,
		Last: []yujing.Reading{{Metric: "lel", Value: 30, Unit: "%LEL", Time: seen}}}
	open := []yujing.Alert{{ID: 7, Rule: "gas-lel", Level: yujing.Yellow, State: yujing.StateFiring, StartedAt: seen, Value: 30}}
	var b strings.Builder
	Show(&b, &st, "online", open, now)
	want := "" +
		"id:          GT-104\n" +
		"name:        东门探测器\n" +
		"family:      gas 燃气\n" +
		"site:        demo-plant\n" +
		"region:      320506\n" +
		"industry:\n" +
		"location:\n" +
		"topic:       yujing/demo-plant/GT-104\n" +
		"decoder:     json\n" +
		"metric:      lel (%LEL)\n" +
		"range:       0 … 100 %LEL\n" +
		"interval:    10s (offline after 30s without a reading)\n" +
		"tags:        {vendor=汉威}\n" +
		"last seen:   2026-07-01 08:00:00 (1m ago)\n" +
		"status:      online\n" +
		"last values: lel 30 %LEL at 2026-07-01 08:00:00\n" +
		"warnings:    #7 gas-lel yellow (firing) since 2026-07-01 08:00:00, value 30\n"
	if b.String() != want {
		t.Errorf("show:\n%s\nwant\n%s", b.String(), want)
	}
}
