package aliyunsms

import (
	"encoding/json"
	"fmt"
	"strings"

	"yujing"

	"yujing/notify/internal/provider"
)

// ReceiptAck is the answer the provider expects from the receiving URL of
// an HTTP batch push (HTTP 200 and this body); anything else is pushed
// again after 1, 5 and 10 minutes.
const ReceiptAck = `{"code":0,"msg":"接收成功"}`

// pushItem is one element of an SmsReport or SmsUp HTTP batch push.
type pushItem struct {
	PhoneNumber string          `json:"phone_number"`
	SendTime    string          `json:"send_time"`
	ReportTime  string          `json:"report_time"`
	Success     *bool           `json:"success"`
	ErrCode     string          `json:"err_code"`
	ErrMsg      string          `json:"err_msg"`
	BizID       string          `json:"biz_id"`
	OutID       string          `json:"out_id"`
	Content     *string         `json:"content"`
	SignName    string          `json:"sign_name"`
	DestCode    string          `json:"dest_code"`
	SequenceID  json.RawMessage `json:"sequence_id"`
}

// ParseReceipts parses the body of an HTTP batch push: an SmsReport
// (delivery reports: phone_number, success, err_code, biz_id, out_id,
// report_time) or an SmsUp (inbound SMS: phone_number, content, send_time),
// a JSON array of one or more items. Delivery reports carry the call id
// (out_id, the OutId sent with the SMS); an inbound SMS carries only the
// number it came from, so replies are matched to calls by phone number.
func (s *SMS) ParseReceipts(body []byte) ([]yujing.Receipt, error) {
	items, err := provider.DecodeBatch[pushItem](body, "reports")
	if err != nil {
		return nil, fmt.Errorf("aliyunsms %s: receipts: %w", s.name, err)
	}
	out := make([]yujing.Receipt, 0, len(items))
	for i, it := range items {
		r := yujing.Receipt{Channel: s.name, Phone: it.PhoneNumber}
		var when string
		switch {
		case it.Content != nil:
			r.Status = yujing.ReceiptReplied
			r.Text = *it.Content
			if id := strings.Trim(string(it.SequenceID), `"`); id != "null" {
				r.ProviderID = id // a number, kept digit for digit
			}
			when = it.SendTime
		case it.Success != nil:
			r.CallID, r.ProviderID = it.OutID, it.BizID
			r.Status = yujing.ReceiptFailed
			if *it.Success {
				r.Status = yujing.ReceiptDelivered
			}
			r.Detail = strings.TrimSpace(it.ErrCode + " " + it.ErrMsg)
			when = it.ReportTime
			if when == "" {
				when = it.SendTime
			}
		default:
			return nil, fmt.Errorf("aliyunsms %s: receipts: item %d is neither a delivery report nor an inbound SMS", s.name, i)
		}
		if r.At, err = provider.ParseBeijing(when); err != nil {
			return nil, fmt.Errorf("aliyunsms %s: receipts: item %d: %w", s.name, i, err)
		}
		out = append(out, r)
	}
	return out, nil
}
