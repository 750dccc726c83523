package tencentvoice

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"yujing"
	"yujing/notify"
	"yujing/notify/internal/providertest"
)

const (
	testID    = "AKIDvoiceSecretID01234567"
	testKey   = "TencentVoiceSecretKey012345"
	testPhone = providertest.Phone
	testAppID = "1400006666"
)

// testCall is the shared call (providertest.GasCall) as a rain warning.
func testCall() yujing.Call {
	c := providertest.GasCall("42-7-p1-tencent-voice", "tencent-voice")
	a := &c.Alert
	a.Rule, a.Sensor, a.Site, a.Family = "rain-3h", "rg-07", "county-12", yujing.FamilyWeather
	a.Metric, a.Unit, a.Level, a.Value = "rain_3h", "mm", yujing.Orange, 61.25
	c.Person.Name = "李四"
	return c
}

type request struct {
	TemplateId       string
	TemplateParamSet []string
	CalledNumber     string
	VoiceSdkAppid    string
	PlayTimes        int
	SessionContext   string
}

// fakeVMS verifies each request as Tencent Cloud documents signature v3
// (providertest.TC3: TC3-HMAC-SHA256 recomputed from what arrived, with the
// test key) and the SendTtsVoice fields, then answers with reply, or a CallId.
type fakeVMS struct {
	*httptest.Server
	reply func(request) (int, string)

	mu   sync.Mutex
	reqs []request
	bad  []string
}

