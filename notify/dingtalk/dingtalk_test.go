package dingtalk

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
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"yujing"
	"yujing/message"
	"yujing/notify"
	"yujing/notify/internal/providertest"
)

const (
	testToken  = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
	testSecret = "SEC2f3c1c0e5f6a4b7d8e9f0a1b2c3d4e5f"
	phone      = "13800000000"
)

// sentAt is the clock of the channel in the tests: a timestamp whose
// signature has both + and /, so escaping is tested.
var sentAt = time.UnixMilli(1752456665000)

func testCall(level yujing.Level, answer bool) yujing.Call {
	start := sentAt.Add(-time.Minute)
	c := yujing.Call{
		ID: "42-7-p1-dingtalk",
		Alert: yujing.Alert{
			ID: 42, Rule: "gas-lel-high", Sensor: "gas-01", Site: "plant-a", Family: yujing.FamilyGas,
			Metric: "lel", Unit: "%LEL", Level: level, State: yujing.StateFiring,
			Value: 55.5, Threshold: 50, StartedAt: start, UpdatedAt: start,
		},
		Event:   yujing.EventRaised,
		Person:  yujing.Person{ID: "p1", Name: "张三", Phone: phone},
		Channel: "dingtalk",
		Created: start,
	}
	if answer {
		c.AnswerURL = "https://yj.example.cn/a/Q7xK2mP9"
		c.Deadline = start.Add(15 * time.Minute)
	}
	return c
}

// robot is a stand-in for oapi.dingtalk.com: it checks each request as
// DingTalk documents it (checkRequest: token, timestamp within an hour,
// 加签 signature recomputed from the received timestamp, JSON shape) and
// answers like DingTalk. Once the request is good it answers with the
// queued answers in turn (the last one repeats).
type robot struct{ *providertest.Robot[Payload] }

// answer is an answer of the robot.
func answer(status int, body string) providertest.Answer {
	return providertest.Answer{Status: status, Body: body}
}

var ok = answer(200, `{"errcode":0,"errmsg":"ok"}`)

// dingtalk is what the robot does.
var dingtalk = providertest.RobotSpec[Payload]{
	ContentType: "application/json", OK: ok, Check: checkRequest,
	Refusal: func(code int, msg string) providertest.Answer {
		return answer(200, fmt.Sprintf(`{"errcode":%d,"errmsg":%q}`, code, msg))
	},
}

func newRobot(t *testing.T, answers ...providertest.Answer) robot {
	t.Helper()
	return robot{providertest.NewRobot(t, dingtalk, answers...).Start()}
}

func (r robot) url() string { return r.URL + "/robot/send?access_token=" + testToken }

// checkRequest checks a request as DingTalk does, and returns its message
// or DingTalk's refusal.
func checkRequest(req *http.Request) (Payload, int, string) {
	if req.Method != http.MethodPost || req.URL.Path != "/robot/send" {
		return Payload{}, 404, "not found: " + req.Method + " " + req.URL.Path
	}
	if ct := req.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return Payload{}, 43004, "invalid Content-Type " + ct
	}
	q := req.URL.Query()
	if q.Get("access_token") != testToken {
		return Payload{}, CodeTokenInvalid, "token is not exist"
	}
	ts, err := strconv.ParseInt(q.Get("timestamp"), 10, 64)
	if err != nil || sentAt.Sub(time.UnixMilli(ts)).Abs() > time.Hour {
		return Payload{}, CodeRefused, "invalid timestamp " + q.Get("timestamp")
	}
	// Recompute the signature step by step, as the documentation says:
	// string_to_sign = timestamp + "\n" + secret; HmacSHA256 keyed with the
	// secret; Base64; then URL-encoded in the query.
	mac := hmac.New(sha256.New, []byte(testSecret))
	mac.Write([]byte(q.Get("timestamp") + "\n" + testSecret))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if q.Get("sign") != want {
		return Payload{}, CodeRefused, "sign not match"
	}
	if strings.ContainsAny(rawParam(req.URL.RawQuery, "sign"), "+/=") {
		return Payload{}, CodeRefused, "sign not url-encoded: " + rawParam(req.URL.RawQuery, "sign")
	}
	body, _ := io.ReadAll(req.Body)
	var p Payload
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Payload{}, 40035, "bad json: " + err.Error()
	}
	if msg := validPayload(p); msg != "" {
		return Payload{}, 40035, msg
	}
	return p, 0, ""
}

