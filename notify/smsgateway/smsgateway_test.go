package smsgateway

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
	"unicode/utf8"

	"yujing"
	"yujing/notify"
	"yujing/notify/internal/providertest"
)

const (
	testToken    = "GatewayBearerToken0123"
	testPassword = "MasPassw0rd!"
	testPhone    = providertest.Phone
)

// testCall is the shared gas call (providertest.GasCall) as this channel
// sends it.
func testCall() yujing.Call {
	c := providertest.GasCall("42-7-p1-sms", "sms")
	c.AnswerURL = "https://yj.example.cn/a/Xy7Kq2"
	return c
}

// seen is one request as a fake gateway received it.
type seen struct {
	method string
	query  url.Values
	header http.Header
	body   []byte
}

// gateway is a fake carrier platform: it checks the request with check
// (an error text is answered as a 400) and answers with reply.
type gateway struct {
	*httptest.Server
	check func(seen) string
	reply func(seen) (int, string)
	mu    sync.Mutex
	reqs  []seen
}

func newGateway(t *testing.T, check func(seen) string, reply func(seen) (int, string)) *gateway {
	t.Helper()
	g := &gateway{check: check, reply: reply}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s := seen{r.Method, r.URL.Query(), r.Header.Clone(), b}
		g.mu.Lock()
		g.reqs = append(g.reqs, s)
		g.mu.Unlock()
		if g.check != nil {
			if msg := g.check(s); msg != "" {
				w.WriteHeader(400)
				_, _ = io.WriteString(w, `{"code":"400","msg":`+quote(msg)+`}`)
				return
			}
		}
		status, body := 200, `{"code":0,"msg":"提交成功","msgId":"m-1"}`
		if g.reply != nil {
			status, body = g.reply(s)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(g.Close)
	return g
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

func (g *gateway) requests() []seen {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.reqs)
}

// jsonGateway checks a JSON POST with a bearer token.
func checkJSON(s seen) string {
	if s.method != http.MethodPost || s.header.Get("Authorization") != "Bearer "+testToken ||
		s.header.Get("Content-Type") != "application/json; charset=utf-8" {
		return "bad method, token or content type"
	}
	var m map[string]string
	if json.Unmarshal(s.body, &m) != nil || m["mobile"] == "" || m["content"] == "" || m["msgId"] == "" {
		return "bad body"
	}
	return ""
}

func jsonConfig(u string) Config {
	return Config{
		URL:              u + "/api/sms/send",
		Headers:          map[string]string{"Authorization": "Bearer " + testToken},
		Body:             `{"mobile":{{json .Phone}},"content":{{json .Text}},"msgId":{{json .CallID}}}`,
		SuccessJSONField: "code", SuccessValue: "0", MessageJSONField: "msg",
	}
}

func newGW(t *testing.T, cfg Config) *Gateway {
	t.Helper()
	g, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestDefaultText(t *testing.T) {
	d, err := newData(testCall())
	if err != nil {
		t.Fatal(err)
	}
	g := newGW(t, Config{URL: "https://x.example.cn/"})
	text, err := g.render(g.text, d)
	if err != nil {
		t.Fatal(err)
	}
	const want = "【红色预警】plant-a gas-01 55.5%LEL 09:31 确认 https://yj.example.cn/a/Xy7Kq2"
	if text != want {
		t.Errorf("text\n got %s\nwant %s", text, want)
	}
	if n := utf8.RuneCountInString(text); n > 70 {
		t.Errorf("text has %d characters, more than one 70-character SMS", n)
	}
	c := testCall()
	c.Event, c.AnswerURL = yujing.EventResolved, ""
	d, _ = newData(c)
	if text, _ = g.render(g.text, d); text != "【预警解除】plant-a gas-01 55.5%LEL 09:31" {
		t.Errorf("resolved text %q", text)
	}
}

func TestSendJSON(t *testing.T) {
	gw := newGateway(t, checkJSON, nil)
	g := newGW(t, jsonConfig(gw.URL))
	if g.Name() != "sms-gateway" {
		t.Errorf("Name() = %q", g.Name())
	}
	if err := g.Send(t.Context(), testCall()); err != nil {
		t.Fatal(err)
	}
	r := gw.requests()[0]
	var m map[string]string
	_ = json.Unmarshal(r.body, &m)
	if m["mobile"] != testPhone || m["msgId"] != "42-7-p1-sms" || !strings.HasPrefix(m["content"], "【红色预警】plant-a") {
		t.Errorf("body %s", r.body)
	}
	if r.header.Get("Idempotency-Key") != "42-7-p1-sms" {
		t.Errorf("Idempotency-Key %q", r.header.Get("Idempotency-Key"))
	}
}

func TestSendGETQuery(t *testing.T) {
	check := func(s seen) string {
		if s.method != http.MethodGet || s.query.Get("pwd") != testPassword || s.query.Get("mobile") != "+8613800000000" || len(s.body) != 0 {
			return "bad request"
		}
		if !strings.Contains(s.query.Get("content"), "确认 https://yj.example.cn/a/Xy7Kq2") {
			return "bad content " + s.query.Get("content")
		}
		return ""
	}
	gw := newGateway(t, check, func(seen) (int, string) { return 200, "0,20250714093105,m-1" })
	cfg := Config{
		URL:    gw.URL + "/sms/send?user=yujing&pwd=" + url.QueryEscape(testPassword) + "&mobile={{urlquery .PhoneE164}}&content={{urlquery .Text}}",
		Method: "get",
	}
	if err := newGW(t, cfg).Send(t.Context(), testCall()); err != nil {
		t.Fatalf("Send: %v (gateway saw %+v)", err, gw.requests())
	}
}

func TestAnswerClassification(t *testing.T) {
	cases := []struct {
		name      string
		edit      func(*Config)
		status    int
		body      string
		ok        bool
		retryable bool
		reason    string
		text      string
	}{
		{"code 0", nil, 200, `{"code":0}`, true, false, "", ""},
		{"code \"0\"", nil, 200, `{"code":"0"}`, true, false, "", ""},
		{"nested", func(c *Config) { c.SuccessJSONField = "result.status"; c.SuccessValue = "true" }, 200, `{"result":{"status":true}}`, true, false, "", ""},
		{"in a list", func(c *Config) { c.SuccessJSONField = "data.0.code" }, 200, `{"data":[{"code":0}]}`, true, false, "", ""},
		{"refused", nil, 200, `{"code":-3,"msg":"号码无效"}`, false, false, notify.ReasonOther, `gateway answered code = "-3" (号码无效)`},
		{"busy, retry value", func(c *Config) { c.RetryValues = []string{"-99"} }, 200, `{"code":-99,"msg":"系统忙"}`, false, true, notify.ReasonOther, `code = "-99"`},
		{"no field", nil, 200, `{"status":"ok"}`, false, true, notify.ReasonOther, "gateway answer has no code"},
		{"not json", nil, 200, `OK`, false, true, notify.ReasonOther, "is not JSON"},
		{"throttled", nil, 429, `{"code":429}`, false, true, notify.ReasonThrottled, "http status 429"},
		{"down", nil, 503, `down`, false, true, notify.ReasonHTTP5xx, "http status 503"},
		{"rejected", nil, 401, `{"code":"401","msg":"鉴权失败"}`, false, false, notify.ReasonHTTP4xx, "(gateway says: 鉴权失败)"},
		{"not a success status", func(c *Config) { c.SuccessStatus = []int{200} }, 202, `{"code":0}`, false, false, notify.ReasonOther, "http status 202"},
		{"status only", func(c *Config) { c.SuccessJSONField, c.SuccessValue, c.MessageJSONField = "", "", "" }, 204, ``, true, false, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			gw := newGateway(t, nil, func(seen) (int, string) { return c.status, c.body })
			cfg := jsonConfig(gw.URL)
			if c.edit != nil {
				c.edit(&cfg)
			}
			err := newGW(t, cfg).Send(t.Context(), testCall())
			if (err == nil) != c.ok {
				t.Fatalf("err %v, want ok=%v", err, c.ok)
			}
			if err == nil {
				return
			}
			providertest.CheckFailure(t, err, c.retryable, c.reason)
			if !strings.Contains(err.Error(), c.text) {
				t.Errorf("err %q, want %q", err, c.text)
			}
			var e *Error
			if strings.Contains(c.text, "gateway answer") && !errors.As(err, &e) {
				t.Errorf("err %v is not an *Error", err)
			}
		})
	}
}

func TestErrorsKeepSecrets(t *testing.T) {
	echo := func(s seen) (int, string) {
		// A gateway that echoes the whole request in its message.
		return 500, `{"code":"500","msg":` + quote(s.header.Get("Authorization")+" "+s.query.Encode()+" "+string(s.body)) + `}`
	}
	gw := newGateway(t, nil, echo)
	cfg := jsonConfig(gw.URL)
	cfg.URL += "?account=yj&password=" + url.QueryEscape(testPassword)
	err := newGW(t, cfg).Send(t.Context(), testCall())
	if err == nil {
		t.Fatal("Send succeeded")
	}
	providertest.NoSecrets(t, err, testToken, testPassword, testPhone)
	if !strings.Contains(err.Error(), "(gateway says: *** account=yj&password=*** ") {
		t.Errorf("error %q: want the message, redacted", err)
	}

	// Constants of the body template are kept out too.
	gw2 := newGateway(t, nil, echo)
	cfg2 := jsonConfig(gw2.URL)
	cfg2.Body = `{"password":{{json "` + testPassword + `"}},"mobile":{{json .Phone}}}`
	err = newGW(t, cfg2).Send(t.Context(), testCall())
	if err == nil || strings.Contains(err.Error(), testPassword) || strings.Contains(err.Error(), testPhone) {
		t.Errorf("error %v reveals the body's password or the number", err)
	}

	// A network error names the host only.
	gw.Close()
	cfg.URL = "http://user:" + testPassword + "@" + strings.TrimPrefix(gw.URL, "http://") + "/send?pwd=" + testPassword + "&m={{.Phone}}"
	err = newGW(t, cfg).Send(t.Context(), testCall())
	providertest.CheckFailure(t, err, true, notify.ReasonNetwork)
	providertest.NoSecrets(t, err, testPassword, testPhone, "/send")
}

func TestTimeout(t *testing.T) {
	providertest.CheckTimeouts(t, testCall(), func(url string, timeout time.Duration) notify.Channel {
		cfg := jsonConfig(url)
		cfg.Timeout = timeout
		return newGW(t, cfg)
	})
}

func TestPhoneNumbers(t *testing.T) {
	for _, c := range []struct{ in, local, e164, err string }{
		{"13800000000", "13800000000", "+8613800000000", ""},
		{"+86 138-0000-0000", "13800000000", "+8613800000000", ""},
		{"8613800000000", "13800000000", "+8613800000000", ""},
		{"0571-12345678", "057112345678", "+8657112345678", ""},
		{"+85261234567", "+85261234567", "+85261234567", ""},
		{"", "", "", "has no phone number"},
		{"1380000abcd", "", "", "not valid"},
	} {
		call := testCall()
		call.Person.Phone = c.in
		d, err := newData(call)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: err %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || d.Phone != c.local || d.PhoneE164 != c.e164 {
			t.Errorf("%q: %q %q %v, want %q %q", c.in, d.Phone, d.PhoneE164, err, c.local, c.e164)
		}
	}
	gw := newGateway(t, nil, nil)
	call := testCall()
	call.Person.Phone = ""
	err := newGW(t, jsonConfig(gw.URL)).Send(t.Context(), call)
	if err == nil || notify.Retryable(err) || len(gw.requests()) != 0 {
		t.Errorf("no number: err %v, %d requests", err, len(gw.requests()))
	}
}

func TestNewValidation(t *testing.T) {
	ok := jsonConfig("https://sms.example.cn")
	cases := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"ok", func(*Config) {}, ""},
		{"empty url", func(c *Config) { c.URL = "" }, `smsgateway "sms-gateway": url is empty`},
		{"not http", func(c *Config) { c.URL = "ftp://x/{{.Phone}}" }, `url scheme "ftp" is not http or https`},
		{"url template", func(c *Config) { c.URL = "https://x/?m={{.Phone" }, "url is not a valid template"},
		{"unknown field", func(c *Config) { c.Body = `{"m":{{json .Mobile}}}` }, "body: template: body:1:12: executing"},
		{"text template", func(c *Config) { c.Text = "{{if}}" }, "text is not a valid template"},
		{"GET with body", func(c *Config) { c.Method = "GET" }, "method GET cannot send a body"},
		{"method", func(c *Config) { c.Method = "PATCH" }, `method "PATCH" is not GET, POST or PUT`},
		{"reserved header", func(c *Config) { c.Headers = map[string]string{"content-type": "x"} }, `header "content-type" is set by yujing`},
		{"header injection", func(c *Config) { c.Headers = map[string]string{"X-Token": "SECRETVALUE\r\nX: y"} }, `header "X-Token" has a control character`},
		{"field without value", func(c *Config) { c.SuccessValue = "" }, "success_json_field needs a success_value"},
		{"value without field", func(c *Config) { c.SuccessJSONField = "" }, "success_value needs a success_json_field"},
		{"bad path", func(c *Config) { c.SuccessJSONField = "a..b" }, `success_json_field "a..b" has an empty part`},
		{"bad status", func(c *Config) { c.SuccessStatus = []int{700} }, "success_status 700 is not an HTTP status"},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, "timeout -1s is negative"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := ok
			c.edit(&cfg)
			_, err := New(cfg, nil)
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New = %v, want %q", err, c.want)
			}
			providertest.NoSecrets(t, err, testToken, "SECRETVALUE")
		})
	}
}

func TestSampleConfig(t *testing.T) {
	var cfg Config
	providertest.DecodeSample(t, &cfg, map[string]string{"SMS_GATEWAY_TOKEN": "tok", "SMS_GATEWAY_PASSWORD": "pw"})
	if cfg.Name != "sms" || cfg.Headers["Authorization"] != "Bearer tok" || cfg.SuccessValue != "0" {
		t.Errorf("decoded %+v", cfg)
	}
	g, err := New(cfg, nil)
	if err != nil {
		t.Fatalf("New(sample): %v", err)
	}
	// The sample's body renders to JSON.
	d, _ := newData(testCall())
	d.Text = "t"
	b, err := g.render(g.body, d)
	if err != nil || !json.Valid([]byte(b)) {
		t.Errorf("sample body %q (%v) is not JSON", b, err)
	}
}
