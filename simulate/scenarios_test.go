package simulate

import (
	"encoding/json"
	"testing"
	"time"

	"yujing"
)

func demoSensors() []yujing.Sensor {
	return []yujing.Sensor{
		{ID: "GT-101", Site: "p", Family: yujing.FamilyGas, Metric: "lel", Topic: "yujing/p/GT-101"},
		{ID: "TK-201", Site: "p", Family: yujing.FamilyHazard, Metric: "level", Units: map[string]string{"level": "m", "pressure": "MPa"}, Topic: "yujing/p/TK-201"},
		{ID: "RG-301", Site: "p", Family: yujing.FamilyWeather, Metric: "rain_1h", Topic: "yujing/p/RG-301"},
	}
}

// peak returns the highest value of metric published for sensor over one period.
func peak(t *testing.T, s *Scenario, sensor, metric string) (float64, int) {
	t.Helper()
	best, n := -1.0, 0
	now := time.Unix(0, 0)
	for i := 0; i < 200*len(s.Sensors); i++ {
		el := time.Duration(i) * s.Period / time.Duration(200*len(s.Sensors))
		m, ok := s.Next(el, now.Add(el))
		if !ok || m.Sensor != sensor {
			continue
		}
		n++
		var p struct {
			Value  *float64
			Values map[string]float64
		}
		if err := json.Unmarshal(m.Payload, &p); err != nil {
			t.Fatal(err)
		}
		v := p.Values[metric]
		if p.Value != nil {
			v = *p.Value
		}
		best = max(best, v)
	}
	return best, n
}

func TestScenarios(t *testing.T) {
	cases := []struct {
		name, sensor, metric string
		min                  float64
	}{
		{"gas-leak", "GT-101", "lel", 60},
		{"tank-overpressure", "TK-201", "pressure", 1.25},
		{"dust-collector-fault", "DC-SIM-1", "bearing_temp", 90},
		{"dust-collector-fault", "DC-SIM-1", "diff_pressure", 2400},
		{"rainstorm", "RG-301", "rain_1h", 80},
		{"rainstorm", "WL-SIM-1", "level", 6.5},
	}
	for _, c := range cases {
		s, err := NewScenario(c.name, demoSensors(), 0, time.Minute, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := peak(t, s, c.sensor, c.metric); got < c.min {
			t.Errorf("%s: %s %s peaks at %g, want ≥ %g", c.name, c.sensor, c.metric, got, c.min)
		}
	}
}

func TestSensorOfflineAndSynthetic(t *testing.T) {
	s, err := NewScenario("sensor-offline", demoSensors(), 10, time.Minute, 1)
	if err != nil {
		t.Fatal(err)
	}
	topics := map[string]bool{}
	for _, sn := range s.Sensors {
		topics[sn.Topic] = true
	}
	if len(s.Sensors) != 10 || !topics["yujing/p/SIM-0010"] || !topics["yujing/p/GT-101"] {
		t.Fatalf("sensors = %+v", s.Sensors)
	}
	silent := 0
	for i := range 10 {
		if _, ok := s.Next(40*time.Second, time.Now()); !ok {
			silent++
		}
		_ = i
	}
	if silent != 5 {
		t.Errorf("%d of 10 sensors silent after a third of the period, want 5", silent)
	}
	if _, err := NewScenario("earthquake", nil, 0, 0, 1); err == nil {
		t.Error("unknown scenario accepted")
	}
}
