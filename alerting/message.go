package alerting

import (
	"slices"

	"yujing"
	"yujing/message"
)

// message writes the alert's note (Alert.Message) for event ev: package
// message writes it (message.Note) from what the engine knows of the rule,
// the site and the sensor.
func (e *Engine) message(a *yujing.Alert, r *Rule, ev yujing.Event) string {
	site := a.Site
	if s, ok := e.cat.Site(a.Site); ok && s.Name != "" {
		site = s.Name
	}
	sensor := a.Sensor
	if s, ok := e.cat.ByID(a.Sensor); ok && s.Name != "" {
		sensor = s.Name + "(" + s.ID + ")"
	}
	metric, _ := yujing.MetricName(a.Family, a.Metric)
	if metric == "" {
		metric = r.Description
	}
	if metric == "" {
		metric = a.Metric
	}
	nr := message.NoteRule{Kind: string(r.kind()), Description: r.Description, RatePer: r.RatePer,
		Above: message.Tiers(r.Above), Below: message.Tiers(r.Below), Clear: message.Tiers(r.Clear), Hysteresis: r.Hysteresis}
	if len(r.WhenStatus) > 0 {
		status := e.siteStatus(a.Site)
		nr.WhenStatus, nr.Status, nr.Applies = true, status, slices.Contains(r.WhenStatus, status)
	}
	return message.Note(a, ev, message.NoteFacts{Site: site, Sensor: sensor, Metric: metric, Rule: nr, Location: e.loc})
}
