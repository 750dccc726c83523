package wecom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"yujing"
	"yujing/message"
	"yujing/notify"
	"yujing/notify/internal/imhook"
	"yujing/notify/internal/provider"
)

// DefaultName is the channel name when Config.Name is empty.
const DefaultName = "wecom"

// MaxPerMinute is WeCom's limit for one group robot: 20 messages a minute.
const MaxPerMinute = 20

// MaxMarkdownBytes is the longest markdown content WeCom accepts.
const MaxMarkdownBytes = 4096

// Robot answer codes yujing tells apart (errcode in the JSON answer).
const (
	CodeOK             = 0
	CodeBusy           = -1    // system busy: try again
	CodeInvalidMsgType = 40008 // invalid message type: permanent
	CodeInvalidParam   = 40058 // invalid parameter: permanent
	CodeEmptyContent   = 44004 // empty content: permanent
	CodeFreqLimit      = 45009 // api freq out of limit: throttled
	CodeInvalidWebhook = 93000 // invalid webhook url (bad or deleted key): permanent
)

// throttleWait is the window of WeCom's per-minute limit.
const throttleWait = time.Minute

// Config configures one WeCom (企业微信) group robot.
type Config struct {
	Name    string `yaml:"name"`    // channel name calls are routed by; default "wecom"
	Webhook string `yaml:"webhook"` // https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…
	// Lang is the language of the messages: zh-CN or en. Empty: the
	// renderer's.
	Lang    string        `yaml:"lang"`
	Timeout time.Duration `yaml:"timeout"` // per request; 0 leaves it to the dispatcher's send timeout
	// MentionLevel is the lowest level whose calls @mention the person by
	// WeCom user id (Person.IM["wecom"]): blue, yellow, orange or red;
	// "none" never. Default orange.
	MentionLevel string `yaml:"mention_level"`
}

// WeCom is a notify.Channel that posts calls to a WeCom group robot.
type WeCom struct {
	name     string
	webhook  string // carries the key: never logged
	key      string
	safeURL  string // scheme://host/path, for errors
	timeout  time.Duration
	mentions yujing.Level
	labels   labels
	r        *message.Renderer
	client   *http.Client
}

var (
	_ notify.Channel        = (*WeCom)(nil)
	_ notify.DefaultLimiter = (*WeCom)(nil)
	_ notify.GroupSender    = (*WeCom)(nil)
)

// DefaultLimit is WeCom's quota for one robot: MaxPerMinute a minute, with
// no burst (one send every 3 s). The configuration may replace it (a
// channel's limit).
func (w *WeCom) DefaultLimit() notify.Limit { return notify.Limit{PerMinute: MaxPerMinute, Burst: 1} }

// SendGroup posts a grouped delivery as one markdown message (a template
// card has no room for it): the first call's, whose note (说明) is the
// combined text listing every call, with its answer link in the text.
func (w *WeCom) SendGroup(ctx context.Context, g notify.Group) (string, error) {
	p, err := w.newPayload(g.Call, true)
	if err != nil {
		return "", notify.Permanent(fmt.Errorf("wecom %s: render call %s: %w", w.name, g.Call.ID, err))
	}
	return "", w.post(ctx, g.Call, p)
}

// labels are the words of the template card.
type labels struct {
	source, sensor, time, due, button string
}

var cardLabels = map[string]labels{
	message.LangZH: {"yujing 预警", "监测点", "时间", "确认期限", "收到 / 确认"},
	message.LangEN: {"yujing warning", "Point", "Time", "Due", "Received / confirm"},
}

// New checks cfg, reporting every problem at once, and builds the channel.
// A nil client gets a client of its own that does not follow redirects; a
// nil renderer gets the built-in templates in cfg.Lang.
func New(cfg Config, client *http.Client, r *message.Renderer) (*WeCom, error) {
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
		return nil, fmt.Errorf("wecom %q: %w", cfg.Name, err)
	}
	if r, err = imhook.Renderer(r, cfg.Lang); err != nil {
		return nil, fmt.Errorf("wecom %q: %w", cfg.Name, err)
	}
	if client == nil {
		client = provider.NoRedirectClient()
	}
	safe := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	return &WeCom{
		name: cfg.Name, webhook: cfg.Webhook, key: u.Query().Get("key"), safeURL: safe.String(),
		timeout: cfg.Timeout, mentions: mentions, labels: cardLabels[r.Lang()],
		r: r, client: client,
	}, nil
}

