package aliyunvoice

import (
	"encoding/json"
	"fmt"
	"strings"

	"yujing"

	"yujing/notify/internal/provider"
)

// ReceiptAck is the answer the provider expects from the receiving URL of
// an HTTP batch push: HTTP 200 and this body.
const ReceiptAck = `{"code":0,"msg":"接收成功"}`

// KeyReceived is the key an official presses to answer "received".
const KeyReceived = "1"

// report is one element of a VoiceReport (the call record, after the call)
// or VoiceCallReport (states during the call) push.
type report struct {
	CallID     string          `json:"call_id"`
	OutID      string          `json:"out_id"`
	StatusCode string          `json:"status_code"`
	StatusMsg  string          `json:"status_msg"`
	Duration   json.RawMessage `json:"duration"` // "10" or 10
	Callee     string          `json:"callee"`
	DTMF       string          `json:"dtmf"`
	StartTime  string          `json:"start_time"`
	EndTime    string          `json:"end_time"`
	StatusTime string          `json:"status_time"`
	OrigTime   string          `json:"originate_time"`
}

// Status codes of a single text-to-speech call (呼叫状态码).
var statuses = map[string]string{
	"200000": yujing.ReceiptAnswered, // listened to the end
	"200001": yujing.ReceiptAnswered, // hung up before the end
	"200008": yujing.ReceiptAnswered, // answered, no key within the time
	"200102": yujing.ReceiptAnswered, // (during the call) callee answered
	"200002": yujing.ReceiptBusy,
	"200112": yujing.ReceiptBusy,
	"200003": yujing.ReceiptNoAnswer,
	"200113": yujing.ReceiptNoAnswer,
	"300000": yujing.ReceiptKeyPressed, // DTMF message
	// States that say nothing about the outcome: no receipt.
	"200101": "", "200201": "", "200100": "", "200103": "",
}

// ParseReceipts parses the body of a VoiceReport or VoiceCallReport HTTP
// batch push (a JSON array). A report gives one receipt: answered, busy,
// no_answer or failed (the status code and message in Detail); a report
// that carries keys pressed (dtmf) gives a key_pressed receipt as well,
// and a VoiceCallReport of status 300000 only that. Key "1" is the answer
// "received" (KeyReceived). Every receipt carries the call id (out_id) and
// the provider's call id.
func (v *Voice) ParseReceipts(body []byte) ([]yujing.Receipt, error) {
	items, err := provider.DecodeBatch[report](body, "reports")
	if err != nil {
		return nil, fmt.Errorf("aliyunvoice %s: receipts: %w", v.name, err)
	}
	var out []yujing.Receipt
	for i, it := range items {
		if it.StatusCode == "" && it.DTMF == "" {
			return nil, fmt.Errorf("aliyunvoice %s: receipts: item %d has no status_code", v.name, i)
		}
		when := firstOf(it.EndTime, it.StatusTime, it.StartTime, it.OrigTime)
		at, err := provider.ParseBeijing(when)
		if err != nil {
			return nil, fmt.Errorf("aliyunvoice %s: receipts: item %d: %w", v.name, i, err)
		}
		base := yujing.Receipt{Channel: v.name, CallID: it.OutID, ProviderID: it.CallID, Phone: it.Callee, At: at}
		detail := strings.TrimSpace(it.StatusCode + " " + it.StatusMsg)
		if d := strings.Trim(string(it.Duration), `"`); d != "" && d != "null" && d != "0" {
			detail += ", " + d + "s"
		}
		status, known := statuses[it.StatusCode]
		switch {
		case it.StatusCode == "":
		case !known:
			status = yujing.ReceiptFailed
			fallthrough
		case status != "" && status != yujing.ReceiptKeyPressed:
			r := base
			r.Status, r.Detail = status, detail
			out = append(out, r)
		}
		if it.DTMF != "" {
			r := base
			r.Status, r.Key, r.Detail = yujing.ReceiptKeyPressed, strings.TrimSpace(it.DTMF), detail
			out = append(out, r)
		}
	}
	return out, nil
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
