package capwarn_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"yujing"
	"yujing/alerting/issued"
	"yujing/alerting/issued/capwarn"
	"yujing/alerting/lifecycle"
	"yujing/cap"
	"yujing/internal/fakeclock"
	"yujing/store"
	"yujing/store/sqlstate"
)

// docs reads testdata/<name>.xml with its times set from t0, the time the
// first message is sent: SENT its own sent, FIRST and SECOND the first
// and second message's, EXPIRES six hours after its sent.
func doc(t *testing.T, name string, sent, t0 time.Time) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".xml"))
	if err != nil {
		t.Fatal(err)
	}
	f := func(x time.Time) string {
		return x.In(time.FixedZone("CST", 8*3600)).Format("2006-01-02T15:04:05-07:00")
	}
	return []byte(strings.NewReplacer("SENT", f(sent), "EXPIRES", f(sent.Add(6*time.Hour)), "FIRST", f(t0),
		"SECOND", f(t0.Add(90*time.Minute))).Replace(string(b)))
}

type stack struct {
	in      *capwarn.Intake
	w       *issued.Warnings
	lc      *lifecycle.Alerts
	changes []lifecycle.Change
}

func build(t *testing.T, path string, clk *fakeclock.Clock, set capwarn.Settings) *stack {
	t.Helper()
	st, err := sqlstate.OpenSQLite(t.Context(), path, sqlstate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := &stack{}
	s.lc, err = lifecycle.New(st, nil, lifecycle.Options{Now: clk.Now, OnChange: func(c lifecycle.Change) { s.changes = append(s.changes, c) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.lc.Restore(t.Context()); err != nil {
		t.Fatal(err)
	}
	if s.w, err = issued.New(s.lc, st, issued.Options{Now: clk.Now}); err != nil {
		t.Fatal(err)
	}
	if s.in, err = capwarn.New(set, s.w, st, capwarn.Options{Now: clk.Now}); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestAlertUpdateCancel: the rainstorm warning as an observatory issues
// it, message by message — an orange warning for two townships, a repeat,
// its update to red that adds the county and drops a township, the
// cancel, and the first message once more after a restart — with the
// warnings each message leaves and the alert changes told (the only
// source of calls).
func TestAlertUpdateCancel(t *testing.T) {
	clk := fakeclock.New(time.Now().Truncate(time.Second))
	t0 := clk.Now()
	path := filepath.Join(t.TempDir(), "state.db")
	s := build(t, path, clk, capwarn.Settings{})
	type w struct {
		area    string
		level   yujing.Level
		outcome issued.Outcome
	}
	type change struct {
		area  string
		event yujing.Event
		level yujing.Level
	}
	ids := map[string]int64{}
	for _, step := range []struct {
		name, doc string
		sent      time.Time
		restart   bool
		ignored   string
		want      []w
		changes   []change
	}{
		{name: "alert", doc: "alert", sent: t0, want: []w{{"320115001", yujing.Orange, issued.Raised}, {"320115002", yujing.Orange, issued.Raised}},
			changes: []change{{"320115001", yujing.EventRaised, yujing.Orange}, {"320115002", yujing.EventRaised, yujing.Orange}}},
		{name: "the same alert again", doc: "alert", sent: t0, ignored: "duplicate",
			want: []w{{"320115001", yujing.Orange, issued.Unchanged}, {"320115002", yujing.Orange, issued.Unchanged}}},
		{name: "update", doc: "update", sent: t0.Add(90 * time.Minute),
			want: []w{{"320115001", yujing.Red, issued.Upgraded}, {"320115", yujing.Red, issued.Raised}},
			changes: []change{{"320115001", yujing.EventUpgraded, yujing.Red}, {"320115", yujing.EventRaised, yujing.Red},
				{"320115002", yujing.EventResolved, yujing.Orange}}},
		{name: "the update again after a restart", doc: "update", sent: t0.Add(90 * time.Minute), restart: true, ignored: "duplicate",
			want: []w{{"320115", yujing.Red, issued.Unchanged}, {"320115001", yujing.Red, issued.Unchanged}, {"320115002", yujing.Orange, issued.Ended}}},
		{name: "cancel", doc: "cancel", sent: t0.Add(4 * time.Hour),
			want:    []w{{"320115", yujing.Red, issued.Ended}, {"320115001", yujing.Red, issued.Ended}, {"320115002", yujing.Orange, issued.Ended}},
			changes: []change{{"320115", yujing.EventResolved, yujing.Red}, {"320115001", yujing.EventResolved, yujing.Red}}},
		{name: "the first alert, late, after a restart", doc: "alert", sent: t0, restart: true, ignored: "duplicate",
			want: []w{{"320115", yujing.Red, issued.Ended}, {"320115001", yujing.Red, issued.Ended}, {"320115002", yujing.Orange, issued.Ended}}},
	} {
		if step.restart {
			s = build(t, path, clk, capwarn.Settings{})
		}
		s.changes = nil
		clk.Set(step.sent.Add(time.Second))
		res, err := s.in.Accept(t.Context(), doc(t, step.doc, step.sent, t0))
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if res.Ignored != step.ignored {
			t.Errorf("%s: ignored %q, want %q", step.name, res.Ignored, step.ignored)
		}
		var got []w
		for _, x := range res.Warnings {
			got = append(got, w{x.Area, x.Level, x.Outcome})
			if id, ok := ids[x.Area]; ok && id != x.AlertID {
				t.Errorf("%s: area %s is alert %d, was %d: want the same alert throughout", step.name, x.Area, x.AlertID, id)
			}
			ids[x.Area] = x.AlertID
		}
		if fmt.Sprint(got) != fmt.Sprint(step.want) {
			t.Errorf("%s: warnings\n got %v\nwant %v", step.name, got, step.want)
		}
		var told []change
		for _, c := range s.changes {
			code, _ := yujing.SiteRegion(c.Alert.Site)
			told = append(told, change{code, c.Transition.Event, c.Alert.Level})
		}
		if fmt.Sprint(told) != fmt.Sprint(step.changes) {
			t.Errorf("%s: changes\n got %v\nwant %v", step.name, told, step.changes)
		}
	}
	// What the officials read, and the reasons kept.
	a, hist, err := s.lc.Get(t.Context(), ids["320115001"])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a.Message, "江宁区气象台将暴雨橙色预警信号升级为红色（江宁区东山街道）\n过去3小时东山街道降雨量已达100毫米以上") ||
		!strings.Contains(a.Message, "防御指南：1. 政府及相关部门") {
		t.Errorf("message %q", a.Message)
	}
	last := hist[len(hist)-1]
	if last.Event != yujing.EventResolved || last.Reason != issued.ReasonCancelled || last.Note != "发布单位解除预警：江宁区气象台解除暴雨红色预警信号" ||
		last.Actor != "issued:cap" {
		t.Errorf("last transition %+v, want resolved, cancelled, with the cancel's note", last)
	}
	dropped, err := s.w.Get(t.Context(), capwarn.Source, "南京市江宁区气象台,32011541600000_20260701080000#320115002")
	if err != nil || dropped.EndReason != issued.ReasonAreaRemoved {
		t.Errorf("the township the update dropped: %+v, %v; want ended area_removed", dropped, err)
	}
}

// TestRefused: a document the mapping cannot place is refused whole,
// naming the element, and changes nothing.
func TestRefused(t *testing.T) {
	clk := fakeclock.New(time.Now().Truncate(time.Second))
	t0 := clk.Now()
	good := string(doc(t, "alert", t0, t0))
	for _, c := range []struct {
		name string
		set  capwarn.Settings
		doc  string
		want string
	}{
		{"no division code", capwarn.Settings{}, strings.Replace(good, "<value>320115002</value>", "<value>江宁区</value>", 1),
			`bad CAP document: alert/info[1]/area[2]/geocode: area "江宁区淳化街道" has no administrative division code (a geocode of any valueName whose value has 6, 9 or 12 digits)`},
		{"not the configured geocode", capwarn.Settings{Geocodes: []string{"ADCODE"}}, good,
			`bad CAP document: alert/info[1]/area[1]/geocode: area "江宁区东山街道" has no administrative division code (a geocode of valueName ADCODE whose value has 6, 9 or 12 digits)`},
		{"no colour, unknown severity", capwarn.Settings{},
			strings.NewReplacer("暴雨橙色预警", "暴雨预警", "<severity>Severe</severity>", "<severity>Unknown</severity>").Replace(good),
			`bad CAP document: alert/info[1]/severity: no warning colour in event "暴雨预警" or headline, and severity "Unknown" has no level`},
		{"no info", capwarn.Settings{}, good[:strings.Index(good, "<info>")] + "</alert>",
			"bad CAP document: alert/info: required: an Alert needs an info block"},
		{"not CAP", capwarn.Settings{}, strings.Replace(good, "<sent>", "<sent>x", 1),
			"bad CAP document: line 5: alert/sent: \"x" + good[strings.Index(good, "<sent>")+6:strings.Index(good, "</sent>")] + "\" is not a CAP date-time such as 2026-07-01T08:00:00+08:00"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := build(t, filepath.Join(t.TempDir(), "s.db"), clk, c.set)
			_, err := s.in.Accept(t.Context(), []byte(c.doc))
			if err == nil || err.Error() != c.want || !errors.Is(err, capwarn.ErrBadDocument) {
				t.Fatalf("error\n got %v\nwant %s", err, c.want)
			}
			var ce *cap.Error
			if !errors.As(err, &ce) {
				t.Errorf("%v: no *cap.Error naming the element", err)
			}
			if len(s.changes) != 0 {
				t.Errorf("a refused document changed alerts: %v", s.changes)
			}
			if ws, _ := s.w.List(t.Context(), store.IssuedFilter{}); len(ws) != 0 {
				t.Errorf("a refused document left warnings: %v", ws)
			}
		})
	}
}

// TestLevels: the colour named wins over the severity, the last colour
// named in a headline that names two, and the configuration's tables
// replace the defaults.
func TestLevels(t *testing.T) {
	clk := fakeclock.New(time.Now().Truncate(time.Second))
	t0 := clk.Now()
	good := string(doc(t, "alert", t0, t0))
	for _, c := range []struct {
		name  string
		set   capwarn.Settings
		event string
		head  string
		sev   string
		want  yujing.Level
	}{
		{"colour in the event", capwarn.Settings{}, "暴雨黄色预警", "", "Extreme", yujing.Yellow},
		{"colour in the headline", capwarn.Settings{}, "暴雨", "江宁区气象台发布暴雨蓝色预警信号", "Extreme", yujing.Blue},
		{"the last colour named", capwarn.Settings{}, "暴雨", "江宁区气象台将暴雨橙色预警信号升级为红色", "Minor", yujing.Red},
		{"severity when no colour", capwarn.Settings{}, "暴雨", "暴雨预警", "Moderate", yujing.Yellow},
		{"configured severity", capwarn.Settings{Severities: map[string]yujing.Level{"Moderate": yujing.Orange}}, "暴雨", "暴雨预警", "Moderate", yujing.Orange},
		{"configured colour word", capwarn.Settings{Colours: map[string]yujing.Level{"Ⅰ级": yujing.Red}}, "防汛Ⅰ级应急响应", "", "Minor", yujing.Red},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := build(t, filepath.Join(t.TempDir(), "s.db"), clk, c.set)
			d := strings.NewReplacer("<event>暴雨橙色预警</event>", "<event>"+c.event+"</event>",
				"<headline>江宁区气象台发布暴雨橙色预警信号</headline>", "<headline>"+c.head+"</headline>",
				"<severity>Severe</severity>", "<severity>"+c.sev+"</severity>").Replace(good)
			res, err := s.in.Accept(t.Context(), []byte(d))
			if err != nil {
				t.Fatal(err)
			}
			if res.Warnings[0].Level != c.want {
				t.Errorf("level %s, want %s", res.Warnings[0].Level, c.want)
			}
		})
	}
}

// Exercise and Test messages are taken and change nothing.
func TestIgnoredStatus(t *testing.T) {
	clk := fakeclock.New(time.Now().Truncate(time.Second))
	s := build(t, filepath.Join(t.TempDir(), "s.db"), clk, capwarn.Settings{})
	d := strings.Replace(string(doc(t, "alert", clk.Now(), clk.Now())), "<status>Actual</status>", "<status>Exercise</status>", 1)
	res, err := s.in.Accept(t.Context(), []byte(d))
	if err != nil || res.Ignored != "status Exercise" || len(res.Warnings) != 0 || len(s.changes) != 0 {
		t.Errorf("Exercise: %+v, %v; changes %v: want ignored, nothing changed", res, err, s.changes)
	}
}

// SetSettings (a reload) applies to the messages that come after it.
func TestSetSettings(t *testing.T) {
	clk := fakeclock.New(time.Now().Truncate(time.Second))
	t0 := clk.Now()
	s := build(t, filepath.Join(t.TempDir(), "s.db"), clk, capwarn.Settings{})
	d := strings.NewReplacer("暴雨橙色预警", "暴雨预警", "<severity>Severe</severity>", "<severity>Moderate</severity>").Replace(string(doc(t, "alert", t0, t0)))
	res, err := s.in.Accept(t.Context(), []byte(d))
	if err != nil || res.Warnings[0].Level != yujing.Yellow {
		t.Fatalf("before: %+v %v, want yellow (Moderate)", res, err)
	}
	s.in.SetSettings(capwarn.Settings{Severities: map[string]yujing.Level{"Moderate": yujing.Orange}})
	d = strings.ReplaceAll(d, "32011541600000_20260701080000", "32011541600000_AFTER")
	res, err = s.in.Accept(t.Context(), []byte(d))
	if err != nil || res.Warnings[0].Level != yujing.Orange {
		t.Fatalf("after: %+v %v, want orange (the new table)", res, err)
	}
}
