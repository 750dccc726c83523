package tencentsms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"yujing"
	"yujing/message"
	"yujing/notify"
	"yujing/notify/internal/provider"
	"yujing/notify/internal/tencent"
)

// Defaults of Config.
const (
	DefaultName           = "tencent-sms"
	DefaultEndpoint       = "https://sms.tencentcloudapi.com/"
	DefaultRegion         = "ap-guangzhou"
	DefaultMaxParamLength = 12 // characters per template variable (error 1036 of the SMS error codes)
)

// API of the SendSms operation.
const (
	Service    = "sms"
	APIVersion = "2021-01-11"
	Action     = "SendSms"
)

// Template variable names, for Config.TemplateParams.
const (
	ParamLevel  = message.TemplateLevel  // 红色(Ⅰ级)
	ParamSite   = message.TemplateSite   // site id
	ParamSensor = message.TemplateSensor // sensor id
	ParamValue  = message.TemplateValue  // value with unit, e.g. 55.5%LEL
	ParamTime   = message.TemplateTime   // 07-14 09:31, Beijing time
)

// DefaultTemplateParams is the order of the template's {1}, {2}, … when
// Config.TemplateParams is empty.
var DefaultTemplateParams = message.TemplateParamNames()

// Config configures one Tencent Cloud SMS channel.
type Config struct {
	Name           string        `yaml:"name"`             // channel name calls are routed by; default "tencent-sms"
	Endpoint       string        `yaml:"endpoint"`         // default https://sms.tencentcloudapi.com/
	SecretID       string        `yaml:"secret_id"`        // CAM key id (AKID…)
	SecretKey      string        `yaml:"secret_key"`       // its key; use ${ENV}
	Region         string        `yaml:"region"`           // default ap-guangzhou
	SmsSdkAppID    string        `yaml:"sms_sdk_app_id"`   // SdkAppId of the SMS application, e.g. 1400006666
	SignName       string        `yaml:"sign_name"`        // approved signature (签名内容)
	TemplateID     string        `yaml:"template_id"`      // approved body template id, e.g. 1110
	TemplateParams []string      `yaml:"template_params"`  // which variable fills {1}, {2}, …; default level, site, sensor, value, time
	MaxParamLength int           `yaml:"max_param_length"` // clip each variable to this many characters; default 12
	Timeout        time.Duration `yaml:"timeout"`          // per request; 0 leaves it to the dispatcher
}

// SMS is a notify.Channel that sends calls as Tencent Cloud template SMS.
type SMS struct {
	name     string
	endpoint string
	host     string
	id       string
	key      string
	region   string
	appID    string
	signName string
	template string
	params   []string
	maxParam int
	timeout  time.Duration
	client   *http.Client
	now      func() time.Time
}

var (
	_ notify.Channel  = (*SMS)(nil)
	_ notify.IDSender = (*SMS)(nil)
)

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
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if cfg.MaxParamLength == 0 {
		cfg.MaxParamLength = DefaultMaxParamLength
	}
	if len(cfg.TemplateParams) == 0 {
		cfg.TemplateParams = DefaultTemplateParams
	}
	var errs []error
	u, err := provider.CheckEndpoint(cfg.Endpoint)
	if err != nil {
		errs = append(errs, err)
	}
	appID, template := provider.Field{Key: "sms_sdk_app_id", Value: cfg.SmsSdkAppID}, provider.Field{Key: "template_id", Value: cfg.TemplateID}
	errs = append(errs, provider.Missing(provider.Field{Key: "secret_id", Value: cfg.SecretID}, provider.Field{Key: "secret_key", Value: cfg.SecretKey},
		appID, provider.Field{Key: "sign_name", Value: cfg.SignName}, template)...)
	errs = append(errs, provider.NotNumber(appID, template)...)
	errs = append(errs, provider.CheckParamNames(cfg.TemplateParams)...)
	if cfg.MaxParamLength < 0 {
		errs = append(errs, fmt.Errorf("max_param_length %d is negative", cfg.MaxParamLength))
	}
	if cfg.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %s is negative", cfg.Timeout))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("tencentsms %q: %w", cfg.Name, err)
	}
	if client == nil {
		client = provider.NoRedirectClient()
	}
	return &SMS{
		name: cfg.Name, endpoint: cfg.Endpoint, host: u.Host, id: cfg.SecretID, key: cfg.SecretKey,
		region: cfg.Region, appID: cfg.SmsSdkAppID, signName: cfg.SignName, template: cfg.TemplateID,
		params: slices.Clone(cfg.TemplateParams), maxParam: cfg.MaxParamLength, timeout: cfg.Timeout,
		client: client, now: time.Now,
	}, nil
}

// Name returns the channel name.
func (s *SMS) Name() string { return s.name }

// sendSms is the body of a SendSms request.
type sendSms struct {
	PhoneNumberSet   []string `json:"PhoneNumberSet"`
	SmsSdkAppID      string   `json:"SmsSdkAppId"`
	SignName         string   `json:"SignName"`
	TemplateID       string   `json:"TemplateId"`
	TemplateParamSet []string `json:"TemplateParamSet"`
	SessionContext   string   `json:"SessionContext"`
}