// parseWebhook checks the robot's URL: https (http only to a loopback
// address, for tests), with a key. Errors never quote the URL.
func parseWebhook(s string) (*url.URL, error) {
	u, err := imhook.ParseURL(s)
	switch {
	case err != nil:
		return nil, err
	case u.Query().Get("key") == "":
		return nil, errors.New("webhook has no key parameter")
	}
	return u, nil
}

// Name returns the channel name.
func (w *WeCom) Name() string { return w.name }

// Payload is the JSON body of a robot message: msgtype "markdown" or
// "template_card" (a text_notice card).
type Payload struct {
	MsgType      string        `json:"msgtype"`
	Markdown     *Markdown     `json:"markdown,omitempty"`
	TemplateCard *TemplateCard `json:"template_card,omitempty"`
}

// Markdown is a markdown message; <@userid> in the content mentions a
// member.
type Markdown struct {
	Content string `json:"content"`
}

// TemplateCard is a text_notice template card. WeCom suggests the lengths
// noted (in characters); longer values are shortened.
type TemplateCard struct {
	CardType              string              `json:"card_type"` // "text_notice"
	Source                *CardSource         `json:"source,omitempty"`
	MainTitle             CardTitle           `json:"main_title"`                 // title ≤ 26, desc ≤ 30
	EmphasisContent       *CardTitle          `json:"emphasis_content,omitempty"` // title ≤ 10, desc ≤ 15
	SubTitleText          string              `json:"sub_title_text,omitempty"`   // ≤ 112
	HorizontalContentList []HorizontalContent `json:"horizontal_content_list,omitempty"`
	JumpList              []Jump              `json:"jump_list,omitempty"`
	CardAction            CardAction          `json:"card_action"` // required for text_notice
}

// CardSource is the line naming the sender.
type CardSource struct {
	Desc      string `json:"desc"`       // ≤ 13
	DescColor int    `json:"desc_color"` // 0 grey, 1 black, 2 red, 3 green
}

// CardTitle is a title and its description.
type CardTitle struct {
	Title string `json:"title"`
	Desc  string `json:"desc,omitempty"`
}

// HorizontalContent is a key and value line.
type HorizontalContent struct {
	KeyName string `json:"keyname"` // ≤ 5
	Value   string `json:"value"`   // ≤ 26
}

// Jump is a link under the card.
type Jump struct {
	Type  int    `json:"type"` // 1: URL
	Title string `json:"title"`
	URL   string `json:"url"`
}

// CardAction is what a tap on the card opens.
type CardAction struct {
	Type int    `json:"type"` // 1: URL
	URL  string `json:"url"`
}

// NewPayload builds the robot message for c. A call of MentionLevel or
// above whose person has a WeCom user id is a markdown message that
// mentions them (template cards cannot mention anyone); otherwise a call
// with an answer link is a text_notice card whose button and body open the
// link, and any other call a markdown message.
func (w *WeCom) NewPayload(c yujing.Call) (Payload, error) { return w.newPayload(c, false) }

// newPayload is NewPayload; markdown asks for a markdown message in every
// case.
func (w *WeCom) newPayload(c yujing.Call, markdown bool) (Payload, error) {
	m, err := w.r.Render(message.KindIM, c)
	if err != nil {
		return Payload{}, err
	}
	uid := c.Person.IM["wecom"]
	mention := w.mentions != yujing.LevelNone && c.Alert.Level >= w.mentions && validUserID(uid)
	if c.AnswerURL == "" || mention || markdown {
		content := m.Markdown
		if mention {
			content += "\n<@" + uid + ">"
		}
		return Payload{MsgType: "markdown", Markdown: &Markdown{Content: truncateBytes(content, MaxMarkdownBytes)}}, nil
	}
	d := w.r.Data(c)
	l := w.labels
	colour := 0
	switch {
	case c.Event == yujing.EventResolved || c.Event == yujing.EventClosed:
		colour = 3
	case c.Alert.Level >= yujing.Orange:
		colour = 2
	}
	card := &TemplateCard{
		CardType:        "text_notice",
		Source:          &CardSource{Desc: cut(l.source, 13), DescColor: colour},
		MainTitle:       CardTitle{Title: cut(strings.TrimSuffix(m.Title, " "+d.Site), 26), Desc: cut(d.Site, 30)},
		EmphasisContent: &CardTitle{Title: cut(d.Value, 10), Desc: cut(thresholdLabel(w.r.Lang())+d.Threshold, 15)},
		SubTitleText:    cut(d.Guidance, 112),
		HorizontalContentList: []HorizontalContent{
			{KeyName: l.sensor, Value: cut(d.Sensor, 26)},
			{KeyName: l.time, Value: cut(d.Time, 26)},
		},
		JumpList:   []Jump{{Type: 1, Title: cut(l.button, 13), URL: c.AnswerURL}},
		CardAction: CardAction{Type: 1, URL: c.AnswerURL},
	}
	if d.Deadline != "" {
		card.HorizontalContentList = append(card.HorizontalContentList, HorizontalContent{KeyName: l.due, Value: cut(d.Deadline, 26)})
	}
	return Payload{MsgType: "template_card", TemplateCard: card}, nil
}

