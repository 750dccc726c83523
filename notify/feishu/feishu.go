package feishu

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"yujing"
	"yujing/message"
	"yujing/notify"
	"yujing/notify/internal/imhook"
	"yujing/notify/internal/provider"
)

// DefaultName is the channel name when Config.Name is empty.
const DefaultName = "feishu"

// Limits of a Feishu custom bot: 100 messages a minute and 5 a second per
// bot in one tenant; a request body of at most 20 KB.
const (
	MaxPerMinute = 100
	MaxPerSecond = 5
	MaxBodyBytes = 20 << 10
)

// Bot answer codes yujing tells apart (code in the JSON answer).
const (
	CodeOK            = 0
	CodeBadRequest    = 9499     // gateway code, seen with "Bad Request" and with "too many request"
	CodeFrequency     = 11232    // frequency limited (busy around :00 and :30): throttled
	CodeParamInvalid  = 19001    // param invalid, e.g. the hook token: permanent
	CodeSignMismatch  = 19021    // sign match fail or timestamp not within an hour: permanent
	CodeIPNotAllowed  = 19022    // ip not allowed: permanent
	CodeKeywords      = 19024    // key words not found: permanent
	CodeRequestLimit  = 99991400 // request trigger frequency limit (OpenAPI gateway): throttled
	rateLimitResetHdr = "x-ogw-ratelimit-reset"
)

// Config configures one Feishu (飞书) or Lark custom bot (自定义机器人).
type Config struct {
	Name    string `yaml:"name"`    // channel name calls are routed by; default "feishu"
	Webhook string `yaml:"webhook"` // https://open.feishu.cn/open-apis/bot/v2/hook/…
	// Secret is the signature verification (签名校验) key from the bot's
	// security settings. Empty when the bot is secured by keywords or an
	// IP list instead.
	Secret string `yaml:"secret"`
	// Lang is the language of the messages: zh-CN or en. Empty: the
	// renderer's.
	Lang    string        `yaml:"lang"`
	Timeout time.Duration `yaml:"timeout"` // per request; 0 leaves it to the dispatcher's send timeout
	// MentionLevel is the lowest level whose calls @mention the person by
	// Feishu open_id (Person.IM["feishu"]): blue, yellow, orange or red;
	// "none" never. Default orange.
	MentionLevel string `yaml:"mention_level"`
}

// Feishu is a notify.Channel that posts calls to a Feishu group through a
// custom bot.
type Feishu struct {
	name     string
	webhook  string // the hook token is its last path element: never logged
	token    string
	safeURL  string // the webhook with the token replaced, for errors
	secret   string
	timeout  time.Duration
	mentions yujing.Level
	button   string
	r        *message.Renderer
	client   *http.Client
	now      func() time.Time
}

var (
	_ notify.Channel        = (*Feishu)(nil)
	_ notify.DefaultLimiter = (*Feishu)(nil)
	_ notify.GroupSender    = (*Feishu)(nil)
)

// DefaultLimit is Feishu's quota for one bot: MaxPerMinute a minute, with
// bursts of at most MaxPerSecond. The configuration may replace it (a
// channel's limit).
func (f *Feishu) DefaultLimit() notify.Limit {
	return notify.Limit{PerMinute: MaxPerMinute, Burst: MaxPerSecond}
}

// SendGroup posts a grouped delivery as one card: the first call's, whose
// note (说明) is the combined text listing every call.
func (f *Feishu) SendGroup(ctx context.Context, g notify.Group) (string, error) {
	return "", f.Send(ctx, g.Call)
}

// New checks cfg, reporting every problem at once, and builds the channel.
// A nil client gets a client of its own that does not follow redirects; a
// nil renderer gets the built-in templates in cfg.Lang.
func New(cfg Config, client *http.Client, r *message.Renderer) (*Feishu, error) {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	var errs []error
	u, err := parseWebhook(cfg.Webhook)
	if err != nil {
		errs = append(errs, err)
	}
	if err := imhook.CheckLang(cfg.Lang); err != nil {
		errs = append(errs, err)
	}
	if cfg.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %s is negative", cfg.Timeout))
	}
	mentions, err := imhook.MentionLevel(cfg.MentionLevel)
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("feishu %q: %w", cfg.Name, err)
	}
	if r, err = imhook.Renderer(r, cfg.Lang); err != nil {
		return nil, fmt.Errorf("feishu %q: %w", cfg.Name, err)
	}
	if client == nil {
		client = provider.NoRedirectClient()
	}
	button := imhook.AnswerButton(r)
	token := path.Base(u.Path)
	safe := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: path.Dir(u.Path)}).String() + "/***"
	return &Feishu{
		name: cfg.Name, webhook: cfg.Webhook, token: token, safeURL: safe, secret: cfg.Secret,
		timeout: cfg.Timeout, mentions: mentions, button: button,
		r: r, client: client, now: time.Now,
	}, nil
}

