package alertmanager

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"yujing"
	"yujing/internal/fakeclock"
)

// book records what the receiver hands the lifecycle: the open warnings
// and every call, so a test can check that a re-send changes nothing.
type book struct {
	mu     sync.Mutex
	open   map[string]Warning
	calls  []string
	fail   error
	refuse string // an alert name the lifecycle refuses
}

func (b *book) Issue(_ context.Context, w Warning) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail != nil {
		return b.fail
	}
	if w.Name == b.refuse && w.Name != "" {
		return fmt.Errorf("%w: a reason of the lifecycle's", ErrRefused)
	}
	if b.open == nil {
		b.open = map[string]Warning{}
	}
	prev, had := b.open[w.Key]
	switch {
	case !had:
		b.calls = append(b.calls, fmt.Sprintf("raise %s %s", w.Name, w.Level))
	case prev.Level != w.Level:
		b.calls = append(b.calls, fmt.Sprintf("level %s %s→%s", w.Name, prev.Level, w.Level))
	}
	b.open[w.Key] = w
	return nil
}

func (b *book) End(_ context.Context, key string, _ Ending) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if w, ok := b.open[key]; ok {
		b.calls = append(b.calls, "end "+w.Name)
		delete(b.open, key)
	}
	return nil
}

func (b *book) Current(_ context.Context, key string) (Warning, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	w, ok := b.open[key]
	return w, ok, nil
}

func (b *book) log() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.calls, "; ")
}

func testMapper() *Mapper {
	sites := map[string]bool{"plant-a": true, "plant-b": true}
	return NewMapper(Mapping{
		Levels:        map[string]yujing.Level{"Critical": yujing.Red, "warning": yujing.Orange, "info": yujing.Blue},
		SiteMap:       []SiteRule{{Label: "job", Value: "node-b", Site: "plant-b"}},
		DefaultFamily: yujing.FamilyPower,
	}, func(s string) bool { return sites[s] }, yujing.BuiltinFamilies())
}

func TestMapper(t *testing.T) {
	for _, c := range []struct {
		name   string
		labels map[string]string
		ann    map[string]string
		want   Warning // Name, Site, Sensor, Family, Level, Title, Summary
		err    string
	}{
		{"labels", map[string]string{"alertname": "HighLoad", "severity": "CRITICAL", "site": "plant-a", "instance": "10.1.2.3:9100", "family": "electrical"},
			map[string]string{"summary": "负载过高"},
			Warning{Name: "HighLoad", Site: "plant-a", Sensor: "10.1.2.3:9100", Family: yujing.FamilyElectrical, Level: yujing.Red, Title: "HighLoad（10.1.2.3:9100）", Summary: "负载过高"}, ""},
		{"site from job, no instance, default family", map[string]string{"alertname": "Down", "severity": "info", "job": "node-b"},
			map[string]string{"description": "Down: 采集器离线"},
			Warning{Name: "Down", Site: "plant-b", Sensor: "Down", Family: yujing.FamilyPower, Level: yujing.Blue, Title: "Down", Summary: "Down: 采集器离线"}, ""},
		{"text from labels", map[string]string{"alertname": "X", "severity": "warning", "site": "plant-a", "zone": "3"}, nil,
			Warning{Name: "X", Site: "plant-a", Sensor: "X", Family: yujing.FamilyPower, Level: yujing.Orange, Title: "X", Summary: `{severity="warning", site="plant-a", zone="3"}`}, ""},
		{"unknown severity", map[string]string{"alertname": "X", "severity": "page", "site": "plant-a"}, nil, Warning{},
			`severity "page" maps to no level (alertmanager.levels lists critical, info, warning)`},
		{"no severity", map[string]string{"alertname": "X", "site": "plant-a"}, nil, Warning{}, "no severity label, and alertmanager.default_level is not set"},
		{"no site", map[string]string{"alertname": "X", "severity": "info", "job": "other"}, nil, Warning{}, "no site label, no alertmanager.site_map entry matches and alertmanager.default_site is not set"},
		{"unknown site", map[string]string{"alertname": "X", "severity": "info", "site": "plant-z"}, nil, Warning{}, `site "plant-z" is not defined under sites`},
		{"unknown family", map[string]string{"alertname": "X", "severity": "info", "site": "plant-a", "family": "volcano"}, nil, Warning{}, `family "volcano" is not a family this configuration knows`},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := Alert{Labels: c.labels, Annotations: c.ann, Fingerprint: Fingerprint(c.labels)}
			w, err := testMapper().Map(a)
			if c.err != "" {
				if err == nil || !errors.Is(err, ErrUnmapped) || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want ErrUnmapped with %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := Warning{Name: w.Name, Site: w.Site, Sensor: w.Sensor, Family: w.Family, Level: w.Level, Title: w.Title, Summary: w.Summary}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("warning = %+v\nwant      %+v", got, c.want)
			}
		})
	}
	// The same alert under another severity is the same warning.
	m := testMapper()
	k1 := m.Key(Alert{Labels: map[string]string{"alertname": "X", "severity": "warning"}, Fingerprint: Fingerprint(map[string]string{"alertname": "X", "severity": "warning"})})
	k2 := m.Key(Alert{Labels: map[string]string{"alertname": "X", "severity": "critical"}, Fingerprint: Fingerprint(map[string]string{"alertname": "X", "severity": "critical"})})
	k3 := m.Key(Alert{Labels: map[string]string{"alertname": "X"}, Fingerprint: Fingerprint(map[string]string{"alertname": "X"})})
	if k1 != k2 || k1 != k3 || k1 != Fingerprint(map[string]string{"alertname": "X"}) {
		t.Errorf("keys %s, %s, %s: want one, the fingerprint without severity", k1, k2, k3)
	}
}

