package aliyunsms

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"yujing"
	"yujing/notify"
	"yujing/notify/aliyunsms/dysmstest"
	"yujing/notify/internal/providertest"
)

const (
	testKeyID  = "LTAI5tTESTKEYID0001"
	testSecret = "TopSecretAccessKey0123456789ab"
	testPhone  = providertest.Phone
)

// testCall is the shared gas call (providertest.GasCall) as this channel
// sends it.
func testCall() yujing.Call {
	c := providertest.GasCall("42-7-p1-aliyun-sms", "aliyun-sms")
	c.Event = yujing.EventUpgraded
	return c
}

// fakeDysms is the local provider (dysmstest: it verifies each request the
// way Alibaba Cloud documents it — the common parameters, the RPC
// signature recomputed independently, unused nonces, a fresh timestamp)
// on a loopback server, answering SendSms with reply, or OK.
type fakeDysms struct {
	*httptest.Server
	p *dysmstest.Provider
}

func newFakeDysms(t *testing.T, reply func(url.Values) (int, string)) *fakeDysms {
	t.Helper()
	p := dysmstest.New(testKeyID, testSecret)
	p.Reply = reply
	f := &fakeDysms{Server: httptest.NewServer(p), p: p}
	t.Cleanup(f.Close)
	return f
}

// accepted returns the SendSms forms the provider accepted.
func (f *fakeDysms) accepted() []url.Values {
	var out []url.Values
	for _, s := range f.p.Sends() {
		out = append(out, s.Form)
	}
	return out
}

func (f *fakeDysms) rejected() []string { return f.p.Rejected() }

func testConfig(endpoint string) Config {
	return Config{
		Endpoint: endpoint + "/", AccessKeyID: testKeyID, AccessKeySecret: testSecret,
		SignName: "某某应急管理局", TemplateCode: "SMS_123456789",
	}
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
	srv := newFakeDysms(t, nil)
	s := newSMS(t, testConfig(srv.URL))
	var accepted []string
	if s.Name() != "aliyun-sms" {
		t.Errorf("Name() = %q, want the default aliyun-sms", s.Name())
	}
	for range 2 { // two sends: two different nonces, both accepted
		id, err := s.SendID(t.Context(), testCall())
		if err != nil {
			t.Fatalf("Send: %v (server rejected %v)", err, srv.rejected())
		}
		accepted = append(accepted, "42-7-p1-aliyun-sms "+id)
	}
	sends := srv.p.Sends()
	if len(accepted) != 2 || len(sends) != 2 || accepted[0] != "42-7-p1-aliyun-sms "+sends[0].BizID ||
		accepted[1] != "42-7-p1-aliyun-sms "+sends[1].BizID {
		t.Errorf("SendID gave %q, want the call id with each BizId answered", accepted)
	}
	forms := srv.accepted()
	if len(forms) != 2 {
		t.Fatalf("%d requests accepted, want 2; rejected %v", len(forms), srv.rejected())
	}
	f := forms[0]
	for k, want := range map[string]string{
		"PhoneNumbers": testPhone, "SignName": "某某应急管理局", "TemplateCode": "SMS_123456789",
		"OutId": "42-7-p1-aliyun-sms",
	} {
		if got := f.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	var vars map[string]string
	if err := json.Unmarshal([]byte(f.Get("TemplateParam")), &vars); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"level": "红色(Ⅰ级)", "site": "plant-a", "sensor": "gas-01", "value": "55.5%LEL", "time": "07-14 09:31"}
	if !maps.Equal(vars, want) {
		t.Errorf("TemplateParam = %v, want %v", vars, want)
	}
	if forms[0].Get("SignatureNonce") == forms[1].Get("SignatureNonce") {
		t.Error("the nonce repeats")
	}
}

func TestTemplateParamsClipped(t *testing.T) {
	c := testCall()
	c.Alert.Site = strings.Repeat("危", 50)
	c.Alert.Value = 1.0 / 3
	p := TemplateParams(c, 35)
	if n := utf8.RuneCountInString(p["site"]); n != 35 {
		t.Errorf("site has %d characters, want it clipped to 35", n)
	}
	if p["value"] != "0.33%LEL" {
		t.Errorf("value %q, want 0.33%%LEL", p["value"])
	}
	c.Alert.UpdatedAt = time.Time{}
	if p := TemplateParams(c, 0); p["time"] != "07-14 09:30" {
		t.Errorf("time %q, want the start 07-14 09:30 when never updated", p["time"])
	}
}

