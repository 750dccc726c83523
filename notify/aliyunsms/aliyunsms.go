package aliyunsms

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"yujing"
	"yujing/notify"
	"yujing/notify/internal/provider"
	"yujing/notify/internal/sign"
)

// Defaults of Config.
const (
	DefaultName           = "aliyun-sms"
	DefaultEndpoint       = "https://dysmsapi.aliyuncs.com/"
	DefaultRegionID       = "cn-hangzhou"
	DefaultMaxParamLength = 35 // characters per template variable, the provider's default limit
)

// APIVersion and Action of the SendSms operation.
const (
	APIVersion = "2017-05-25"
	Action     = "SendSms"
)

// Config configures one Alibaba Cloud SMS channel.
type Config struct {
	Name            string        `yaml:"name"`              // channel name calls are routed by; default "aliyun-sms"
	Endpoint        string        `yaml:"endpoint"`          // default https://dysmsapi.aliyuncs.com/
	AccessKeyID     string        `yaml:"access_key_id"`     // RAM user's AccessKey ID
	AccessKeySecret string        `yaml:"access_key_secret"` // its secret; use ${ENV}
	RegionID        string        `yaml:"region_id"`         // default cn-hangzhou
	SignName        string        `yaml:"sign_name"`         // approved SMS signature (签名), e.g. 某某应急管理局
	TemplateCode    string        `yaml:"template_code"`     // approved notification template, e.g. SMS_123456789
	MaxParamLength  int           `yaml:"max_param_length"`  // clip each template variable to this many characters; default 35
	Timeout         time.Duration `yaml:"timeout"`           // per request; 0 leaves it to the dispatcher
}

// SMS is a notify.Channel that sends calls as Alibaba Cloud template SMS.
type SMS struct {
	name     string
	endpoint string
	keyID    string
	secret   string
	region   string
	signName string
	template string
	maxParam int
	timeout  time.Duration
	client   *http.Client
	now      func() time.Time
	accepted func(callID, providerID string)
}

var _ notify.Channel = (*SMS)(nil)

// New checks cfg, sets its defaults and builds the channel; it reports
// every problem at once. A nil client gets a client of its own that does
// not follow redirects.
func New(cfg Config, client *http.Client) (*SMS, error) {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = DefaultEndpoint
	}
	if cfg.RegionID == "" {
		cfg.RegionID = DefaultRegionID
	}
	if cfg.MaxParamLength == 0 {
		cfg.MaxParamLength = DefaultMaxParamLength
	}
	var errs []error
	errs = append(errs, checkEndpoint(cfg.Endpoint)...)
	for _, f := range []struct{ key, value string }{
		{"access_key_id", cfg.AccessKeyID}, {"access_key_secret", cfg.AccessKeySecret},
		{"sign_name", cfg.SignName}, {"template_code", cfg.TemplateCode},
	} {
		if strings.TrimSpace(f.value) == "" {
			errs = append(errs, fmt.Errorf("%s is empty", f.key))
		}
	}
	if cfg.MaxParamLength < 0 {
		errs = append(errs, fmt.Errorf("max_param_length %d is negative", cfg.MaxParamLength))
	}
	if cfg.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %s is negative", cfg.Timeout))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("aliyunsms %q: %w", cfg.Name, err)
	}
	if client == nil {
		client = &http.Client{
			Transport:     http.DefaultTransport.(*http.Transport).Clone(),
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return &SMS{
		name: cfg.Name, endpoint: cfg.Endpoint, keyID: cfg.AccessKeyID, secret: cfg.AccessKeySecret,
		region: cfg.RegionID, signName: cfg.SignName, template: cfg.TemplateCode,
		maxParam: cfg.MaxParamLength, timeout: cfg.Timeout, client: client, now: time.Now,
	}, nil
}

func checkEndpoint(s string) []error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return []error{errors.New("endpoint is not a valid URL")}
	case u.Scheme != "http" && u.Scheme != "https":
		return []error{fmt.Errorf("endpoint scheme %q is not http or https", u.Scheme)}
	case u.Host == "":
		return []error{errors.New("endpoint has no host")}
	case u.RawQuery != "" || u.User != nil:
		return []error{errors.New("endpoint must not carry a query or user info")}
	}
	return nil
}

// Name returns the channel name.
func (s *SMS) Name() string { return s.name }

// OnAccepted registers fn to learn, after each accepted send, the
// provider's id for it (BizId), which the provider's callbacks carry: record
// the pair to match receipts to calls. Set it before the channel is used;
// fn runs on the sending goroutine and must return quickly.
func (s *SMS) OnAccepted(fn func(callID, providerID string)) { s.accepted = fn }

