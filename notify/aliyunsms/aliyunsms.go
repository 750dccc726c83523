package aliyunsms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"yujing"
	"yujing/message"
	"yujing/notify"
	"yujing/notify/internal/aliyun"
	"yujing/notify/internal/provider"
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
	if _, err := provider.CheckEndpoint(cfg.Endpoint); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, provider.Missing(
		provider.Field{Key: "access_key_id", Value: cfg.AccessKeyID}, provider.Field{Key: "access_key_secret", Value: cfg.AccessKeySecret},
		provider.Field{Key: "sign_name", Value: cfg.SignName}, provider.Field{Key: "template_code", Value: cfg.TemplateCode})...)
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
		client = provider.NoRedirectClient()
	}
	return &SMS{
		name: cfg.Name, endpoint: cfg.Endpoint, keyID: cfg.AccessKeyID, secret: cfg.AccessKeySecret,
		region: cfg.RegionID, signName: cfg.SignName, template: cfg.TemplateCode,
		maxParam: cfg.MaxParamLength, timeout: cfg.Timeout, client: client, now: time.Now,
	}, nil
}

// Name returns the channel name.
func (s *SMS) Name() string { return s.name }

// Send sends one SMS for c. See README.md for how answers are classified.
func (s *SMS) Send(ctx context.Context, c yujing.Call) error {
	_, err := s.SendID(ctx, c)
	return err
}

// SendID is Send, and returns the BizId of the accepted SMS (BizId), which the
// provider's reports carry beside the call id (OutId).
func (s *SMS) SendID(ctx context.Context, c yujing.Call) (providerID string, err error) {
	phone, err := domesticPhone(c.Person.Phone)
	if err != nil {
		return "", notify.Permanent(s.errorf(c, "person %s: %w", c.Person.ID, err))
	}
	tp, err := json.Marshal(TemplateParams(c, s.maxParam))
	if err != nil {
		return "", notify.Permanent(s.errorf(c, "encode template variables: %w", err))
	}
	params := map[string]string{
		"PhoneNumbers":  phone,
		"SignName":      s.signName,
		"TemplateCode":  s.template,
		"TemplateParam": string(tp),
		"OutId":         c.ID, // echoed in delivery reports as out_id
	}
	id, err := s.api().Do(ctx, Action, params, c.Person.Phone, phone)
	if err != nil {
		return "", s.errorf(c, "%w", err)
	}
	return id, nil
}

// api is the shared Alibaba Cloud client with this channel's settings.
func (s *SMS) api() *aliyun.Client {
	return &aliyun.Client{Endpoint: s.endpoint, KeyID: s.keyID, Secret: s.secret, Region: s.region,
		Version: APIVersion, Timeout: s.timeout, HTTP: s.client, Now: s.now, Limits: smsLimits}
}

// smsLimits is the per-number rate limit whose message names its window
// (触发分钟级/小时级/天级流控Permits:N); the account's day and month caps
// and flow control are the shared client's.
func smsLimits(code string) bool { return code == "isv.BUSINESS_LIMIT_CONTROL" }

// Error is an answer of Alibaba Cloud other than "OK" (see aliyun.Error):
// match it with errors.As to read the provider's code.
type Error = aliyun.Error

func (s *SMS) errorf(c yujing.Call, format string, args ...any) error {
	err := fmt.Errorf("aliyunsms %s: call %s: "+format, append([]any{s.name, c.ID}, args...)...)
	return notify.RedactError(err, s.secret, s.keyID, c.Person.Phone) // the provider's text may echo the request
}

// domesticPhone normalises a phone number the way PhoneNumbers wants it:
// mainland numbers without a country code, others as 00<country><number>.
// Spaces, dashes and brackets are dropped. Errors never quote the number.
func domesticPhone(p string) (string, error) {
	p = provider.StripPhone(p)
	if p == "" {
		return "", provider.ErrNoPhone
	}
	if national, ok := provider.CutMainland(p); ok {
		p = national
	} else if strings.HasPrefix(p, "+") {
		p = "00" + p[1:]
	}
	if len(p) < 5 || len(p) > 20 || strings.Trim(p, "0123456789") != "" {
		return "", provider.ErrBadPhone
	}
	return p, nil
}

// Template variable names. An approved template uses some or all of them,
// e.g. 【签名】${level}预警：${site} ${sensor} 当前 ${value}（${time}），请立即处置并回复1确认。
const (
	ParamLevel  = message.TemplateLevel  // 红色(Ⅰ级)
	ParamSite   = message.TemplateSite   // site id
	ParamSensor = message.TemplateSensor // sensor id
	ParamValue  = message.TemplateValue  // value with unit, e.g. 55.5%LEL
	ParamTime   = message.TemplateTime   // 07-14 09:31, Beijing time
)

// TemplateParams returns the template variables of c, written for an SMS
// (message.TemplateParams), each clipped to max characters (0: no limit).
func TemplateParams(c yujing.Call, max int) map[string]string {
	return message.TemplateParams(c, message.Written, max)
}
