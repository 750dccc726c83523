package dingtalk

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
const DefaultName = "dingtalk"

// MaxPerMinute is DingTalk's limit for one custom robot: 20 messages a
// minute; a robot that sends more is throttled for 10 minutes.
const MaxPerMinute = 20

// Robot answer codes yujing tells apart (errcode in the JSON answer).
const (
	CodeOK           = 0
	CodeBusy         = -1     // system busy: try again
	CodeTooFast      = 130101 // send too fast, more than 20 a minute: throttled
	CodeTokenInvalid = 300001 // access_token invalid or robot gone: permanent
	CodeRefused      = 310000 // keyword missing, sign mismatch or IP not allowed: permanent
)

// throttleWait is how long DingTalk throttles a robot that sent too fast.
// The dispatcher waits at least this long, up to its MaxBackoff.
const throttleWait = 10 * time.Minute

// Config configures one DingTalk custom robot (自定义机器人).
type Config struct {
	Name    string `yaml:"name"`    // channel name calls are routed by; default "dingtalk"
	Webhook string `yaml:"webhook"` // https://oapi.dingtalk.com/robot/send?access_token=…
	// Secret is the 加签 key shown in the robot's security settings
	// (SEC…). Empty when the robot is secured by keywords or an IP list
	// instead.
	Secret string `yaml:"secret"`
	// Lang is the language of the messages: zh-CN or en. Empty: the
	// renderer's.
	Lang    string        `yaml:"lang"`
	Timeout time.Duration `yaml:"timeout"` // per request; 0 leaves it to the dispatcher's send timeout
	// MentionLevel is the lowest level whose calls @mention the person by
	// phone number: blue, yellow, orange or red; "none" never. Default
	// orange (orange and red).
	MentionLevel string `yaml:"mention_level"`
}

// DingTalk is a notify.Channel that posts calls to a DingTalk group
// through a custom robot.
type DingTalk struct {
	name     string
	webhook  *url.URL // carries the access token: never logged
	safeURL  string   // scheme://host/path, for errors
	secret   string
	timeout  time.Duration
	mentions yujing.Level // LevelNone: never
	button   string       // text of the answer button
	r        *message.Renderer
	client   *http.Client
	now      func() time.Time
}

var (
	_ notify.Channel        = (*DingTalk)(nil)
	_ notify.DefaultLimiter = (*DingTalk)(nil)
	_ notify.GroupSender    = (*DingTalk)(nil)
)

// DefaultLimit is DingTalk's quota for one robot: MaxPerMinute a minute,
// with no burst (one send every 3 s), so that a burst of calls waits its
// turn instead of getting the robot throttled for 10 minutes. The
// configuration may replace it (a channel's limit).
func (d *DingTalk) DefaultLimit() notify.Limit {
	return notify.Limit{PerMinute: MaxPerMinute, Burst: 1}
}

// SendGroup posts a grouped delivery as one message: the first call's,
// whose note (说明) is the combined text listing every call.
func (d *DingTalk) SendGroup(ctx context.Context, g notify.Group) (string, error) {
	return "", d.Send(ctx, g.Call)
}

// New checks cfg, reporting every problem at once, and builds the channel.
// A nil client gets a client of its own that does not follow redirects; a
// nil renderer gets the built-in templates in cfg.Lang.
func New(cfg Config, client *http.Client, r *message.Renderer) (*DingTalk, error) {
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
	if strings.ContainsAny(cfg.Secret, "\r\n") {
		errs = append(errs, errors.New("secret has a line break")) // not quoted: it is a secret
	}
	mentions, err := imhook.MentionLevel(cfg.MentionLevel)
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("dingtalk %q: %w", cfg.Name, err)
	}
	if r, err = imhook.Renderer(r, cfg.Lang); err != nil {
		return nil, fmt.Errorf("dingtalk %q: %w", cfg.Name, err)
	}
	if client == nil {
		client = provider.NoRedirectClient()
	}
	button := imhook.AnswerButton(r)
	safe := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	return &DingTalk{
		name: cfg.Name, webhook: u, safeURL: safe.String(), secret: cfg.Secret,
		timeout: cfg.Timeout, mentions: mentions, button: button,
		r: r, client: client, now: time.Now,
	}, nil
}

// parseWebhook checks the robot's URL: https (http only to a loopback
// address, for tests), with an access_token. Errors never quote the URL.
func parseWebhook(s string) (*url.URL, error) {
	u, err := imhook.ParseURL(s)
	switch {
	case err != nil:
		return nil, err
	case u.Query().Get("access_token") == "":
		return nil, errors.New("webhook has no access_token parameter")
	}
	return u, nil
}

// Name returns the channel name.
func (d *DingTalk) Name() string { return d.name }

// Payload is the JSON body of a robot message: msgtype "markdown" (with
// "at" when someone is mentioned) or "actionCard" (with one button to the
// answer link).
type Payload struct {
	MsgType    string      `json:"msgtype"`
	Markdown   *Markdown   `json:"markdown,omitempty"`
	ActionCard *ActionCard `json:"actionCard,omitempty"`
	At         *At         `json:"at,omitempty"`
}

// Markdown is a markdown message.
type Markdown struct {
	Title string `json:"title"` // shown in the conversation list and notification
	Text  string `json:"text"`
}

