package smsgateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"yujing"
	"yujing/message"
	"yujing/notify"
	"yujing/notify/internal/provider"
)

// DefaultName is the channel name when Config.Name is empty.
const DefaultName = "sms-gateway"

// DefaultText is the SMS text when Config.Text is empty: about 35
// characters before the answer link, e.g.
// 【红色预警】plant-a gas-01 55.5%LEL 09:31 确认 https://yj.example.cn/a/Xy7Kq2
const DefaultText = `{{if eq .Event "resolved"}}【预警解除】{{else}}【{{.LevelShort}}预警】{{end}}` +
	`{{.Site}} {{.Sensor}} {{.Value}}{{.Unit}} {{.Clock}}{{with .AnswerURL}} 确认 {{.}}{{end}}`

// DefaultContentType is the Content-Type of a body when Config.ContentType
// is empty.
const DefaultContentType = "application/json; charset=utf-8"

// Config configures one gateway. URL, Body and Text are text/template
// templates over Data; the functions json (a JSON string literal) and
// urlquery (query escaping) are available.
type Config struct {
	Name             string            `yaml:"name"`               // channel name calls are routed by; default "sms-gateway"
	URL              string            `yaml:"url"`                // absolute http(s) URL, a template
	Method           string            `yaml:"method"`             // GET, POST or PUT; default POST
	Headers          map[string]string `yaml:"headers"`            // extra headers (not templates), e.g. a token
	Body             string            `yaml:"body"`               // request body, a template; empty: no body
	ContentType      string            `yaml:"content_type"`       // default application/json; charset=utf-8 when there is a body
	Text             string            `yaml:"text"`               // the SMS text, a template; default DefaultText
	SuccessStatus    []int             `yaml:"success_status"`     // statuses meaning success; default any 2xx
	SuccessJSONField string            `yaml:"success_json_field"` // field of a JSON answer to check, dotted: code, result.status
	SuccessValue     string            `yaml:"success_value"`      // its value on success, compared as text: "0", "true", "OK"
	RetryValues      []string          `yaml:"retry_values"`       // other values worth retrying (gateway busy)
	MessageJSONField string            `yaml:"message_json_field"` // field with the gateway's message, copied into errors
	Timeout          time.Duration     `yaml:"timeout"`            // per request; 0 leaves it to the dispatcher
}

// Data is what the templates see.
type Data struct {
	Phone      string // the number as carriers' platforms want it: mainland numbers without +86, e.g. 13800000000
	PhoneE164  string // +8613800000000
	Text       string // the rendered SMS text (empty while Text itself renders)
	CallID     string // unique per call: pass it as the gateway's message id to drop duplicates
	AlertID    int64
	Event      string // raised, upgraded, downgraded, resolved, …
	Level      string // red
	LevelZH    string // 红色(Ⅰ级)
	LevelShort string // 红色
	Site       string
	Sensor     string
	Metric     string
	Value      string // 55.5 (rounded to two decimals)
	Unit       string // %LEL
	Threshold  string
	Time       string // 07-14 09:31, Beijing time
	Clock      string // 09:31, Beijing time
	AnswerURL  string // the signed answer link, or ""
	Person     string // person id
	PersonName string
}

// Gateway is a notify.Channel that sends calls through an HTTP SMS gateway.
type Gateway struct {
	name        string
	url         *template.Template
	method      string
	headers     http.Header
	body        *template.Template
	contentType string
	text        *template.Template
	success     []int
	field       []string
	value       string
	retryValues []string
	msgField    []string
	timeout     time.Duration
	secrets     []string
	client      *http.Client
}

var _ notify.Channel = (*Gateway)(nil)

var funcs = template.FuncMap{
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
}

// sample is rendered by New to find template errors at start.
var sample = Data{
	Phone: "13800000000", PhoneE164: "+8613800000000", Text: "【红色预警】site sensor 1%LEL 01-02 15:04", CallID: "1-1-p-sms",
	AlertID: 1, Event: "raised", Level: "red", LevelZH: "红色(Ⅰ级)", LevelShort: "红色", Site: "site", Sensor: "sensor",
	Metric: "lel", Value: "1", Unit: "%LEL", Threshold: "1", Time: "01-02 15:04", Clock: "15:04", AnswerURL: "https://example.cn/a/x",
	Person: "p", PersonName: "张三",
}

