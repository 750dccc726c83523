package alerting_test

import (
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"yujing"
	"yujing/alerting"
	"yujing/alerting/alertingtest"
	"yujing/alerting/lifecycle"
	"yujing/config"
	"yujing/ingest"
	"yujing/store/sqlite"
)

var update = flag.Bool("update", false, "rewrite testdata/*/events.json")

// event is one line of a golden case's events.json.
type event struct {
	At     string `json:"at"` // offset from the case's start, e.g. "90s"
	Rule   string `json:"rule"`
	Sensor string `json:"sensor"`
	Event  string `json:"event"`
	Level  string `json:"level"`
	State  string `json:"state"`
}

// clock is the fake time of a golden case.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

var start = time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)

// TestGoldenSequences feeds testdata/<case>/readings.csv (offset,sensor,
// metric,value — or offset,tick to advance the clock without a reading)
// through the rules in rules.yaml and compares every alert transition with
// events.json.
func TestGoldenSequences(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/*")
	if len(dirs) == 0 {
		t.Fatal("no golden cases")
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, "rules.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Parse(filepath.Join(dir, "rules.yaml"), data, config.Options{})
			if err != nil {
				t.Fatal(err)
			}
			reg, err := ingest.NewRegistry(cfg.Sites, cfg.Sensors)
			if err != nil {
				t.Fatal(err)
			}
			st, err := sqlite.OpenState(t.Context(), filepath.Join(t.TempDir(), "state.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			clk := &clock{t: start}
			var got []event
			eng := alertingtest.New(t, cfg.Rules, st, reg, alertingtest.Options{Engine: alerting.Options{Now: clk.Now},
				Lifecycle: lifecycle.Options{OnChange: func(c lifecycle.Change) {
					a, tr := c.Alert, c.Transition
					got = append(got, event{At: tr.At.Sub(start).String(), Rule: a.Rule, Sensor: a.Sensor,
						Event: string(tr.Event), Level: a.Level.String(), State: string(a.State)})
				}}})
			f, err := os.Open(filepath.Join(dir, "readings.csv"))
			if err != nil {
				t.Fatal(err)
			}
			r := csv.NewReader(f)
			r.Comment, r.FieldsPerRecord = '#', -1
			rows, err := r.ReadAll()
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			for i, row := range rows {
				for j := range row {
					row[j] = strings.TrimSpace(row[j])
				}
				off, err := time.ParseDuration(row[0])
				if err != nil {
					t.Fatalf("readings.csv:%d: offset %q: %v", i+1, row[0], err)
				}
				now := start.Add(off)
				clk.Set(now)
				if len(row) == 2 && row[1] == "tick" {
					eng.Tick(t.Context(), now)
					continue
				}
				if len(row) != 4 && len(row) != 5 {
					t.Fatalf("readings.csv:%d: want offset,sensor,metric,value[,reading time offset] or offset,tick", i+1)
				}
				ts := now
				if len(row) == 5 {
					o, err := time.ParseDuration(row[4])
					if err != nil {
						t.Fatalf("readings.csv:%d: reading time %q: %v", i+1, row[4], err)
					}
					ts = start.Add(o)
				}
				v, err := strconv.ParseFloat(row[3], 64)
				if err != nil {
					t.Fatalf("readings.csv:%d: value: %v", i+1, err)
				}
				sn, ok := reg.ByID(row[1])
				if !ok {
					t.Fatalf("readings.csv:%d: unknown sensor %s", i+1, row[1])
				}
				eng.Observe(t.Context(), []yujing.Reading{{Sensor: sn.ID, Site: sn.Site, Family: sn.Family, Metric: row[2], Value: v, Time: ts}})
			}
			path := filepath.Join(dir, "events.json")
			if *update {
				b, _ := json.MarshalIndent(got, "", "  ")
				os.WriteFile(path, append(b, '\n'), 0o644)
				return
			}
			wantData, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update and review)", err)
			}
			var want []event
			if err := json.Unmarshal(wantData, &want); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Errorf("%d events, want %d", len(got), len(want))
			}
			for i := 0; i < max(len(got), len(want)); i++ {
				var g, w event
				if i < len(got) {
					g = got[i]
				}
				if i < len(want) {
					w = want[i]
				}
				if g != w {
					t.Errorf("event %d:\n got %+v\nwant %+v", i, g, w)
				}
			}
		})
	}
}
