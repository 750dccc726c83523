package tencentsms

import (
	"context"
	"encoding/json"
	"time"

	"yujing"
	"yujing/notify"
)

// QueryAction is the operation that asks whether an SMS was sent:
// PullSmsSendStatusByPhoneNumber (拉取单个号码短信下发状态), the status
// reports of one number from a start time (at most 7 days back), each with
// the SessionContext and SerialNo of its SMS. It reads; it does not take
// the reports away from the callbacks.
const QueryAction = "PullSmsSendStatusByPhoneNumber"

// Limits of the query.
const (
	// QuerySettle is how long yujing waits for a status report after a
	// send before it stops asking: the carrier's report reaches the
	// provider seconds after the SMS, as a rule.
	QuerySettle = time.Minute
	// queryLimit is the most reports one query returns (Limit, at most 100;
	// Offset is fixed at 0).
	queryLimit = 100
	// queryHorizon is how far back the provider keeps reports.
	queryHorizon = 7 * 24 * time.Hour
)

var _ notify.StatusQuerier = (*SMS)(nil)

// pullByPhone is the body of a PullSmsSendStatusByPhoneNumber request.
type pullByPhone struct {
	BeginTime   int64  `json:"BeginTime"`
	EndTime     int64  `json:"EndTime"`
	Offset      int    `json:"Offset"`
	Limit       int    `json:"Limit"`
	PhoneNumber string `json:"PhoneNumber"`
	SmsSdkAppID string `json:"SmsSdkAppId"`
}

// SendStatus asks the provider whether it has c, a call in doubt after a
// restart: the status reports of c's number from a minute before
// doubt.From until now are read, and one with SessionContext = c.ID means
// the provider took the SMS (its SerialNo is the provider id). A report
// comes only once the carrier answered, so none found does not prove the
// SMS was not sent: within QuerySettle of doubt.To, yujing asks again;
// after it, the provider cannot tell, and the call goes out again
// (counted as resent). Errors are classified as Send's are.
func (s *SMS) SendStatus(ctx context.Context, c yujing.Call, doubt notify.InDoubt) (notify.SendStatus, error) {
	phone, err := e164(c.Person.Phone)
	if err != nil {
		return notify.SendStatus{}, notify.Permanent(s.errorf(c, "person %s: %w", c.Person.ID, err))
	}
	now := s.now()
	begin := doubt.From.Add(-time.Minute)
	if h := now.Add(-queryHorizon + time.Minute); begin.Before(h) || doubt.From.IsZero() {
		begin = h
	}
	payload, err := json.Marshal(pullByPhone{BeginTime: begin.Unix(), EndTime: now.Unix(), Offset: 0, Limit: queryLimit,
		PhoneNumber: phone, SmsSdkAppID: s.appID})
	if err != nil {
		return notify.SendStatus{}, notify.Permanent(s.errorf(c, "encode request: %w", err))
	}
	raw, _, _, err := s.api().Do(ctx, QueryAction, payload, c.Person.Phone, phone)
	if err != nil {
		return notify.SendStatus{}, s.errorf(c, "ask whether it was sent: %w", err)
	}
	var a struct {
		Response struct {
			PullSmsSendStatusSet []struct {
				SerialNo       string `json:"SerialNo"`
				SessionContext string `json:"SessionContext"`
			} `json:"PullSmsSendStatusSet"`
		} `json:"Response"`
	}
	if err := json.Unmarshal(raw, &a); err != nil {
		return notify.SendStatus{}, s.errorf(c, "ask whether it was sent: answer is not a %s result", QueryAction)
	}
	for _, r := range a.Response.PullSmsSendStatusSet {
		if r.SessionContext == c.ID {
			return notify.SendStatus{State: notify.SendAccepted, ProviderID: r.SerialNo}, nil
		}
	}
	if since := now.Sub(doubt.To); since < QuerySettle {
		return notify.SendStatus{State: notify.SendUnknown, AskAgainIn: QuerySettle - since}, nil
	}
	return notify.SendStatus{State: notify.SendUnknown}, nil
}