// validPayload checks the fields DingTalk requires for each msgtype.
func validPayload(p Payload) string {
	switch p.MsgType {
	case "markdown":
		if p.Markdown == nil || p.Markdown.Title == "" || p.Markdown.Text == "" || p.ActionCard != nil {
			return "markdown needs title and text"
		}
		if p.At != nil {
			for _, m := range p.At.AtMobiles {
				if !strings.Contains(p.Markdown.Text, "@"+m) {
					return "mentioned mobile not in text"
				}
			}
		}
	case "actionCard":
		c := p.ActionCard
		if c == nil || c.Title == "" || c.Text == "" || c.SingleTitle == "" || c.SingleURL == "" || p.Markdown != nil {
			return "actionCard needs title, text, singleTitle, singleURL"
		}
	default:
		return "unsupported msgtype " + p.MsgType
	}
	return ""
}

func rawParam(rawQuery, name string) string {
	for _, kv := range strings.Split(rawQuery, "&") {
		if k, v, _ := strings.Cut(kv, "="); k == name {
			return v
		}
	}
	return ""
}

func newChannel(t *testing.T, cfg Config) *DingTalk {
	t.Helper()
	if cfg.Secret == "" {
		cfg.Secret = testSecret
	}
	d, err := New(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	d.now = func() time.Time { return sentAt }
	return d
}

func TestSendMessages(t *testing.T) {
	srv := newRobot(t)
	d := newChannel(t, Config{Webhook: srv.url()})
	if d.Name() != "dingtalk" {
		t.Errorf("Name() = %q", d.Name())
	}
	cases := []struct {
		name    string
		call    yujing.Call
		msgtype string
		mention bool
	}{
		{"red mentions the person", testCall(yujing.Red, true), "markdown", true},
		{"orange mentions the person", testCall(yujing.Orange, false), "markdown", true},
		{"yellow with answer link: action card", testCall(yujing.Yellow, true), "actionCard", false},
		{"blue without link: markdown", testCall(yujing.Blue, false), "markdown", false},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := d.Send(t.Context(), c.call); err != nil {
				t.Fatal(err)
			}
			sent := srv.Sent()
			if len(sent) != i+1 {
				t.Fatalf("%d messages, want %d", len(sent), i+1)
			}
			p := sent[i]
			if p.MsgType != c.msgtype {
				t.Fatalf("msgtype %s, want %s", p.MsgType, c.msgtype)
			}
			if mentioned := p.At != nil && slices.Equal(p.At.AtMobiles, []string{phone}); mentioned != c.mention {
				t.Errorf("mentioned = %v, want %v (%+v)", mentioned, c.mention, p.At)
			}
			if p.At != nil && p.At.IsAtAll {
				t.Error("isAtAll set")
			}
			text, title := "", ""
			if p.Markdown != nil {
				text, title = p.Markdown.Text, p.Markdown.Title
			} else {
				text, title = p.ActionCard.Text, p.ActionCard.Title
				if p.ActionCard.SingleTitle != "收到 / 确认" || p.ActionCard.SingleURL != c.call.AnswerURL {
					t.Errorf("button %q → %q", p.ActionCard.SingleTitle, p.ActionCard.SingleURL)
				}
			}
			if !strings.Contains(title, "燃气") || !strings.Contains(text, "plant-a") || !strings.Contains(text, "55.5%LEL") {
				t.Errorf("title %q text %q", title, text)
			}
			if c.call.AnswerURL != "" && !strings.Contains(text, c.call.AnswerURL) {
				t.Errorf("answer link missing from %q", text)
			}
		})
	}
}