func TestAnswerClassification(t *testing.T) {
	answer := func(status int, code, msg string) func(url.Values) (int, string) {
		return func(url.Values) (int, string) {
			return status, providertest.AliyunError(code, msg, "REQ-1")
		}
	}
	cases := []struct {
		name       string
		reply      func(url.Values) (int, string)
		code       string // Error.Code; "" when none
		retryable  bool
		reason     string
		retryAfter time.Duration
	}{
		{"minute throttle", answer(200, "isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1"), "isv.BUSINESS_LIMIT_CONTROL", true, notify.ReasonThrottled, time.Minute},
		{"unknown-window throttle", answer(200, "isv.BUSINESS_LIMIT_CONTROL", "业务限流"), "isv.BUSINESS_LIMIT_CONTROL", true, notify.ReasonThrottled, 0},
		{"hour throttle", answer(200, "isv.BUSINESS_LIMIT_CONTROL", "触发小时级流控Permits:5"), "isv.BUSINESS_LIMIT_CONTROL", false, notify.ReasonThrottled, 0},
		{"day throttle", answer(200, "isv.BUSINESS_LIMIT_CONTROL", "触发天级流控Permits:10"), "isv.BUSINESS_LIMIT_CONTROL", false, notify.ReasonThrottled, 0},
		{"account day cap", answer(200, "isv.DAY_LIMIT_CONTROL", "触发日发送限额"), "isv.DAY_LIMIT_CONTROL", false, notify.ReasonThrottled, 0},
		{"api throttling", answer(400, "Throttling.User", "Request was denied due to user flow control."), "Throttling.User", true, notify.ReasonThrottled, 0},
		{"system error", answer(200, "isp.SYSTEM_ERROR", "系统错误"), "isp.SYSTEM_ERROR", true, notify.ReasonHTTP5xx, 0},
		{"internal error 500", answer(500, "InternalError", "The request processing has failed due to some unknown error."), "InternalError", true, notify.ReasonHTTP5xx, 0},
		{"503 page", func(url.Values) (int, string) { return 503, "<html>busy</html>" }, "", true, notify.ReasonHTTP5xx, 0},
		{"502 empty", func(url.Values) (int, string) { return 502, "" }, "", true, notify.ReasonHTTP5xx, 0},
		{"200 not json", func(url.Values) (int, string) { return 200, "ok" }, "", true, notify.ReasonOther, 0},
		{"unknown code", answer(200, "SomethingNew", "?"), "SomethingNew", true, notify.ReasonOther, 0},
		{"nonce reused", answer(400, "SignatureNonceUsed", "Specified signature nonce was used already."), "SignatureNonceUsed", true, notify.ReasonOther, 0},
		{"bad number", answer(200, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号"), "isv.MOBILE_NUMBER_ILLEGAL", false, notify.ReasonHTTP4xx, 0},
		{"missing variable", answer(200, "isv.TEMPLATE_MISSING_PARAMETERS", "模板缺少变量"), "isv.TEMPLATE_MISSING_PARAMETERS", false, notify.ReasonHTTP4xx, 0},
		{"bad template", answer(200, "isv.SMS_TEMPLATE_ILLEGAL", "模板不合法"), "isv.SMS_TEMPLATE_ILLEGAL", false, notify.ReasonHTTP4xx, 0},
		{"bad signature name", answer(200, "isv.SMS_SIGNATURE_ILLEGAL", "签名不合法"), "isv.SMS_SIGNATURE_ILLEGAL", false, notify.ReasonHTTP4xx, 0},
		{"bad parameters", answer(200, "isv.INVALID_PARAMETERS", "参数异常"), "isv.INVALID_PARAMETERS", false, notify.ReasonHTTP4xx, 0},
		{"no permission", answer(403, "isp.RAM_PERMISSION_DENY", "RAM权限DENY"), "isp.RAM_PERMISSION_DENY", false, notify.ReasonHTTP4xx, 0},
		{"out of service", answer(200, "isv.OUT_OF_SERVICE", "业务停机"), "isv.OUT_OF_SERVICE", false, notify.ReasonHTTP4xx, 0},
		{"404 page", func(url.Values) (int, string) { return 404, "not here" }, "", false, notify.ReasonHTTP4xx, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := newFakeDysms(t, c.reply)
			err := newSMS(t, testConfig(srv.URL)).Send(t.Context(), testCall())
			if err == nil {
				t.Fatalf("Send succeeded; server rejected %v", srv.rejected())
			}
			providertest.CheckFailure(t, err, c.retryable, c.reason)
			var e *Error
			if c.code != "" && (!errors.As(err, &e) || e.Code != c.code) {
				t.Errorf("err %v: want *Error with code %s", err, c.code)
			}
			var he *notify.HTTPError
			if c.retryAfter > 0 && (!errors.As(err, &he) || he.RetryAfter != c.retryAfter) {
				t.Errorf("err %v: want RetryAfter %s", err, c.retryAfter)
			}
			if !strings.HasPrefix(err.Error(), "aliyunsms aliyun-sms: call 42-7-p1-aliyun-sms: ") {
				t.Errorf("error %q does not name the channel and call", err)
			}
		})
	}
}

func TestWrongSecretIsRefused(t *testing.T) {
	srv := newFakeDysms(t, nil)
	cfg := testConfig(srv.URL)
	cfg.AccessKeySecret = "not-the-secret"
	err := newSMS(t, cfg).Send(t.Context(), testCall())
	var e *Error
	if !errors.As(err, &e) || e.Code != "SignatureDoesNotMatch" || notify.Retryable(err) {
		t.Fatalf("err %v: want a permanent SignatureDoesNotMatch", err)
	}
	if strings.Contains(err.Error(), testKeyID) {
		t.Errorf("error %q reveals the access key id echoed by the provider", err)
	}
}

// TestErrorsKeepSecrets: the provider echoes the secret, the key id and the
// phone number in an answer; none of them reaches the error.
func TestErrorsKeepSecrets(t *testing.T) {
	echo := "secret=" + testSecret + " key=" + testKeyID + " phone=" + testPhone
	providertest.CheckSecretsKept(t, map[string]func(url.Values) (int, string){
		"json 500": func(url.Values) (int, string) { return 500, providertest.AliyunError("InternalError", echo, "") },
		"json 200": func(url.Values) (int, string) {
			return 200, providertest.AliyunError("isv.INVALID_PARAMETERS", echo, "")
		},
		"text 500": func(url.Values) (int, string) { return 500, echo },
		"text 400": func(url.Values) (int, string) { return 400, echo },
	}, func(t *testing.T, reply func(url.Values) (int, string)) error {
		err := newSMS(t, testConfig(newFakeDysms(t, reply).URL)).Send(t.Context(), testCall())
		if err != nil && !strings.Contains(err.Error(), "***") {
			t.Errorf("error %q: want the echo kept, redacted", err)
		}
		return err
	}, testSecret, testKeyID, testPhone)
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
	providertest.NoSecrets(t, err, testSecret, testKeyID, testPhone)
}

func TestPhoneNumbers(t *testing.T) {
	srv := newFakeDysms(t, nil)
	s := newSMS(t, testConfig(srv.URL))
	cases := []struct {
		phone, sent, err string
	}{
		{"138 0000-0000", "13800000000", ""},
		{"+8613800000000", "13800000000", ""},
		{"008613800000000", "13800000000", ""},
		{"8613800000000", "13800000000", ""},
		{"+85261234567", "0085261234567", ""},
		{"", "", "person p1: has no phone number"},
		{"1380000000x", "", "person p1: phone number is not valid"},
		{"123", "", "person p1: phone number is not valid"},
	}
	for _, c := range cases {
		call := testCall()
		call.Person.Phone = c.phone
		n := len(srv.accepted())
		err := s.Send(t.Context(), call)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || notify.Retryable(err) {
				t.Errorf("phone %q: err %v, want permanent %q", c.phone, err, c.err)
			}
			if c.phone != "" && strings.Contains(err.Error(), c.phone) {
				t.Errorf("error %q quotes the number", err)
			}
			if len(srv.accepted()) != n {
				t.Errorf("phone %q: a request was sent", c.phone)
			}
			continue
		}
		if err != nil {
			t.Errorf("phone %q: %v", c.phone, err)
			continue
		}
		if got := srv.accepted()[n].Get("PhoneNumbers"); got != c.sent {
			t.Errorf("phone %q sent as %q, want %q", c.phone, got, c.sent)
		}
	}
}