// Send sends one SMS for c. See README.md for how answers are classified.
func (s *SMS) Send(ctx context.Context, c yujing.Call) error {
	_, err := s.SendID(ctx, c)
	return err
}

// SendID is Send, and returns the SerialNo of the accepted SMS: the id the
// status callbacks carry (sid), which the outbox stores with the call so
// that a delivery report finds it.
func (s *SMS) SendID(ctx context.Context, c yujing.Call) (providerID string, err error) {
	phone, err := e164(c.Person.Phone)
	if err != nil {
		return "", notify.Permanent(s.errorf(c, "person %s: %w", c.Person.ID, err))
	}
	set := provider.Positional(TemplateParams(c, s.maxParam), s.params)
	payload, err := json.Marshal(sendSms{
		PhoneNumberSet: []string{phone}, SmsSdkAppID: s.appID, SignName: s.signName, TemplateID: s.template,
		TemplateParamSet: set, SessionContext: c.ID,
	})
	if err != nil {
		return "", notify.Permanent(s.errorf(c, "encode request: %w", err))
	}
	raw, status, requestID, err := s.api().Do(ctx, Action, payload, c.Person.Phone, phone)
	if err != nil {
		return "", s.errorf(c, "%w", err)
	}
	var a struct {
		Response struct {
			SendStatusSet []struct {
				SerialNo string `json:"SerialNo"`
				Code     string `json:"Code"`
				Message  string `json:"Message"`
			} `json:"SendStatusSet"`
		} `json:"Response"`
	}
	_ = json.Unmarshal(raw, &a) // the envelope decoded already: the rest is optional
	st := a.Response.SendStatusSet
	switch {
	case len(st) == 0:
		return "", s.errorf(c, "%w", s.api().Fail("NoSendStatus", "the answer has no send status", requestID, status))
	case !strings.EqualFold(st[0].Code, "Ok"):
		return "", s.errorf(c, "%w", s.api().Fail(st[0].Code, st[0].Message, requestID, status, c.Person.Phone, phone))
	}
	return st[0].SerialNo, nil
}

// api is the shared Tencent Cloud client with this channel's settings.
func (s *SMS) api() *tencent.Client {
	return &tencent.Client{Endpoint: s.endpoint, Host: s.host, Service: Service, Version: APIVersion, Region: s.region,
		SecretID: s.id, SecretKey: s.key, Timeout: s.timeout, HTTP: s.client, Now: s.now, Limit: smsLimit}
}

// Error is a failed answer of Tencent Cloud (see tencent.Error): match it
// with errors.As to read the provider's code.
type Error = tencent.Error

// longLimits are frequency limits whose window (an hour, a day) outlasts
// every retry of the dispatcher: retrying them only delays the fallback.
var longLimits = map[string]bool{
	"LimitExceeded.PhoneNumberOneHourLimit":          true,
	"LimitExceeded.PhoneNumberDailyLimit":            true,
	"LimitExceeded.PhoneNumberSameContentDailyLimit": true,
	"LimitExceeded.DailyLimit":                       true,
	"LimitExceeded.AppDailyLimit":                    true,
	"LimitExceeded.AppCountryOrRegionDailyLimit":     true,
	"LimitExceeded.AppGlobalDailyLimit":              true,
	"LimitExceeded.AppMainlandChinaDailyLimit":       true,
}

// smsLimit classifies SendSms's frequency limits: 1 in 30 s is retried
// after 30 s; the hour and day limits are not retried.
func smsLimit(code string) (time.Duration, bool) {
	if code == "LimitExceeded.PhoneNumberThirtySecondLimit" {
		return 30 * time.Second, false
	}
	return 0, longLimits[code]
}

func (s *SMS) errorf(c yujing.Call, format string, args ...any) error {
	err := fmt.Errorf("tencentsms %s: call %s: "+format, append([]any{s.name, c.ID}, args...)...)
	return notify.RedactError(err, s.key, s.id, c.Person.Phone) // the provider's text may echo the request
}

// e164 writes a number as +<country><number>; an 11-digit number starting
// with 1 is a mainland mobile (+86). Spaces, dashes and brackets are
// dropped. Errors never quote the number.
func e164(p string) (string, error) {
	p = provider.StripPhone(p)
	switch {
	case p == "":
		return "", provider.ErrNoPhone
	case strings.HasPrefix(p, "+"):
	case strings.HasPrefix(p, "00"):
		p = "+" + p[2:]
	case len(p) == 11 && p[0] == '1':
		p = "+86" + p
	case len(p) == 13 && strings.HasPrefix(p, "861"):
		p = "+" + p
	default:
		return "", provider.ErrBadPhone
	}
	if d := p[1:]; len(d) < 6 || len(d) > 15 || strings.Trim(d, "0123456789") != "" {
		return "", provider.ErrBadPhone
	}
	return p, nil
}

// TemplateParams returns the template variables of c by name, written for
// an SMS (message.TemplateParams), each clipped to max characters (0: no
// limit).
func TemplateParams(c yujing.Call, max int) map[string]string {
	return message.TemplateParams(c, message.Written, max)
}
