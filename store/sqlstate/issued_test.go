package sqlstate

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"yujing"
	"yujing/store"
)

// Issued warnings round-trip with their labels and times, a save replaces
// the row of its (source, key), and the filters select by source, in
// force and end time; a reopened database keeps them.
func testIssuedWarnings(t *testing.T, b backend) {
	path := b.fresh(t)
	s := b.openAt(t, path)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	ends := now.Add(time.Hour)
	w := store.IssuedWarning{Source: "cap", Key: "南京市江宁区气象台,A1#320115001", AlertID: 7, Level: yujing.Orange,
		Region: "320115001", Family: yujing.FamilyWeather, Title: "江宁区暴雨橙色预警", Summary: "预计未来3小时降雨量将达50毫米以上",
		Labels: map[string]string{"event": "暴雨", "sender": "南京市江宁区气象台"}, StartsAt: now, EndsAt: &ends, UpdatedAt: now}
	if _, err := s.IssuedWarning(ctx, "cap", w.Key); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("before saving: %v, want not found", err)
	}
	if err := s.SaveIssuedWarning(ctx, w); err != nil {
		t.Fatal(err)
	}
	w.Level, w.UpdatedAt = yujing.Red, now.Add(time.Minute)
	if err := s.SaveIssuedWarning(ctx, w); err != nil {
		t.Fatal(err)
	}
	other := store.IssuedWarning{Source: "alertmanager", Key: "fp-1", AlertID: 8, Level: yujing.Yellow, Site: "plant-a",
		StartsAt: now, UpdatedAt: now}
	ended := now.Add(2 * time.Minute)
	gone := store.IssuedWarning{Source: "cap", Key: "南京市江宁区气象台,A0#320115002", AlertID: 6, Level: yujing.Blue,
		Region: "320115002", StartsAt: now, EndsAt: &ends, UpdatedAt: ended, EndedAt: &ended, EndReason: "cancelled"}
	for _, x := range []store.IssuedWarning{other, gone} {
		if err := s.SaveIssuedWarning(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	s = b.openAt(t, path)
	got, err := s.IssuedWarning(ctx, "cap", w.Key)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(normIssued(w)) {
		t.Errorf("read back\n%+v\nwant\n%+v", got, normIssued(w))
	}
	keys := func(f store.IssuedFilter) string {
		ws, err := s.IssuedWarnings(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range ws {
			out = append(out, x.Source+"/"+x.Key)
		}
		return fmt.Sprint(out)
	}
	for _, c := range []struct {
		f    store.IssuedFilter
		want string
	}{
		{store.IssuedFilter{}, "[alertmanager/fp-1 cap/南京市江宁区气象台,A0#320115002 cap/南京市江宁区气象台,A1#320115001]"},
		{store.IssuedFilter{Source: "cap"}, "[cap/南京市江宁区气象台,A0#320115002 cap/南京市江宁区气象台,A1#320115001]"},
		{store.IssuedFilter{InForce: true}, "[alertmanager/fp-1 cap/南京市江宁区气象台,A1#320115001]"},
		{store.IssuedFilter{InForce: true, EndsBefore: ends}, "[]"},
		{store.IssuedFilter{InForce: true, EndsBefore: ends.Add(time.Nanosecond)}, "[cap/南京市江宁区气象台,A1#320115001]"},
		{store.IssuedFilter{Limit: 1}, "[alertmanager/fp-1]"},
	} {
		if got := keys(c.f); got != c.want {
			t.Errorf("IssuedWarnings(%+v) = %s, want %s", c.f, got, c.want)
		}
	}
}

// normIssued is w as the database gives it back: times in UTC.
func normIssued(w store.IssuedWarning) store.IssuedWarning {
	w.StartsAt, w.UpdatedAt = w.StartsAt.UTC(), w.UpdatedAt.UTC()
	if w.EndsAt != nil {
		e := w.EndsAt.UTC()
		w.EndsAt = &e
	}
	return w
}

// A message is recorded once: the second save keeps the first row.
func testIssuedMessages(t *testing.T, b backend) {
	path := b.fresh(t)
	s := b.openAt(t, path)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	m := store.IssuedMessage{Source: "cap", ID: "南京市江宁区气象台,A2", Root: "南京市江宁区气象台,A1", Kind: "Update", Sent: now, ReceivedAt: now}
	if _, err := s.IssuedMessage(ctx, "cap", m.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("before saving: %v, want not found", err)
	}
	for i, want := range []bool{true, false} {
		x := m
		if i > 0 {
			x.Root = "another"
		}
		created, err := s.SaveIssuedMessage(ctx, x)
		if err != nil || created != want {
			t.Fatalf("save %d: created %v, %v; want %v", i, created, err, want)
		}
	}
	s = b.openAt(t, path)
	got, err := s.IssuedMessage(ctx, "cap", m.ID)
	if err != nil || got.Root != m.Root || got.Kind != "Update" || !got.Sent.Equal(now) || !got.ReceivedAt.Equal(now) {
		t.Errorf("read back %+v, %v; want %+v", got, err, m)
	}
}

// The region filter's area prefix takes the alerts about areas (issued
// warnings, site region:<code>) whose code begins with it, beside the
// region's sites; a prefix that is not digits takes no areas.
func testListAlertsAreas(t *testing.T, b backend) {
	s := b.open(t)
	ctx := t.Context()
	t0 := time.Now().UTC().Truncate(time.Second)
	var ids []int64
	for i, site := range []string{"plant-a", "region:320115001", "region:320115002", "region:330106", "region:320115"} {
		a := yujing.Alert{Rule: "issued:cap", Sensor: fmt.Sprintf("k%d", i), Site: site, Level: yujing.Orange,
			State: yujing.StateFiring, StartedAt: t0, UpdatedAt: t0}
		tr := yujing.Transition{At: t0, Event: yujing.EventRaised, ToLevel: yujing.Orange, ToState: yujing.StateFiring}
		if err := s.CreateAlert(ctx, &a, &tr); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, a.ID)
	}
	for _, c := range []struct {
		name string
		f    store.AlertFilter
		want []int
	}{
		{"the county's sites and areas", store.AlertFilter{Sites: []string{"plant-a"}, AreaPrefix: "320115"}, []int{4, 2, 1, 0}},
		{"its townships' areas", store.AlertFilter{Sites: []string{"plant-a"}, AreaPrefix: "32011500"}, []int{2, 1, 0}},
		{"a region without sites, with an area", store.AlertFilter{Sites: []string{}, AreaPrefix: "3301"}, []int{3}},
		{"a region without sites or areas", store.AlertFilter{Sites: []string{}, AreaPrefix: "3401"}, nil},
		{"no area prefix", store.AlertFilter{Sites: []string{"plant-a"}}, []int{0}},
		{"not digits: no areas", store.AlertFilter{Sites: []string{"plant-a"}, AreaPrefix: "3201%"}, []int{0}},
	} {
		as, err := s.ListAlerts(ctx, c.f)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var got, want []int64
		for _, a := range as {
			got = append(got, a.ID)
		}
		for _, i := range c.want {
			want = append(want, ids[i])
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: alerts %v, want %v", c.name, got, want)
		}
	}
}
