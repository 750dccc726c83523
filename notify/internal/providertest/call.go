package providertest

import (
	"time"

	"yujing"
)

// Started is when the warning of GasCall started: 2025-07-14 09:30 in
// Beijing, a value the messages show, never compared with a clock.
var Started = time.Date(2025, 7, 14, 9, 30, 0, 0, time.FixedZone("CST", 8*3600))

// Phone is the number of the person GasCall calls.
const Phone = "13800000000"

// GasCall is the call most channel tests send: warning 42 of rule
// gas-lel-high, red, sensor gas-01 at site plant-a reading 55.5 %LEL over
// a threshold of 50, started at Started and updated a minute later; the
// event raised, to person p1 (张三, Phone). id and channel name the call;
// a test changes what its channel needs.
func GasCall(id, channel string) yujing.Call {
	return yujing.Call{
		ID: id,
		Alert: yujing.Alert{
			ID: 42, Rule: "gas-lel-high", Sensor: "gas-01", Site: "plant-a", Family: yujing.FamilyGas,
			Metric: "lel", Unit: "%LEL", Level: yujing.Red, State: yujing.StateFiring,
			Value: 55.5, Threshold: 50, StartedAt: Started, UpdatedAt: Started.Add(time.Minute),
		},
		Event:   yujing.EventRaised,
		Person:  yujing.Person{ID: "p1", Name: "张三", Phone: Phone},
		Channel: channel,
		Created: Started,
	}
}
