package aliyunvoice

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
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
	testKeyID  = "LTAI5tVOICEKEYID0002"
	testSecret = "VoiceSecretAccessKey0123456789"
	testPhone  = providertest.Phone
)

// testCall is the shared gas call (providertest.GasCall) as this channel
// sends it.
func testCall() yujing.Call { return providertest.GasCall("42-7-p1-aliyun-voice", "aliyun-voice") }

// fakeDyvms verifies each SingleCallByTts request as Alibaba Cloud
// documents it (providertest.RPC: the RPC signature recomputed
// independently from the received form) and answers with reply, or OK.
type fakeDyvms struct {
	*httptest.Server
	reply  func(url.Values) (int, string)
	nonces providertest.Nonces

	mu    sync.Mutex
	forms []url.Values
	bad   []string
}

func newFakeDyvms(t *testing.T, reply func(url.Values) (int, string)) *fakeDyvms {
	t.Helper()
	f := &fakeDyvms{reply: reply}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeDyvms) reject(w http.ResponseWriter, status int, code, msg string) {
	f.mu.Lock()
	f.bad = append(f.bad, code+": "+msg)
	f.mu.Unlock()
	w.WriteHeader(status)
	_, _ = io.WriteString(w, providertest.AliyunError(code, msg, "REQ-BAD"))
}

func (f *fakeDyvms) serve(w http.ResponseWriter, r *http.Request) {
	rpc := providertest.RPC{KeyID: testKeyID, Secret: testSecret, Version: "2017-05-25", Nonces: &f.nonces}
	form, status, code, msg := rpc.Check(r)
	if code == "" && form.Get("Action") != "SingleCallByTts" {
		status, code, msg = 400, "InvalidParameter", "Action = "+form.Get("Action")
	}
	if code != "" {
		f.reject(w, status, code, msg)
		return
	}
	for _, k := range []string{"CalledNumber", "TtsCode", "TtsParam", "OutId"} {
		if form.Get(k) == "" {
			f.reject(w, 400, "MissingParameter", k)
			return
		}
	}
	var vars map[string]string
	if json.Unmarshal([]byte(form.Get("TtsParam")), &vars) != nil {
		f.reject(w, 200, "isv.INVALID_JSON_PARAM", "TtsParam")
		return
	}
	f.mu.Lock()
	f.forms = append(f.forms, form)
	f.mu.Unlock()
	status, body := 200, `{"RequestId":"D9CB3933-9FE3-4870-BA8E-2BEE91B69D23","CallId":"116012354148^10281378****","Code":"OK","Message":"OK"}`
	if f.reply != nil {
		status, body = f.reply(form)
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func (f *fakeDyvms) accepted() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.forms)
}

func testConfig(endpoint string) Config {
	return Config{Endpoint: endpoint + "/", AccessKeyID: testKeyID, AccessKeySecret: testSecret, TtsCode: "TTS_123456789"}
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
	srv := newFakeDyvms(t, nil)
	cfg := testConfig(srv.URL)
	cfg.CalledShowNumber, cfg.PlayTimes = "057112345678", 2
	v := newVoice(t, cfg)
	if v.Name() != "aliyun-voice" {
		t.Errorf("Name() = %q", v.Name())
	}
	id, err := v.SendID(t.Context(), testCall())
	if err != nil {
		t.Fatalf("Send: %v (server rejected %v)", err, srv.bad)
	}
	if id != "116012354148^10281378****" {
		t.Errorf("SendID gave the provider id %q, want 116012354148^10281378****", id)
	}
	forms := srv.accepted()
	if len(forms) != 1 {
		t.Fatalf("%d requests accepted, rejected %v", len(forms), srv.bad)
	}
	f := forms[0]
	for k, want := range map[string]string{
		"CalledNumber": testPhone, "CalledShowNumber": "057112345678", "TtsCode": "TTS_123456789",
		"PlayTimes": "2", "OutId": "42-7-p1-aliyun-voice",
	} {
		if got := f.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	var vars map[string]string
	_ = json.Unmarshal([]byte(f.Get("TtsParam")), &vars)
	want := map[string]string{"level": "红色一级", "site": "plant-a", "sensor": "gas-01", "value": "55.5%LEL", "time": "7月14日9时31分"}
	for k, w := range want {
		if vars[k] != w {
			t.Errorf("TtsParam[%s] = %q, want %q", k, vars[k], w)
		}
	}
	if len(vars) != len(want) {
		t.Errorf("TtsParam %v has extra variables", vars)
	}

	// Optional parameters are left out when not configured.
	v = newVoice(t, testConfig(srv.URL))
	if err := v.Send(t.Context(), testCall()); err != nil {
		t.Fatal(err)
	}
	f = srv.accepted()[1]
	if f.Has("CalledShowNumber") || f.Has("PlayTimes") {
		t.Errorf("unset options sent: %v", f)
	}
}

func TestAnswerClassification(t *testing.T) {
	answer := func(status int, code, msg string) func(url.Values) (int, string) {
		return func(url.Values) (int, string) {
			return status, providertest.AliyunError(code, msg, "REQ-1")
		}
	}
	cases := []struct {
		name      string
		reply     func(url.Values) (int, string)
		retryable bool
		reason    string
	}{
		{"minute flow control", answer(200, "isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1"), true, notify.ReasonThrottled},
		{"day flow control", answer(200, "isv.BUSINESS_LIMIT_CONTROL", "触发天级流控Permits:20"), false, notify.ReasonThrottled},
		{"api throttling", answer(400, "Throttling.User", "Request was denied due to user flow control."), true, notify.ReasonThrottled},
		{"system error", answer(200, "isp.SYSTEM_ERROR", "系统错误"), true, notify.ReasonHTTP5xx},
		{"503", func(url.Values) (int, string) { return 503, "busy" }, true, notify.ReasonHTTP5xx},
		{"bad number", answer(200, "isv.MOBILE_NUMBER_ILLEGAL", "号码格式非法"), false, notify.ReasonHTTP4xx},
		{"bad template", answer(200, "isv.TEMPLATE_MISSING_PARAMETERS", "模板缺少变量"), false, notify.ReasonHTTP4xx},
		{"no permission", answer(403, "isp.RAM_PERMISSION_DENY", "RAM权限DENY"), false, notify.ReasonHTTP4xx},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := newFakeDyvms(t, c.reply)
			err := newVoice(t, testConfig(srv.URL)).Send(t.Context(), testCall())
			providertest.CheckFailure(t, err, c.retryable, c.reason)
		})
	}
}

