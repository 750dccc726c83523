package feishu

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"yujing"
	"yujing/notify"
	"yujing/notify/internal/providertest"
)

const (
	testToken  = "5e3d587e-d78e-4a07-bd07-265f269f86fd"
	testSecret = "qwertyuiop-feishu-test-secret"
	hookPath   = "/open-apis/bot/v2/hook/" + testToken
)

var sentAt = time.Unix(1752456665, 0)

func testCall(level yujing.Level, answer bool) yujing.Call {
	start := sentAt.Add(-time.Minute)
	c := yujing.Call{
		ID: "42-7-p1-feishu",
		Alert: yujing.Alert{
			ID: 42, Rule: "dust-collector-dp", Sensor: "dc-02", Site: "foundry-b", Family: yujing.FamilyDust,
			Metric: "dp", Unit: "Pa", Level: level, State: yujing.StateFiring,
			Value: 1850, Threshold: 1500, StartedAt: start, UpdatedAt: start,
		},
		Event:   yujing.EventRaised,
		Person:  yujing.Person{ID: "p1", Name: "王五", Phone: "13700000000", IM: map[string]string{"feishu": "ou_7d8a6e6df7621556ce0d21922b676706ccs"}},
		Channel: "feishu",
		Created: start,
	}
	if answer {
		c.AnswerURL = "https://yj.example.cn/a/Q7xK2mP9"
		c.Deadline = start.Add(15 * time.Minute)
	}
	return c
}

// bot stands in for open.feishu.cn: it checks the signature from the
// received timestamp and the test secret (computed step by step, not with
// Sign), the timestamp's age and the card's shape (decoded into plain
// maps), and answers like Feishu.
type bot struct {
	*providertest.Robot[map[string]any]
}

// answer is an answer of the bot, with its headers (nil: none).
func answer(status int, header map[string]string, body string) providertest.Answer {
	return providertest.Answer{Status: status, Header: header, Body: body}
}

var ok = answer(200, nil, `{"code":0,"data":{},"msg":"success"}`)

// feishu is what the bot does.
var feishu = providertest.RobotSpec[map[string]any]{
	ContentType: "application/json", OK: ok, Check: checkRequest,
	Refusal: func(code int, msg string) providertest.Answer {
		return answer(200, nil, fmt.Sprintf(`{"code":%d,"data":{},"msg":%q}`, code, msg))
	},
}

func newBot(t *testing.T, answers ...providertest.Answer) bot {
	t.Helper()
	return bot{providertest.NewRobot(t, feishu, answers...).Start()}
}

func (b bot) url() string { return b.URL + hookPath }

// checkRequest checks a request as Feishu does, and returns its message or
// Feishu's refusal.
func checkRequest(r *http.Request) (map[string]any, int, string) {
	if r.Method != http.MethodPost || r.URL.Path != hookPath {
		return nil, CodeParamInvalid, "param invalid: incoming webhook access token invalid"
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return nil, CodeBadRequest, "Bad Request"
	}
	raw, _ := io.ReadAll(r.Body)
	if len(raw) > 20<<10 {
		return nil, CodeBadRequest, "Bad Request: body over 20K"
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, CodeBadRequest, "Bad Request"
	}
	ts, _ := m["timestamp"].(string)
	sign, _ := m["sign"].(string)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sentAt.Sub(time.Unix(sec, 0)).Abs() > time.Hour {
		return nil, CodeSignMismatch, "sign match fail or timestamp is not within one hour from current time"
	}
	// The documented algorithm, step by step: string_to_sign =
	// timestamp + "\n" + secret is the HmacSHA256 key, the message is
	// empty, the result Base64.
	stringToSign := ts + "\n" + testSecret
	mac := hmac.New(sha256.New, []byte(stringToSign))
	mac.Write(nil)
	if sign != base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
		return nil, CodeSignMismatch, "sign match fail or timestamp is not within one hour from current time"
	}
	if msg := validCard(m); msg != "" {
		return nil, 19002, "params error, " + msg
	}
	return m, 0, ""
}