// New checks cfg — parsing every template and rendering it once — sets its
// defaults and builds the channel; it reports every problem at once. A nil
// client gets a client of its own that does not follow redirects.
func New(cfg Config, client *http.Client) (*Gateway, error) {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if cfg.Method == "" {
		cfg.Method = http.MethodPost
	}
	cfg.Method = strings.ToUpper(cfg.Method)
	if cfg.Text == "" {
		cfg.Text = DefaultText
	}
	if cfg.ContentType == "" && cfg.Body != "" {
		cfg.ContentType = DefaultContentType
	}
	g := &Gateway{
		name: cfg.Name, method: cfg.Method, contentType: cfg.ContentType, success: slices.Clone(cfg.SuccessStatus),
		value: cfg.SuccessValue, retryValues: slices.Clone(cfg.RetryValues), timeout: cfg.Timeout,
	}
	var errs []error
	var err error
	if g.url, err = parseTemplate("url", cfg.URL); err != nil {
		errs = append(errs, err)
	} else if cfg.URL == "" {
		errs = append(errs, errors.New("url is empty"))
	} else if u, err := g.render(g.url, sample); err != nil {
		errs = append(errs, fmt.Errorf("url: %w", err))
	} else if err := checkURL(u); err != nil {
		errs = append(errs, err)
	}
	if cfg.Body != "" {
		if g.body, err = parseTemplate("body", cfg.Body); err != nil {
			errs = append(errs, err)
		} else if _, err := g.render(g.body, sample); err != nil {
			errs = append(errs, fmt.Errorf("body: %w", err))
		}
	}
	if g.text, err = parseTemplate("text", cfg.Text); err != nil {
		errs = append(errs, err)
	} else if _, err := g.render(g.text, sample); err != nil {
		errs = append(errs, fmt.Errorf("text: %w", err))
	}
	switch cfg.Method {
	case http.MethodPost, http.MethodPut:
	case http.MethodGet:
		if cfg.Body != "" {
			errs = append(errs, errors.New("method GET cannot send a body"))
		}
	default:
		errs = append(errs, fmt.Errorf("method %q is not GET, POST or PUT", cfg.Method))
	}
	if cfg.ContentType != "" && strings.ContainsAny(cfg.ContentType, "\r\n") {
		errs = append(errs, errors.New("content_type has a line break"))
	}
	var herrs []error
	g.headers, herrs = provider.Headers(cfg.Headers, reserved...)
	errs = append(errs, herrs...)
	for _, s := range cfg.SuccessStatus {
		if s < 100 || s > 599 {
			errs = append(errs, fmt.Errorf("success_status %d is not an HTTP status", s))
		}
	}
	switch {
	case cfg.SuccessJSONField != "" && cfg.SuccessValue == "":
		errs = append(errs, errors.New("success_json_field needs a success_value"))
	case cfg.SuccessJSONField == "" && cfg.SuccessValue != "":
		errs = append(errs, errors.New("success_value needs a success_json_field"))
	case cfg.SuccessJSONField == "" && len(cfg.RetryValues) > 0:
		errs = append(errs, errors.New("retry_values need a success_json_field"))
	}
	if g.field, err = path("success_json_field", cfg.SuccessJSONField); err != nil {
		errs = append(errs, err)
	}
	if g.msgField, err = path("message_json_field", cfg.MessageJSONField); err != nil {
		errs = append(errs, err)
	}
	if cfg.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %s is negative", cfg.Timeout))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("smsgateway %q: %w", cfg.Name, err)
	}
	g.secrets = secrets(cfg, g.body)
	if client == nil {
		client = provider.NoRedirectClient()
	}
	g.client = client
	return g, nil
}

func parseTemplate(name, text string) (*template.Template, error) {
	t, err := template.New(name).Funcs(funcs).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("%s is not a valid template: %w", name, err)
	}
	return t, nil
}

func (g *Gateway) render(t *template.Template, d Data) (string, error) {
	var b strings.Builder
	if err := t.Execute(&b, d); err != nil {
		return "", err
	}
	return b.String(), nil
}

// checkURL tells what is wrong with a rendered URL without quoting it: it
// may hold a password.
func checkURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return errors.New("url does not render to a valid URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("url scheme %q is not http or https", u.Scheme)
	case u.Host == "":
		return errors.New("url has no host")
	}
	return nil
}

func path(key, s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	p := strings.Split(s, ".")
	if slices.Contains(p, "") {
		return nil, fmt.Errorf("%s %q has an empty part", key, s)
	}
	return p, nil
}