func TestMentionLevel(t *testing.T) {
	srv := newRobot(t)
	for _, c := range []struct {
		level string
		call  yujing.Level
		want  bool
	}{
		{"none", yujing.Red, false},
		{"red", yujing.Orange, false},
		{"red", yujing.Red, true},
		{"blue", yujing.Blue, true},
		{"", yujing.Yellow, false},
	} {
		d := newChannel(t, Config{Webhook: srv.url(), MentionLevel: c.level})
		p, err := d.NewPayload(testCall(c.call, false))
		if err != nil {
			t.Fatal(err)
		}
		if got := p.At != nil; got != c.want {
			t.Errorf("mention_level %q, %s call: mentioned %v, want %v", c.level, c.call, got, c.want)
		}
	}
	// No phone, no mention.
	d := newChannel(t, Config{Webhook: srv.url()})
	call := testCall(yujing.Red, true)
	call.Person.Phone = ""
	if p, _ := d.NewPayload(call); p.At != nil || p.MsgType != "actionCard" {
		t.Errorf("call without phone: %+v", p)
	}
}

func TestUnsigned(t *testing.T) {
	var query string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.RawQuery
		_, _ = io.WriteString(w, `{"errcode":0,"errmsg":"ok"}`)
	}))
	defer srv.Close()
	d, err := New(Config{Webhook: srv.URL + "/robot/send?access_token=" + testToken}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Send(t.Context(), testCall(yujing.Blue, false)); err != nil {
		t.Fatal(err)
	}
	if query != "access_token="+testToken {
		t.Errorf("query %q, want only the token", query)
	}
}

// TestSignKnownAnswer pins Sign to a vector computed independently with
//
//	printf '%s\n%s' 1752456665000 'SEC2f3c1c0e5f6a4b7d8e9f0a1b2c3d4e5f' |
//	    openssl dgst -sha256 -hmac 'SEC2f3c1c0e5f6a4b7d8e9f0a1b2c3d4e5f' -binary | base64
//
// (Python's hmac gives the same). DingTalk's documentation shows the
// algorithm with sample code but publishes no input/output pair.
func TestSignKnownAnswer(t *testing.T) {
	const want = "l/wIXOVT1O/9EKbmJoQWh+5sovfXXqGI9R+Ah5m3jN8="
	if got := Sign(testSecret, 1752456665000); got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
	d := newChannel(t, Config{Webhook: "https://oapi.dingtalk.com/robot/send?access_token=" + testToken})
	u := d.signedURL(sentAt)
	if !strings.Contains(u, "&sign=l%2FwIXOVT1O%2F9EKbmJoQWh%2B5sovfXXqGI9R%2BAh5m3jN8%3D") ||
		!strings.Contains(u, "timestamp=1752456665000") || !strings.HasPrefix(u, "https://oapi.dingtalk.com/robot/send?access_token="+testToken) {
		t.Errorf("signed URL %s", u)
	}
}

// TestSignatureRejected: a robot with another secret refuses with 310000,
// a permanent failure.
func TestSignatureRejected(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mac := hmac.New(sha256.New, []byte(testSecret))
		mac.Write([]byte(r.URL.Query().Get("timestamp") + "\n" + testSecret))
		if r.URL.Query().Get("sign") != base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
			_, _ = io.WriteString(w, `{"errcode":310000,"errmsg":"sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]"}`)
			return
		}
		_, _ = io.WriteString(w, `{"errcode":0,"errmsg":"ok"}`)
	}))
	defer srv.Close()
	d := newChannel(t, Config{Webhook: srv.URL + "/robot/send?access_token=" + testToken, Secret: "SECwrong-secret"})
	err := d.Send(t.Context(), testCall(yujing.Red, true))
	if err == nil || notify.Retryable(err) || !strings.Contains(err.Error(), "errcode 310000: sign not match") {
		t.Fatalf("err = %v, want permanent 310000", err)
	}
	for _, s := range []string{"SECwrong-secret", testToken} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q reveals a secret", err)
		}
	}
}

