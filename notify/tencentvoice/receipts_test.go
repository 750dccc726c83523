package tencentvoice

import (
	"testing"
	"time"

	"yujing"

	"yujing/notify/internal/providertest"
)

func TestParseReceipts(t *testing.T) {
	v := newVoice(t, testConfig("https://vms.tencentcloudapi.com"))
	providertest.CheckReceipts(t, v.ParseReceipts, []providertest.ReceiptCase{
		{
			Name: "status callback as documented",
			Body: `{"voiceprompt_callback":{"result":"0","accept_time":"1470197211","call_from":"","callid":"xxxxxx","end_calltime":"1470197221","fee":"1","mobile":"13xxxxxxxxx","nationcode":"86","start_calltime":"1470197196"}}`,
			Want: []yujing.Receipt{{Channel: "tencent-voice", ProviderID: "xxxxxx", Phone: "13xxxxxxxxx", Status: yujing.ReceiptAnswered,
				Detail: "result 0, 1 min billed", At: time.Unix(1470197221, 0)}},
		},
		{
			Name: "not answered",
			Body: `{"voiceprompt_callback":{"result":"1","accept_time":"","callid":"c2","end_calltime":"","fee":"0","mobile":"13800000000","nationcode":"86","start_calltime":"1470197196"}}`,
			Want: []yujing.Receipt{{Channel: "tencent-voice", ProviderID: "c2", Phone: "13800000000", Status: yujing.ReceiptNoAnswer,
				Detail: "result 1", At: time.Unix(1470197196, 0)}},
		},
		{
			Name: "key pressed as documented",
			Body: `{"voicekey_callback":{"call_from":"","callid":"xxxxxx","keypress":"2","mobile":"13xxxxxxxxx","nationcode":"86"}}`,
			Want: []yujing.Receipt{{Channel: "tencent-voice", ProviderID: "xxxxxx", Phone: "13xxxxxxxxx", Status: yujing.ReceiptKeyPressed, Key: "2"}},
		},
		{
			Name: "official presses 1",
			Body: `{"voicekey_callback":{"call_from":"","callid":"12582bce","keypress":"1","mobile":"13800000000","nationcode":"86"}}`,
			Want: []yujing.Receipt{{Channel: "tencent-voice", ProviderID: "12582bce", Phone: "13800000000", Status: yujing.ReceiptKeyPressed, Key: KeyReceived}},
		},
		{
			Name: "failure reasons",
			Body: `[{"voice_failure_callback":{"call_from":"075583763333","callid":"a","failure_code":8,"failure_reason":"空号","mobile":"13xxxxxxxxx","nationcode":"86"}},
			        {"voice_failure_callback":{"callid":"b","failure_code":10,"failure_reason":"用户正忙","mobile":"13800000000","nationcode":"86"}},
			        {"voice_failure_callback":{"callid":"c","failure_code":5,"failure_reason":"无人接听","mobile":"13800000000","nationcode":"86"}}]`,
			Want: []yujing.Receipt{
				{Channel: "tencent-voice", ProviderID: "a", Phone: "13xxxxxxxxx", Status: yujing.ReceiptFailed, Detail: "8 空号"},
				{Channel: "tencent-voice", ProviderID: "b", Phone: "13800000000", Status: yujing.ReceiptBusy, Detail: "10 用户正忙"},
				{Channel: "tencent-voice", ProviderID: "c", Phone: "13800000000", Status: yujing.ReceiptNoAnswer, Detail: "5 无人接听"},
			},
		},
		{Name: "empty", Body: "", Err: "empty body"},
		{Name: "other callback", Body: `{"voicecode_callback":{"result":"0"}}`, Err: "item 0 is not a voiceprompt"},
		{Name: "bad time", Body: `{"voiceprompt_callback":{"result":"0","end_calltime":"2025-07-14"}}`, Err: `time "2025-07-14" is not Unix seconds`},
	})
}
