package tail

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"yujing"
	"yujing/alerting"
	"yujing/alerting/lifecycle"
	"yujing/config"
	"yujing/ingest"
	"yujing/ingest/decode/all"
	"yujing/store"
)

// judge shows what yujing makes of a message: ingest's verdicts, and the
// warning levels the accepted readings reach.
type judge struct {
	check  *ingest.Checker
	eng    *alerting.Engine
	alerts *lifecycle.Alerts
	rules  map[string]*alerting.Rule
	loc    *time.Location
	out    io.Writer
}

// newJudge judges messages on reg's sensors with cfg's limits and rules,
// keeping the alerts in st, and writes to out. Nothing calls anyone: there
// is no call-and-answer.
func newJudge(ctx context.Context, cfg *config.Config, reg *ingest.Registry, st lifecycle.Store, out io.Writer) (*judge, error) {
	decoders, err := all.Registry()
	if err != nil {
		return nil, err
	}
	loc := cfg.Location
	if loc == nil {
		loc = time.UTC
	}
	alerts, err := lifecycle.New(st, reg, lifecycle.Options{Location: loc})
	if err != nil {
		return nil, err
	}
	if err := alerts.Restore(ctx); err != nil {
		return nil, err
	}
	eng, err := alerting.New(cfg.Rules, alerts, reg, alerting.Options{Location: loc})
	if err != nil {
		return nil, err
	}
	if err := eng.Restore(ctx); err != nil {
		return nil, err
	}
	j := &judge{
		check: ingest.NewChecker(ingest.Config{MaxAge: cfg.MQTT.MaxAge, MaxFuture: cfg.MQTT.MaxFuture,
			MaxUndeclaredMetrics: cfg.MQTT.MaxUndeclaredMetrics}, reg, decoders),
		eng: eng, alerts: alerts, rules: map[string]*alerting.Rule{}, loc: loc, out: out,
	}
	for _, r := range cfg.Rules {
		j.rules[r.Name] = r
	}
	return j, nil
}

// handle writes one line per verdict on a message: receive time, topic,
// sensor, metric, value (and unit) and what became of it.
func (j *judge) handle(ctx context.Context, m message) {
	at := m.at.In(j.loc).Format("2006-01-02 15:04:05")
	line := func(sensor, metric, value, outcome string) {
		fmt.Fprintf(j.out, "%s  %s  %s  %s  %s  → %s\n", at, m.topic, dash(cell(sensor)), dash(cell(metric)), dash(value), outcome)
	}
	for _, v := range j.check.Check(m.topic, m.payload, m.at) {
		value := ""
		if v.HasValue {
			value = strconv.FormatFloat(v.Value, 'g', -1, 64)
			if v.Unit != "" {
				value += " " + v.Unit
			}
		}
		// The metric has a column of its own: the message need not say it.
		msg := v.Error
		if v.Metric != "" {
			msg = strings.TrimPrefix(msg, v.Metric+": ")
		}
		switch v.Kind {
		case ingest.VerdictAccepted:
			j.eng.Tick(ctx, m.at) // holds (for:) that ran out since the last reading
			j.eng.Observe(ctx, []yujing.Reading{v.Reading})
			if s := j.firing(ctx, v.Reading, false); s != "" {
				line(v.Sensor, v.Metric, value, strings.TrimPrefix(s, "; "))
			} else {
				line(v.Sensor, v.Metric, value, "ok")
			}
		case ingest.VerdictRejected:
			faults := ""
			if v.Reason == ingest.ReasonOutOfRange {
				j.eng.ObserveFault(ctx, v.Reading, ingest.ReasonOutOfRange)
				faults = j.firing(ctx, v.Reading, true)
			}
			line(v.Sensor, v.Metric, value, "rejected: "+v.Reason+": "+msg+faults)
		case ingest.VerdictIgnored:
			line(v.Sensor, v.Metric, value, "ignored: "+v.Reason+": "+msg)
		case ingest.VerdictEvent:
			if v.EdgeNode == "" {
				line(v.Sensor, "", "", "device "+v.Event)
				continue
			}
			s := "edge node " + v.EdgeNode + " " + v.Event
			if len(v.Devices) > 0 {
				s += ", and its devices " + strings.Join(v.Devices, ", ")
			}
			line(v.Sensor, "", "", s)
		}
	}
}

// firing describes the alerts open on rd's sensor and metric after it was
// evaluated ("; rule: level (≥ threshold)" each); with faults only, those
// of fault rules.
func (j *judge) firing(ctx context.Context, rd yujing.Reading, faults bool) string {
	as, err := j.alerts.List(ctx, store.AlertFilter{States: []yujing.State{yujing.StateFiring}, Sensor: rd.Sensor})
	if err != nil {
		return "; (rules: " + err.Error() + ")"
	}
	sort.Slice(as, func(i, k int) bool { return as[i].Rule < as[k].Rule })
	var b strings.Builder
	for _, a := range as {
		r := j.rules[a.Rule]
		if a.Metric != rd.Metric || (faults && (r == nil || r.Kind != alerting.KindFault)) {
			continue
		}
		fmt.Fprintf(&b, "; %s: %s", a.Rule, a.Level)
		if r != nil && (r.Kind == "" || r.Kind == alerting.KindThreshold) {
			op := "≥"
			if r.Below.Set[a.Level] && r.Below.Value[a.Level] == a.Threshold &&
				!(r.Above.Set[a.Level] && r.Above.Value[a.Level] == a.Threshold) {
				op = "≤"
			}
			fmt.Fprintf(&b, " (%s %g)", op, a.Threshold)
		}
	}
	return b.String()
}

// cell is s as a column shows it: quoted when it holds what a terminal
// does not print as itself (a control character, invalid UTF-8), such as
// a metric name ingest refuses.
func cell(s string) string {
	if utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return s
	}
	return strconv.Quote(s)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
