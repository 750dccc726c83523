package tencentsms

import (
	"testing"
	"time"

	"yujing"

	"yujing/notify/internal/providertest"
)

func TestParseReceipts(t *testing.T) {
	s := newSMS(t, testConfig("https://sms.tencentcloudapi.com"))
	cst := time.FixedZone("CST", 8*3600)
	providertest.CheckReceipts(t, s.ParseReceipts, []providertest.ReceiptCase{
		{
			Name: "status report as documented",
			Body: `[{"user_receive_time":"2015-10-17 08:03:04","nationcode":"86","mobile":"13xxxxxxxxx","report_status":"SUCCESS","errmsg":"DELIVRD","description":"用户短信送达成功","sid":"xxxxxxx"}]`,
			Want: []yujing.Receipt{{Channel: "tencent-sms", ProviderID: "xxxxxxx", Phone: "13xxxxxxxxx", Status: yujing.ReceiptDelivered,
				Detail: "DELIVRD 用户短信送达成功", At: time.Date(2015, 10, 17, 8, 3, 4, 0, cst)}},
		},
		{
			Name: "failure abroad",
			Body: `[{"user_receive_time":"2025-07-14 09:31:09","nationcode":"852","mobile":"61234567","report_status":"FAIL","errmsg":"MK:0001","description":"空号","sid":"5000:1"}]`,
			Want: []yujing.Receipt{{Channel: "tencent-sms", ProviderID: "5000:1", Phone: "+85261234567", Status: yujing.ReceiptFailed,
				Detail: "MK:0001 空号", At: time.Date(2025, 7, 14, 9, 31, 9, 0, cst)}},
		},
		{
			Name: "reply as documented",
			Body: `{"extend":"扩展码","mobile":"13xxxxxxxxx","nationcode":"86","sign":"短信签名","text":"用户回复的内容","time":1457336869}`,
			Want: []yujing.Receipt{{Channel: "tencent-sms", Phone: "13xxxxxxxxx", Status: yujing.ReceiptReplied, Text: "用户回复的内容", At: time.Unix(1457336869, 0)}},
		},
		{Name: "empty", Body: "", Err: "empty body"},
		{Name: "neither", Body: `[{"mobile":"1"}]`, Err: "item 0 is neither"},
		{Name: "bad time", Body: `[{"report_status":"SUCCESS","user_receive_time":"now"}]`, Err: `time "now"`},
	})
}
