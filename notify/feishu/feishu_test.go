package feishu

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"yujing"
	"yujing/internal/yamlconf"
	"yujing/notify"
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
	*httptest.Server
	t       *testing.T
	mu      sync.Mutex
	answers []answer
	bodies  []map[string]any
}

type answer struct {
	status int
	header map[string]string
	body   string
}

var ok = answer{200, nil, `{"code":0,"data":{},"msg":"success"}`}

func newBot(t *testing.T, answers ...answer) *bot {
	t.Helper()
	b := &bot{t: t, answers: answers}
	b.Server = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(b.Close)
	return b
}

func (b *bot) url() string { return b.URL + hookPath }

func (b *bot) serve(w http.ResponseWriter, r *http.Request) {
	reply := func(a answer) {
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
	}
	refuse := func(code int, msg string) {
		b.t.Errorf("bot refused the request: %d %s", code, msg)
		reply(answer{200, nil, fmt.Sprintf(`{"code":%d,"data":{},"msg":%q}`, code, msg)})
	}
	if r.Method != http.MethodPost || r.URL.Path != hookPath {
		refuse(CodeParamInvalid, "param invalid: incoming webhook access token invalid")
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		refuse(CodeBadRequest, "Bad Request")
		return
	}
	raw, _ := io.ReadAll(r.Body)
	if len(raw) > 20<<10 {
		refuse(CodeBadRequest, "Bad Request: body over 20K")
		return
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		refuse(CodeBadRequest, "Bad Request")
		return
	}
	ts, _ := m["timestamp"].(string)
	sign, _ := m["sign"].(string)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || absDuration(sentAt.Sub(time.Unix(sec, 0))) > time.Hour {
		refuse(CodeSignMismatch, "sign match fail or timestamp is not within one hour from current time")
		return
	}
	// The documented algorithm, step by step: string_to_sign =
	// timestamp + "\n" + secret is the HmacSHA256 key, the message is
	// empty, the result Base64.
	stringToSign := ts + "\n" + testSecret
	mac := hmac.New(sha256.New, []byte(stringToSign))
	mac.Write(nil)
	if sign != base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
		refuse(CodeSignMismatch, "sign match fail or timestamp is not within one hour from current time")
		return
	}
	if msg := validCard(m); msg != "" {
		refuse(19002, "params error, "+msg)
		return
	}
	b.mu.Lock()
	b.bodies = append(b.bodies, m)
	a := ok
	if len(b.answers) > 0 {
		a = b.answers[0]
		if len(b.answers) > 1 {
			b.answers = b.answers[1:]
		}
	}
	b.mu.Unlock()
	reply(a)
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

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func (b *bot) sent() []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.bodies)
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
		m := srv.sent()[i]
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
	cases := []struct {
		name      string
		answer    answer
		ok        bool
		retryable bool
		reason    string
		contains  string
		wait      time.Duration
	}{
		{"ok", ok, true, false, "", "", 0},
		{"old ok", answer{200, nil, `{"Extra":null,"StatusCode":0,"StatusMessage":"success"}`}, true, false, "", "", 0},
		{"frequency limited", answer{200, nil, `{"code":11232,"data":{},"msg":"frequency limited psm[lark.oapi.app_platform_runtime]appID[1]"}`}, false, true, notify.ReasonThrottled, "code 11232", 0},
		{"9499 too many", answer{200, nil, `{"code":9499,"data":{},"msg":"too many request"}`}, false, true, notify.ReasonThrottled, "code 9499", 0},
		{"9499 bad request", answer{200, nil, `{"code":9499,"data":{},"msg":"Bad Request"}`}, false, true, notify.ReasonOther, "code 9499: Bad Request", 0},
		{"http 429", answer{429, map[string]string{"x-ogw-ratelimit-reset": "52"}, `{"code":99991400,"msg":"request trigger frequency limit"}`}, false, true, notify.ReasonThrottled, "99991400", 52 * time.Second},
		{"http 400 frequency", answer{400, map[string]string{"x-ogw-ratelimit-reset": "3"}, `{"code":99991400,"msg":"request trigger frequency limit"}`}, false, true, notify.ReasonThrottled, "99991400", 3 * time.Second},
		{"sign", answer{200, nil, `{"code":19021,"data":{},"msg":"sign match fail or timestamp is not within one hour from current time"}`}, false, false, notify.ReasonOther, "code 19021: sign match fail", 0},
		{"keywords", answer{200, nil, `{"code":19024,"data":{},"msg":"Key Words Not Found"}`}, false, false, notify.ReasonOther, "code 19024", 0},
		{"ip", answer{200, nil, `{"code":19022,"data":{},"msg":"Ip Not Allowed"}`}, false, false, notify.ReasonOther, "code 19022", 0},
		{"token", answer{200, nil, `{"code":19001,"data":{},"msg":"param invalid: incoming webhook access token invalid ` + testToken + `"}`}, false, false, notify.ReasonOther, "token invalid ***", 0},
		{"no code", answer{200, nil, `{}`}, false, true, notify.ReasonOther, "no code", 0},
		{"http 500", answer{500, nil, `oops`}, false, true, notify.ReasonHTTP5xx, "500", 0},
		{"http 400", answer{400, nil, `{"code":9499,"msg":"Bad Request"}`}, false, false, notify.ReasonHTTP4xx, "400", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := newBot(t, c.answer)
			err := newChannel(t, Config{Webhook: srv.url()}).Send(t.Context(), testCall(yujing.Red, true))
			if (err == nil) != c.ok {
				t.Fatalf("err = %v, want ok=%v", err, c.ok)
			}
			if err == nil {
				return
			}
			if got := notify.Retryable(err); got != c.retryable {
				t.Errorf("Retryable(%v) = %v, want %v", err, got, c.retryable)
			}
			if got := notify.FailureReason(err); got != c.reason {
				t.Errorf("FailureReason(%v) = %q, want %q", err, got, c.reason)
			}
			if !strings.Contains(err.Error(), c.contains) {
				t.Errorf("error %q lacks %q", err, c.contains)
			}
			if c.wait > 0 {
				var he *notify.HTTPError
				if !errors.As(err, &he) || he.RetryAfter != c.wait {
					t.Errorf("wait %v, want %v", he, c.wait)
				}
			}
			for _, s := range []string{testToken, testSecret} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q reveals a secret", err)
				}
			}
		})
	}
}