// parseWebhook checks the bot's URL: https (http only to a loopback
// address, for tests), a path ending in the hook token, no query. Errors
// never quote the URL.
func parseWebhook(s string) (*url.URL, error) {
	u, err := imhook.ParseURL(s)
	switch {
	case err != nil:
		return nil, err
	case !strings.Contains(u.Path, "/bot/v2/hook/") || strings.HasSuffix(u.Path, "/"):
		return nil, errors.New("webhook path is not …/open-apis/bot/v2/hook/<token>")
	case u.RawQuery != "":
		return nil, errors.New("webhook has a query string")
	}
	return u, nil
}

// Name returns the channel name.
func (f *Feishu) Name() string { return f.name }

// Payload is the JSON body of a bot message: an interactive card, with
// timestamp and sign when the bot checks signatures.
type Payload struct {
	Timestamp string `json:"timestamp,omitempty"` // Unix seconds, as a string
	Sign      string `json:"sign,omitempty"`
	MsgType   string `json:"msg_type"` // "interactive"
	Card      Card   `json:"card"`
}

// Card is a message card (JSON 1.0 layout).
type Card struct {
	Config   CardConfig `json:"config"`
	Header   CardHeader `json:"header"`
	Elements []any      `json:"elements"` // Div and Action
}

// CardConfig holds card options.
type CardConfig struct {
	WideScreenMode bool `json:"wide_screen_mode"`
}

// CardHeader is the coloured title bar.
type CardHeader struct {
	Title    Text   `json:"title"`
	Template string `json:"template"` // red, orange, yellow, blue, green, ...
}

// Text is a text object: tag plain_text or lark_md.
type Text struct {
	Tag     string `json:"tag"`
	Content string `json:"content"`
}

// Div is a text block.
type Div struct {
	Tag  string `json:"tag"` // "div"
	Text Text   `json:"text"`
}

// Action is a row of buttons.
type Action struct {
	Tag     string   `json:"tag"` // "action"
	Actions []Button `json:"actions"`
}

// Button opens a URL.
type Button struct {
	Tag  string `json:"tag"` // "button"
	Text Text   `json:"text"`
	Type string `json:"type"` // danger, primary, default
	URL  string `json:"url"`
}

// HeaderTemplate is the card header colour for a call: the level's
// colour, green once the warning is resolved or closed.
func HeaderTemplate(c yujing.Call) string {
	switch c.Event {
	case yujing.EventResolved, yujing.EventClosed:
		return "green"
	}
	switch c.Alert.Level {
	case yujing.Red:
		return "red"
	case yujing.Orange:
		return "orange"
	case yujing.Yellow:
		return "yellow"
	case yujing.Blue:
		return "blue"
	}
	return "grey"
}

// NewPayload builds the card for c, signed for time now when a secret is
// set. The header carries the title in the level's colour; the body is the
// IM markdown without its heading, with an <at> for a person of
// MentionLevel or above who has a Feishu open_id; a call with an answer
// link gets a button to it.
func (f *Feishu) NewPayload(c yujing.Call, now time.Time) (Payload, error) {
	m, err := f.r.Render(message.KindIM, c)
	if err != nil {
		return Payload{}, err
	}
	body := m.Markdown
	if strings.HasPrefix(body, "#") { // the header shows the heading
		if _, rest, ok := strings.Cut(body, "\n"); ok {
			body = strings.TrimLeft(rest, "\n")
		}
	}
	if id := c.Person.IM["feishu"]; f.mentions != yujing.LevelNone && c.Alert.Level >= f.mentions && validOpenID(id) {
		body += "\n<at id=" + id + "></at>"
	}
	elements := []any{Div{Tag: "div", Text: Text{Tag: "lark_md", Content: body}}}
	if c.AnswerURL != "" {
		kind := "primary"
		if c.Alert.Level >= yujing.Orange {
			kind = "danger"
		}
		elements = append(elements, Action{Tag: "action", Actions: []Button{{
			Tag: "button", Text: Text{Tag: "plain_text", Content: f.button}, Type: kind, URL: c.AnswerURL,
		}}})
	}
	p := Payload{
		MsgType: "interactive",
		Card: Card{
			Config:   CardConfig{WideScreenMode: true},
			Header:   CardHeader{Title: Text{Tag: "plain_text", Content: m.Title}, Template: HeaderTemplate(c)},
			Elements: elements,
		},
	}
	if f.secret != "" {
		ts := now.Unix()
		p.Timestamp = strconv.FormatInt(ts, 10)
		p.Sign = Sign(f.secret, ts)
	}
	return p, nil
}

