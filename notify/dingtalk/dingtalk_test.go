package dingtalk

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
	"testing/synctest"
	"time"

	"yujing"
	"yujing/internal/yamlconf"
	"yujing/notify"
	"yujing/notify/message"
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
// DingTalk documents it (token, timestamp within an hour, 加签 signature
// recomputed from the received timestamp, JSON shape) and answers like
// DingTalk. Once the request is good it answers with the queued answers in
// turn (the last one repeats).
type robot struct {
	*httptest.Server
	t       *testing.T
	mu      sync.Mutex
	answers []answer
	bodies  []Payload
	queries []string
}

type answer struct {
	status int
	body   string
}

var ok = answer{200, `{"errcode":0,"errmsg":"ok"}`}

func newRobot(t *testing.T, answers ...answer) *robot {
	t.Helper()
	r := &robot{t: t, answers: answers}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *robot) url() string { return r.URL + "/robot/send?access_token=" + testToken }

func (r *robot) serve(w http.ResponseWriter, req *http.Request) {
	reply := func(a answer) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
	}
	refuse := func(code int, msg string) {
		r.t.Errorf("robot refused the request: %d %s", code, msg)
		reply(answer{200, fmt.Sprintf(`{"errcode":%d,"errmsg":%q}`, code, msg)})
	}
	if req.Method != http.MethodPost || req.URL.Path != "/robot/send" {
		refuse(404, "not found: "+req.Method+" "+req.URL.Path)
		return
	}
	if ct := req.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		refuse(43004, "invalid Content-Type "+ct)
		return
	}
	q := req.URL.Query()
	if q.Get("access_token") != testToken {
		refuse(CodeTokenInvalid, "token is not exist")
		return
	}
	ts, err := strconv.ParseInt(q.Get("timestamp"), 10, 64)
	if err != nil || absDuration(sentAt.Sub(time.UnixMilli(ts))) > time.Hour {
		refuse(CodeRefused, "invalid timestamp "+q.Get("timestamp"))
		return
	}
	// Recompute the signature step by step, as the documentation says:
	// string_to_sign = timestamp + "\n" + secret; HmacSHA256 keyed with the
	// secret; Base64; then URL-encoded in the query.
	mac := hmac.New(sha256.New, []byte(testSecret))
	mac.Write([]byte(q.Get("timestamp") + "\n" + testSecret))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if q.Get("sign") != want {
		refuse(CodeRefused, "sign not match")
		return
	}
	if strings.ContainsAny(rawParam(req.URL.RawQuery, "sign"), "+/=") {
		refuse(CodeRefused, "sign not url-encoded: "+rawParam(req.URL.RawQuery, "sign"))
		return
	}
	body, _ := io.ReadAll(req.Body)
	var p Payload
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		refuse(40035, "bad json: "+err.Error())
		return
	}
	if msg := validPayload(p); msg != "" {
		refuse(40035, msg)
		return
	}
	r.mu.Lock()
	r.bodies = append(r.bodies, p)
	r.queries = append(r.queries, req.URL.RawQuery)
	a := ok
	if len(r.answers) > 0 {
		a = r.answers[0]
		if len(r.answers) > 1 {
			r.answers = r.answers[1:]
		}
	}
	r.mu.Unlock()
	reply(a)
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

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func (r *robot) sent() []Payload {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.bodies)
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
			sent := srv.sent()
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
	cases := []struct {
		name      string
		answer    answer
		ok        bool
		retryable bool
		reason    string
		contains  string
	}{
		{"ok", ok, true, false, "", ""},
		{"throttled", answer{200, `{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}`}, false, true, notify.ReasonThrottled, "errcode 130101: send too fast"},
		{"busy", answer{200, `{"errcode":-1,"errmsg":"系统繁忙"}`}, false, true, notify.ReasonOther, "errcode -1"},
		{"keywords", answer{200, `{"errcode":310000,"errmsg":"keywords not in content"}`}, false, false, notify.ReasonOther, "errcode 310000"},
		{"ip", answer{200, `{"errcode":310000,"errmsg":"ip X.X.X.X not in whitelist"}`}, false, false, notify.ReasonOther, "not in whitelist"},
		{"token", answer{200, `{"errcode":300001,"errmsg":"token is not exist"}`}, false, false, notify.ReasonOther, "errcode 300001"},
		{"unknown code", answer{200, `{"errcode":999999,"errmsg":"new"}`}, false, true, notify.ReasonOther, "errcode 999999"},
		{"not json", answer{200, `<html>gateway</html>`}, false, true, notify.ReasonOther, "not JSON"},
		{"http 502", answer{502, `bad gateway`}, false, true, notify.ReasonHTTP5xx, "502"},
		{"http 429", answer{429, `{"errcode":130101,"errmsg":"send too fast"}`}, false, true, notify.ReasonThrottled, "130101"},
		{"http 404", answer{404, `not found`}, false, false, notify.ReasonHTTP4xx, "404"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := newRobot(t, c.answer)
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
			if c.reason == notify.ReasonThrottled {
				var he *notify.HTTPError
				if !errors.As(err, &he) || he.RetryAfter != 10*time.Minute {
					t.Errorf("throttled error carries no 10-minute wait: %#v", he)
				}
			}
			if strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), testSecret) {
				t.Errorf("error %q reveals a secret", err)
			}
		})
	}
}

