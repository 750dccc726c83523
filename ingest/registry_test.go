package ingest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"yujing"
)

// TestRegistryTopics: a sensor is found on its own topic — the default
// yujing/<site>/<id>, which the registry does not store, or one of its own
// — and on no other; two sensors on one topic are refused, whichever comes
// first and whether the topic is one's default or both their own.
func TestRegistryTopics(t *testing.T) {
	sites := []yujing.Site{{ID: "p"}, {ID: "q"}}
	gasAt := func(id, site, topic string) yujing.Sensor {
		return yujing.Sensor{ID: id, Site: site, Family: yujing.FamilyGas, Topic: topic}
	}
	for _, c := range []struct {
		name    string
		sensors []yujing.Sensor
		err     string
		found   map[string]string // topic → the sensor on it ("" none)
	}{
		{name: "default topics", sensors: []yujing.Sensor{gasAt("A", "p", ""), gasAt("B", "q", "yujing/q/B")},
			found: map[string]string{"yujing/p/A": "A", "yujing/q/B": "B", "yujing/q/A": "", "yujing/p/B": "", "yujing/p": "", "yujing/p/A/x": ""}},
		{name: "own topics", sensors: []yujing.Sensor{gasAt("A", "p", "field/A"), gasAt("B", "p", "yujing/q/X")},
			found: map[string]string{"field/A": "A", "yujing/p/A": "", "yujing/q/X": "B", "yujing/p/B": ""}},
		{name: "a sensor on its neighbour's default topic", sensors: []yujing.Sensor{gasAt("A", "p", ""), gasAt("B", "p", "yujing/p/A")},
			err: `sensors "A" and "B" both publish on topic "yujing/p/A"`},
		{name: "a neighbour's default topic taken first", sensors: []yujing.Sensor{gasAt("B", "p", "yujing/p/A"), gasAt("A", "p", "")},
			err: `sensors "B" and "A" both publish on topic "yujing/p/A"`},
		{name: "one own topic twice", sensors: []yujing.Sensor{gasAt("A", "p", "t/1"), gasAt("B", "q", "t/1")},
			err: `sensors "A" and "B" both publish on topic "t/1"`},
		{name: "an id twice", sensors: []yujing.Sensor{gasAt("A", "p", ""), gasAt("A", "q", "t/1")},
			err: `sensor "A" defined twice`},
	} {
		t.Run(c.name, func(t *testing.T) {
			reg, err := NewRegistry(sites, c.sensors)
			if c.err != "" {
				if err == nil || err.Error() != c.err {
					t.Fatalf("got %v, want %s", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for topic, want := range c.found {
				got := ""
				if s, ok := reg.ByTopic(topic); ok {
					got = s.ID
					if s.Topic != topic {
						t.Errorf("ByTopic(%q).Topic = %q", topic, s.Topic)
					}
				}
				if got != want {
					t.Errorf("ByTopic(%q) = %q, want %q", topic, got, want)
				}
			}
		})
	}
}

// TestRegistrySharesWhatSensorsAlikeHave: sensors that differ only in id,
// name, location and topic come back as they went in, each with its own
// fields, and those that differ in anything else do not share it.
func TestRegistrySharesWhatSensorsAlikeHave(t *testing.T) {
	lo, hi := 0.0, 100.0
	sites := []yujing.Site{{ID: "p", Region: "320506", Industry: "化工"}}
	in := []yujing.Sensor{
		{ID: "A", Name: "1号", Site: "p", Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL", Decoder: "json", Min: &lo, Max: &hi,
			Units: map[string]string{"lel": "%LEL", "t": "℃"}, Tags: map[string]string{"area": "东"}, Interval: 10 * time.Second},
		{ID: "B", Name: "1号", Location: "罐区", Site: "p", Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL", Decoder: "json", Min: &lo, Max: &hi,
			Units: map[string]string{"t": "℃", "lel": "%LEL"}, Tags: map[string]string{"area": "东"}, Interval: 10 * time.Second, Topic: "f/B"},
		{ID: "C", Name: "2号", Site: "p", Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL", Decoder: "json", Min: &lo, Max: &hi,
			Units: map[string]string{"lel": "%LEL", "t": "℃"}, Tags: map[string]string{"area": "西"}, Interval: 10 * time.Second},
		{ID: "D", Site: "p", Family: yujing.FamilyGas, Region: "320507", Metric: "lel", Decoder: "json"},
	}
	reg, err := NewRegistry(sites, in)
	if err != nil {
		t.Fatal(err)
	}
	got := reg.Sensors()
	for i, want := range in {
		if want.Topic == "" {
			want.Topic = yujing.DefaultTopic(want.Site, want.ID)
		}
		if want.Region == "" {
			want.Region = "320506"
		}
		want.Industry = "化工"
		if fmt.Sprintf("%+v", got[i]) != fmt.Sprintf("%+v", want) {
			t.Errorf("sensor %d:\n got %+v\nwant %+v", i, got[i], want)
		}
	}
	c := reg.cat.Load()
	if c.recs[0].cls != c.recs[1].cls || c.recs[0].cls == c.recs[2].cls || c.recs[0].cls == c.recs[3].cls {
		t.Errorf("classes: A %p, B %p (want A's), C %p, D %p (want others)", c.recs[0].cls, c.recs[1].cls, c.recs[2].cls, c.recs[3].cls)
	}
}

// TestRegistryKeepsLastReadings: the newest reading of every metric, its
// time and whether it is a snapshot survive a Replace that keeps the
// sensor; an older reading does not replace a newer one.
func TestRegistryKeepsLastReadings(t *testing.T) {
	sites := []yujing.Site{{ID: "p"}}
	s := yujing.Sensor{ID: "A", Site: "p", Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL", Units: map[string]string{"lel": "%LEL", "t": "℃"}}
	reg, err := NewRegistry(sites, []yujing.Sensor{s})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().Add(-time.Minute).Truncate(time.Millisecond).UTC()
	at := t0.Add(time.Second)
	reg.record([]yujing.Reading{
		{Sensor: "A", Metric: "lel", Value: 3, Time: t0.Add(2 * time.Second)},
		{Sensor: "A", Metric: "t", Value: 21, Time: t0},
		{Sensor: "A", Metric: "lel", Value: 9, Time: t0}, // older: ignored
		{Sensor: "B", Metric: "lel", Value: 1, Time: t0}, // unknown
	}, []readingInfo{{at: at}, {at: at, snapshot: true}, {at: at}, {at: at}})
	check := func(when string) {
		st, ok := reg.Status("A", at.Add(time.Second))
		if !ok {
			t.Fatalf("%s: no status", when)
		}
		want := "lel=3@" + t0.Add(2*time.Second).Format(time.RFC3339Nano) + " %LEL; t=21@" + t0.Format(time.RFC3339Nano) + " ℃; "
		var got string
		for _, rd := range st.Last {
			got += fmt.Sprintf("%s=%g@%s %s; ", rd.Metric, rd.Value, rd.Time.Format(time.RFC3339Nano), rd.Unit)
		}
		if got != want || st.LastSeen == nil || !st.LastSeen.Equal(at) || !st.Online {
			t.Errorf("%s: last %s (want %s), seen %v, online %v", when, got, want, st.LastSeen, st.Online)
		}
		if found, snap := reg.stored("A", "t", t0); !found || !snap {
			t.Errorf("%s: stored(t) = %v, %v; want the snapshot", when, found, snap)
		}
		if found, _ := reg.stored("A", "lel", t0); found {
			t.Errorf("%s: stored(lel, t0): the older reading", when)
		}
	}
	check("recorded")
	if err := reg.Replace(sites, []yujing.Sensor{{ID: "B", Site: "p", Family: yujing.FamilyGas}, s}); err != nil {
		t.Fatal(err)
	}
	check("replaced")
	if st, _ := reg.Status("B", at); st.Last != nil || st.LastSeen != nil || st.Online {
		t.Errorf("B, new: %+v", st)
	}
}

// TestRegistryQuery: a query selects sensors by site, family, region,
// status and a search of id and name, counts all it selects and returns
// one page of them in order of id, starting after the id given.
func TestRegistryQuery(t *testing.T) {
	sites := []yujing.Site{{ID: "p", Region: "320506"}, {ID: "q", Region: "320711"}}
	gas, flood := yujing.FamilyGas, yujing.FamilyFlood
	reg, err := NewRegistry(sites, []yujing.Sensor{
		{ID: "GT-3", Name: "3号可燃气体", Site: "p", Family: gas},
		{ID: "GT-1", Name: "1号可燃气体", Site: "p", Family: gas},
		{ID: "GT-2", Name: "2号可燃气体", Site: "q", Family: gas},
		{ID: "WL-1", Name: "易涝点水位", Site: "q", Family: flood},
		{ID: "WL-2", Name: "Gauge east", Site: "p", Family: flood, Region: "320711"},
	})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	reg.record([]yujing.Reading{{Sensor: "GT-1", Metric: "value", Time: now}, {Sensor: "WL-1", Metric: "value", Time: now},
		{Sensor: "GT-2", Metric: "value", Time: now}}, []readingInfo{{at: now}, {at: now}, {at: now}})
	reg.setOffline("GT-2", true, now) // a Sparkplug DEATH after its reading
	for _, c := range []struct {
		q     SensorQuery
		want  string // the page's ids
		total int
		more  bool
	}{
		{SensorQuery{}, "GT-1 GT-2 GT-3 WL-1 WL-2", 5, false},
		{SensorQuery{Limit: 2}, "GT-1 GT-2", 5, true},
		{SensorQuery{Limit: 2, After: "GT-2"}, "GT-3 WL-1", 5, true},
		{SensorQuery{Limit: 2, After: "WL-1"}, "WL-2", 5, false},
		{SensorQuery{Limit: 2, After: "WL-2"}, "", 5, false},
		{SensorQuery{After: "GT-15"}, "GT-2 GT-3 WL-1 WL-2", 5, false}, // an id not there: what sorts after it
		{SensorQuery{Site: "p"}, "GT-1 GT-3 WL-2", 3, false},
		{SensorQuery{Family: flood}, "WL-1 WL-2", 2, false},
		{SensorQuery{Region: "3207"}, "GT-2 WL-1 WL-2", 3, false}, // the site's region, or the sensor's own
		{SensorQuery{Status: "online"}, "GT-1 WL-1", 2, false},
		{SensorQuery{Status: "offline", Limit: 1, After: "GT-2"}, "GT-3", 3, true},
		{SensorQuery{Q: "gt-"}, "GT-1 GT-2 GT-3", 3, false},
		{SensorQuery{Q: "EAST"}, "WL-2", 1, false},
		{SensorQuery{Q: "2号"}, "GT-2", 1, false},
		{SensorQuery{Site: "p", Family: gas, Q: "3"}, "GT-3", 1, false},
	} {
		page := reg.Query(now.Add(time.Second), c.q)
		var ids []string
		for _, st := range page.Sensors {
			ids = append(ids, st.ID)
		}
		if got := strings.Join(ids, " "); got != c.want || page.Total != c.total || page.More != c.more {
			t.Errorf("%+v: %q, total %d, more %v; want %q, %d, %v", c.q, got, page.Total, page.More, c.want, c.total, c.more)
		}
	}
}