// validOpenID accepts Feishu ids (letters, digits, _ and -), so an id
// cannot break out of the <at> tag.
func validOpenID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// Sign is Feishu's signature: string_to_sign = timestamp + "\n" + secret,
// used as the HMAC-SHA256 key over an empty message, Base64-encoded. The
// timestamp is in seconds.
func Sign(secret string, timestamp int64) string {
	m := hmac.New(sha256.New, []byte(strconv.FormatInt(timestamp, 10)+"\n"+secret))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Send posts the call once. A network error, a timeout, HTTP 408, 429 or
// 5xx, and the frequency limits (11232, 99991400, 9499 "too many
// request") are worth another try; a rejected signature, keyword, IP or
// token is permanent. See README.md.
func (f *Feishu) Send(ctx context.Context, c yujing.Call) error {
	p, err := f.NewPayload(c, f.now())
	if err != nil {
		return notify.Permanent(fmt.Errorf("feishu %s: render call %s: %w", f.name, c.ID, err))
	}
	body, err := json.Marshal(p)
	if err != nil {
		return notify.Permanent(fmt.Errorf("feishu %s: encode call %s: %w", f.name, c.ID, err))
	}
	if len(body) > MaxBodyBytes {
		return notify.Permanent(fmt.Errorf("feishu %s: call %s: card is %d bytes, Feishu takes at most %d", f.name, c.ID, len(body), MaxBodyBytes))
	}
	return f.hook(c.Person.Phone).Post(ctx, body, f.check)
}

// hook is this robot's webhook. Its secrets are the token in its path,
// the signing secret, and phones (the called person's, which the card may
// hold).
func (f *Feishu) hook(phones ...string) *imhook.Hook {
	return &imhook.Hook{Prefix: "feishu " + f.name, URL: f.webhook, SafeURL: f.safeURL, Timeout: f.timeout,
		Client: f.client, Secrets: append([]string{f.token, f.secret}, phones...)}
}

// Answer is the bot's JSON answer. Current answers carry code and msg;
// older ones StatusCode and StatusMessage.
type Answer struct {
	Code          *int   `json:"code"`
	Msg           string `json:"msg"`
	StatusCode    *int   `json:"StatusCode"`
	StatusMessage string `json:"StatusMessage"`
}

// result returns the answer's code and message, and false when it has
// neither form.
func (a Answer) result() (int, string, bool) {
	switch {
	case a.Code != nil:
		return *a.Code, a.Msg, true
	case a.StatusCode != nil:
		return *a.StatusCode, a.StatusMessage, true
	}
	return 0, "", false
}

// APIError is an answer with a non-zero code (see imhook.APIError).
type APIError = imhook.APIError

// check classifies the bot's answer.
func (f *Feishu) check(resp *http.Response, raw []byte) error {
	var a Answer
	code, msg, coded := 0, "", false
	if json.Unmarshal(raw, &a) == nil {
		code, msg, coded = a.result()
	}
	wait := resetAfter(resp.Header.Get(rateLimitResetHdr))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		if coded && throttled(code, msg) || resp.StatusCode == http.StatusTooManyRequests {
			return f.apiError(code, msg, wait, true)
		}
		return f.hook().CheckStatus(resp, raw)
	}
	if !coded {
		return fmt.Errorf("answer has no code: %.80q", f.hook().Scrub(string(raw)))
	}
	if code == CodeOK {
		return nil
	}
	e := f.apiError(code, msg, wait, throttled(code, msg))
	switch code {
	case CodeSignMismatch, CodeKeywords, CodeIPNotAllowed, CodeParamInvalid:
		return notify.Permanent(e)
	default:
		return e // throttled, 9499, or an unknown code: retried within the dispatcher's attempts
	}
}

// throttled reports whether an answer is a rate limit.
func throttled(code int, msg string) bool {
	switch code {
	case CodeFrequency, CodeRequestLimit:
		return true
	case CodeBadRequest:
		m := strings.ToLower(msg)
		return strings.Contains(m, "too many") || strings.Contains(m, "frequency") || strings.Contains(m, "limit")
	}
	return false
}

func (f *Feishu) apiError(code int, msg string, wait time.Duration, throttle bool) *APIError {
	return imhook.NewAPIError("code", code, f.hook().Scrub(msg), throttle, wait)
}

// resetAfter parses x-ogw-ratelimit-reset, seconds until the limit resets.
func resetAfter(v string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n <= 0 {
		return 0
	}
	return min(time.Duration(n)*time.Second, time.Hour)
}
