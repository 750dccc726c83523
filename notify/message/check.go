package message

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"yujing"
)

// Events lists the events a call can carry, in lifecycle order, then the
// supervision of an overdue warning (督办) and a scheduled summary.
var Events = [...]yujing.Event{
	yujing.EventRaised, yujing.EventUpgraded, yujing.EventDowngraded, yujing.EventReopened,
	yujing.EventResolved, yujing.EventAcknowledged, yujing.EventDisposed, yujing.EventClosed,
	yujing.EventOverdue, yujing.EventSummary,
}

// SampleSummary is the text alerting writes for a summary (Alert.Message
// of an EventSummary call), as the sample calls carry it.
const SampleSummary = "【每日预警汇总】07-13 09:30 至 07-14 09:30：新增预警 3 条（红1、橙1、黄1）；未闭环 2 条，" +
	"其中未响应 1 条、超时督办 1 条；预警最多：星火化工园区三厂东区液化烃罐区 2 条，乙厂 1 条。"

// SampleAnswerURL is the answer link of the sample calls New renders: a
// short host and a 16-character token. The built-in SMS templates fit two
// segments with links up to this long in every case, and usually with much
// longer ones; see README.md.
const SampleAnswerURL = "https://yj.example.cn/a/0123456789abcdef"

// SampleCalls returns the calls New renders to check templates: one per
// level and event, with an answer link and deadline, and the same without,
// for a sensor whose site and sensor ids are long enough to be shortened in
// an SMS. Tests of other packages may use them too.
func SampleCalls() []yujing.Call {
	start := time.Date(2025, 7, 14, 9, 30, 0, 0, DefaultLocation)
	var calls []yujing.Call
	for _, answer := range []bool{true, false} {
		for _, l := range yujing.Levels {
			for _, e := range Events {
				resolved := start.Add(40 * time.Minute)
				c := yujing.Call{
					ID: fmt.Sprintf("42-%s-%s-p1-sms", l, e),
					Alert: yujing.Alert{
						ID: 42, Rule: "gas-lel-high", Sensor: "tank-farm-east-lel-detector-07",
						Site: "xinghuo-chemical-industrial-park-plant-3", Family: yujing.FamilyHazard,
						Metric: "lel", Unit: "%LEL", Level: l, State: yujing.StateFiring,
						Value: 55.5, Threshold: 50, Message: "储罐区可燃气体浓度超限",
						StartedAt: start, UpdatedAt: start.Add(time.Minute), ResolvedAt: &resolved,
					},
					Event:   e,
					Person:  yujing.Person{ID: "p1", Name: "张三", Phone: "13800000000"},
					Channel: "sms",
					Created: start.Add(time.Minute),
				}
				if e == yujing.EventSummary {
					c.Alert = yujing.Alert{Rule: "summary:每日预警汇总", Level: l, State: yujing.StateFiring,
						Message: SampleSummary, StartedAt: start, UpdatedAt: start}
				}
				c.Created = eventTime(c).Add(time.Minute)
				if answer && e != yujing.EventSummary {
					c.AnswerURL = SampleAnswerURL
					c.Deadline = c.Created.Add(15 * time.Minute)
				}
				calls = append(calls, c)
				if e != yujing.EventSummary {
					// The same event of a warning another system issued
					// (alerting/issued): a headline and a text, no sensor.
					ic := c
					ic.ID = strings.Replace(c.ID, "42-", "43-", 1)
					ic.Alert.ID, ic.Alert.Rule, ic.Alert.Family = 43, yujing.IssuedRulePrefix+"cap", yujing.FamilyWeather
					ic.Alert.Sensor, ic.Alert.Site = "南京市江宁区气象台,32011541600000_20250714093000#320115001", yujing.RegionSite("320115001")
					ic.Alert.Metric, ic.Alert.Unit, ic.Alert.Value, ic.Alert.Threshold = "", "", 0, 0
					ic.Alert.Message = SampleIssued
					calls = append(calls, ic)
				}
				if answer && e == yujing.EventRaised {
					// Call-and-answer goes on: a reminder, a later step, a
					// later round.
					for _, v := range []struct {
						step, round int
						tag         string
					}{{1, 0, "-remind1"}, {3, 0, ""}, {2, 1, "-remind2"}, {1, 1, ""}} {
						ec := c
						ec.ID = fmt.Sprintf("esc7-r%d-s%d-p1-p-sms%s", v.round, v.step, v.tag)
						ec.Escalation, ec.Step, ec.Round = 7, v.step, v.round
						calls = append(calls, ec)
					}
				}
			}
		}
	}
	return calls
}

// SampleIssued is the message of the sample calls about an issued
// warning: a CAP warning's headline and text, as alerting/issued/capwarn
// writes them.
const SampleIssued = "江宁区气象台发布暴雨红色预警信号（江宁区东山街道）\n过去3小时东山街道降雨量已达100毫米以上，且降雨仍将持续。防御指南：1. 政府及相关部门按照职责做好防暴雨应急和抢险工作；2. 停止集会、停课、停业（除特殊行业外）；3. 做好山洪、滑坡、泥石流等灾害的防御和抢险工作。"

// check renders every sample call for every kind and returns the first
// problem of each kind.
func (r *Renderer) check() []error {
	var errs []error
	seen := map[Kind]bool{}
	for _, c := range SampleCalls() {
		for _, k := range Kinds {
			if seen[k] {
				continue
			}
			_, err := r.Render(k, c)
			if err == nil {
				continue
			}
			seen[k] = true
			msg := err.Error()
			if errors.Is(err, ErrSMSTooLong) {
				msg = fmt.Sprintf("template \"sms\": %s for a %s %s call with a %d-character answer link",
					ErrSMSTooLong, c.Alert.Level, c.Event, len(c.AnswerURL))
			} else {
				msg = strings.TrimPrefix(msg, "message: ")
			}
			errs = append(errs, errors.New(msg))
		}
	}
	return errs
}
