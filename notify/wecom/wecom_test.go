package wecom

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	"yujing"
	"yujing/notify"
	"yujing/notify/internal/providertest"
)

const testKey = "693a91f6-7aoc-4bc4-97a0-0ec2sifa5aaa"

func testCall(level yujing.Level, answer bool) yujing.Call {
	start := time.Date(2025, 7, 14, 9, 30, 0, 0, time.FixedZone("CST", 8*3600))
	c := yujing.Call{
		ID: "42-7-p1-wecom",
		Alert: yujing.Alert{
			ID: 42, Rule: "rain-3h", Sensor: "rain-07", Site: "xiaoshan-station", Family: yujing.FamilyWeather,
			Metric: "rain_3h", Unit: "mm", Level: level, State: yujing.StateFiring,
			Value: 104.2, Threshold: 100, StartedAt: start, UpdatedAt: start,
		},
		Event:   yujing.EventRaised,
		Person:  yujing.Person{ID: "p1", Name: "李四", Phone: "13900000000", IM: map[string]string{"wecom": "LiSi"}},
		Channel: "wecom",
		Created: start,
	}
	if answer {
		c.AnswerURL = "https://yj.example.cn/a/Q7xK2mP9"
		c.Deadline = start.Add(15 * time.Minute)
	}
	return c
}

// robot stands in for qyapi.weixin.qq.com: it checks each request against
// the documented message formats (checkRequest: decoded into plain maps,
// not the channel's types) and answers like WeCom.
type robot struct {
	*providertest.Robot[map[string]any]
}

// answer is an answer of the robot.
func answer(status int, body string) providertest.Answer {
	return providertest.Answer{Status: status, Body: body}
}

var ok = answer(200, `{"errcode":0,"errmsg":"ok"}`)

// wecom is what the robot does.
var wecom = providertest.RobotSpec[map[string]any]{
	ContentType: "application/json; charset=UTF-8", OK: ok, Check: checkRequest,
	Refusal: func(code int, msg string) providertest.Answer {
		return answer(200, fmt.Sprintf(`{"errcode":%d,"errmsg":%q}`, code, msg))
	},
}

func newRobot(t *testing.T, answers ...providertest.Answer) robot {
	t.Helper()
	return robot{providertest.NewRobot(t, wecom, answers...).Start()}
}

func (r robot) url() string { return r.URL + "/cgi-bin/webhook/send?key=" + testKey }

// checkRequest checks a request as WeCom does, and returns its message or
// WeCom's refusal.
func checkRequest(req *http.Request) (map[string]any, int, string) {
	if req.Method != http.MethodPost || req.URL.Path != "/cgi-bin/webhook/send" {
		return nil, 404, "not found"
	}
	if req.URL.Query().Get("key") != testKey {
		return nil, CodeInvalidWebhook, "invalid webhook url, hint: [1629125885_160_xxx]"
	}
	if ct := req.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return nil, 40058, "invalid Content-Type " + ct
	}
	body, _ := io.ReadAll(req.Body)
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, 40058, "Warning: wrong json format. " + err.Error()
	}
	if msg := validMessage(m); msg != "" {
		return nil, CodeInvalidParam, msg
	}
	return m, 0, ""
}

// validMessage checks a message as the group robot documentation
// describes markdown and text_notice template cards.
func validMessage(m map[string]any) string {
	if msg := onlyKeys(m, "msgtype", "markdown", "template_card"); msg != "" {
		return msg
	}
	switch m["msgtype"] {
	case "markdown":
		md, _ := m["markdown"].(map[string]any)
		content, _ := md["content"].(string)
		if content == "" || len(content) > 4096 || !utf8.ValidString(content) {
			return "markdown.content must be 1-4096 bytes of UTF-8"
		}
		return onlyKeys(md, "content")
	case "template_card":
		c, _ := m["template_card"].(map[string]any)
		if msg := onlyKeys(c, "card_type", "source", "main_title", "emphasis_content", "quote_area",
			"sub_title_text", "horizontal_content_list", "jump_list", "card_action"); msg != "" {
			return msg
		}
		if c["card_type"] != "text_notice" {
			return "card_type must be text_notice"
		}
		mt, _ := c["main_title"].(map[string]any)
		if t, _ := mt["title"].(string); t == "" {
			return "main_title.title is required"
		}
		ca, _ := c["card_action"].(map[string]any)
		if ca["type"] != 1.0 || ca["url"] == "" || ca["url"] == nil {
			return "card_action with type 1 and url is required for text_notice"
		}
		jl, _ := c["jump_list"].([]any)
		if len(jl) > 3 {
			return "jump_list longer than 3"
		}
		for _, j := range jl {
			jm, _ := j.(map[string]any)
			if jm["type"] != 1.0 || jm["url"] == nil || jm["title"] == nil {
				return "jump_list entry needs type 1, title and url"
			}
		}
		hl, _ := c["horizontal_content_list"].([]any)
		if len(hl) > 6 {
			return "horizontal_content_list longer than 6"
		}
		return ""
	}
	return "invalid message type"
}