// validCard checks an interactive message as Feishu documents message
// cards: header title and template, div/lark_md and action/button
// elements.
func validCard(m map[string]any) string {
	for k := range m {
		if !slices.Contains([]string{"timestamp", "sign", "msg_type", "card"}, k) {
			return "unexpected field " + k
		}
	}
	if m["msg_type"] != "interactive" {
		return "msg_type must be interactive"
	}
	card, _ := m["card"].(map[string]any)
	header, _ := card["header"].(map[string]any)
	title, _ := header["title"].(map[string]any)
	if title["tag"] != "plain_text" || title["content"] == "" || title["content"] == nil {
		return "header.title needs tag plain_text and content"
	}
	templates := []string{"blue", "wathet", "turquoise", "green", "yellow", "orange", "red", "carmine", "violet", "purple", "indigo", "grey"}
	if tpl, _ := header["template"].(string); !slices.Contains(templates, tpl) {
		return "unknown header template " + tpl
	}
	elements, _ := card["elements"].([]any)
	if len(elements) == 0 {
		return "no elements"
	}
	for _, e := range elements {
		em, _ := e.(map[string]any)
		switch em["tag"] {
		case "div":
			text, _ := em["text"].(map[string]any)
			if text["tag"] != "lark_md" && text["tag"] != "plain_text" {
				return "div text tag"
			}
		case "action":
			actions, _ := em["actions"].([]any)
			for _, a := range actions {
				am, _ := a.(map[string]any)
				text, _ := am["text"].(map[string]any)
				if am["tag"] != "button" || text["tag"] != "plain_text" || am["url"] == nil {
					return "button needs tag, plain_text text and url"
				}
				if !slices.Contains([]any{"default", "primary", "danger"}, am["type"]) {
					return "button type"
				}
			}
		default:
			return fmt.Sprintf("unknown element tag %v", em["tag"])
		}
	}
	return ""
}

func newChannel(t *testing.T, cfg Config) *Feishu {
	t.Helper()
	if cfg.Secret == "" {
		cfg.Secret = testSecret
	}
	f, err := New(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.now = func() time.Time { return sentAt }
	return f
}

func TestSendCards(t *testing.T) {
	srv := newBot(t)
	f := newChannel(t, Config{Webhook: srv.url()})
	if f.Name() != "feishu" {
		t.Errorf("Name() = %q", f.Name())
	}
	cases := []struct {
		call     yujing.Call
		template string
		button   string // button type, "" for none
		mention  bool
	}{
		{testCall(yujing.Red, true), "red", "danger", true},
		{testCall(yujing.Orange, false), "orange", "", true},
		{testCall(yujing.Yellow, true), "yellow", "primary", false},
		{testCall(yujing.Blue, false), "blue", "", false},
	}
	resolved := testCall(yujing.Red, false)
	resolved.Event = yujing.EventResolved
	cases = append(cases, struct {
		call     yujing.Call
		template string
		button   string
		mention  bool
	}{resolved, "green", "", true})
	for i, c := range cases {
		if err := f.Send(t.Context(), c.call); err != nil {
			t.Fatalf("%s %s: %v", c.call.Alert.Level, c.call.Event, err)
		}
		m := srv.Sent()[i]
		if m["timestamp"] != "1752456665" {
			t.Errorf("timestamp %v", m["timestamp"])
		}
		card := m["card"].(map[string]any)
		header := card["header"].(map[string]any)
		if header["template"] != c.template {
			t.Errorf("%s %s: header template %v, want %s", c.call.Alert.Level, c.call.Event, header["template"], c.template)
		}
		title := header["title"].(map[string]any)["content"].(string)
		if !strings.Contains(title, "粉尘涉爆") {
			t.Errorf("title %q", title)
		}
		elements := card["elements"].([]any)
		body := elements[0].(map[string]any)["text"].(map[string]any)["content"].(string)
		if strings.HasPrefix(body, "#") || !strings.Contains(body, "1850Pa") || !strings.Contains(body, "foundry-b") {
			t.Errorf("body %q", body)
		}
		if got := strings.Contains(body, "<at id=ou_7d8a6e6df7621556ce0d21922b676706ccs></at>"); got != c.mention {
			t.Errorf("%s: mention %v, want %v", c.call.Alert.Level, got, c.mention)
		}
		if c.button == "" {
			if len(elements) != 1 {
				t.Errorf("%s: %d elements, want no button", c.call.Alert.Level, len(elements))
			}
			continue
		}
		btn := elements[1].(map[string]any)["actions"].([]any)[0].(map[string]any)
		if btn["type"] != c.button || btn["url"] != c.call.AnswerURL || btn["text"].(map[string]any)["content"] != "收到 / 确认" {
			t.Errorf("button %v", btn)
		}
	}
}

// TestSignKnownAnswer: Feishu's guide gives the algorithm (and the example
// timestamp 1599360473) with sample code but no signature to compare
// with, so the vector was computed independently:
//
//	key=$(printf '%s\n%s' 1599360473 'qwertyuiop-feishu-test-secret' | xxd -p | tr -d '\n')
//	printf '' | openssl dgst -sha256 -mac HMAC -macopt hexkey:$key -binary | base64
//
// (Python's hmac.new(key, b"", sha256) gives the same.)
func TestSignKnownAnswer(t *testing.T) {
	const want = "qEnmPwHYOiSV01NiSiZeWIm8JNw3+YBUPvpQQmNN9mk="
	if got := Sign(testSecret, 1599360473); got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
	// The DingTalk way (secret as the key, string_to_sign as the message)
	// must not be what Feishu gets.
	mac := hmac.New(sha256.New, []byte(testSecret))
	mac.Write([]byte("1599360473\n" + testSecret))
	if base64.StdEncoding.EncodeToString(mac.Sum(nil)) == want {
		t.Error("the two algorithms agree: the vector tests nothing")
	}
}

func TestUnsigned(t *testing.T) {
	var got map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewDecoder(r.Body).Decode(&got)
		_, _ = io.WriteString(w, `{"StatusCode":0,"StatusMessage":"success","code":0,"msg":"success"}`)
	}))
	defer srv.Close()
	f, err := New(Config{Webhook: srv.URL + hookPath}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Send(t.Context(), testCall(yujing.Blue, false)); err != nil {
		t.Fatal(err)
	}
	if _, ok := got["sign"]; ok {
		t.Errorf("unsigned bot got a sign: %v", got)
	}
}

