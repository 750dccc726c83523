package aliyunvoice

import (
	"testing"
	"time"

	"yujing"

	"yujing/notify/internal/providertest"
)

func TestParseReceipts(t *testing.T) {
	v := newVoice(t, testConfig("https://dyvmsapi.aliyuncs.com"))
	at := func(s string) time.Time {
		tm, _ := time.ParseInLocation(time.DateTime, s, time.FixedZone("CST", 8*3600))
		return tm
	}
	r := func(callID, status, key, detail, when string) yujing.Receipt {
		return yujing.Receipt{Channel: "aliyun-voice", CallID: callID, ProviderID: "116012354148^10281378****",
			Phone: "13800000000", Status: status, Key: key, Detail: detail, At: at(when)}
	}
	providertest.CheckReceipts(t, v.ParseReceipts, []providertest.ReceiptCase{
		{
			Name: "listened to the end and pressed 1",
			Body: `[{"status_code":"200000","status_msg":"用户听完语音","callee":"13800000000","duration":"25","call_id":"116012354148^10281378****","out_id":"c1","dtmf":"1","start_time":"2025-07-14 09:31:10","end_time":"2025-07-14 09:31:35","toll_type":"LOCAL"}]`,
			Want: []yujing.Receipt{
				r("c1", yujing.ReceiptAnswered, "", "200000 用户听完语音, 25s", "2025-07-14 09:31:35"),
				r("c1", yujing.ReceiptKeyPressed, "1", "200000 用户听完语音, 25s", "2025-07-14 09:31:35"),
			},
		},
		{
			Name: "dtmf during the call (VoiceCallReport)",
			Body: `[{"status_code":"300000","dtmf":"1","status_time":"2025-07-14 09:31:20","out_id":"c1","call_id":"116012354148^10281378****","callee":"13800000000"}]`,
			Want: []yujing.Receipt{r("c1", yujing.ReceiptKeyPressed, "1", "300000", "2025-07-14 09:31:20")},
		},
		{
			Name: "busy, no answer, switched off",
			Body: `[
			  {"status_code":"200002","status_msg":"用户占线","duration":0,"call_id":"116012354148^10281378****","out_id":"c1","callee":"13800000000","end_time":"2025-07-14 09:31:00"},
			  {"status_code":"200003","status_msg":"用户收到呼叫但未接听","duration":"0","call_id":"116012354148^10281378****","out_id":"c2","callee":"13800000000","end_time":"2025-07-14 09:32:00"},
			  {"status_code":"200010","status_msg":"关机","call_id":"116012354148^10281378****","out_id":"c3","callee":"13800000000","end_time":"2025-07-14 09:33:00"}
			]`,
			Want: []yujing.Receipt{
				r("c1", yujing.ReceiptBusy, "", "200002 用户占线", "2025-07-14 09:31:00"),
				r("c2", yujing.ReceiptNoAnswer, "", "200003 用户收到呼叫但未接听", "2025-07-14 09:32:00"),
				r("c3", yujing.ReceiptFailed, "", "200010 关机", "2025-07-14 09:33:00"),
			},
		},
		{
			Name: "ringing gives no receipt",
			Body: `[{"status_code":"200201","status_time":"2025-07-14 09:31:02","out_id":"c1","call_id":"x"}]`,
			Want: nil,
		},
		{Name: "empty", Body: "", Err: "empty body"},
		{Name: "garbage", Body: "[1]", Err: "not a JSON array"},
		{Name: "no status", Body: `[{"out_id":"c1"}]`, Err: "item 0 has no status_code"},
		{Name: "bad time", Body: `[{"status_code":"200000","end_time":"yesterday"}]`, Err: `time "yesterday"`},
	})
}