func post(t *testing.T, r *Receiver, body string) error {
	t.Helper()
	as, err := DecodePostable([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	invalid, err := r.Receive(t.Context(), "token:prometheus", as)
	if err != nil {
		t.Fatal(err)
	}
	return invalid
}

// What Prometheus sends over a rule's life: re-sends change nothing, a
// second severity raises the level in place and lowers it when it
// resolves, endsAt in the past resolves, an alert sent without endsAt
// (amtool) lasts the resolve timeout.
func TestReceiverLifecycle(t *testing.T) {
	clk := fakeclock.New(time.Now())
	b := &book{}
	reg := prometheus.NewRegistry()
	r, err := NewReceiver(testMapper(), b, Options{Now: clk.Now, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	at := func(d time.Duration) string { return clk.Now().Add(d).UTC().Format(time.RFC3339Nano) }
	alert := func(sev, end string) string {
		return `{"labels":{"alertname":"HighLoad","severity":"` + sev + `","site":"plant-a","instance":"h1"},"annotations":{"summary":"负载过高"},"startsAt":"` + at(-time.Minute) + `","endsAt":"` + end + `"}`
	}
	steps := []struct {
		body string
		want string
	}{
		{"[" + alert("warning", at(4*time.Minute)) + "]", "raise HighLoad orange"},
		{"[" + alert("warning", at(4*time.Minute)) + "]", "raise HighLoad orange"},
		{"[" + alert("warning", at(4*time.Minute)) + "," + alert("critical", at(4*time.Minute)) + "]", "raise HighLoad orange; level HighLoad orange→red"},
		{"[" + alert("critical", at(4*time.Minute)) + "," + alert("warning", at(4*time.Minute)) + "]", "raise HighLoad orange; level HighLoad orange→red"},
		{"[" + alert("critical", at(0)) + "]", "raise HighLoad orange; level HighLoad orange→red; level HighLoad red→orange"},
		{"[" + alert("warning", at(-time.Second)) + "]", "raise HighLoad orange; level HighLoad orange→red; level HighLoad red→orange; end HighLoad"},
	}
	for i, s := range steps {
		if err := post(t, r, s.body); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := b.log(); got != s.want {
			t.Fatalf("step %d: calls %q\nwant %q", i, got, s.want)
		}
		clk.Advance(10 * time.Second)
	}
	if len(r.Alerts()) != 0 || len(r.open) != 0 {
		t.Errorf("after the end the receiver still holds %v", r.open)
	}

	// amtool: no times. The warning lasts the resolve timeout, ends at it.
	b.calls = nil
	if err := post(t, r, `[{"labels":{"alertname":"Manual","severity":"info","site":"plant-a"},"startsAt":"0001-01-01T00:00:00.000Z","endsAt":"0001-01-01T00:00:00.000Z"}]`); err != nil {
		t.Fatal(err)
	}
	var w Warning
	for _, v := range b.open {
		w = v
	}
	if !w.Start.Equal(clk.Now()) || !w.End.Equal(clk.Now().Add(DefaultResolveTimeout)) {
		t.Errorf("amtool's alert: start %v end %v, want now %v and now+5m", w.Start, w.End, clk.Now())
	}
	if got := r.Alerts(); len(got) != 1 || got[0].Level != yujing.Blue || got[0].Alert.Name() != "Manual" {
		t.Errorf("Alerts() = %+v", got)
	}
	// Past its end it is no longer listed; the next alert of the same key
	// sent resolved ends it.
	clk.Advance(DefaultResolveTimeout + time.Second)
	if got := r.Alerts(); len(got) != 0 {
		t.Errorf("Alerts() past the end = %+v", got)
	}

	// Unmapped alerts are named; the others of the same request are taken.
	b.calls = nil
	err = post(t, r, `[{"labels":{"alertname":"A","severity":"page","site":"plant-a"}},{"labels":{"alertname":"B","severity":"info","site":"plant-a"}}]`)
	if err == nil || !strings.Contains(err.Error(), `alerts[0] {alertname="A", severity="page", site="plant-a"}: labels do not map to a warning: severity "page"`) {
		t.Errorf("invalid = %v", err)
	}
	if got := b.log(); got != "raise B blue" {
		t.Errorf("calls %q, want B raised", got)
	}

	// A resolve the receiver does not know (say, after a restart) still
	// reaches the lifecycle.
	b.calls = nil
	b.open[Fingerprint(map[string]string{"alertname": "Old", "site": "plant-a"})] = Warning{Name: "Old"}
	if err := post(t, r, `[{"labels":{"alertname":"Old","site":"plant-a","severity":"critical"},"startsAt":"`+at(-time.Hour)+`","endsAt":"`+at(-time.Minute)+`"}]`); err != nil {
		t.Fatal(err)
	}
	if got := b.log(); got != "end Old" {
		t.Errorf("calls %q, want Old ended", got)
	}

	// The lifecycle's failure is the sender's to retry.
	b.fail = errors.New("disk full")
	if _, err := r.Receive(t.Context(), "", []Alert{{Labels: map[string]string{"alertname": "C", "severity": "info", "site": "plant-a"}, Fingerprint: "x"}}); err == nil || err.Error() != "disk full" {
		t.Errorf("err = %v, want the lifecycle's", err)
	}
}

// After a restart the receiver knows nothing of the alerts firing; the
// lifecycle's warning stands for the alert that set its level: a lower
// severity re-sent first does not downgrade it, nor does its resolving
// end it; the higher one resolving does.
func TestReceiverAfterRestart(t *testing.T) {
	clk := fakeclock.New(time.Now())
	b := &book{}
	r1, err := NewReceiver(testMapper(), b, Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	at := func(d time.Duration) string { return clk.Now().Add(d).UTC().Format(time.RFC3339Nano) }
	alert := func(sev, end string) string {
		return `{"labels":{"alertname":"HighLoad","severity":"` + sev + `","site":"plant-a"},"startsAt":"` + at(-time.Minute) + `","endsAt":"` + end + `"}`
	}
	if err := post(t, r1, "["+alert("critical", at(4*time.Minute))+","+alert("warning", at(4*time.Minute))+"]"); err != nil {
		t.Fatal(err)
	}
	r2, err := NewReceiver(testMapper(), b, Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	for i, s := range []struct{ body, want string }{
		{"[" + alert("warning", at(4*time.Minute)) + "]", "raise HighLoad red"},
		{"[" + alert("warning", at(-time.Second)) + "]", "raise HighLoad red"},
		{"[" + alert("warning", at(4*time.Minute)) + "]", "raise HighLoad red"},
		{"[" + alert("critical", at(-time.Second)) + "]", "raise HighLoad red; level HighLoad red→orange"},
	} {
		if err := post(t, r2, s.body); err != nil {
			t.Fatal(err)
		}
		if got := b.log(); got != s.want {
			t.Fatalf("step %d: calls %q, want %q", i, got, s.want)
		}
	}
}

// An alert the lifecycle refuses, or whose start is after its end, is
// named; the others of the request are taken.
func TestReceiverRefusals(t *testing.T) {
	clk := fakeclock.New(time.Now())
	b := &book{refuse: "Bad"}
	r, err := NewReceiver(testMapper(), b, Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	future := clk.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	err = post(t, r, `[{"labels":{"alertname":"Bad","severity":"info","site":"plant-a"}},`+
		`{"labels":{"alertname":"Later","severity":"info","site":"plant-a"},"startsAt":"`+future+`"},`+
		`{"labels":{"alertname":"Good","severity":"info","site":"plant-a"}}]`)
	for _, want := range []string{`alerts[0] {alertname="Bad", severity="info", site="plant-a"}: refused: a reason of the lifecycle's`,
		`alerts[1] {alertname="Later", severity="info", site="plant-a"}: startsAt ` + future + ` is not before its end`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("invalid = %v, want %q", err, want)
		}
	}
	if got := b.log(); got != "raise Good blue" {
		t.Errorf("calls %q, want Good only", got)
	}
	if got := r.Alerts(); len(got) != 1 || got[0].Alert.Name() != "Good" {
		t.Errorf("Alerts() = %+v, want Good only", got)
	}
}

// Alerts whose sender stopped are forgotten once their end passed; the
// lifecycle ends their warnings by itself.
func TestReceiverForgetsExpired(t *testing.T) {
	clk := fakeclock.New(time.Now())
	b := &book{}
	r, err := NewReceiver(testMapper(), b, Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		end := clk.Now().Add(time.Minute).UTC().Format(time.RFC3339Nano)
		if err := post(t, r, fmt.Sprintf(`[{"labels":{"alertname":"A%d","severity":"info","site":"plant-a"},"endsAt":%q}]`, i, end)); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(DefaultResolveTimeout + time.Minute)
	if err := post(t, r, `[{"labels":{"alertname":"B","severity":"info","site":"plant-a"}}]`); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	n := len(r.open)
	r.mu.Unlock()
	if n != 1 {
		t.Errorf("the receiver holds %d warnings, want B's only", n)
	}
}

// A webhook's firing alert stays until the notification that resolves it,
// whatever its endsAt.
func TestReceiverWebhook(t *testing.T) {
	clk := fakeclock.New(time.Now())
	b := &book{}
	r, err := NewReceiver(testMapper(), b, Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	firing := Alert{Labels: map[string]string{"alertname": "W", "severity": "critical", "site": "plant-a"}, Webhook: true,
		StartsAt: clk.Now().Add(-time.Hour), EndsAt: clk.Now().Add(-30 * time.Minute)}
	firing.Fingerprint = Fingerprint(firing.Labels)
	if _, err := r.Receive(t.Context(), "", []Alert{firing}); err != nil {
		t.Fatal(err)
	}
	for _, w := range b.open {
		if !w.End.IsZero() || !w.Start.Equal(firing.StartsAt) {
			t.Errorf("webhook warning start %v end %v, want %v and none", w.Start, w.End, firing.StartsAt)
		}
	}
	clk.Advance(24 * time.Hour)
	if len(r.Alerts()) != 1 {
		t.Errorf("a day later: %d alerts, want the webhook's one", len(r.Alerts()))
	}
	resolved := firing
	resolved.Resolved, resolved.EndsAt = true, time.Time{}
	if _, err := r.Receive(t.Context(), "", []Alert{resolved}); err != nil {
		t.Fatal(err)
	}
	if got := b.log(); got != "raise W red; end W" {
		t.Errorf("calls %q", got)
	}
}
