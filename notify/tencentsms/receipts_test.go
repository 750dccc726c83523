package tencentsms

import (
	"strings"
	"testing"
	"time"

	"yujing/notify"
)

func TestParseReceipts(t *testing.T) {
	s := newSMS(t, testConfig("https://sms.tencentcloudapi.com"))
	cst := time.FixedZone("CST", 8*3600)
	cases := []struct {
		name string
		body string
		want []notify.Receipt
		err  string
	}{
		{
			name: "status report as documented",
			body: `[{"user_receive_time":"2015-10-17 08:03:04","nationcode":"86","mobile":"13xxxxxxxxx","report_status":"SUCCESS","errmsg":"DELIVRD","description":"用户短信送达成功","sid":"xxxxxxx"}]`,
			want: []notify.Receipt{{Channel: "tencent-sms", ProviderID: "xxxxxxx", Phone: "13xxxxxxxxx", Status: notify.ReceiptDelivered,
				Detail: "DELIVRD 用户短信送达成功", At: time.Date(2015, 10, 17, 8, 3, 4, 0, cst)}},
		},
		{
			name: "failure abroad",
			body: `[{"user_receive_time":"2025-07-14 09:31:09","nationcode":"852","mobile":"61234567","report_status":"FAIL","errmsg":"MK:0001","description":"空号","sid":"5000:1"}]`,
			want: []notify.Receipt{{Channel: "tencent-sms", ProviderID: "5000:1", Phone: "+85261234567", Status: notify.ReceiptFailed,
				Detail: "MK:0001 空号", At: time.Date(2025, 7, 14, 9, 31, 9, 0, cst)}},
		},
		{
			name: "reply as documented",
			body: `{"extend":"扩展码","mobile":"13xxxxxxxxx","nationcode":"86","sign":"短信签名","text":"用户回复的内容","time":1457336869}`,
			want: []notify.Receipt{{Channel: "tencent-sms", Phone: "13xxxxxxxxx", Status: notify.ReceiptReplied, Text: "用户回复的内容", At: time.Unix(1457336869, 0)}},
		},
		{name: "empty", body: "", err: "empty body"},
		{name: "neither", body: `[{"mobile":"1"}]`, err: "item 0 is neither"},
		{name: "bad time", body: `[{"report_status":"SUCCESS","user_receive_time":"now"}]`, err: `time "now"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.ParseReceipts([]byte(c.body))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
			for i := range got {
				if !got[i].At.Equal(c.want[i].At) {
					t.Errorf("receipt %d at %s, want %s", i, got[i].At, c.want[i].At)
				}
				got[i].At, c.want[i].At = time.Time{}, time.Time{}
				if got[i] != c.want[i] {
					t.Errorf("receipt %d\n got %+v\nwant %+v", i, got[i], c.want[i])
				}
			}
		})
	}
}