// Send sends one SMS for c. See README.md for how answers are classified.
func (s *SMS) Send(ctx context.Context, c yujing.Call) error {
	phone, err := domesticPhone(c.Person.Phone)
	if err != nil {
		return notify.Permanent(s.errorf(c, "person %s: %w", c.Person.ID, err))
	}
	tp, err := json.Marshal(TemplateParams(c, s.maxParam))
	if err != nil {
		return notify.Permanent(s.errorf(c, "encode template variables: %w", err))
	}
	params := map[string]string{
		"AccessKeyId":      s.keyID,
		"Action":           Action,
		"Format":           "JSON",
		"RegionId":         s.region,
		"SignatureMethod":  sign.RPCSignatureMethod,
		"SignatureNonce":   nonce(),
		"SignatureVersion": sign.RPCSignatureVersion,
		"Timestamp":        s.now().UTC().Format(sign.RPCTimestampFormat),
		"Version":          APIVersion,
		"PhoneNumbers":     phone,
		"SignName":         s.signName,
		"TemplateCode":     s.template,
		"TemplateParam":    string(tp),
		"OutId":            c.ID, // echoed in delivery reports as out_id
	}
	body := sign.CanonicalQuery(params) + "&Signature=" + sign.PercentEncode(sign.RPCSign(http.MethodPost, s.secret, params))
	if s.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, strings.NewReader(body))
	if err != nil {
		return notify.Permanent(s.errorf(c, "build request: %w", err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return s.errorf(c, "%w", err) // a *url.Error naming the endpoint, which holds no secret
	}
	defer resp.Body.Close()
	return s.answer(c, resp, phone)
}

// answer is the JSON document SendSms answers with, success or not.
type answer struct {
	Code      string `json:"Code"`
	Message   string `json:"Message"`
	RequestID string `json:"RequestId"`
	BizID     string `json:"BizId"`
}

// maxAnswer bounds how much of an answer is read.
const maxAnswer = 64 << 10

func (s *SMS) answer(c yujing.Call, resp *http.Response, phone string) error {
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return s.errorf(c, "read answer: %w", err)
	}
	var a answer
	if json.Unmarshal(raw, &a) != nil || a.Code == "" {
		// Not a provider document (a proxy, a gateway page): the status decides.
		resp.Body = io.NopCloser(bytes.NewReader(raw))
		if err := notify.CheckResponse(resp); err != nil {
			var he *notify.HTTPError
			if errors.As(err, &he) {
				he.Body = s.redact(he.Body, c.Person.Phone, phone)
			}
			return s.errorf(c, "%w", err)
		}
		return s.errorf(c, "answer with status %d is not a SendSms result", resp.StatusCode)
	}
	if a.Code == "OK" {
		if s.accepted != nil {
			s.accepted(c.ID, a.BizID)
		}
		return nil
	}
	e := &Error{
		Code: provider.Printable(a.Code, 80), Message: s.redact(provider.Printable(a.Message, 200), c.Person.Phone, phone),
		RequestID: provider.Printable(a.RequestID, 80), StatusCode: resp.StatusCode,
	}
	permanent := e.classify()
	err = s.errorf(c, "%w", e)
	if permanent {
		return notify.Permanent(err)
	}
	return err
}

// Error is an answer of Alibaba Cloud other than "OK". Match it with
// errors.As to read the provider's code.
//
// It unwraps to a *notify.HTTPError that only carries the classification
// for notify.FailureReason: status 429 for throttling (with RetryAfter
// when the limit's window is known), 5xx for faults on the provider's
// side, 4xx for rejected requests; StatusCode is the status the provider
// really answered with (200 for most business errors).
type Error struct {
	Code       string // e.g. isv.BUSINESS_LIMIT_CONTROL
	Message    string // the provider's message, without keys or phone numbers
	RequestID  string
	StatusCode int

	reason *notify.HTTPError
}

func (e *Error) Error() string {
	s := e.Code
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.StatusCode != http.StatusOK {
		s += " (http " + strconv.Itoa(e.StatusCode) + ")"
	}
	if e.RequestID != "" {
		s += " (request " + e.RequestID + ")"
	}
	return s
}

// Unwrap returns the classification, or nil when it is "other".
func (e *Error) Unwrap() error {
	if e.reason == nil {
		return nil
	}
	return e.reason
}

