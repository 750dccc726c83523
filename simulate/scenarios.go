package simulate

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"yujing"
)

// ScenarioInfo names and describes a scenario.
type ScenarioInfo struct {
	Name, Description string
}

// Scenarios lists the scenarios NewScenario knows.
func Scenarios() []ScenarioInfo {
	return []ScenarioInfo{
		{"gas-leak", "one gas detector ramps through every tier (2 → 65 %LEL), holds, falls back"},
		{"tank-overpressure", "a tank's pressure rises past every tier (0.45 → 1.3 MPa) and is relieved"},
		{"dust-collector-fault", "a dust collector's differential pressure climbs and its bearing heats up"},
		{"rainstorm", "a catchment's rain gauges accumulate a storm and the river level rises"},
		{"sensor-offline", "every sensor publishes, then half of them fall silent"},
	}
}

// Message is one publication.
type Message struct {
	Topic   string
	Sensor  string
	Payload []byte
}

// Scenario generates the readings of a scenario for a set of sensors. The
// story plays out over Period (a rise in the first half, a hold, a fall in
// the last quarter) and repeats.
type Scenario struct {
	Name    string
	Period  time.Duration
	Sensors []yujing.Sensor // every sensor that publishes, focus first
	focus   map[string]bool // the sensors the story happens to
	rnd     *rand.Rand
	next    int
}