func thresholdLabel(lang string) string {
	if lang == message.LangEN {
		return "threshold "
	}
	return "阈值 "
}

// validUserID accepts WeCom user ids (letters, digits, -, _, ., @), so an
// id cannot close the <@…> tag.
func validUserID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.@", r)) {
			return false
		}
	}
	return true
}

// cut shortens s to the width of n Chinese characters (2n Latin ones),
// ending with "…" when cut: WeCom's suggested lengths are in characters
// of a card laid out for Chinese.
func cut(s string, n int) string {
	if width(s) <= 2*n {
		return s
	}
	var b strings.Builder
	w := 0
	for _, r := range s {
		if w+width(string(r)) > 2*n-2 {
			break
		}
		b.WriteRune(r)
		w += width(string(r))
	}
	return b.String() + "…"
}

// width counts East Asian wide characters as 2, others as 1.
func width(s string) int {
	w := 0
	for _, r := range s {
		switch {
		case r >= 0x1100 && (r <= 0x115f || r >= 0x2e80 && r <= 0xa4cf || r >= 0xac00 && r <= 0xd7a3 ||
			r >= 0xf900 && r <= 0xfaff || r >= 0xfe30 && r <= 0xfe4f || r >= 0xff00 && r <= 0xff60 ||
			r >= 0xffe0 && r <= 0xffe6 || r >= 0x1f300 && r <= 0x1faff || r >= 0x20000 && r <= 0x3fffd):
			w += 2
		default:
			w++
		}
	}
	return w
}

// truncateBytes cuts s to at most n bytes on a character boundary.
func truncateBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ell = "…"
	s = s[:n-len(ell)]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + ell
}

// Send posts the call once. A network error, a timeout, HTTP 408, 429 or
// 5xx, errcode -1 and errcode 45009 (throttled) are worth another try; an
// invalid key (93000) or a refused message is permanent. See README.md.
func (w *WeCom) Send(ctx context.Context, c yujing.Call) error {
	p, err := w.NewPayload(c)
	if err != nil {
		return notify.Permanent(fmt.Errorf("wecom %s: render call %s: %w", w.name, c.ID, err))
	}
	return w.post(ctx, c, p)
}

func (w *WeCom) post(ctx context.Context, c yujing.Call, p Payload) error {
	body, err := json.Marshal(p)
	if err != nil {
		return notify.Permanent(fmt.Errorf("wecom %s: encode call %s: %w", w.name, c.ID, err))
	}
	return w.hook(c.Person.Phone).Post(ctx, body, w.check)
}

// hook is this robot's webhook. Its secrets are the key and phones (the
// called person's, which the message may hold).
func (w *WeCom) hook(phones ...string) *imhook.Hook {
	return &imhook.Hook{Prefix: "wecom " + w.name, URL: w.webhook, SafeURL: w.safeURL, Timeout: w.timeout,
		Client: w.client, Secrets: append([]string{w.key}, phones...)}
}

// Answer is the robot's JSON answer.
type Answer struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// APIError is an answer with a non-zero errcode (see imhook.APIError).
type APIError = imhook.APIError

// check classifies the robot's answer.
func (w *WeCom) check(resp *http.Response, raw []byte) error {
	var a Answer
	jerr := json.Unmarshal(raw, &a)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		if jerr == nil && a.ErrCode == CodeFreqLimit {
			return w.apiError(a)
		}
		return w.hook().CheckStatus(resp, raw)
	}
	if jerr != nil {
		return fmt.Errorf("answer is not JSON: %.80q", w.hook().Scrub(string(raw)))
	}
	if a.ErrCode == CodeOK {
		return nil
	}
	e := w.apiError(a)
	switch a.ErrCode {
	case CodeInvalidWebhook, CodeInvalidMsgType, CodeInvalidParam, CodeEmptyContent:
		return notify.Permanent(e)
	default:
		return e // throttled, busy, or an unknown code: retried within the dispatcher's attempts
	}
}

func (w *WeCom) apiError(a Answer) *APIError {
	return imhook.NewAPIError("errcode", a.ErrCode, w.hook().Scrub(a.ErrMsg), a.ErrCode == CodeFreqLimit, throttleWait)
}
