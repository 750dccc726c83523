package tencentsms

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"yujing"
	"yujing/notify"
	"yujing/notify/internal/providertest"
)

const (
	testID    = "AKIDtestSecretID0123456789"
	testKey   = "TencentTopSecretKey0123456789"
	testPhone = "13800000000"
	testAppID = "1400006666"
)

// testCall is the shared gas call (providertest.GasCall) as this channel
// sends it.
func testCall() yujing.Call {
	c := providertest.GasCall("42-7-p1-tencent-sms", "tencent-sms")
	c.Event = yujing.EventUpgraded
	return c
}

// request is a SendSms request as the fake server decoded it.
type request struct {
	PhoneNumberSet   []string
	SmsSdkAppId      string
	SignName         string
	TemplateId       string
	TemplateParamSet []string
	SessionContext   string
}

// fakeSMS verifies each request the way Tencent Cloud documents signature
// v3 (providertest.TC3: the TC3-HMAC-SHA256 signature recomputed from the
// received method, headers and body with the test key, the X-TC headers, a
// fresh timestamp) and the SendSms fields, then answers with reply, or one "Ok" status. It
// answers PullSmsSendStatusByPhoneNumber (BeginTime within 7 days, Offset
// 0, Limit 1–100, PhoneNumber in E.164, SmsSdkAppId) with a status report
// of each SMS it accepted for that number in the time range, unless
// noReports (the carriers have not reported yet).
type fakeSMS struct {
	*httptest.Server
	reply func(request) (int, string)

	mu        sync.Mutex
	reqs      []request
	at        []time.Time // when each of reqs arrived
	pulls     []pullByPhone
	noReports bool
	pullReply string // when set, the answer to every valid pull
	bad       []string
}

