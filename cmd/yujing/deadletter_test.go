package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"yujing"
	"yujing/internal/testenv"
	"yujing/store/influx"
	"yujing/store/spool"
	"yujing/web"
)

// TestDeadLettersMaxValuesPerTag is issue 14 item 23 on real parts:
// InfluxDB 1.8.10 with max-values-per-tag = 5 and a site of 12 gas
// sensors. yujing says at start that the limit is too low; the readings of
// the sensors past the fifth are refused, and none is lost: each is in
// InfluxDB or kept as a dead letter, which /metrics, GET /api/v1/system
// (the console's banner) and 'yujing deadletter list' show. With the
// limit raised, 'yujing deadletter replay' writes them, and InfluxDB holds
// every reading once.
func TestDeadLettersMaxValuesPerTag(t *testing.T) {
	const sensors, rounds = 12, 4
	mq := testenv.Mosquitto(t)
	db := testenv.InfluxDB(t, testenv.WithMaxValuesPerTag(5))
	dir := t.TempDir()
	path := filepath.Join(dir, "site.yaml")
	var sensorYAML strings.Builder
	for i := range sensors {
		fmt.Fprintf(&sensorYAML, "  - {id: g%02d, site: plant-a, family: gas, metric: lel, unit: \"%%LEL\"}\n", i)
	}
	cfgText := fmt.Sprintf(`
data_dir: %s
http: {listen: "127.0.0.1:0", %s}
mqtt:
  broker: %s
  client_id: yujing-deadletter-test
influx:
  url: %s
  bucket: %s
sites:
  - {id: plant-a, name: 甲化工厂, region: "320506"}
sensors:
%s`, filepath.Join(dir, "data"), testTokenYAML, mq.URL(), db.URL, db.Bucket(), sensorYAML.String())
	if err := os.WriteFile(path, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	const adminPassword = "deadletter-admin-test-pw"
	t.Setenv("YUJING_ADMIN_PASSWORD", adminPassword)
	inst := start(t, cfg)
	logs := inst.logs.String()
	if !strings.Contains(logs, "InfluxDB's limits are lower than the configured sensors need") ||
		!strings.Contains(logs, `max-values-per-tag is 5, and tag \"sensor\" of measurement \"gas\" needs 12 values`) {
		t.Fatalf("no start-up warning about max-values-per-tag:\n%s", logs)
	}

	pub := publisher(t, mq.URL())
	base := time.Now().Add(-10 * time.Minute).Truncate(time.Millisecond).UTC()
	type key struct {
		sensor string
		ts     int64
	}
	want := map[key]float64{}
	send := func(round, n int) {
		for i := range n {
			ts := base.Add(time.Duration(round)*time.Second + time.Duration(i)*time.Millisecond)
			v := float64(round*100 + i)
			want[key{fmt.Sprintf("g%02d", i), ts.UnixNano()}] = v
			publish(t, pub, fmt.Sprintf("yujing/plant-a/g%02d", i), fmt.Sprintf(`{"value": %g, "ts": %d}`, v, ts.UnixMilli()))
		}
	}
	w, err := influx.New(influx.Config{URL: db.URL, Bucket: db.Bucket()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// inInflux returns the readings InfluxDB holds.
	inInflux := func() map[key]float64 {
		got := map[key]float64{}
		for i := range sensors {
			rs, err := w.Query(context.Background(), fmt.Sprintf("g%02d", i), "lel", base.Add(-time.Minute), time.Now().Add(time.Minute))
			if err != nil {
				t.Fatalf("query: %v", err)
			}
			for _, r := range rs {
				got[key{r.Sensor, r.Time.UnixNano()}] = r.Value
			}
		}
		return got
	}
	// Five sensors first: InfluxDB checks the limit against the values it
	// already has, so one request with all twelve would go through.
	send(0, 5)
	waitFor(t, 20*time.Second, "the first 5 readings in InfluxDB", func() bool { return len(inInflux()) == 5 })
	for round := 1; round <= rounds; round++ {
		send(round, sensors)
	}
	total := 5 + rounds*sensors
	deadDir := spool.DeadLetterDir(filepath.Join(dir, "data", "spool"))
	var kept map[key]float64
	waitFor(t, 30*time.Second, "every reading in InfluxDB or kept as a dead letter", func() bool {
		got := inInflux()
		kept = map[key]float64{}
		if err := spool.ScanDeadLetters(deadDir, true, func(dl spool.DeadLetter) error {
			for _, r := range dl.Readings {
				got[key{r.Sensor, r.Time.UnixNano()}] = r.Value
				kept[key{r.Sensor, r.Time.UnixNano()}] = r.Value
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return len(got) >= total
	})
	for k := range want {
		if _, ok := kept[k]; !ok && k.sensor >= "g05" {
			t.Errorf("reading of %s at %d, past the limit, is not a dead letter", k.sensor, k.ts)
		}
	}
	if strings.Contains(inst.logs.String(), "dropped them") {
		t.Errorf("yujing says it dropped readings:\n%s", inst.logs.String())
	}

	// /metrics and the console's system status say so.
	api := "http://" + inst.http
	var held float64
	waitFor(t, 10*time.Second, "the dead-letter gauge", func() bool {
		held = metricValue(inst.http, "yujing_store_dead_letter_readings")
		return held >= float64(len(kept))
	})
	if n := metricValue(inst.http, `yujing_store_refused_readings_total{reason="max_values_per_tag"}`); n != held {
		t.Errorf("refused counter %g, want %g (the readings kept)", n, held)
	}
	var st web.SystemStatus
	getJSON(t, api+"/api/v1/system", &st)
	if len(st.Warnings) != 1 || st.Warnings[0].Kind != web.SystemStoreRefused || float64(st.Warnings[0].Readings) != held ||
		st.Warnings[0].Reasons[influx.ReasonMaxValuesPerTag] != int64(held) || !strings.Contains(st.Warnings[0].How, "yujing deadletter replay") {
		t.Errorf("GET /api/v1/system = %+v, want a store_refused warning for %g readings", st, held)
	}

	t.Logf("%d of %d readings kept as dead letters (%d of them past the limit)", int(held), total, rounds*(sensors-5))
	// The console shows the red banner.
	page := newBrowser(t, chromiumPath(t), artifactsDir(t), time.Minute)
	page.do("open the console", chromedp.Navigate(api+"/"))
	page.login("admin", adminPassword)
	page.wait("the red banner", fmt.Sprintf(`(() => { const b = document.querySelector("#sysbanner");
		return b !== null && !b.hidden && b.textContent.includes("存储拒收 %d 条读数，已保存待重放") && b.textContent.includes("max-values-per-tag"); })()`, int(held)), 10*time.Second)
	page.shot("dead-letters")

	// The command lists them while yujing runs, and will not replay them
	// under its feet.
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"deadletter", "list", "-config", path}, &out, &errOut); code != 0 ||
		!strings.Contains(out.String(), fmt.Sprintf("%d readings InfluxDB refused for good are kept", int(held))) ||
		!strings.Contains(out.String(), "max_values_per_tag") || !strings.Contains(out.String(), "max-values-per-tag limit exceeded") {
		t.Errorf("deadletter list: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	out.Reset()
	errOut.Reset()
	if code := run(t.Context(), []string{"deadletter", "replay", "-config", path}, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "A running yujing serve holds them") {
		t.Errorf("deadletter replay while serve runs: exit %d\n%s%s", code, out.String(), errOut.String())
	}

	// The operator raises the limit; with yujing stopped, the replay
	// writes them.
	inst.stop()
	db.Stop()
	db.SetMaxValuesPerTag(0)
	db.Start()
	out.Reset()
	errOut.Reset()
	if code := run(t.Context(), []string{"deadletter", "replay", "-config", path}, &out, &errOut); code != 0 ||
		!strings.Contains(out.String(), fmt.Sprintf("InfluxDB took %d readings; 0 refused again", int(held))) {
		t.Fatalf("deadletter replay: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	got := inInflux()
	if len(got) != total {
		t.Errorf("InfluxDB holds %d readings, want %d", len(got), total)
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("reading of %s at %d: %v (%v), want %g", k.sensor, k.ts, g, ok, v)
		}
	}
	out.Reset()
	if code := run(t.Context(), []string{"deadletter", "list", "-config", path}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "no dead letters") {
		t.Errorf("deadletter list after the replay: exit %d\n%s", code, out.String())
	}
}

// TestDeadletterCommand: list, drop and the command's refusals, on dead
// letters written by the spool, without a server.
func TestDeadletterCommand(t *testing.T) {
	data := t.TempDir()
	d, err := spool.OpenDeadLetters(spool.DeadLetterDir(filepath.Join(data, "spool")), spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	for i, reason := range []string{"max_values_per_tag", "max_values_per_tag", "field_type_conflict"} {
		rs := []yujing.Reading{{Sensor: fmt.Sprintf("g%d", i), Site: "plant-a", Family: "gas", Metric: "lel", Value: 1, Time: at}}
		if err := d.Add(t.Context(), spool.DeadLetter{At: at.Add(time.Duration(i) * time.Minute), Reason: reason, Err: "answer " + reason, Readings: rs}); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	demo, err := loadConfig("") // -config left out: the demo's time zone
	if err != nil {
		t.Fatal(err)
	}
	local := func(t time.Time) string { return t.In(demo.Location).Format(time.RFC3339) }
	tests := []struct {
		name string
		args []string
		code int
		out  []string // in stdout, in order
		err  string   // in stderr
	}{
		{"no command", []string{"deadletter"}, 2, nil, "Usage:"},
		{"unknown", []string{"deadletter", "purge"}, 2, nil, `unknown command "purge"`},
		{"list", []string{"deadletter", "list", "-data", data}, 0, []string{
			"3 readings InfluxDB refused for good are kept",
			"REASON", "max_values_per_tag", "2", "2", local(at), local(at.Add(time.Minute)),
			"field_type_conflict", "1", "1",
			"max_values_per_tag: sensors g0, g1", "InfluxDB said: answer max_values_per_tag",
			"yujing deadletter replay"}, ""},
		{"replay without influx", []string{"deadletter", "replay", "-data", data}, 2, nil, "has no influx section"},
		{"drop without -yes", []string{"deadletter", "drop", "-data", data}, 2, nil, "add -yes"},
		{"drop one reason", []string{"deadletter", "drop", "-yes", "-reason", "field_type_conflict", "-data", data}, 0,
			[]string{"dropped 1 readings; 2 dead-letter readings left"}, ""},
		{"drop the rest", []string{"deadletter", "drop", "-yes", "-data", data}, 0, []string{"dropped 2 readings; 0 dead-letter readings left"}, ""},
		{"list empty", []string{"deadletter", "list", "-data", data}, 0, []string{"no dead letters"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(t.Context(), tt.args, &out, &errOut)
			if code != tt.code || !strings.Contains(errOut.String(), tt.err) {
				t.Fatalf("exit %d, want %d; stderr %q, want %q\n%s", code, tt.code, errOut.String(), tt.err, out.String())
			}
			rest := out.String()
			for _, w := range tt.out {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("stdout lacks %q (in order):\n%s", w, out.String())
				}
				rest = rest[i+len(w):]
			}
		})
	}
}