func newFakeVMS(t *testing.T, reply func(request) (int, string)) *fakeVMS {
	t.Helper()
	f := &fakeVMS{reply: reply}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func apiError(code, msg string) string {
	return providertest.TencentError(code, msg, "91260bb8-cf91-4f3e-a81f-919811")
}

func (f *fakeVMS) serve(w http.ResponseWriter, r *http.Request) {
	tc3 := providertest.TC3{SecretID: testID, SecretKey: testKey, Service: "vms", Version: "2020-09-02", Actions: []string{"SendTtsVoice"}}
	body, _, code, msg := tc3.Check(r)
	fail := func(code, msg string) {
		f.mu.Lock()
		f.bad = append(f.bad, code+": "+msg)
		f.mu.Unlock()
		_, _ = io.WriteString(w, apiError(code, msg))
	}
	if code != "" {
		fail(code, msg)
		return
	}
	var req request
	if json.Unmarshal(body, &req) != nil || req.TemplateId == "" || req.VoiceSdkAppid != testAppID ||
		!strings.HasPrefix(req.CalledNumber, "+86") || req.SessionContext == "" || req.PlayTimes < 0 || req.PlayTimes > 3 {
		fail("InvalidParameterValue", string(body))
		return
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	status, answer := 200, `{"Response":{"SendStatus":{"CallId":"12582bce-403c-11eb-96b8-525400476c37","SessionContext":"`+req.SessionContext+`"},"RequestId":"91260bb8-cf91-4f3e-a81f-919811"}}`
	if f.reply != nil {
		status, answer = f.reply(req)
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, answer)
}

func (f *fakeVMS) accepted() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

func testConfig(endpoint string) Config {
	return Config{Endpoint: endpoint + "/", SecretID: testID, SecretKey: testKey, VoiceSdkAppID: testAppID, TemplateID: "4356"}
}

func newVoice(t *testing.T, cfg Config) *Voice {
	t.Helper()
	v, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSendRequest(t *testing.T) {
	srv := newFakeVMS(t, nil)
	cfg := testConfig(srv.URL)
	cfg.PlayTimes = 3
	v := newVoice(t, cfg)
	if v.Name() != "tencent-voice" {
		t.Errorf("Name() = %q", v.Name())
	}
	id, err := v.SendID(t.Context(), testCall())
	if err != nil {
		t.Fatalf("Send: %v (rejected %v)", err, srv.bad)
	}
	if id != "12582bce-403c-11eb-96b8-525400476c37" {
		t.Errorf("SendID gave the provider id %q, want 12582bce-403c-11eb-96b8-525400476c37", id)
	}
	got := srv.accepted()[0]
	want := request{TemplateId: "4356", TemplateParamSet: []string{"橙色二级", "county-12", "rg-07", "61.25mm", "7月14日9时31分"},
		CalledNumber: "+8613800000000", VoiceSdkAppid: testAppID, PlayTimes: 3, SessionContext: "42-7-p1-tencent-voice"}
	if !slices.Equal(got.TemplateParamSet, want.TemplateParamSet) || got.TemplateId != want.TemplateId ||
		got.CalledNumber != want.CalledNumber || got.PlayTimes != want.PlayTimes || got.SessionContext != want.SessionContext {
		t.Errorf("request\n got %+v\nwant %+v", got, want)
	}
}

func TestAnswerClassification(t *testing.T) {
	reply := func(status int, body string) func(request) (int, string) {
		return func(request) (int, string) { return status, body }
	}
	cases := []struct {
		name      string
		reply     func(request) (int, string)
		retryable bool
		reason    string
	}{
		{"api rate limit", reply(200, apiError("RequestLimitExceeded", "请求的次数超过了频率限制。")), true, notify.ReasonThrottled},
		{"frequency limit", reply(200, apiError("LimitExceeded.DeliveryFrequencyLimit", "下发语音消息时命中频率限制策略")), true, notify.ReasonThrottled},
		{"daily limit", reply(200, apiError("LimitExceeded.PhoneNumberDailyLimit", "单个手机号日下发条数超过上限")), false, notify.ReasonThrottled},
		{"internal error", reply(200, apiError("InternalError.UpstreamTimeout", "访问上游超时")), true, notify.ReasonHTTP5xx},
		{"502", reply(502, "bad gateway"), true, notify.ReasonHTTP5xx},
		{"bad number", reply(200, apiError("InvalidParameterValue.IncorrectPhoneNumber", "手机号格式错误")), false, notify.ReasonHTTP4xx},
		{"template", reply(200, apiError("FailedOperation.TemplateIncorrectOrUnapproved", "模板未审核或内容不匹配")), false, notify.ReasonHTTP4xx},
		{"unauthorized", reply(200, apiError("UnauthorizedOperation", "请求未授权")), false, notify.ReasonHTTP4xx},
		{"no call id", reply(200, `{"Response":{"RequestId":"r"}}`), true, notify.ReasonOther},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := newFakeVMS(t, c.reply)
			err := newVoice(t, testConfig(srv.URL)).Send(t.Context(), testCall())
			if err == nil {
				t.Fatalf("Send succeeded; rejected %v", srv.bad)
			}
			providertest.CheckFailure(t, err, c.retryable, c.reason)
		})
	}
}

func TestWrongKeyIsRefused(t *testing.T) {
	srv := newFakeVMS(t, nil)
	cfg := testConfig(srv.URL)
	cfg.SecretKey = "wrong"
	err := newVoice(t, cfg).Send(t.Context(), testCall())
	var e *Error
	if !errors.As(err, &e) || e.Code != "AuthFailure.SignatureFailure" || notify.Retryable(err) {
		t.Fatalf("err %v: want a permanent AuthFailure.SignatureFailure", err)
	}
}

func TestErrorsKeepSecrets(t *testing.T) {
	echo := "key=" + testKey + " id=" + testID + " called=+86" + testPhone
	providertest.CheckSecretsKept(t, map[string]func(request) (int, string){
		"api error": func(request) (int, string) { return 200, apiError("InternalError", echo) },
		"text 500":  func(request) (int, string) { return 500, echo },
	}, func(t *testing.T, reply func(request) (int, string)) error {
		return newVoice(t, testConfig(newFakeVMS(t, reply).URL)).Send(t.Context(), testCall())
	}, testKey, testID, testPhone)
}

func TestTimeout(t *testing.T) {
	providertest.CheckTimeouts(t, testCall(), func(url string, timeout time.Duration) notify.Channel {
		cfg := testConfig(url)
		cfg.Timeout = timeout
		return newVoice(t, cfg)
	})
}

func TestPhoneNumbers(t *testing.T) {
	for _, c := range []struct{ in, out string }{
		{"13800000000", "+8613800000000"}, {"+86 138 0000 0000", "+8613800000000"}, {"8613800000000", "+8613800000000"},
		{"", ""}, {"057112345678", ""}, {"+85261234567", ""},
	} {
		got, err := mainlandMobile(c.in)
		if got != c.out || (err == nil) != (c.out != "") {
			t.Errorf("mainlandMobile(%q) = %q, %v; want %q", c.in, got, err, c.out)
		}
		if err != nil && c.in != "" && strings.Contains(err.Error(), c.in) {
			t.Errorf("error %q quotes the number", err)
		}
	}
}

func TestNewValidation(t *testing.T) {
	ok := testConfig("https://vms.tencentcloudapi.com")
	cases := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"ok", func(*Config) {}, ""},
		{"empty", func(c *Config) { *c = Config{} }, `tencentvoice "tencent-voice": secret_id is empty` + "\nsecret_key is empty\nvoice_sdk_app_id is empty\ntemplate_id is empty"},
		{"play times", func(c *Config) { c.PlayTimes = 5 }, "play_times 5 is not between 1 and 3"},
		{"params", func(c *Config) { c.TemplateParams = []string{"who"} }, `template_params[0] "who"`},
		{"template id", func(c *Config) { c.TemplateID = "T-1" }, `template_id "T-1" is not a number`},
	}
	for _, c := range cases {
		cfg := ok
		c.edit(&cfg)
		_, err := New(cfg, nil)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: New = %v, want %q", c.name, err, c.want)
		}
	}
}

func TestSampleConfig(t *testing.T) {
	var cfg Config
	providertest.DecodeSample(t, &cfg, map[string]string{"TENCENTCLOUD_SECRET_ID": "AKIDenv", "TENCENTCLOUD_SECRET_KEY": "keyenv"})
	if cfg.Name != "voice" || cfg.SecretKey != "keyenv" || cfg.PlayTimes != 2 {
		t.Errorf("decoded %+v", cfg)
	}
	if _, err := New(cfg, nil); err != nil {
		t.Errorf("New(sample): %v", err)
	}
}