// ActionCard is an action card with a single button.
type ActionCard struct {
	Title          string `json:"title"`
	Text           string `json:"text"`
	BtnOrientation string `json:"btnOrientation"` // "0": buttons stacked
	SingleTitle    string `json:"singleTitle"`
	SingleURL      string `json:"singleURL"`
}

// At lists who a markdown message mentions.
type At struct {
	AtMobiles []string `json:"atMobiles,omitempty"`
	IsAtAll   bool     `json:"isAtAll"`
}

// NewPayload builds the robot message for c. A call of MentionLevel or
// above with a phone number is a markdown message that @mentions the
// person (DingTalk shows a mention only when the number is also in the
// text); otherwise a call with an answer link is an action card with a
// button to it, and any other call a plain markdown message.
func (d *DingTalk) NewPayload(c yujing.Call) (Payload, error) {
	m, err := d.r.Render(message.KindIM, c)
	if err != nil {
		return Payload{}, err
	}
	mention := d.mentions != yujing.LevelNone && c.Alert.Level >= d.mentions && c.Person.Phone != ""
	switch {
	case mention:
		return Payload{
			MsgType:  "markdown",
			Markdown: &Markdown{Title: m.Title, Text: m.Markdown + "\n\n@" + c.Person.Phone},
			At:       &At{AtMobiles: []string{c.Person.Phone}},
		}, nil
	case c.AnswerURL != "":
		return Payload{
			MsgType: "actionCard",
			ActionCard: &ActionCard{Title: m.Title, Text: m.Markdown, BtnOrientation: "0",
				SingleTitle: d.button, SingleURL: c.AnswerURL},
		}, nil
	default:
		return Payload{MsgType: "markdown", Markdown: &Markdown{Title: m.Title, Text: m.Markdown}}, nil
	}
}

// Send posts the call once. A network error, a timeout, HTTP 408, 429 or
// 5xx, errcode -1 and errcode 130101 (throttled) are worth another try;
// a rejected token, signature or keyword is permanent. See README.md.
func (d *DingTalk) Send(ctx context.Context, c yujing.Call) error {
	p, err := d.NewPayload(c)
	if err != nil {
		return notify.Permanent(fmt.Errorf("dingtalk %s: render call %s: %w", d.name, c.ID, err))
	}
	body, err := json.Marshal(p)
	if err != nil {
		return notify.Permanent(fmt.Errorf("dingtalk %s: encode call %s: %w", d.name, c.ID, err))
	}
	return d.hook(c.Person.Phone).Post(ctx, body, d.check)
}

// hook is this robot's webhook, signed now when a secret is set. Its
// secrets are the token, the signing secret, and phones (the mentioned
// person's, in the message).
func (d *DingTalk) hook(phones ...string) *imhook.Hook {
	return &imhook.Hook{Prefix: "dingtalk " + d.name, URL: d.signedURL(d.now()), SafeURL: d.safeURL, Timeout: d.timeout,
		Client: d.client, Secrets: append([]string{d.webhook.Query().Get("access_token"), d.secret}, phones...)}
}

// signedURL is the webhook with timestamp and sign added when a secret is
// set.
func (d *DingTalk) signedURL(now time.Time) string {
	if d.secret == "" {
		return d.webhook.String()
	}
	ms := now.UnixMilli()
	u := *d.webhook
	q := u.Query()
	q.Set("timestamp", strconv.FormatInt(ms, 10))
	q.Set("sign", Sign(d.secret, ms)) // Encode escapes + / = as %2B %2F %3D
	u.RawQuery = q.Encode()
	return u.String()
}

// Sign is DingTalk's 加签: the Base64 HMAC-SHA256 of timestamp + "\n" +
// secret, keyed with secret, for a timestamp in milliseconds. The value
// goes into the URL query escaped (url.Values does it).
func Sign(secret string, timestampMillis int64) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(timestampMillis, 10) + "\n" + secret))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Answer is the robot's JSON answer.
type Answer struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// APIError is an answer with a non-zero errcode (see imhook.APIError).
type APIError = imhook.APIError

// check classifies the robot's answer.
func (d *DingTalk) check(resp *http.Response, raw []byte) error {
	var a Answer
	jerr := json.Unmarshal(raw, &a)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		if jerr == nil && a.ErrCode == CodeTooFast {
			return newAPIError(a)
		}
		return d.hook().CheckStatus(resp, raw)
	}
	if jerr != nil {
		return fmt.Errorf("answer is not JSON: %.80q", d.hook().Scrub(string(raw))) // retryable: a proxy page, a truncated answer
	}
	if a.ErrCode == CodeOK {
		return nil
	}
	e := newAPIError(a)
	e.Message = d.hook().Scrub(e.Message)
	switch {
	case e.Throttled(), a.ErrCode == CodeBusy:
		return e
	case a.ErrCode == CodeTokenInvalid, a.ErrCode == CodeRefused:
		return notify.Permanent(e)
	default:
		return e // unknown code: retried, within the dispatcher's attempts
	}
}

func newAPIError(a Answer) *APIError {
	throttled := a.ErrCode == CodeTooFast || strings.Contains(strings.ToLower(a.ErrMsg), "send too fast")
	return imhook.NewAPIError("errcode", a.ErrCode, a.ErrMsg, throttled, throttleWait)
}
