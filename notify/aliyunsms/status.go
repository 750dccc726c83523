package aliyunsms

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"yujing"
	"yujing/message"
	"yujing/notify"
)

// QueryAction is the operation that asks whether an SMS was sent:
// QuerySendDetails (查询短信发送详情), the records of one number on one day
// (SendDate yyyyMMdd, Beijing time, the last 30 days), with the OutId each
// was sent with.
const QueryAction = "QuerySendDetails"

// Limits of the query.
const (
	// QuerySettle is how long after a send yujing trusts a missing record
	// to mean "not sent": the provider's records appear a few seconds
	// after it accepts an SMS (its own sample code waits 3 s before
	// querying).
	QuerySettle = 30 * time.Second
	// queryPageSize is the most records a page holds (PageSize 1–50).
	queryPageSize = 50
	// queryMaxPages bounds the pages read for one day: 1 000 SMS to one
	// number in a day.
	queryMaxPages = 20
	// queryMaxDays bounds the days asked about, latest first.
	queryMaxDays = 7
	// queryHorizon is how far back the provider keeps records.
	queryHorizon = 30 * 24 * time.Hour
)

var _ notify.StatusQuerier = (*SMS)(nil)

// queryAnswer is the part of a QuerySendDetails answer yujing reads.
type queryAnswer struct {
	SmsSendDetailDTOs struct {
		SmsSendDetailDTO []struct {
			OutID      string `json:"OutId"`
			SendStatus int    `json:"SendStatus"` // 1 waiting for the carrier's receipt, 2 failed, 3 delivered
		} `json:"SmsSendDetailDTO"`
	} `json:"SmsSendDetailDTOs"`
}

// SendStatus asks the provider whether it has c, a call in doubt after a
// restart: the SMS sent to c's number on each day from doubt.From to
// doubt.To (Beijing time; at most the 7 latest, within the provider's 30
// days) are read, and one with OutId = c.ID means the provider accepted
// it (whatever its delivery status: the receipt tells the rest). None
// found means not sent once QuerySettle has passed since doubt.To, and
// "ask again" before. Errors are classified as Send's are.
func (s *SMS) SendStatus(ctx context.Context, c yujing.Call, doubt notify.InDoubt) (notify.SendStatus, error) {
	phone, err := domesticPhone(c.Person.Phone)
	if err != nil {
		return notify.SendStatus{}, notify.Permanent(s.errorf(c, "person %s: %w", c.Person.ID, err))
	}
	now := s.now()
	for _, day := range queryDays(doubt, now) {
		for page := 1; page <= queryMaxPages; page++ {
			raw, err := s.api().Call(ctx, QueryAction, map[string]string{
				"PhoneNumber": phone, "SendDate": day, "PageSize": strconv.Itoa(queryPageSize), "CurrentPage": strconv.Itoa(page),
			}, c.Person.Phone, phone)
			if err != nil {
				return notify.SendStatus{}, s.errorf(c, "ask whether it was sent: %w", err)
			}
			var a queryAnswer
			if err := json.Unmarshal(raw, &a); err != nil {
				return notify.SendStatus{}, s.errorf(c, "ask whether it was sent: answer is not a %s result", QueryAction)
			}
			details := a.SmsSendDetailDTOs.SmsSendDetailDTO
			for _, d := range details {
				if d.OutID == c.ID {
					return notify.SendStatus{State: notify.SendAccepted}, nil
				}
			}
			if len(details) < queryPageSize {
				break
			}
		}
	}
	if since := now.Sub(doubt.To); since < QuerySettle {
		return notify.SendStatus{State: notify.SendUnknown, AskAgainIn: QuerySettle - since}, nil
	}
	return notify.SendStatus{State: notify.SendNotFound}, nil
}

// queryDays are the SendDate values (yyyyMMdd, Beijing time) on which a
// send made between doubt.From and doubt.To (and the request's time in
// flight) can be recorded, latest first: at most queryMaxDays, none older
// than the provider keeps (none at all for a send older than that).
func queryDays(doubt notify.InDoubt, now time.Time) []string {
	last := doubt.To.Add(time.Minute).In(message.Beijing)
	if n := now.In(message.Beijing); last.After(n) {
		last = n
	}
	first := doubt.From.In(message.Beijing)
	h := now.Add(-queryHorizon).In(message.Beijing)
	if first.Before(h) || doubt.From.IsZero() {
		first = h
	}
	if last.Format("20060102") < first.Format("20060102") {
		return nil
	}
	var days []string
	for d := last; len(days) < queryMaxDays; d = d.AddDate(0, 0, -1) {
		days = append(days, d.Format("20060102"))
		if d.Format("20060102") <= first.Format("20060102") {
			break
		}
	}
	return days
}
