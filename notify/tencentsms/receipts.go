package tencentsms

import (
	"fmt"
	"strings"
	"time"

	"yujing"

	"yujing/notify/internal/provider"
	"yujing/notify/internal/tencent"
)

// ReceiptAck is the answer the provider expects from a callback URL.
const ReceiptAck = `{"result":0,"errmsg":"OK"}`

// callback is one status report (短信下发状态通知) or reply (短信回复通知).
type callback struct {
	// status report
	UserReceiveTime string `json:"user_receive_time"`
	ReportStatus    string `json:"report_status"` // SUCCESS or FAIL
	ErrMsg          string `json:"errmsg"`
	Description     string `json:"description"`
	SID             string `json:"sid"` // the SerialNo of the send status
	// reply
	Text   *string `json:"text"`
	Sign   string  `json:"sign"`
	Extend string  `json:"extend"`
	Time   *int64  `json:"time"` // Unix seconds
	// both
	NationCode string `json:"nationcode"`
	Mobile     string `json:"mobile"`
}

// ParseReceipts parses a callback body: status reports (a JSON array of
// user_receive_time, nationcode, mobile, report_status, errmsg,
// description, sid) or a reply (an object of mobile, nationcode, sign,
// text, time). Tencent's callbacks do not carry SessionContext, so status
// reports are matched to calls by ProviderID (the sid, SerialNo in the
// send answer) and replies by phone number. Mainland numbers are given
// without +86.
func (s *SMS) ParseReceipts(body []byte) ([]yujing.Receipt, error) {
	items, err := provider.DecodeBatch[callback](body, "reports")
	if err != nil {
		return nil, fmt.Errorf("tencentsms %s: receipts: %w", s.name, err)
	}
	out := make([]yujing.Receipt, 0, len(items))
	for i, it := range items {
		r := yujing.Receipt{Channel: s.name, Phone: tencent.Phone(it.NationCode, it.Mobile)}
		switch {
		case it.Text != nil:
			r.Status, r.Text = yujing.ReceiptReplied, *it.Text
			if it.Time != nil {
				r.At = time.Unix(*it.Time, 0)
			}
		case it.ReportStatus != "":
			r.ProviderID = it.SID
			r.Status = yujing.ReceiptFailed
			if strings.EqualFold(it.ReportStatus, "SUCCESS") {
				r.Status = yujing.ReceiptDelivered
			}
			r.Detail = strings.TrimSpace(it.ErrMsg + " " + it.Description)
			if r.At, err = provider.ParseBeijing(it.UserReceiveTime); err != nil {
				return nil, fmt.Errorf("tencentsms %s: receipts: item %d: %w", s.name, i, err)
			}
		default:
			return nil, fmt.Errorf("tencentsms %s: receipts: item %d is neither a status report nor a reply", s.name, i)
		}
		out = append(out, r)
	}
	return out, nil
}