func onlyKeys(m map[string]any, keys ...string) string {
	for k := range m {
		if !slices.Contains(keys, k) {
			return "unexpected field " + k
		}
	}
	return ""
}

func newChannel(t *testing.T, cfg Config) *WeCom {
	t.Helper()
	w, err := New(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestSendMessages(t *testing.T) {
	srv := newRobot(t)
	w := newChannel(t, Config{Webhook: srv.url()})
	if w.Name() != "wecom" {
		t.Errorf("Name() = %q", w.Name())
	}

	// Yellow with an answer link: a text_notice card.
	if err := w.Send(t.Context(), testCall(yujing.Yellow, true)); err != nil {
		t.Fatal(err)
	}
	// Red with a WeCom user id: markdown mentioning them, link in the text.
	if err := w.Send(t.Context(), testCall(yujing.Red, true)); err != nil {
		t.Fatal(err)
	}
	// Blue, no link: markdown.
	if err := w.Send(t.Context(), testCall(yujing.Blue, false)); err != nil {
		t.Fatal(err)
	}
	sent := srv.Sent()
	if len(sent) != 3 {
		t.Fatalf("%d messages, want 3", len(sent))
	}

	card := sent[0]["template_card"].(map[string]any)
	if sent[0]["msgtype"] != "template_card" {
		t.Fatalf("msgtype %v", sent[0]["msgtype"])
	}
	if title := card["main_title"].(map[string]any)["title"]; title != "气象黄色预警（Ⅲ级）" {
		t.Errorf("main_title.title %q", title)
	}
	if v := card["emphasis_content"].(map[string]any); v["title"] != "104.2mm" || v["desc"] != "阈值 100mm" {
		t.Errorf("emphasis_content %v", v)
	}
	jump := card["jump_list"].([]any)[0].(map[string]any)
	if jump["url"] != "https://yj.example.cn/a/Q7xK2mP9" || jump["title"] != "收到 / 确认" {
		t.Errorf("jump_list %v", jump)
	}
	if a := card["card_action"].(map[string]any); a["url"] != "https://yj.example.cn/a/Q7xK2mP9" {
		t.Errorf("card_action %v", a)
	}
	if hl := card["horizontal_content_list"].([]any); len(hl) != 3 || hl[2].(map[string]any)["value"] != "2025-07-14 09:45（北京时间）" {
		t.Errorf("horizontal_content_list %v", hl)
	}
	if sub, _ := card["sub_title_text"].(string); !strings.Contains(sub, "转移") {
		t.Errorf("sub_title_text %q", sub)
	}

	md := sent[1]["markdown"].(map[string]any)["content"].(string)
	if sent[1]["msgtype"] != "markdown" || !strings.HasSuffix(md, "\n<@LiSi>") || !strings.Contains(md, "https://yj.example.cn/a/Q7xK2mP9") {
		t.Errorf("red markdown: %q", md)
	}
	if md := sent[2]["markdown"].(map[string]any)["content"].(string); strings.Contains(md, "<@") || !strings.Contains(md, "蓝色预警") {
		t.Errorf("blue markdown: %q", md)
	}
	if strings.Contains(fmt.Sprint(sent), "13900000000") {
		t.Error("a message carries the phone number")
	}
}

func TestMentionRules(t *testing.T) {
	w := newChannel(t, Config{Webhook: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=" + testKey, MentionLevel: "red"})
	c := testCall(yujing.Orange, false)
	if p, _ := w.NewPayload(c); strings.Contains(p.Markdown.Content, "<@") {
		t.Error("orange mentioned with mention_level red")
	}
	c = testCall(yujing.Red, false)
	c.Person.IM["wecom"] = "bad>id"
	if p, _ := w.NewPayload(c); strings.Contains(p.Markdown.Content, "<@") {
		t.Error("invalid user id put in a mention")
	}
}

func TestLongMarkdownIsCut(t *testing.T) {
	w := newChannel(t, Config{Webhook: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=" + testKey})
	c := testCall(yujing.Blue, false)
	c.Alert.Message = strings.Repeat("说明", 2000)
	p, err := w.NewPayload(c)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(p.Markdown.Content); n > MaxMarkdownBytes || !utf8.ValidString(p.Markdown.Content) || !strings.HasSuffix(p.Markdown.Content, "…") {
		t.Errorf("content %d bytes, valid=%v", n, utf8.ValidString(p.Markdown.Content))
	}
}

func TestAnswers(t *testing.T) {
	providertest.CheckAnswers(t, []providertest.AnswerCase{
		{Name: "ok", Answer: ok, OK: true},
		{Name: "throttled", Answer: answer(200, `{"errcode":45009,"errmsg":"api freq out of limit, hint: [1635043469_160_1ea1b1d99cd2c82ebf782c0c06a61af4]"}`), Retryable: true, Reason: notify.ReasonThrottled, Contains: "errcode 45009: api freq out of limit", Wait: time.Minute},
		{Name: "busy", Answer: answer(200, `{"errcode":-1,"errmsg":"system busy"}`), Retryable: true, Reason: notify.ReasonOther, Contains: "errcode -1"},
		{Name: "invalid webhook", Answer: answer(200, `{"errcode":93000,"errmsg":"invalid webhook url, hint: [1629125885_160_x]"}`), Reason: notify.ReasonOther, Contains: "errcode 93000"},
		{Name: "msgtype", Answer: answer(200, `{"errcode":40008,"errmsg":"invalid message type"}`), Reason: notify.ReasonOther, Contains: "40008"},
		{Name: "empty", Answer: answer(200, `{"errcode":44004,"errmsg":"empty content"}`), Reason: notify.ReasonOther, Contains: "44004"},
		{Name: "unknown", Answer: answer(200, `{"errcode":12345,"errmsg":"new"}`), Retryable: true, Reason: notify.ReasonOther, Contains: "12345"},
		{Name: "not json", Answer: answer(200, `<html></html>`), Retryable: true, Reason: notify.ReasonOther, Contains: "not JSON"},
		{Name: "key echoed", Answer: answer(200, `{"errcode":93000,"errmsg":"invalid webhook url key=`+testKey+`"}`), Reason: notify.ReasonOther, Contains: "key=***"},
		{Name: "http 503", Answer: answer(503, `unavailable `+testKey), Retryable: true, Reason: notify.ReasonHTTP5xx, Contains: "503"},
		{Name: "http 429", Answer: answer(429, ``), Retryable: true, Reason: notify.ReasonThrottled, Contains: "429"},
		{Name: "http 403", Answer: answer(403, `forbidden`), Reason: notify.ReasonHTTP4xx, Contains: "403"},
	}, func(t *testing.T, a providertest.Answer) error {
		srv := newRobot(t, a)
		return newChannel(t, Config{Webhook: srv.url()}).Send(t.Context(), testCall(yujing.Yellow, true))
	}, testKey)
}

// TestThrottledThenDelivered: a throttled message is tried again through
// the dispatcher, with its default MaxBackoff of 30s, no earlier than the
// robot's throttle window (time.Minute) — and then delivered.
func TestThrottledThenDelivered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := providertest.NewRobot(t, wecom, answer(200, `{"errcode":45009,"errmsg":"api freq out of limit"}`), ok)
		var mu sync.Mutex
		var at []time.Time
		client := &http.Client{Transport: providertest.HandlerTransport(func(w http.ResponseWriter, req *http.Request) {
			mu.Lock()
			at = append(at, time.Now())
			mu.Unlock()
			r.ServeHTTP(w, req)
		})}
		hook := "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=" + testKey
		d, err := New(Config{Webhook: hook}, client, nil)
		if err != nil {
			t.Fatal(err)
		}
		disp, done := providertest.Dispatch(t, d, notify.Options{})
		if err := disp.Call(t.Context(), testCall(yujing.Red, true)); err != nil {
			t.Fatal(err)
		}
		res := <-done
		if res.Err != nil || res.Attempts != 2 || len(r.Sent()) != 2 {
			t.Fatalf("call ended %v after %d attempts (%d requests), want sent at the second", res.Err, res.Attempts, len(r.Sent()))
		}
		if gap := at[1].Sub(at[0]); gap < time.Minute {
			t.Errorf("retried %s after the throttle, want at least %s", gap, time.Minute)
		}
	})
}

func TestTimeout(t *testing.T) {
	providertest.CheckTimeouts(t, testCall(yujing.Red, true), func(url string, timeout time.Duration) notify.Channel {
		return newChannel(t, Config{Webhook: url + "/cgi-bin/webhook/send?key=" + testKey, Timeout: timeout})
	}, func(t *testing.T, err error) { providertest.NoSecrets(t, err, testKey) })
}

func TestNetworkErrorHidesKey(t *testing.T) {
	base := providertest.ClosedURL(t)
	w := newChannel(t, Config{Webhook: base + "/cgi-bin/webhook/send?key=" + testKey, Timeout: time.Second})
	err := w.Send(t.Context(), testCall(yujing.Red, true))
	if err == nil || !notify.Retryable(err) || notify.FailureReason(err) != notify.ReasonNetwork {
		t.Fatalf("err = %v, want retryable network error", err)
	}
	if strings.Contains(err.Error(), testKey) || !strings.Contains(err.Error(), base+"/cgi-bin/webhook/send") {
		t.Errorf("error %q", err)
	}
}

func TestNewValidation(t *testing.T) {
	good := "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=" + testKey
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"ok", Config{Webhook: good, Lang: "en", MentionLevel: "none"}, ""},
		{"empty", Config{}, `wecom "wecom": webhook is empty`},
		{"no key", Config{Webhook: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"}, "webhook has no key parameter"},
		{"http", Config{Webhook: "http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=" + testKey}, `scheme "http" is not https`},
		{"bad url", Config{Webhook: "https://qyapi weixin/?key=" + testKey}, "webhook is not a valid URL"},
		{"all at once", Config{Name: "wx", Webhook: "https://qyapi.weixin.qq.com/x", Lang: "ja", Timeout: -time.Second, MentionLevel: "pink"},
			`wecom "wx": webhook has no key parameter` + "\n" + `lang "ja" is not zh-CN or en` + "\n" + "timeout -1s is negative\n" + `mention_level: unknown level "pink"`},
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
			providertest.NoSecrets(t, err, testKey)
		})
	}
}

func TestEnglishCard(t *testing.T) {
	w := newChannel(t, Config{Webhook: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=" + testKey, Lang: "en"})
	p, err := w.NewPayload(testCall(yujing.Yellow, true))
	if err != nil {
		t.Fatal(err)
	}
	c := p.TemplateCard
	if c.MainTitle.Title != "YELLOW (III) weather warning" || c.JumpList[0].Title != "Received / confirm" ||
		c.EmphasisContent.Desc != "threshold 100mm" || c.HorizontalContentList[0].KeyName != "Point" {
		t.Errorf("card %+v", c)
	}
	for _, h := range c.HorizontalContentList {
		if width(h.KeyName) > 10 {
			t.Errorf("keyname %q longer than 5", h.KeyName)
		}
	}
}

func TestSampleConfig(t *testing.T) {
	var cfg Config
	providertest.DecodeSample(t, &cfg, map[string]string{"YUJING_WECOM_KEY": testKey})
	if cfg.Name != "duty-wecom" || !strings.HasSuffix(cfg.Webhook, "key="+testKey) || cfg.Timeout != 5*time.Second {
		t.Errorf("decoded %+v", cfg)
	}
	if _, err := New(cfg, nil, nil); err != nil {
		t.Errorf("New(sample): %v", err)
	}
}