func TestAnswers(t *testing.T) {
	providertest.CheckAnswers(t, []providertest.AnswerCase{
		{Name: "ok", Answer: ok, OK: true},
		{Name: "throttled", Answer: answer(200, `{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}`), Retryable: true, Reason: notify.ReasonThrottled, Contains: "errcode 130101: send too fast", Wait: 10 * time.Minute},
		{Name: "busy", Answer: answer(200, `{"errcode":-1,"errmsg":"系统繁忙"}`), Retryable: true, Reason: notify.ReasonOther, Contains: "errcode -1"},
		{Name: "keywords", Answer: answer(200, `{"errcode":310000,"errmsg":"keywords not in content"}`), Reason: notify.ReasonOther, Contains: "errcode 310000"},
		{Name: "ip", Answer: answer(200, `{"errcode":310000,"errmsg":"ip X.X.X.X not in whitelist"}`), Reason: notify.ReasonOther, Contains: "not in whitelist"},
		{Name: "token", Answer: answer(200, `{"errcode":300001,"errmsg":"token is not exist"}`), Reason: notify.ReasonOther, Contains: "errcode 300001"},
		{Name: "unknown code", Answer: answer(200, `{"errcode":999999,"errmsg":"new"}`), Retryable: true, Reason: notify.ReasonOther, Contains: "errcode 999999"},
		{Name: "not json", Answer: answer(200, `<html>gateway</html>`), Retryable: true, Reason: notify.ReasonOther, Contains: "not JSON"},
		{Name: "http 502", Answer: answer(502, `bad gateway`), Retryable: true, Reason: notify.ReasonHTTP5xx, Contains: "502"},
		{Name: "http 429", Answer: answer(429, `{"errcode":130101,"errmsg":"send too fast"}`), Retryable: true, Reason: notify.ReasonThrottled, Contains: "130101", Wait: 10 * time.Minute},
		{Name: "http 404", Answer: answer(404, `not found`), Reason: notify.ReasonHTTP4xx, Contains: "404"},
	}, func(t *testing.T, a providertest.Answer) error {
		srv := newRobot(t, a)
		return newChannel(t, Config{Webhook: srv.url()}).Send(t.Context(), testCall(yujing.Red, true))
	}, testToken, testSecret)
}

// TestThrottledThenDelivered runs the channel under the real dispatcher:
// a throttled answer is retried and the call delivered.
// TestThrottledThenDelivered: a throttled message is tried again through
// the dispatcher, with its default MaxBackoff of 30s, no earlier than the
// robot's throttle window (10 * time.Minute) — and then delivered.
func TestThrottledThenDelivered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := providertest.NewRobot(t, dingtalk, answer(200, `{"errcode":130101,"errmsg":"send too fast"}`), ok)
		var mu sync.Mutex
		var at []time.Time
		client := &http.Client{Transport: providertest.HandlerTransport(func(w http.ResponseWriter, req *http.Request) {
			mu.Lock()
			at = append(at, time.Now())
			mu.Unlock()
			r.ServeHTTP(w, req)
		})}
		hook := "https://oapi.dingtalk.com/robot/send?access_token=" + testToken
		d, err := New(Config{Webhook: hook, Secret: testSecret}, client, nil)
		if err != nil {
			t.Fatal(err)
		}
		d.now = func() time.Time { return sentAt }
		disp, done := providertest.Dispatch(t, d, notify.Options{})
		if err := disp.Call(t.Context(), testCall(yujing.Red, true)); err != nil {
			t.Fatal(err)
		}
		res := <-done
		if res.Err != nil || res.Attempts != 2 || len(r.Sent()) != 2 {
			t.Fatalf("call ended %v after %d attempts (%d requests), want sent at the second", res.Err, res.Attempts, len(r.Sent()))
		}
		if gap := at[1].Sub(at[0]); gap < 10*time.Minute {
			t.Errorf("retried %s after the throttle, want at least %s", gap, 10*time.Minute)
		}
	})
}

func TestTimeout(t *testing.T) {
	providertest.CheckTimeouts(t, testCall(yujing.Red, true), func(url string, timeout time.Duration) notify.Channel {
		return newChannel(t, Config{Webhook: url + "/robot/send?access_token=" + testToken, Timeout: timeout})
	}, func(t *testing.T, err error) { providertest.NoSecrets(t, err, testToken, "sign=", "timestamp=") })
}