func TestNewValidation(t *testing.T) {
	ok := testConfig("https://dysmsapi.aliyuncs.com")
	cases := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"ok", func(*Config) {}, ""},
		{"default endpoint", func(c *Config) { c.Endpoint = "" }, ""},
		{"no key", func(c *Config) { c.AccessKeyID = "" }, `aliyunsms "aliyun-sms": access_key_id is empty`},
		{"no secret", func(c *Config) { c.AccessKeySecret = " " }, "access_key_secret is empty"},
		{"no sign name", func(c *Config) { c.SignName = "" }, "sign_name is empty"},
		{"no template", func(c *Config) { c.TemplateCode = "" }, "template_code is empty"},
		{"ftp endpoint", func(c *Config) { c.Endpoint = "ftp://x/" }, `endpoint scheme "ftp" is not http or https`},
		{"query endpoint", func(c *Config) { c.Endpoint = "https://x/?a=b" }, "endpoint must not carry a query"},
		{"negative length", func(c *Config) { c.MaxParamLength = -1 }, "max_param_length -1 is negative"},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, "timeout -1s is negative"},
		{"all at once", func(c *Config) { *c = Config{Name: "n"} }, `aliyunsms "n": access_key_id is empty` + "\naccess_key_secret is empty\nsign_name is empty\ntemplate_code is empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := ok
			c.edit(&cfg)
			s, err := New(cfg, nil)
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if s.endpoint == "" || s.region != "cn-hangzhou" || s.maxParam != 35 {
					t.Errorf("defaults not set: %+v", s)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New error %v, want %q", err, c.want)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Errorf("error %q reveals the secret", err)
			}
		})
	}
}

func TestSampleConfig(t *testing.T) {
	var cfg Config
	providertest.DecodeSample(t, &cfg, map[string]string{"ALIYUN_ACCESS_KEY_ID": "id-from-env", "ALIYUN_ACCESS_KEY_SECRET": "secret-from-env"})
	if cfg.Name != "sms" || cfg.AccessKeyID != "id-from-env" || cfg.AccessKeySecret != "secret-from-env" ||
		cfg.TemplateCode == "" || cfg.Timeout != 5*time.Second {
		t.Errorf("decoded %+v", cfg)
	}
	if _, err := New(cfg, nil); err != nil {
		t.Errorf("New(sample): %v", err)
	}
}