func TestWrongSecretIsRefused(t *testing.T) {
	srv := newFakeDyvms(t, nil)
	cfg := testConfig(srv.URL)
	cfg.AccessKeySecret = "not-the-secret"
	err := newVoice(t, cfg).Send(t.Context(), testCall())
	var e *Error
	if !errors.As(err, &e) || e.Code != "SignatureDoesNotMatch" || notify.Retryable(err) {
		t.Fatalf("err %v: want a permanent SignatureDoesNotMatch", err)
	}
}

func TestErrorsKeepSecrets(t *testing.T) {
	echo := "secret=" + testSecret + " key=" + testKeyID + " phone=" + testPhone
	providertest.CheckSecretsKept(t, map[string]func(url.Values) (int, string){
		"json": func(url.Values) (int, string) { return 500, providertest.AliyunError("InternalError", echo, "") },
		"text": func(url.Values) (int, string) { return 502, echo },
	}, func(t *testing.T, reply func(url.Values) (int, string)) error {
		return newVoice(t, testConfig(newFakeDyvms(t, reply).URL)).Send(t.Context(), testCall())
	}, testSecret, testKeyID, testPhone)
}

func TestTimeout(t *testing.T) {
	providertest.CheckTimeouts(t, testCall(), func(url string, timeout time.Duration) notify.Channel {
		cfg := testConfig(url)
		cfg.Timeout = timeout
		return newVoice(t, cfg)
	})
}

func TestPhoneNumbers(t *testing.T) {
	srv := newFakeDyvms(t, nil)
	v := newVoice(t, testConfig(srv.URL))
	for _, c := range []struct{ phone, sent, err string }{
		{"+86 138-0000-0000", "13800000000", ""},
		{"0571-12345678", "057112345678", ""},
		{"8613800000000", "13800000000", ""},
		{"", "", "has no phone number"},
		{"+85261234567", "", "not a mainland number"},
		{"12ab", "", "not valid"},
	} {
		call := testCall()
		call.Person.Phone = c.phone
		n := len(srv.accepted())
		err := v.Send(t.Context(), call)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || notify.Retryable(err) || len(srv.accepted()) != n {
				t.Errorf("phone %q: err %v, want permanent %q and no request", c.phone, err, c.err)
			}
			continue
		}
		if err != nil || srv.accepted()[n].Get("CalledNumber") != c.sent {
			t.Errorf("phone %q: err %v, want it sent as %s", c.phone, err, c.sent)
		}
	}
}

func TestNewValidation(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{AccessKeyID: "a", AccessKeySecret: "s", TtsCode: "TTS_1"}, ""},
		{Config{}, `aliyunvoice "aliyun-voice": access_key_id is empty` + "\naccess_key_secret is empty\ntts_code is empty"},
		{Config{AccessKeyID: "a", AccessKeySecret: "s", TtsCode: "TTS_1", PlayTimes: 4}, "play_times 4 is not between 1 and 3"},
		{Config{AccessKeyID: "a", AccessKeySecret: "s", TtsCode: "TTS_1", CalledShowNumber: "0571-1"}, `called_show_number "0571-1" is not all digits`},
		{Config{AccessKeyID: "a", AccessKeySecret: "s", TtsCode: "TTS_1", Endpoint: "dyvmsapi.aliyuncs.com"}, `endpoint scheme "" is not http or https`},
		{Config{AccessKeyID: "a", AccessKeySecret: "s", TtsCode: "TTS_1", MaxParamLength: -1, Timeout: -1}, "max_param_length -1 is negative\ntimeout -1ns is negative"},
	}
	for _, c := range cases {
		_, err := New(c.cfg, nil)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("New(%+v) = %v, want %q", c.cfg, err, c.want)
		}
	}
}

func TestSampleConfig(t *testing.T) {
	var cfg Config
	providertest.DecodeSample(t, &cfg, map[string]string{"ALIYUN_ACCESS_KEY_ID": "id", "ALIYUN_ACCESS_KEY_SECRET": "secret"})
	if cfg.Name != "voice" || cfg.AccessKeySecret != "secret" || cfg.PlayTimes != 2 {
		t.Errorf("decoded %+v", cfg)
	}
	if _, err := New(cfg, nil); err != nil {
		t.Errorf("New(sample): %v", err)
	}
}
