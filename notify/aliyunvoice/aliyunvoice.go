package aliyunvoice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
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
	DefaultName     = "aliyun-voice"
	DefaultEndpoint = "https://dyvmsapi.aliyuncs.com/"
	DefaultRegionID = "cn-hangzhou"
)

// APIVersion and Action of the SingleCallByTts operation.
const (
	APIVersion = "2017-05-25"
	Action     = "SingleCallByTts"
)

// Config configures one Alibaba Cloud voice channel.
type Config struct {
	Name             string        `yaml:"name"`               // channel name calls are routed by; default "aliyun-voice"
	Endpoint         string        `yaml:"endpoint"`           // default https://dyvmsapi.aliyuncs.com/
	AccessKeyID      string        `yaml:"access_key_id"`      // RAM user's AccessKey ID
	AccessKeySecret  string        `yaml:"access_key_secret"`  // its secret; use ${ENV}
	RegionID         string        `yaml:"region_id"`          // default cn-hangzhou
	CalledShowNumber string        `yaml:"called_show_number"` // caller id shown (a number bought for dedicated mode); empty: public mode
	TtsCode          string        `yaml:"tts_code"`           // approved text-to-speech template, e.g. TTS_123456789
	PlayTimes        int           `yaml:"play_times"`         // 1–3 readings; 0: the provider's default (3)
	MaxParamLength   int           `yaml:"max_param_length"`   // clip each template variable to this many characters; 0: no clipping
	Timeout          time.Duration `yaml:"timeout"`            // per request; 0 leaves it to the dispatcher
}

// Voice is a notify.Channel that reads calls to people over the phone.
type Voice struct {
	name      string
	endpoint  string
	keyID     string
	secret    string
	region    string
	showNum   string
	ttsCode   string
	playTimes int
	maxParam  int
	timeout   time.Duration
	client    *http.Client
	now       func() time.Time
}

var _ notify.Channel = (*Voice)(nil)

// New checks cfg, sets its defaults and builds the channel; it reports
// every problem at once. A nil client gets a client of its own that does
// not follow redirects.
func New(cfg Config, client *http.Client) (*Voice, error) {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = DefaultEndpoint
	}
	if cfg.RegionID == "" {
		cfg.RegionID = DefaultRegionID
	}
	var errs []error
	if _, err := provider.CheckEndpoint(cfg.Endpoint); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, provider.Missing(provider.Field{Key: "access_key_id", Value: cfg.AccessKeyID},
		provider.Field{Key: "access_key_secret", Value: cfg.AccessKeySecret}, provider.Field{Key: "tts_code", Value: cfg.TtsCode})...)
	if cfg.CalledShowNumber != "" && strings.Trim(cfg.CalledShowNumber, "0123456789") != "" {
		errs = append(errs, fmt.Errorf("called_show_number %q is not all digits", cfg.CalledShowNumber))
	}
	if cfg.PlayTimes < 0 || cfg.PlayTimes > 3 {
		errs = append(errs, fmt.Errorf("play_times %d is not between 1 and 3", cfg.PlayTimes))
	}
	if cfg.MaxParamLength < 0 {
		errs = append(errs, fmt.Errorf("max_param_length %d is negative", cfg.MaxParamLength))
	}
	if cfg.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %s is negative", cfg.Timeout))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("aliyunvoice %q: %w", cfg.Name, err)
	}
	if client == nil {
		client = provider.NoRedirectClient()
	}
	return &Voice{
		name: cfg.Name, endpoint: cfg.Endpoint, keyID: cfg.AccessKeyID, secret: cfg.AccessKeySecret,
		region: cfg.RegionID, showNum: cfg.CalledShowNumber, ttsCode: cfg.TtsCode, playTimes: cfg.PlayTimes,
		maxParam: cfg.MaxParamLength, timeout: cfg.Timeout, client: client, now: time.Now,
	}, nil
}

// Name returns the channel name.
func (v *Voice) Name() string { return v.name }

// Send places one text-to-speech call for c. See README.md for how answers
// are classified.
func (v *Voice) Send(ctx context.Context, c yujing.Call) error {
	_, err := v.SendID(ctx, c)
	return err
}