// TestThrottledThenDelivered runs the channel under the real dispatcher:
// a throttled answer is retried and the call delivered.
// TestThrottledThenDelivered: a throttled message is tried again through
// the dispatcher, with its default MaxBackoff of 30s, no earlier than the
// robot's throttle window (10 * time.Minute) — and then delivered.
func TestThrottledThenDelivered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &robot{t: t, answers: []answer{{200, `{"errcode":130101,"errmsg":"send too fast"}`}, ok}}
		var mu sync.Mutex
		var at []time.Time
		client := &http.Client{Transport: handlerTransport(func(w http.ResponseWriter, req *http.Request) {
			mu.Lock()
			at = append(at, time.Now())
			mu.Unlock()
			r.serve(w, req)
		})}
		hook := "https://oapi.dingtalk.com/robot/send?access_token=" + testToken
		d, err := New(Config{Webhook: hook, Secret: testSecret}, client, nil)
		if err != nil {
			t.Fatal(err)
		}
		d.now = func() time.Time { return sentAt }
		done := make(chan notify.Result, 1)
		disp, err := notify.New([]notify.Channel{d}, notify.Options{OnResult: func(r notify.Result) { done <- r }})
		if err != nil {
			t.Fatal(err)
		}
		disp.Run(t.Context())
		defer func() { _ = disp.Stop(context.Background()) }()
		if err := disp.Call(t.Context(), testCall(yujing.Red, true)); err != nil {
			t.Fatal(err)
		}
		res := <-done
		if res.Err != nil || res.Attempts != 2 || len(r.sent()) != 2 {
			t.Fatalf("call ended %v after %d attempts (%d requests), want sent at the second", res.Err, res.Attempts, len(r.sent()))
		}
		if gap := at[1].Sub(at[0]); gap < 10*time.Minute {
			t.Errorf("retried %s after the throttle, want at least %s", gap, 10*time.Minute)
		}
	})
}

// handlerTransport serves requests with a handler in the calling
// goroutine, so that a fake robot runs inside a synctest bubble.
type handlerTransport func(http.ResponseWriter, *http.Request)

func (h handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	h(rec, r)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	d := newChannel(t, Config{Webhook: srv.URL + "/robot/send?access_token=" + testToken, Timeout: 50 * time.Millisecond})
	start := time.Now()
	err := d.Send(t.Context(), testCall(yujing.Red, true))
	if err == nil {
		t.Fatal("Send succeeded against a robot that never answers")
	}
	if time.Since(start) > 2*time.Second {
		t.Error("timeout not honoured")
	}
	if !notify.Retryable(err) || notify.FailureReason(err) != notify.ReasonTimeout {
		t.Errorf("err %v: retryable=%v reason=%q, want retryable timeout", err, notify.Retryable(err), notify.FailureReason(err))
	}
	for _, s := range []string{testToken, "sign=", "timestamp="} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q reveals %s", err, s)
		}
	}
}

func TestNetworkErrorHidesSecrets(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close()
	d := newChannel(t, Config{Webhook: base + "/robot/send?access_token=" + testToken})
	err := d.Send(t.Context(), testCall(yujing.Red, true))
	if err == nil || !notify.Retryable(err) || notify.FailureReason(err) != notify.ReasonNetwork {
		t.Fatalf("err = %v, want retryable network error", err)
	}
	for _, s := range []string{testToken, testSecret, "sign="} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q reveals %s", err, s)
		}
	}
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
			if strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), testSecret) {
				t.Errorf("error %q reveals a secret", err)
			}
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
	data, err := os.ReadFile("sample.yaml")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"YUJING_DINGTALK_TOKEN": testToken, "YUJING_DINGTALK_SECRET": testSecret}
	var cfg Config
	if err := yamlconf.DecodeEnv("sample.yaml", data, &cfg, func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	if cfg.Name != "duty-dingtalk" || cfg.Secret != testSecret || !strings.HasSuffix(cfg.Webhook, testToken) || cfg.Timeout != 5*time.Second {
		t.Errorf("decoded %+v", cfg)
	}
	if _, err := New(cfg, nil, nil); err != nil {
		t.Errorf("New(sample): %v", err)
	}
}