func newFakeSMS(t *testing.T, reply func(request) (int, string)) *fakeSMS {
	t.Helper()
	f := &fakeSMS{reply: reply}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func apiError(code, msg string) string {
	return providertest.TencentError(code, msg, "ed93f3cb-f35e-473f-b9f3-0d451b8b79c6")
}

func sendStatus(code, msg string) string {
	return fmt.Sprintf(`{"Response":{"SendStatusSet":[{"SerialNo":"5000:1045710669157053657849499619","PhoneNumber":"+8613800000000","Fee":1,"SessionContext":"42-7-p1-tencent-sms","Code":%q,"Message":%q,"IsoCode":"CN"}],"RequestId":"a0aabda6-cf91-4f3e-a81f-9198114a2279"}}`, code, msg)
}

func (f *fakeSMS) serve(w http.ResponseWriter, r *http.Request) {
	tc3 := providertest.TC3{SecretID: testID, SecretKey: testKey, Service: "sms", Version: "2021-01-11",
		Actions: []string{"SendSms", "PullSmsSendStatusByPhoneNumber"}}
	body, action, code, msg := tc3.Check(r)
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
	if action == "PullSmsSendStatusByPhoneNumber" {
		f.pull(w, body, fail)
		return
	}
	var req request
	if json.Unmarshal(body, &req) != nil {
		fail("FailedOperation.FailResolvePacket", "body")
		return
	}
	switch {
	case len(req.PhoneNumberSet) != 1 || !strings.HasPrefix(req.PhoneNumberSet[0], "+"):
		fail("InvalidParameterValue.IncorrectPhoneNumber", "PhoneNumberSet")
		return
	case req.SmsSdkAppId != testAppID:
		fail("InvalidParameterValue.SdkAppIdNotExist", req.SmsSdkAppId)
		return
	case req.SignName == "" || req.TemplateId == "" || req.SessionContext == "":
		fail("MissingParameter", "SignName, TemplateId, SessionContext")
		return
	}
	for _, p := range req.TemplateParamSet {
		if utf8.RuneCountInString(p) > 12 {
			fail("FailedOperation.TemplateParamSetNotMatchApprovedTemplate", "variable too long")
			return
		}
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.at = append(f.at, time.Now())
	f.mu.Unlock()
	status, answer := 200, sendStatus("Ok", "send success")
	if f.reply != nil {
		status, answer = f.reply(req)
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, answer)
}

// pull answers PullSmsSendStatusByPhoneNumber.
func (f *fakeSMS) pull(w http.ResponseWriter, body []byte, fail func(code, msg string)) {
	var q pullByPhone
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if dec.Decode(&q) != nil {
		fail("FailedOperation.FailResolvePacket", "body")
		return
	}
	switch now := time.Now(); {
	case q.SmsSdkAppID != testAppID:
		fail("InvalidParameterValue.SdkAppIdNotExist", q.SmsSdkAppID)
		return
	case !strings.HasPrefix(q.PhoneNumber, "+"):
		fail("InvalidParameterValue.IncorrectPhoneNumber", "PhoneNumber")
		return
	case q.Offset != 0 || q.Limit < 1 || q.Limit > 100:
		fail("InvalidParameterValue", "Offset must be 0, Limit 1 to 100")
		return
	case q.BeginTime <= 0 || now.Sub(time.Unix(q.BeginTime, 0)) > 7*24*time.Hour:
		fail("InvalidParameterValue.StartTimeOutOfRange", "BeginTime")
		return
	case q.EndTime != 0 && q.EndTime < q.BeginTime:
		fail("InvalidParameterValue", "EndTime before BeginTime")
		return
	}
	type report struct {
		UserReceiveTime               int64
		CountryCode, SubscriberNumber string
		PhoneNumber, SerialNo         string
		ReportStatus, Description     string
		SessionContext                string
	}
	set := []report{}
	f.mu.Lock()
	f.pulls = append(f.pulls, q)
	if f.pullReply != "" {
		f.mu.Unlock()
		_, _ = io.WriteString(w, f.pullReply)
		return
	}
	for i, r := range f.reqs {
		at := f.at[i].Unix()
		if f.noReports || r.PhoneNumberSet[0] != q.PhoneNumber || at < q.BeginTime || q.EndTime != 0 && at > q.EndTime || len(set) == q.Limit {
			continue
		}
		set = append(set, report{UserReceiveTime: at + 3, CountryCode: "86", SubscriberNumber: strings.TrimPrefix(r.PhoneNumberSet[0], "+86"),
			PhoneNumber: r.PhoneNumberSet[0], SerialNo: fmt.Sprintf("5000:10457106691570536578494996%02d", i), ReportStatus: "SUCCESS",
			Description: "DELIVRD", SessionContext: r.SessionContext})
	}
	f.mu.Unlock()
	b, _ := json.Marshal(map[string]any{"Response": map[string]any{"PullSmsSendStatusSet": set, "RequestId": "b5b7bd2e-4a0f-4e76-9a4d-0a9e2d1f0a11"}})
	_, _ = w.Write(b)
}

func (f *fakeSMS) pulled() []pullByPhone {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.pulls)
}

func (f *fakeSMS) accepted() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

func testConfig(endpoint string) Config {
	return Config{Endpoint: endpoint + "/", SecretID: testID, SecretKey: testKey, SmsSdkAppID: testAppID,
		SignName: "某某应急管理局", TemplateID: "1110"}
}

func newSMS(t *testing.T, cfg Config) *SMS {
	t.Helper()
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSendRequest(t *testing.T) {
	srv := newFakeSMS(t, nil)
	s := newSMS(t, testConfig(srv.URL))
	if s.Name() != "tencent-sms" {
		t.Errorf("Name() = %q", s.Name())
	}
	id, err := s.SendID(t.Context(), testCall())
	if err != nil {
		t.Fatalf("Send: %v (server rejected %v)", err, srv.bad)
	}
	if id != "5000:1045710669157053657849499619" {
		t.Errorf("SendID gave the provider id %q, want 5000:1045710669157053657849499619", id)
	}
	reqs := srv.accepted()
	if len(reqs) != 1 {
		t.Fatalf("%d accepted, rejected %v", len(reqs), srv.bad)
	}
	want := request{
		PhoneNumberSet: []string{"+8613800000000"}, SmsSdkAppId: testAppID, SignName: "某某应急管理局", TemplateId: "1110",
		TemplateParamSet: []string{"红色(Ⅰ级)", "plant-a", "gas-01", "55.5%LEL", "07-14 09:31"}, SessionContext: "42-7-p1-tencent-sms",
	}
	if got := reqs[0]; !slices.Equal(got.PhoneNumberSet, want.PhoneNumberSet) || !slices.Equal(got.TemplateParamSet, want.TemplateParamSet) ||
		got.SmsSdkAppId != want.SmsSdkAppId || got.SignName != want.SignName || got.TemplateId != want.TemplateId || got.SessionContext != want.SessionContext {
		t.Errorf("request\n got %+v\nwant %+v", got, want)
	}

	// A template with other variables, in another order; long values clipped.
	cfg := testConfig(srv.URL)
	cfg.TemplateParams = []string{"site", "level"}
	call := testCall()
	call.Alert.Site = "一二三四五六七八九十甲乙丙丁"
	if err := newSMS(t, cfg).Send(t.Context(), call); err != nil {
		t.Fatal(err)
	}
	if got := srv.accepted()[1].TemplateParamSet; !slices.Equal(got, []string{"一二三四五六七八九十甲乙", "红色(Ⅰ级)"}) {
		t.Errorf("TemplateParamSet %q", got)
	}
}

func TestAnswerClassification(t *testing.T) {
	reply := func(status int, body string) func(request) (int, string) {
		return func(request) (int, string) { return status, body }
	}
	cases := []struct {
		name       string
		reply      func(request) (int, string)
		code       string
		retryable  bool
		reason     string
		retryAfter time.Duration
	}{
		{"api rate limit", reply(200, apiError("RequestLimitExceeded", "请求的次数超过了频率限制。")), "RequestLimitExceeded", true, notify.ReasonThrottled, 0},
		{"30s per number", reply(200, sendStatus("LimitExceeded.PhoneNumberThirtySecondLimit", "单个手机号30秒内下发短信条数超过设定的上限")), "LimitExceeded.PhoneNumberThirtySecondLimit", true, notify.ReasonThrottled, 30 * time.Second},
		{"frequency policy", reply(200, sendStatus("LimitExceeded.DeliveryFrequencyLimit", "下发短信命中了频率限制策略")), "LimitExceeded.DeliveryFrequencyLimit", true, notify.ReasonThrottled, 0},
		{"daily per number", reply(200, sendStatus("LimitExceeded.PhoneNumberDailyLimit", "单个手机号日下发短信条数超过设定的上限")), "LimitExceeded.PhoneNumberDailyLimit", false, notify.ReasonThrottled, 0},
		{"internal error", reply(200, apiError("InternalError.Timeout", "请求下发短信超时")), "InternalError.Timeout", true, notify.ReasonHTTP5xx, 0},
		{"internal error per number", reply(200, sendStatus("InternalError.OtherError", "其他错误")), "InternalError.OtherError", true, notify.ReasonHTTP5xx, 0},
		{"503 page", reply(503, "<html>busy</html>"), "", true, notify.ReasonHTTP5xx, 0},
		{"bad number", reply(200, sendStatus("InvalidParameterValue.IncorrectPhoneNumber", "手机号格式错误")), "InvalidParameterValue.IncorrectPhoneNumber", false, notify.ReasonHTTP4xx, 0},
		{"template", reply(200, sendStatus("FailedOperation.TemplateIncorrectOrUnapproved", "模板未审批或内容不匹配")), "FailedOperation.TemplateIncorrectOrUnapproved", false, notify.ReasonHTTP4xx, 0},
		{"blacklist", reply(200, sendStatus("FailedOperation.PhoneNumberInBlacklist", "手机号在免打扰名单库中")), "FailedOperation.PhoneNumberInBlacklist", false, notify.ReasonHTTP4xx, 0},
		{"unauthorized", reply(200, apiError("UnauthorizedOperation.SmsSdkAppIdVerifyFail", "SmsSdkAppId 校验失败")), "UnauthorizedOperation.SmsSdkAppIdVerifyFail", false, notify.ReasonHTTP4xx, 0},
		{"unknown family", reply(200, apiError("Brandnew.Thing", "?")), "Brandnew.Thing", true, notify.ReasonOther, 0},
		{"no status", reply(200, `{"Response":{"SendStatusSet":[],"RequestId":"r"}}`), "NoSendStatus", true, notify.ReasonOther, 0},
		{"not json", reply(200, "ok"), "", true, notify.ReasonOther, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := newFakeSMS(t, c.reply)
			err := newSMS(t, testConfig(srv.URL)).Send(t.Context(), testCall())
			if err == nil {
				t.Fatalf("Send succeeded; rejected %v", srv.bad)
			}
			providertest.CheckFailure(t, err, c.retryable, c.reason)
			var e *Error
			if c.code != "" && (!errors.As(err, &e) || e.Code != c.code) {
				t.Errorf("err %v: want *Error %s", err, c.code)
			}
			var he *notify.HTTPError
			if c.retryAfter > 0 && (!errors.As(err, &he) || he.RetryAfter != c.retryAfter) {
				t.Errorf("err %v: want RetryAfter %s", err, c.retryAfter)
			}
		})
	}
}

func TestWrongKeyIsRefused(t *testing.T) {
	srv := newFakeSMS(t, nil)
	cfg := testConfig(srv.URL)
	cfg.SecretKey = "not-the-key"
	err := newSMS(t, cfg).Send(t.Context(), testCall())
	var e *Error
	if !errors.As(err, &e) || e.Code != "AuthFailure.SignatureFailure" || notify.Retryable(err) {
		t.Fatalf("err %v: want a permanent AuthFailure.SignatureFailure", err)
	}
}

func TestErrorsKeepSecrets(t *testing.T) {
	echo := "key=" + testKey + " id=" + testID + " mobile=" + testPhone
	providertest.CheckSecretsKept(t, map[string]func(request) (int, string){
		"api error":  func(request) (int, string) { return 200, apiError("InternalError", echo) },
		"per number": func(request) (int, string) { return 200, sendStatus("FailedOperation.ContainSensitiveWord", echo) },
		"text 502":   func(request) (int, string) { return 502, echo },
		"text 403":   func(request) (int, string) { return 403, echo },
	}, func(t *testing.T, reply func(request) (int, string)) error {
		return newSMS(t, testConfig(newFakeSMS(t, reply).URL)).Send(t.Context(), testCall())
	}, testKey, testID, testPhone)
}

func TestTimeout(t *testing.T) {
	providertest.CheckTimeouts(t, testCall(), func(url string, timeout time.Duration) notify.Channel {
		cfg := testConfig(url)
		cfg.Timeout = timeout
		return newSMS(t, cfg)
	})
}

func TestNetworkError(t *testing.T) {
	err := newSMS(t, testConfig(providertest.ClosedURL(t))).Send(t.Context(), testCall())
	providertest.CheckFailure(t, err, true, notify.ReasonNetwork)
}

func TestPhoneNumbers(t *testing.T) {
	for _, c := range []struct{ in, out, err string }{
		{"13800000000", "+8613800000000", ""},
		{"138-0000-0000", "+8613800000000", ""},
		{"8613800000000", "+8613800000000", ""},
		{"+85261234567", "+85261234567", ""},
		{"0085261234567", "+85261234567", ""},
		{"", "", "has no phone number"},
		{"057112345678", "", "not valid"},
		{"+86abc", "", "not valid"},
	} {
		got, err := e164(c.in)
		if got != c.out || (err == nil) != (c.err == "") || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("e164(%q) = %q, %v; want %q, %q", c.in, got, err, c.out, c.err)
		}
	}
	srv := newFakeSMS(t, nil)
	call := testCall()
	call.Person.Phone = "12"
	err := newSMS(t, testConfig(srv.URL)).Send(t.Context(), call)
	if err == nil || notify.Retryable(err) || !strings.Contains(err.Error(), "person p1: phone number is not valid") || len(srv.accepted()) != 0 {
		t.Errorf("bad number: err %v, %d requests", err, len(srv.accepted()))
	}
}

func TestNewValidation(t *testing.T) {
	ok := testConfig("https://sms.tencentcloudapi.com")
	cases := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"ok", func(*Config) {}, ""},
		{"empty", func(c *Config) { *c = Config{} }, `tencentsms "tencent-sms": secret_id is empty` + "\nsecret_key is empty\nsms_sdk_app_id is empty\nsign_name is empty\ntemplate_id is empty"},
		{"app id", func(c *Config) { c.SmsSdkAppID = "app-1" }, `sms_sdk_app_id "app-1" is not a number`},
		{"params", func(c *Config) { c.TemplateParams = []string{"level", "place"} }, `template_params[1] "place" is not one of`},
		{"endpoint", func(c *Config) { c.Endpoint = "https:///x" }, "endpoint has no host"},
		{"negative", func(c *Config) { c.MaxParamLength, c.Timeout = -1, -1 }, "max_param_length -1 is negative\ntimeout -1ns is negative"},
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
	if cfg.Name != "sms" || cfg.SecretKey != "keyenv" || len(cfg.TemplateParams) != 5 {
		t.Errorf("decoded %+v", cfg)
	}
	if _, err := New(cfg, nil); err != nil {
		t.Errorf("New(sample): %v", err)
	}
}
