package aliyunsms

import (
	"testing"
	"time"

	"yujing"

	"yujing/notify/internal/providertest"
)

func TestParseReceipts(t *testing.T) {
	s := newSMS(t, testConfig("https://dysmsapi.aliyuncs.com"))
	at := func(v string) time.Time {
		tm, err := time.ParseInLocation(time.DateTime, v, time.FixedZone("CST", 8*3600))
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	providertest.CheckReceipts(t, s.ParseReceipts, []providertest.ReceiptCase{
		{
			Name: "SmsReport as documented",
			Body: `[{"phone_number":"1381111****","send_time":"2017-01-01 00:00:00","report_time":"2017-01-01 00:00:00","success":true,"err_code":"DELIVERED","err_msg":"用户接收成功","sms_size":"1","biz_id":"12345","out_id":"67890"}]`,
			Want: []yujing.Receipt{{Channel: "aliyun-sms", CallID: "67890", ProviderID: "12345", Phone: "1381111****",
				Status: yujing.ReceiptDelivered, Detail: "DELIVERED 用户接收成功", At: at("2017-01-01 00:00:00")}},
		},
		{
			Name: "failed and delivered in one push",
			Body: `[
			  {"phone_number":"13800000000","send_time":"2025-07-14 09:31:05","report_time":"2025-07-14 09:31:09","success":false,"err_code":"MK:0001","err_msg":"空号","sms_size":"1","biz_id":"900619746936498440^0","out_id":"42-7-p1-aliyun-sms"},
			  {"phone_number":"13900000000","send_time":"2025-07-14 09:31:05","report_time":"2025-07-14 09:31:07","success":true,"err_code":"DELIVERED","err_msg":"用户接收成功","sms_size":"2","biz_id":"900619746936498441^0","out_id":"42-7-p2-aliyun-sms"}
			]`,
			Want: []yujing.Receipt{
				{Channel: "aliyun-sms", CallID: "42-7-p1-aliyun-sms", ProviderID: "900619746936498440^0", Phone: "13800000000",
					Status: yujing.ReceiptFailed, Detail: "MK:0001 空号", At: at("2025-07-14 09:31:09")},
				{Channel: "aliyun-sms", CallID: "42-7-p2-aliyun-sms", ProviderID: "900619746936498441^0", Phone: "13900000000",
					Status: yujing.ReceiptDelivered, Detail: "DELIVERED 用户接收成功", At: at("2025-07-14 09:31:07")},
			},
		},
		{
			Name: "SmsUp as documented",
			Body: `[{"phone_number":"1381111****","send_time":"2017-09-01 00:00:00","content":"内容","sign_name":"签名","dest_code":"1234","sequence_id":1234567890}]`,
			Want: []yujing.Receipt{{Channel: "aliyun-sms", ProviderID: "1234567890", Phone: "1381111****",
				Status: yujing.ReceiptReplied, Text: "内容", At: at("2017-09-01 00:00:00")}},
		},
		{
			Name: "an official replies 1",
			Body: ` {"phone_number":"13800000000","send_time":"2025-07-14 09:32:40","content":"1","sign_name":"某某应急管理局","dest_code":"","sequence_id":99}`,
			Want: []yujing.Receipt{{Channel: "aliyun-sms", ProviderID: "99", Phone: "13800000000",
				Status: yujing.ReceiptReplied, Text: "1", At: at("2025-07-14 09:32:40")}},
		},
		{Name: "empty", Body: " ", Err: "empty body"},
		{Name: "not json", Body: "[{", Err: "not a JSON array"},
		{Name: "unknown item", Body: `[{"phone_number":"1"}]`, Err: "item 0 is neither"},
		{Name: "bad time", Body: `[{"success":true,"report_time":"01/01/2017"}]`, Err: `item 0: time "01/01/2017"`},
	})
}