func TestNetworkErrorHidesSecrets(t *testing.T) {
	base := providertest.ClosedURL(t)
	d := newChannel(t, Config{Webhook: base + "/robot/send?access_token=" + testToken})
	err := d.Send(t.Context(), testCall(yujing.Red, true))
	if err == nil || !notify.Retryable(err) || notify.FailureReason(err) != notify.ReasonNetwork {
		t.Fatalf("err = %v, want retryable network error", err)
	}
	providertest.NoSecrets(t, err, testToken, testSecret, "sign=")
	if !strings.Contains(err.Error(), base+"/robot/send") {
		t.Errorf("error %q does not name the endpoint", err)
	}
}

func TestNewValidation(t *testing.T) {
	good := "https://oapi.dingtalk.com/robot/send?access_token=" + testToken
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"ok", Config{Webhook: good}, ""},
		{"ok loopback http", Config{Webhook: "http://127.0.0.1:8080/robot/send?access_token=x", Lang: "en", MentionLevel: "red"}, ""},
		{"empty", Config{}, `dingtalk "dingtalk": webhook is empty`},
		{"plain http", Config{Webhook: "http://oapi.dingtalk.com/robot/send?access_token=" + testToken}, `webhook scheme "http" is not https`},
		{"no token", Config{Webhook: "https://oapi.dingtalk.com/robot/send"}, "webhook has no access_token parameter"},
		{"bad url", Config{Webhook: "https://exa mple.com/?access_token=" + testToken}, "webhook is not a valid URL"},
		{"lang", Config{Webhook: good, Lang: "fr"}, `lang "fr" is not zh-CN or en`},
		{"timeout", Config{Webhook: good, Timeout: -time.Second}, "timeout -1s is negative"},
		{"mention", Config{Webhook: good, MentionLevel: "purple"}, `mention_level: unknown level "purple"`},
		{"all at once", Config{Name: "ding", Webhook: "ftp://x", Lang: "fr", Timeout: -1, Secret: "SEC\n" + testSecret},
			`dingtalk "ding": webhook scheme "ftp" is not https` + "\n" + `lang "fr" is not zh-CN or en` + "\n" +
				"timeout -1ns is negative\nsecret has a line break"},
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
			providertest.NoSecrets(t, err, testToken, testSecret)
		})
	}
}

func TestLangAndRenderer(t *testing.T) {
	r, err := message.New(message.LangZH, nil, map[string]string{"im.title": `定制标题 {{.Colour}}`})
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(Config{Webhook: "https://oapi.dingtalk.com/robot/send?access_token=x"}, nil, r)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := d.NewPayload(testCall(yujing.Red, false)); p.Markdown.Title != "定制标题 红色" {
		t.Errorf("renderer not used: %q", p.Markdown.Title)
	}
	d, err = New(Config{Webhook: "https://oapi.dingtalk.com/robot/send?access_token=x", Lang: "en"}, nil, r)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := d.NewPayload(testCall(yujing.Yellow, true))
	if p.ActionCard == nil || p.ActionCard.SingleTitle != "Received / confirm" || !strings.HasPrefix(p.ActionCard.Title, "YELLOW (III) gas warning") {
		t.Errorf("english card: %+v", p.ActionCard)
	}
}

func TestSampleConfig(t *testing.T) {
	var cfg Config
	providertest.DecodeSample(t, &cfg, map[string]string{"YUJING_DINGTALK_TOKEN": testToken, "YUJING_DINGTALK_SECRET": testSecret})
	if cfg.Name != "duty-dingtalk" || cfg.Secret != testSecret || !strings.HasSuffix(cfg.Webhook, testToken) || cfg.Timeout != 5*time.Second {
		t.Errorf("decoded %+v", cfg)
	}
	if _, err := New(cfg, nil, nil); err != nil {
		t.Errorf("New(sample): %v", err)
	}
}