// secrets are the strings of the configuration that must not reach an
// error: header values (and their last word, the token of "Bearer t"), the
// URL's user and password, the literal values of its query, and the string
// constants of the body template ({{json "${PASSWORD}"}}).
func secrets(cfg Config, body *template.Template) []string {
	var out []string
	add := func(s string) {
		if s = strings.TrimSpace(s); len(s) >= 4 && !strings.Contains(s, "{{") {
			// as written, and as an echo of the request may encode it
			for _, v := range []string{s, url.QueryEscape(s), url.PathEscape(s)} {
				if !slices.Contains(out, v) {
					out = append(out, v)
				}
			}
		}
	}
	for _, v := range cfg.Headers {
		add(v)
		if f := strings.Fields(v); len(f) > 1 {
			add(f[len(f)-1])
		}
	}
	if u, err := url.Parse(cfg.URL); err == nil {
		if p, ok := u.User.Password(); ok {
			add(p)
		}
		add(u.User.Username())
		for _, vs := range u.Query() {
			for _, v := range vs {
				add(v)
			}
		}
	}
	if body != nil && body.Tree != nil {
		walk(body.Tree.Root, func(n parse.Node) {
			if sn, ok := n.(*parse.StringNode); ok {
				add(sn.Text)
			}
		})
	}
	return out
}

// walk calls f on n and every node below it.
func walk(n parse.Node, f func(parse.Node)) {
	if n == nil || reflect.ValueOf(n).IsNil() {
		return
	}
	f(n)
	switch n := n.(type) {
	case *parse.ListNode:
		for _, c := range n.Nodes {
			walk(c, f)
		}
	case *parse.ActionNode:
		walk(n.Pipe, f)
	case *parse.PipeNode:
		for _, c := range n.Cmds {
			walk(c, f)
		}
	case *parse.CommandNode:
		for _, c := range n.Args {
			walk(c, f)
		}
	case *parse.IfNode:
		walk(n.Pipe, f)
		walk(n.List, f)
		walk(n.ElseList, f)
	case *parse.RangeNode:
		walk(n.Pipe, f)
		walk(n.List, f)
		walk(n.ElseList, f)
	case *parse.WithNode:
		walk(n.Pipe, f)
		walk(n.List, f)
		walk(n.ElseList, f)
	}
}

// Name returns the channel name.
func (g *Gateway) Name() string { return g.name }

// Send renders the request for c and sends it once. See README.md for how
// answers are classified.
func (g *Gateway) Send(ctx context.Context, c yujing.Call) error {
	d, err := newData(c)
	if err != nil {
		return notify.Permanent(g.errorf(c, "person %s: %w", c.Person.ID, err))
	}
	if d.Text, err = g.render(g.text, d); err != nil {
		return notify.Permanent(g.errorf(c, "render text: %w", err))
	}
	target, err := g.render(g.url, d)
	if err != nil {
		return notify.Permanent(g.errorf(c, "render url: %w", err))
	}
	u, err := url.Parse(target)
	if err != nil || checkURL(target) != nil {
		return notify.Permanent(g.errorf(c, "url does not render to a valid URL"))
	}
	safe := (&url.URL{Scheme: u.Scheme, Host: u.Host}).String()
	var body io.Reader
	if g.body != nil {
		b, err := g.render(g.body, d)
		if err != nil {
			return notify.Permanent(g.errorf(c, "render body: %w", err))
		}
		body = strings.NewReader(b)
	}
	if g.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, g.timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, g.method, target, body)
	if err != nil {
		return notify.Permanent(g.errorf(c, "build request for %s", safe))
	}
	for k, vs := range g.headers {
		req.Header[k] = vs
	}
	if body != nil {
		req.Header.Set("Content-Type", g.contentType)
	}
	req.Header.Set("User-Agent", "yujing")
	req.Header.Set("Idempotency-Key", c.ID)
	resp, err := g.client.Do(req)
	if err != nil {
		// The rendered URL holds the number and may hold a password.
		return g.errorf(c, "%w", notify.WithSafeURL(err, safe))
	}
	defer resp.Body.Close()
	return g.answer(c, resp, d, safe)
}

func (g *Gateway) answer(c yujing.Call, resp *http.Response, d Data, safe string) error {
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return g.errorf(c, "%s: read answer: %w", safe, err)
	}
	ok := resp.StatusCode >= 200 && resp.StatusCode <= 299
	if len(g.success) > 0 {
		ok = slices.Contains(g.success, resp.StatusCode)
	}
	if !ok {
		resp.Body = io.NopCloser(bytes.NewReader(raw))
		err := notify.CheckResponse(resp)
		var he *notify.HTTPError
		if errors.As(err, &he) {
			he.Body = "" // the answer may echo the request's credentials
		} else { // a 2xx that is not one of success_status
			err = notify.Permanent(&notify.HTTPError{StatusCode: resp.StatusCode})
		}
		if msg := g.message(raw, d); msg != "" {
			return g.errorf(c, "%s: %w (gateway says: %s)", safe, err, msg)
		}
		return g.errorf(c, "%s: %w", safe, err)
	}
	if g.field == nil {
		return nil
	}
	doc, err := decode(raw)
	if err != nil {
		// It may have been sent; a duplicate SMS is better than none.
		return g.errorf(c, "%s: answer with status %d is not JSON", safe, resp.StatusCode)
	}
	v, found := lookup(doc, g.field)
	if found && v == g.value {
		return nil
	}
	e := &Error{Field: strings.Join(g.field, "."), Value: g.redact(provider.Printable(v, 80), d), Found: found,
		Message: g.message(raw, d), StatusCode: resp.StatusCode}
	if !found || slices.Contains(g.retryValues, v) {
		return g.errorf(c, "%s: %w", safe, e)
	}
	return notify.Permanent(g.errorf(c, "%s: %w", safe, e))
}