// NewScenario prepares scenario name for sensors (typically a
// configuration's). When the configuration has no sensor the story needs,
// synthetic ones are added on the default topic layout (yujing/{site}/{id});
// when total exceeds the sensors' number, synthetic background sensors are
// added up to total.
func NewScenario(name string, sensors []yujing.Sensor, total int, period time.Duration, seed uint64) (*Scenario, error) {
	if !slices.ContainsFunc(Scenarios(), func(i ScenarioInfo) bool { return i.Name == name }) {
		var names []string
		for _, i := range Scenarios() {
			names = append(names, i.Name)
		}
		return nil, fmt.Errorf("unknown scenario %q: want one of %s", name, strings.Join(names, ", "))
	}
	if period <= 0 {
		period = 2 * time.Minute
	}
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	s := &Scenario{Name: name, Period: period, focus: map[string]bool{}, rnd: rand.New(rand.NewPCG(seed, 0x7363656e))}
	site := "sim-site"
	if len(sensors) > 0 {
		site = sensors[0].Site
	}
	pick := func(n int, ok func(*yujing.Sensor) bool, synth func(i int) yujing.Sensor) {
		found := 0
		for i := range sensors {
			if found < n && ok(&sensors[i]) {
				s.focus[sensors[i].ID] = true
				found++
			}
		}
		for i := found; i < n; i++ {
			sn := synth(i + 1)
			sn.Site = site
			sn.Topic = "yujing/" + site + "/" + sn.ID
			sn.Decoder = "json"
			sensors = append(sensors, sn)
			s.focus[sn.ID] = true
		}
	}
	switch name {
	case "gas-leak":
		pick(1, func(sn *yujing.Sensor) bool { return sn.Family == yujing.FamilyGas },
			func(i int) yujing.Sensor {
				return yujing.Sensor{ID: fmt.Sprintf("GT-SIM-%d", i), Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL"}
			})
	case "tank-overpressure":
		pick(1, func(sn *yujing.Sensor) bool { return sn.HasMetric("pressure") && sn.Family == yujing.FamilyHazard },
			func(i int) yujing.Sensor {
				return yujing.Sensor{ID: fmt.Sprintf("TK-SIM-%d", i), Family: yujing.FamilyHazard, Metric: "level",
					Units: map[string]string{"level": "m", "pressure": "MPa"}}
			})
	case "dust-collector-fault":
		pick(1, func(sn *yujing.Sensor) bool { return sn.Family == yujing.FamilyDust },
			func(i int) yujing.Sensor {
				return yujing.Sensor{ID: fmt.Sprintf("DC-SIM-%d", i), Family: yujing.FamilyDust, Metric: "diff_pressure",
					Units: map[string]string{"diff_pressure": "Pa", "bearing_temp": "°C"}}
			})
	case "rainstorm":
		pick(3, func(sn *yujing.Sensor) bool {
			return sn.Family == yujing.FamilyWeather && strings.Contains(sn.Metric, "rain")
		},
			func(i int) yujing.Sensor {
				return yujing.Sensor{ID: fmt.Sprintf("RG-SIM-%d", i), Family: yujing.FamilyWeather, Metric: "rain_1h", Unit: "mm"}
			})
		pick(1, func(sn *yujing.Sensor) bool { return sn.Family == yujing.FamilyFlood && sn.HasMetric("level") },
			func(i int) yujing.Sensor {
				return yujing.Sensor{ID: fmt.Sprintf("WL-SIM-%d", i), Family: yujing.FamilyFlood, Metric: "level", Unit: "m"}
			})
	}
	for i := len(sensors); i < total; i++ {
		id := fmt.Sprintf("SIM-%04d", i+1)
		sensors = append(sensors, yujing.Sensor{ID: id, Site: site, Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL",
			Topic: "yujing/" + site + "/" + id, Decoder: "json"})
	}
	if name == "sensor-offline" {
		// The second half of the sensors fall silent (at least one).
		n := max(1, len(sensors)/2)
		if total > 0 && total < len(sensors) {
			n = max(1, total/2)
		}
		for i := len(sensors) - n; i < len(sensors); i++ {
			s.focus[sensors[i].ID] = true
		}
	}
	// Focus first, so that a small -sensors still carries the story.
	slices.SortStableFunc(sensors, func(a, b yujing.Sensor) int {
		fa, fb := s.focus[a.ID], s.focus[b.ID]
		switch {
		case fa && !fb:
			return -1
		case fb && !fa:
			return 1
		}
		return 0
	})
	if total > 0 && total < len(sensors) {
		sensors = sensors[:max(total, 1)]
	}
	s.Sensors = sensors
	return s, nil
}

// Focus reports whether the story happens to sensor id.
func (s *Scenario) Focus(id string) bool { return s.focus[id] }

// story is the scenario's intensity at elapsed, from 0 to 1: rising over
// the first half of the period, held for a quarter, falling in the last.
func (s *Scenario) story(elapsed time.Duration) float64 {
	p := float64(elapsed%s.Period) / float64(s.Period)
	switch {
	case p < 0.5:
		return p / 0.5
	case p < 0.75:
		return 1
	default:
		return (1 - p) / 0.25
	}
}

// Next returns the next message in round-robin order over the sensors, at
// elapsed into the run with wall time now; ok is false when the sensor whose
// turn it is stays silent (sensor-offline).
func (s *Scenario) Next(elapsed time.Duration, now time.Time) (Message, bool) {
	sn := &s.Sensors[s.next%len(s.Sensors)]
	s.next++
	if s.Name == "sensor-offline" && s.focus[sn.ID] && float64(elapsed%s.Period) > float64(s.Period)/3 {
		return Message{}, false
	}
	k := s.story(elapsed)
	metrics := []string{sn.Metric}
	if len(sn.Units) > 1 {
		metrics = metrics[:0]
		for m := range sn.Units {
			metrics = append(metrics, m)
		}
		slices.Sort(metrics)
	}
	vals := map[string]float64{}
	for _, m := range metrics {
		vals[m] = s.value(sn, m, k)
	}
	var b []byte
	if len(sn.Units) > 1 {
		b, _ = json.Marshal(map[string]any{"ts": now.UnixMilli(), "values": vals})
	} else {
		b, _ = json.Marshal(map[string]any{"ts": now.UnixMilli(), "value": vals[sn.Metric]})
	}
	return Message{Topic: sn.Topic, Sensor: sn.ID, Payload: b}, true
}

func (s *Scenario) jitter(scale float64) float64 { return (s.rnd.Float64()*2 - 1) * scale }

// value is metric m of sensor sn at story intensity k.
func (s *Scenario) value(sn *yujing.Sensor, m string, k float64) float64 {
	focus := s.focus[sn.ID] && s.Name != "sensor-offline"
	lm := strings.ToLower(m)
	var v float64
	switch {
	case sn.Family == yujing.FamilyGas:
		v = 2 + s.jitter(0.5)
		if focus {
			v = 2 + 63*k + s.jitter(0.5)
		}
		return round(clamp(sn, math.Max(0, v)), 1)
	case lm == "pressure":
		v = 0.45 + s.jitter(0.01)
		if focus {
			v = 0.45 + 0.85*k + s.jitter(0.01)
		}
	case strings.Contains(lm, "temp"):
		v = 45 + s.jitter(0.5)
		if focus {
			v = 45 + 50*k + s.jitter(0.5)
		}
	case strings.Contains(lm, "diff") || lm == "dp":
		v = 800 + s.jitter(20)
		if focus {
			v = 800 + 1800*k + s.jitter(20)
		}
	case strings.Contains(lm, "rain"):
		v = math.Max(0, 0.5+s.jitter(0.5))
		if focus {
			if strings.Contains(lm, "1h") || strings.Contains(lm, "hour") {
				v = 90*k + s.jitter(1) // rolling hourly total
			} else {
				v = 8*k + s.jitter(0.3) // one report's increment
			}
		}
		v = math.Max(0, v)
	case lm == "level" && sn.Family == yujing.FamilyFlood:
		v = 3 + s.jitter(0.02)
		if focus {
			v = 3 + 4*k + s.jitter(0.02)
		}
	case lm == "level":
		v = 6 + s.jitter(0.05)
	case sn.Min != nil && sn.Max != nil:
		v = *sn.Min + (*sn.Max-*sn.Min)*0.3 + s.jitter((*sn.Max-*sn.Min)*0.01)
	default:
		v = 10 + s.jitter(0.2)
	}
	return round(clamp(sn, v), 3)
}