func TestThrottledThenDelivered(t *testing.T) {
	srv := newBot(t, answer{200, nil, `{"code":11232,"data":{},"msg":"frequency limited"}`}, ok)
	f := newChannel(t, Config{Webhook: srv.url()})
	done := make(chan error, 1)
	d, err := notify.New([]notify.Channel{f}, notify.Options{
		BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
		OnResult: func(r notify.Result) { done <- r.Err },
	})
	if err != nil {
		t.Fatal(err)
	}
	d.Run(t.Context())
	defer func() { _ = d.Stop(context.Background()) }()
	if err := d.Call(t.Context(), testCall(yujing.Red, true)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("call failed: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("call not delivered")
	}
	if n := len(srv.sent()); n != 2 {
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
	for _, s := range []string{testToken, "another-secret"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q reveals %s", err, s)
		}
	}
	if !strings.Contains(err.Error(), "/open-apis/bot/v2/hook/***") {
		t.Errorf("error %q does not name the endpoint", err)
	}
}

func TestTimeoutAndNetwork(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer slow.Close()
	defer close(release)
	f := newChannel(t, Config{Webhook: slow.URL + hookPath, Timeout: 50 * time.Millisecond})
	err := f.Send(t.Context(), testCall(yujing.Red, true))
	if err == nil || !notify.Retryable(err) || notify.FailureReason(err) != notify.ReasonTimeout {
		t.Errorf("slow bot: err = %v, want retryable timeout", err)
	}
	if err != nil && strings.Contains(err.Error(), testToken) {
		t.Errorf("error %q reveals the token", err)
	}

	closed := httptest.NewServer(http.NotFoundHandler())
	base := closed.URL
	closed.Close()
	f = newChannel(t, Config{Webhook: base + hookPath})
	err = f.Send(t.Context(), testCall(yujing.Red, true))
	if err == nil || !notify.Retryable(err) || notify.FailureReason(err) != notify.ReasonNetwork {
		t.Fatalf("closed port: err = %v, want retryable network error", err)
	}
	if strings.Contains(err.Error(), testToken) {
		t.Errorf("error %q reveals the token", err)
	}
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
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("error %q reveals the token", err)
			}
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
	data, err := os.ReadFile("sample.yaml")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"YUJING_FEISHU_HOOK": testToken, "YUJING_FEISHU_SECRET": testSecret}
	var cfg Config
	if err := yamlconf.DecodeEnv("sample.yaml", data, &cfg, func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	if cfg.Name != "duty-feishu" || cfg.Secret != testSecret || !strings.HasSuffix(cfg.Webhook, hookPath) || cfg.Timeout != 5*time.Second {
		t.Errorf("decoded %+v", cfg)
	}
	if _, err := New(cfg, nil, nil); err != nil {
		t.Errorf("New(sample): %v", err)
	}
}