// Error is a gateway answer whose success field does not say success.
type Error struct {
	Field      string // success_json_field
	Value      string // its value ("" when absent)
	Found      bool   // whether the answer had the field
	Message    string // the message_json_field's value, if configured
	StatusCode int
}

func (e *Error) Error() string {
	s := "gateway answered " + e.Field + " = " + strconv.Quote(e.Value)
	if !e.Found {
		s = "gateway answer has no " + e.Field
	}
	if e.Message != "" {
		s += " (" + e.Message + ")"
	}
	return s
}

// message is the gateway's message field, printable and without secrets.
func (g *Gateway) message(raw []byte, d Data) string {
	if g.msgField == nil {
		return ""
	}
	doc, err := decode(raw)
	if err != nil {
		return ""
	}
	m, _ := lookup(doc, g.msgField)
	return g.redact(provider.Printable(m, 200), d)
}

func decode(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	err := dec.Decode(&doc)
	return doc, err
}

// lookup walks a dotted path through objects (and arrays, by index) and
// gives the value as text: strings as they are, numbers as written,
// true/false, and other JSON compactly.
func lookup(doc any, p []string) (string, bool) {
	for _, k := range p {
		switch n := doc.(type) {
		case map[string]any:
			v, ok := n[k]
			if !ok {
				return "", false
			}
			doc = v
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(n) {
				return "", false
			}
			doc = n[i]
		default:
			return "", false
		}
	}
	switch v := doc.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		return strconv.FormatBool(v), true
	case nil:
		return "null", true
	default:
		b, _ := json.Marshal(v)
		return string(b), true
	}
}

func (g *Gateway) errorf(c yujing.Call, format string, args ...any) error {
	err := fmt.Errorf("smsgateway %s: call %s: "+format, append([]any{g.name, c.ID}, args...)...)
	return notify.RedactError(err, append(slices.Clone(g.secrets), c.Person.Phone)...)
}

// redact removes the configuration's secrets and the person's number.
func (g *Gateway) redact(text string, d Data) string {
	return notify.Redact(text, append(slices.Clone(g.secrets), d.PhoneE164, d.Phone)...)
}

// newData builds the template data of c. The number must be a plausible
// phone number; the error never quotes it.
func newData(c yujing.Call) (Data, error) {
	p := provider.StripPhone(c.Person.Phone)
	if p == "" {
		return Data{}, provider.ErrNoPhone
	}
	local, e164 := p, p
	if national, ok := provider.CutMainland(p); ok {
		local, e164 = national, "+86"+national
	} else if strings.HasPrefix(p, "00") {
		e164 = "+" + p[2:]
	} else if !strings.HasPrefix(p, "+") { // a mainland mobile, or a landline with its trunk 0 and area code
		e164 = "+86" + strings.TrimPrefix(p, "0")
	}
	if d := e164[1:]; len(d) < 7 || len(d) > 16 || strings.Trim(d, "0123456789") != "" {
		return Data{}, provider.ErrBadPhone
	}
	a := &c.Alert
	t := message.EventTime(c)
	short := message.Colour(a.Level)
	if short == "" {
		short = a.Level.Chinese()
	}
	return Data{
		Phone: local, PhoneE164: e164, CallID: c.ID, AlertID: a.ID, Event: string(c.Event),
		Level: a.Level.String(), LevelZH: a.Level.Chinese(), LevelShort: short,
		Site: a.Site, Sensor: a.Sensor, Metric: a.Metric, Value: message.FormatValue(a.Value), Unit: a.Unit,
		Threshold: message.FormatValue(a.Threshold), Time: message.WrittenTime(t), Clock: message.Clock(t),
		AnswerURL: c.AnswerURL, Person: c.Person.ID, PersonName: c.Person.Name,
	}, nil
}

// reserved are the headers the channel or the transport sets, which the
// configuration cannot.
var reserved = []string{"Content-Type", "Content-Length", "Host", "Transfer-Encoding", "Idempotency-Key"}