func TestAnswers(t *testing.T) {
	providertest.CheckAnswers(t, []providertest.AnswerCase{
		{Name: "ok", Answer: ok, OK: true},
		{Name: "old ok", Answer: answer(200, nil, `{"Extra":null,"StatusCode":0,"StatusMessage":"success"}`), OK: true},
		{Name: "frequency limited", Answer: answer(200, nil, `{"code":11232,"data":{},"msg":"frequency limited psm[lark.oapi.app_platform_runtime]appID[1]"}`), Retryable: true, Reason: notify.ReasonThrottled, Contains: "code 11232"},
		{Name: "9499 too many", Answer: answer(200, nil, `{"code":9499,"data":{},"msg":"too many request"}`), Retryable: true, Reason: notify.ReasonThrottled, Contains: "code 9499"},
		{Name: "9499 bad request", Answer: answer(200, nil, `{"code":9499,"data":{},"msg":"Bad Request"}`), Retryable: true, Reason: notify.ReasonOther, Contains: "code 9499: Bad Request"},
		{Name: "http 429", Answer: answer(429, map[string]string{"x-ogw-ratelimit-reset": "52"}, `{"code":99991400,"msg":"request trigger frequency limit"}`), Retryable: true, Reason: notify.ReasonThrottled, Contains: "99991400", Wait: 52 * time.Second},
		{Name: "http 400 frequency", Answer: answer(400, map[string]string{"x-ogw-ratelimit-reset": "3"}, `{"code":99991400,"msg":"request trigger frequency limit"}`), Retryable: true, Reason: notify.ReasonThrottled, Contains: "99991400", Wait: 3 * time.Second},
		{Name: "sign", Answer: answer(200, nil, `{"code":19021,"data":{},"msg":"sign match fail or timestamp is not within one hour from current time"}`), Reason: notify.ReasonOther, Contains: "code 19021: sign match fail"},
		{Name: "keywords", Answer: answer(200, nil, `{"code":19024,"data":{},"msg":"Key Words Not Found"}`), Reason: notify.ReasonOther, Contains: "code 19024"},
		{Name: "ip", Answer: answer(200, nil, `{"code":19022,"data":{},"msg":"Ip Not Allowed"}`), Reason: notify.ReasonOther, Contains: "code 19022"},
		{Name: "token", Answer: answer(200, nil, `{"code":19001,"data":{},"msg":"param invalid: incoming webhook access token invalid `+testToken+`"}`), Reason: notify.ReasonOther, Contains: "token invalid ***"},
		{Name: "no code", Answer: answer(200, nil, `{}`), Retryable: true, Reason: notify.ReasonOther, Contains: "no code"},
		{Name: "http 500", Answer: answer(500, nil, `oops`), Retryable: true, Reason: notify.ReasonHTTP5xx, Contains: "500"},
		{Name: "http 400", Answer: answer(400, nil, `{"code":9499,"msg":"Bad Request"}`), Reason: notify.ReasonHTTP4xx, Contains: "400"},
	}, func(t *testing.T, a providertest.Answer) error {
		srv := newBot(t, a)
		return newChannel(t, Config{Webhook: srv.url()}).Send(t.Context(), testCall(yujing.Red, true))
	}, testToken, testSecret)
}