// classify sets e's classification and reports whether trying again is
// pointless.
func (e *Error) classify() (permanent bool) {
	code, status := e.Code, e.StatusCode
	throttle := func(after time.Duration) {
		e.reason = &notify.HTTPError{StatusCode: http.StatusTooManyRequests, RetryAfter: after}
	}
	fault := func() {
		if status < 500 || status > 599 {
			status = http.StatusServiceUnavailable
		}
		e.reason = &notify.HTTPError{StatusCode: status}
	}
	reject := func() bool {
		if status < 400 || status > 499 {
			status = http.StatusBadRequest
		}
		e.reason = &notify.HTTPError{StatusCode: status}
		return true
	}
	switch {
	case code == "isv.BUSINESS_LIMIT_CONTROL":
		// Per-number limits (Message: 触发分钟级/小时级/天级流控Permits:N).
		// An hour or day window outlasts every retry of the dispatcher.
		switch provider.AliyunWindow(e.Message) {
		case time.Minute:
			throttle(time.Minute)
		case time.Hour, 24 * time.Hour:
			throttle(0)
			return true
		default:
			throttle(0)
		}
	case code == "isv.DAY_LIMIT_CONTROL" || code == "isv.MONTH_LIMIT_CONTROL":
		throttle(0) // the account's own daily or monthly cap
		return true
	case strings.HasPrefix(code, "Throttling") || strings.Contains(code, "FLOW_CONTROL"):
		throttle(0)
	case code == "SignatureNonceUsed":
		// a fresh nonce goes with the next attempt
	case code == "isp.RAM_PERMISSION_DENY":
		return reject()
	case strings.HasPrefix(code, "isp."), code == "InternalError", code == "ServiceUnavailable",
		strings.HasPrefix(code, "InternalError."), strings.HasPrefix(code, "ServiceUnavailable."):
		fault()
	case strings.HasPrefix(code, "isv."), strings.HasPrefix(code, "Signature"), code == "IncompleteSignature",
		strings.HasPrefix(code, "InvalidAccessKeyId"), strings.HasPrefix(code, "InvalidTimeStamp"),
		strings.HasPrefix(code, "Missing"), strings.HasPrefix(code, "Invalid"),
		strings.HasPrefix(code, "Forbidden"), strings.HasPrefix(code, "Unsupported"):
		return reject()
	case status == http.StatusTooManyRequests:
		throttle(0)
	case status >= 500 && status <= 599:
		fault()
	case status >= 400 && status <= 499:
		return reject()
	}
	return false
}

func (s *SMS) errorf(c yujing.Call, format string, args ...any) error {
	return fmt.Errorf("aliyunsms %s: call %s: "+format, append([]any{s.name, c.ID}, args...)...)
}

// redact removes the access key, its secret and the phone numbers from a
// text that came back from the provider.
func (s *SMS) redact(text string, phones ...string) string {
	return provider.Redact(text, append([]string{s.secret, s.keyID}, phones...)...)
}

func nonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

var (
	errNoPhone  = errors.New("has no phone number")
	errBadPhone = errors.New("phone number is not valid")
)

// domesticPhone normalises a phone number the way PhoneNumbers wants it:
// mainland numbers without a country code, others as 00<country><number>.
// Spaces, dashes and brackets are dropped. Errors never quote the number.
func domesticPhone(p string) (string, error) {
	p = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '(', ')', '\t':
			return -1
		}
		return r
	}, p)
	if p == "" {
		return "", errNoPhone
	}
	switch {
	case strings.HasPrefix(p, "+86"):
		p = p[3:]
	case strings.HasPrefix(p, "0086"):
		p = p[4:]
	case len(p) == 13 && strings.HasPrefix(p, "861"):
		p = p[2:]
	case strings.HasPrefix(p, "+"):
		p = "00" + p[1:]
	}
	if len(p) < 5 || len(p) > 20 || strings.Trim(p, "0123456789") != "" {
		return "", errBadPhone
	}
	return p, nil
}

// Template variable names. An approved template uses some or all of them,
// e.g. 【签名】${level}预警：${site} ${sensor} 当前 ${value}（${time}），请立即处置并回复1确认。
const (
	ParamLevel  = "level"  // 红色(Ⅰ级)
	ParamSite   = "site"   // site id
	ParamSensor = "sensor" // sensor id
	ParamValue  = "value"  // value with unit, e.g. 55.5%LEL
	ParamTime   = "time"   // 07-14 09:31, Beijing time
)

// beijing is China Standard Time; the whole country uses one zone, and a
// fixed offset needs no time-zone database on the host.
var beijing = time.FixedZone("CST", 8*3600)

// TemplateParams returns the template variables of c, each clipped to max
// characters (0: no limit).
func TemplateParams(c yujing.Call, max int) map[string]string {
	a := &c.Alert
	t := a.UpdatedAt
	if t.IsZero() {
		t = a.StartedAt
	}
	if t.IsZero() {
		t = c.Created
	}
	p := map[string]string{
		ParamLevel:  a.Level.Chinese(),
		ParamSite:   a.Site,
		ParamSensor: a.Sensor,
		ParamValue:  formatValue(a.Value) + a.Unit,
		ParamTime:   t.In(beijing).Format("01-02 15:04"),
	}
	for k, v := range p {
		p[k] = provider.Clip(v, max)
	}
	return p
}

// formatValue rounds to two decimals and drops trailing zeros.
func formatValue(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
}
