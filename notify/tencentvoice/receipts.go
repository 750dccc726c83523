package tencentvoice

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"yujing"

	"yujing/notify/internal/provider"
	"yujing/notify/internal/tencent"
)

// ReceiptAck is the answer the provider expects from a callback URL.
const ReceiptAck = `{"result":0,"errmsg":"OK"}`

// KeyReceived is the key an official presses to answer "received".
const KeyReceived = "1"

// callbacks is the body of one event callback: exactly one member is set.
type callbacks struct {
	Prompt  *prompt  `json:"voiceprompt_callback"`   // 语音通知状态通知
	Key     *key     `json:"voicekey_callback"`      // 语音通知按键通知
	Failure *failure `json:"voice_failure_callback"` // 语音送达失败原因通知
}

type prompt struct {
	Result        string `json:"result"` // 0 answered, 1 not answered, 2 call failed
	AcceptTime    string `json:"accept_time"`
	CallID        string `json:"callid"`
	StartCallTime string `json:"start_calltime"`
	EndCallTime   string `json:"end_calltime"`
	Fee           string `json:"fee"` // billed minutes
	Mobile        string `json:"mobile"`
	NationCode    string `json:"nationcode"`
}

type key struct {
	CallID     string `json:"callid"`
	KeyPress   string `json:"keypress"`
	Mobile     string `json:"mobile"`
	NationCode string `json:"nationcode"`
}

type failure struct {
	CallID        string          `json:"callid"`
	FailureCode   json.RawMessage `json:"failure_code"`
	FailureReason string          `json:"failure_reason"`
	Mobile        string          `json:"mobile"`
	NationCode    string          `json:"nationcode"`
}

// Failure codes of 语音送达失败原因通知 that are not plain failures.
var failureStatus = map[string]string{
	"2":  yujing.ReceiptBusy,     // 通话中
	"10": yujing.ReceiptBusy,     // 用户正忙
	"5":  yujing.ReceiptNoAnswer, // 无人接听
	"20": yujing.ReceiptNoAnswer, // 无应答
}

// ParseReceipts parses one callback body — voiceprompt_callback (the call
// was answered, not answered, or failed), voicekey_callback (a key was
// pressed; "1" is the answer "received", KeyReceived) or
// voice_failure_callback (why the call failed: busy, no answer, switched
// off, …) — or a JSON array of them. Tencent's callbacks do not carry
// SessionContext, so receipts are matched to calls by ProviderID (callid,
// the CallId of the send answer) or phone number; a key press carries no
// time, so its At is zero and the receiver stamps it.
func (v *Voice) ParseReceipts(body []byte) ([]yujing.Receipt, error) {
	items, err := provider.DecodeBatch[callbacks](body, "callbacks")
	if err != nil {
		return nil, fmt.Errorf("tencentvoice %s: receipts: %w", v.name, err)
	}
	out := make([]yujing.Receipt, 0, len(items))
	for i, it := range items {
		r := yujing.Receipt{Channel: v.name}
		switch {
		case it.Prompt != nil:
			p := it.Prompt
			r.ProviderID, r.Phone = p.CallID, tencent.Phone(p.NationCode, p.Mobile)
			switch p.Result {
			case "0":
				r.Status = yujing.ReceiptAnswered
			case "1":
				r.Status = yujing.ReceiptNoAnswer
			default:
				r.Status = yujing.ReceiptFailed
			}
			r.Detail = "result " + p.Result
			if p.Fee != "" && p.Fee != "0" {
				r.Detail += ", " + p.Fee + " min billed"
			}
			for _, s := range []string{p.EndCallTime, p.AcceptTime, p.StartCallTime} {
				if s != "" {
					if r.At, err = unix(s); err != nil {
						return nil, fmt.Errorf("tencentvoice %s: receipts: item %d: %w", v.name, i, err)
					}
					break
				}
			}
		case it.Key != nil:
			r.ProviderID, r.Phone = it.Key.CallID, tencent.Phone(it.Key.NationCode, it.Key.Mobile)
			r.Status, r.Key = yujing.ReceiptKeyPressed, strings.TrimSpace(it.Key.KeyPress)
		case it.Failure != nil:
			f := it.Failure
			code := strings.Trim(string(f.FailureCode), `"`)
			r.ProviderID, r.Phone = f.CallID, tencent.Phone(f.NationCode, f.Mobile)
			r.Status = failureStatus[code]
			if r.Status == "" {
				r.Status = yujing.ReceiptFailed
			}
			r.Detail = strings.TrimSpace(code + " " + f.FailureReason)
		default:
			return nil, fmt.Errorf("tencentvoice %s: receipts: item %d is not a voiceprompt, voicekey or voice_failure callback", v.name, i)
		}
		out = append(out, r)
	}
	return out, nil
}

func unix(s string) (time.Time, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q is not Unix seconds", s)
	}
	return time.Unix(n, 0), nil
}