// SendID is Send, and returns the CallId of the placed call (CallId), which the
// provider's reports carry beside the call id (OutId).
func (v *Voice) SendID(ctx context.Context, c yujing.Call) (providerID string, err error) {
	phone, err := domesticPhone(c.Person.Phone)
	if err != nil {
		return "", notify.Permanent(v.errorf(c, "person %s: %w", c.Person.ID, err))
	}
	tp, err := json.Marshal(TemplateParams(c, v.maxParam))
	if err != nil {
		return "", notify.Permanent(v.errorf(c, "encode template variables: %w", err))
	}
	params := map[string]string{
		"CalledNumber": phone,
		"TtsCode":      v.ttsCode,
		"TtsParam":     string(tp),
		"OutId":        c.ID, // echoed in call reports as out_id
	}
	if v.showNum != "" {
		params["CalledShowNumber"] = v.showNum
	}
	if v.playTimes > 0 {
		params["PlayTimes"] = strconv.Itoa(v.playTimes)
	}
	id, err := v.api().Do(ctx, Action, params, c.Person.Phone, phone)
	if err != nil {
		return "", v.errorf(c, "%w", err)
	}
	return id, nil
}

// api is the shared Alibaba Cloud client with this channel's settings.
func (v *Voice) api() *aliyun.Client {
	return &aliyun.Client{Endpoint: v.endpoint, KeyID: v.keyID, Secret: v.secret, Region: v.region,
		Version: APIVersion, Timeout: v.timeout, HTTP: v.client, Now: v.now, Limits: voiceLimits}
}

// Error is an answer of Alibaba Cloud other than "OK" (see aliyun.Error):
// match it with errors.As to read the provider's code.
type Error = aliyun.Error

func (v *Voice) errorf(c yujing.Call, format string, args ...any) error {
	err := fmt.Errorf("aliyunvoice %s: call %s: "+format, append([]any{v.name, c.ID}, args...)...)
	return notify.RedactError(err, v.secret, v.keyID, c.Person.Phone) // the provider's text may echo the request
}

// domesticPhone normalises a number the way CalledNumber wants it: mainland
// mobiles and landlines (with area code, e.g. 057112345678) without a
// country code. Spaces, dashes and brackets are dropped. Errors never quote
// the number.
func domesticPhone(p string) (string, error) {
	p = provider.StripPhone(p)
	if p == "" {
		return "", provider.ErrNoPhone
	}
	if national, ok := provider.CutMainland(p); ok {
		p = national
	} else if strings.HasPrefix(p, "+") || strings.HasPrefix(p, "00") {
		return "", errors.New("phone number is not a mainland number (voice calls reach only those)")
	}
	if len(p) < 7 || len(p) > 13 || strings.Trim(p, "0123456789") != "" {
		return "", provider.ErrBadPhone
	}
	return p, nil
}

// Template variable names. An approved TTS template uses some or all of
// them, e.g. 您好，${site}${sensor}发生${level}预警，当前值${value}，时间${time}。确认收到请按1。
const (
	ParamLevel  = message.TemplateLevel  // 红色一级 — written to be read aloud
	ParamSite   = message.TemplateSite   // site id
	ParamSensor = message.TemplateSensor // sensor id
	ParamValue  = message.TemplateValue  // value with unit, e.g. 55.5%LEL
	ParamTime   = message.TemplateTime   // 7月14日9时31分, Beijing time
)

// TemplateParams returns the TTS template variables of c, written to be
// read aloud (message.TemplateParams), each clipped to max characters (0:
// no limit).
func TemplateParams(c yujing.Call, max int) map[string]string {
	return message.TemplateParams(c, message.Spoken, max)
}

// voiceLimits are the rate limits whose message names their window:
// per-callee limits (1 a minute, 5 an hour, 20 a day) and the account's
// caps.
func voiceLimits(code string) bool {
	return strings.Contains(code, "LIMIT_CONTROL") || strings.Contains(code, "FLOW_CONTROL")
}
