package tencentvoice

import (
	"strings"
	"testing"
	"time"

	"yujing/notify"
)

func TestParseReceipts(t *testing.T) {
	v := newVoice(t, testConfig("https://vms.tencentcloudapi.com"))
	cases := []struct {
		name string
		body string
		want []notify.Receipt
		err  string
	}{
		{
			name: "status callback as documented",
			body: `{"voiceprompt_callback":{"result":"0","accept_time":"1470197211","call_from":"","callid":"xxxxxx","end_calltime":"1470197221","fee":"1","mobile":"13xxxxxxxxx","nationcode":"86","start_calltime":"1470197196"}}`,
			want: []notify.Receipt{{Channel: "tencent-voice", ProviderID: "xxxxxx", Phone: "13xxxxxxxxx", Status: notify.ReceiptAnswered,
				Detail: "result 0, 1 min billed", At: time.Unix(1470197221, 0)}},
		},
		{
			name: "not answered",
			body: `{"voiceprompt_callback":{"result":"1","accept_time":"","callid":"c2","end_calltime":"","fee":"0","mobile":"13800000000","nationcode":"86","start_calltime":"1470197196"}}`,
			want: []notify.Receipt{{Channel: "tencent-voice", ProviderID: "c2", Phone: "13800000000", Status: notify.ReceiptNoAnswer,
				Detail: "result 1", At: time.Unix(1470197196, 0)}},
		},
		{
			name: "key pressed as documented",
			body: `{"voicekey_callback":{"call_from":"","callid":"xxxxxx","keypress":"2","mobile":"13xxxxxxxxx","nationcode":"86"}}`,
			want: []notify.Receipt{{Channel: "tencent-voice", ProviderID: "xxxxxx", Phone: "13xxxxxxxxx", Status: notify.ReceiptKeyPressed, Key: "2"}},
		},
		{
			name: "official presses 1",
			body: `{"voicekey_callback":{"call_from":"","callid":"12582bce","keypress":"1","mobile":"13800000000","nationcode":"86"}}`,
			want: []notify.Receipt{{Channel: "tencent-voice", ProviderID: "12582bce", Phone: "13800000000", Status: notify.ReceiptKeyPressed, Key: KeyReceived}},
		},
		{
			name: "failure reasons",
			body: `[{"voice_failure_callback":{"call_from":"075583763333","callid":"a","failure_code":8,"failure_reason":"空号","mobile":"13xxxxxxxxx","nationcode":"86"}},
			        {"voice_failure_callback":{"callid":"b","failure_code":10,"failure_reason":"用户正忙","mobile":"13800000000","nationcode":"86"}},
			        {"voice_failure_callback":{"callid":"c","failure_code":5,"failure_reason":"无人接听","mobile":"13800000000","nationcode":"86"}}]`,
			want: []notify.Receipt{
				{Channel: "tencent-voice", ProviderID: "a", Phone: "13xxxxxxxxx", Status: notify.ReceiptFailed, Detail: "8 空号"},
				{Channel: "tencent-voice", ProviderID: "b", Phone: "13800000000", Status: notify.ReceiptBusy, Detail: "10 用户正忙"},
				{Channel: "tencent-voice", ProviderID: "c", Phone: "13800000000", Status: notify.ReceiptNoAnswer, Detail: "5 无人接听"},
			},
		},
		{name: "empty", body: "", err: "empty body"},
		{name: "other callback", body: `{"voicecode_callback":{"result":"0"}}`, err: "item 0 is not a voiceprompt"},
		{name: "bad time", body: `{"voiceprompt_callback":{"result":"0","end_calltime":"2025-07-14"}}`, err: `time "2025-07-14" is not Unix seconds`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := v.ParseReceipts([]byte(c.body))
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