func TestThrottledThenDelivered(t *testing.T) {
	srv := newBot(t, answer(200, nil, `{"code":11232,"data":{},"msg":"frequency limited"}`), ok)
	f := newChannel(t, Config{Webhook: srv.url()})
	d, done := providertest.Dispatch(t, f, notify.Options{BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
	if err := d.Call(t.Context(), testCall(yujing.Red, true)); err != nil {
		t.Fatal(err)
	}
	if r := providertest.Await(t, done); r.Err != nil {
		t.Fatalf("call failed: %v", r.Err)
	}
	if n := len(srv.Sent()); n != 2 {
		t.Errorf("%d attempts, want 2", n)
	}
}

// TestWrongSecret: a bot with another secret refuses with 19021,
// permanently, and the error shows neither secret nor token.
func TestWrongSecret(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"code":19021,"data":{},"msg":"sign match fail or timestamp is not within one hour from current time"}`)
	}))
	defer srv.Close()
	f := newChannel(t, Config{Webhook: srv.URL + hookPath, Secret: "another-secret"})
	err := f.Send(t.Context(), testCall(yujing.Red, true))
	if err == nil || notify.Retryable(err) {
		t.Fatalf("err = %v, want permanent", err)
	}
	providertest.NoSecrets(t, err, testToken, "another-secret")
	if !strings.Contains(err.Error(), "/open-apis/bot/v2/hook/***") {
		t.Errorf("error %q does not name the endpoint", err)
	}
}

func TestTimeoutAndNetwork(t *testing.T) {
	providertest.CheckTimeouts(t, testCall(yujing.Red, true), func(url string, timeout time.Duration) notify.Channel {
		return newChannel(t, Config{Webhook: url + hookPath, Timeout: timeout})
	}, func(t *testing.T, err error) { providertest.NoSecrets(t, err, testToken) })

	f := newChannel(t, Config{Webhook: providertest.ClosedURL(t) + hookPath})
	err := f.Send(t.Context(), testCall(yujing.Red, true))
	if err == nil || !notify.Retryable(err) || notify.FailureReason(err) != notify.ReasonNetwork {
		t.Fatalf("closed port: err = %v, want retryable network error", err)
	}
	providertest.NoSecrets(t, err, testToken)
}

func TestNewValidation(t *testing.T) {
	good := "https://open.feishu.cn" + hookPath
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"ok", Config{Webhook: good}, ""},
		{"lark", Config{Webhook: "https://open.larksuite.com" + hookPath, Lang: "en", MentionLevel: "red"}, ""},
		{"empty", Config{}, `feishu "feishu": webhook is empty`},
		{"path", Config{Webhook: "https://open.feishu.cn/open-apis/bot/v2/hook/"}, "webhook path is not …/open-apis/bot/v2/hook/<token>"},
		{"query", Config{Webhook: good + "?x=1"}, "webhook has a query string"},
		{"http", Config{Webhook: "http://open.feishu.cn" + hookPath}, `scheme "http" is not https`},
		{"all at once", Config{Name: "fs", Webhook: "ftp://open.feishu.cn" + hookPath, Lang: "de", Timeout: -1, MentionLevel: "x"},
			`feishu "fs": webhook scheme "ftp" is not https` + "\n" + `lang "de" is not zh-CN or en` + "\n" +
				"timeout -1ns is negative\n" + `mention_level: unknown level "x"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(c.cfg, nil, nil)
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			providertest.NoSecrets(t, err, testToken)
		})
	}
}

func TestEnglish(t *testing.T) {
	f := newChannel(t, Config{Webhook: "https://open.feishu.cn" + hookPath, Lang: "en"})
	p, err := f.NewPayload(testCall(yujing.Yellow, true), sentAt)
	if err != nil {
		t.Fatal(err)
	}
	if p.Card.Header.Title.Content != "YELLOW (III) dust explosion warning foundry-b" {
		t.Errorf("title %q", p.Card.Header.Title.Content)
	}
	if b := p.Card.Elements[1].(Action).Actions[0]; b.Text.Content != "Received / confirm" {
		t.Errorf("button %+v", b)
	}
}

func TestSampleConfig(t *testing.T) {
	var cfg Config
	providertest.DecodeSample(t, &cfg, map[string]string{"YUJING_FEISHU_HOOK": testToken, "YUJING_FEISHU_SECRET": testSecret})
	if cfg.Name != "duty-feishu" || cfg.Secret != testSecret || !strings.HasSuffix(cfg.Webhook, hookPath) || cfg.Timeout != 5*time.Second {
		t.Errorf("decoded %+v", cfg)
	}
	if _, err := New(cfg, nil, nil); err != nil {
		t.Errorf("New(sample): %v", err)
	}
}
