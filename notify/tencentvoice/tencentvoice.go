package tencentvoice

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
	DefaultName     = "tencent-voice"
	DefaultEndpoint = "https://vms.tencentcloudapi.com/"
	DefaultRegion   = "ap-guangzhou"
)

// API of the SendTtsVoice operation.
const (
	Service    = "vms"
	APIVersion = "2020-09-02"
	Action     = "SendTtsVoice"
)

// Template variable names, for Config.TemplateParams.
const (
	ParamLevel  = message.TemplateLevel  // 红色一级 — written to be read aloud
	ParamSite   = message.TemplateSite   // site id
	ParamSensor = message.TemplateSensor // sensor id
	ParamValue  = message.TemplateValue  // value with unit, e.g. 55.5%LEL
	ParamTime   = message.TemplateTime   // 7月14日9时31分, Beijing time
)

// DefaultTemplateParams is the order of the template's {1}, {2}, … when
// Config.TemplateParams is empty.
var DefaultTemplateParams = message.TemplateParamNames()

// Config configures one Tencent Cloud voice channel.
type Config struct {
	Name           string        `yaml:"name"`             // channel name calls are routed by; default "tencent-voice"
	Endpoint       string        `yaml:"endpoint"`         // default https://vms.tencentcloudapi.com/
	SecretID       string        `yaml:"secret_id"`        // CAM key id (AKID…)
	SecretKey      string        `yaml:"secret_key"`       // its key; use ${ENV}
	Region         string        `yaml:"region"`           // default ap-guangzhou
	VoiceSdkAppID  string        `yaml:"voice_sdk_app_id"` // SdkAppid of the voice application, e.g. 1400006666
	TemplateID     string        `yaml:"template_id"`      // approved voice notification template id
	TemplateParams []string      `yaml:"template_params"`  // which variable fills {1}, {2}, …; default level, site, sensor, value, time
	PlayTimes      int           `yaml:"play_times"`       // 1–3 readings; 0: the provider's default (2)
	MaxParamLength int           `yaml:"max_param_length"` // clip each variable to this many characters; 0: no clipping
	Timeout        time.Duration `yaml:"timeout"`          // per request; 0 leaves it to the dispatcher
}

// Voice is a notify.Channel that reads calls to people over the phone.
type Voice struct {
	name      string
	endpoint  string
	host      string
	id        string
	key       string
	region    string
	appID     string
	template  string
	params    []string
	playTimes int
	maxParam  int
	timeout   time.Duration
	client    *http.Client
	now       func() time.Time
}

var (
	_ notify.Channel  = (*Voice)(nil)
	_ notify.IDSender = (*Voice)(nil)
)

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
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if len(cfg.TemplateParams) == 0 {
		cfg.TemplateParams = DefaultTemplateParams
	}
	var errs []error
	u, err := provider.CheckEndpoint(cfg.Endpoint)
	if err != nil {
		errs = append(errs, err)
	}
	appID, template := provider.Field{Key: "voice_sdk_app_id", Value: cfg.VoiceSdkAppID}, provider.Field{Key: "template_id", Value: cfg.TemplateID}
	errs = append(errs, provider.Missing(provider.Field{Key: "secret_id", Value: cfg.SecretID}, provider.Field{Key: "secret_key", Value: cfg.SecretKey},
		appID, template)...)
	errs = append(errs, provider.NotNumber(appID, template)...)
	errs = append(errs, provider.CheckParamNames(cfg.TemplateParams)...)
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
		return nil, fmt.Errorf("tencentvoice %q: %w", cfg.Name, err)
	}
	if client == nil {
		client = provider.NoRedirectClient()
	}
	return &Voice{
		name: cfg.Name, endpoint: cfg.Endpoint, host: u.Host, id: cfg.SecretID, key: cfg.SecretKey,
		region: cfg.Region, appID: cfg.VoiceSdkAppID, template: cfg.TemplateID,
		params: slices.Clone(cfg.TemplateParams), playTimes: cfg.PlayTimes, maxParam: cfg.MaxParamLength,
		timeout: cfg.Timeout, client: client, now: time.Now,
	}, nil
}

// Name returns the channel name.
func (v *Voice) Name() string { return v.name }

// sendTtsVoice is the body of a SendTtsVoice request.
type sendTtsVoice struct {
	TemplateID       string   `json:"TemplateId"`
	TemplateParamSet []string `json:"TemplateParamSet"`
	CalledNumber     string   `json:"CalledNumber"`
	VoiceSdkAppid    string   `json:"VoiceSdkAppid"`
	PlayTimes        int      `json:"PlayTimes,omitempty"`
	SessionContext   string   `json:"SessionContext"`
}

// Send places one voice notification call for c. See README.md for how
// answers are classified.
func (v *Voice) Send(ctx context.Context, c yujing.Call) error {
	_, err := v.SendID(ctx, c)
	return err
}

// SendID is Send, and returns the CallId of the placed call: the id the
// callbacks carry (callid), which the outbox stores with the call so that
// the call's result and the key pressed find it.
func (v *Voice) SendID(ctx context.Context, c yujing.Call) (providerID string, err error) {
	phone, err := mainlandMobile(c.Person.Phone)
	if err != nil {
		return "", notify.Permanent(v.errorf(c, "person %s: %w", c.Person.ID, err))
	}
	set := provider.Positional(TemplateParams(c, v.maxParam), v.params)
	payload, err := json.Marshal(sendTtsVoice{
		TemplateID: v.template, TemplateParamSet: set, CalledNumber: phone, VoiceSdkAppid: v.appID,
		PlayTimes: v.playTimes, SessionContext: c.ID,
	})
	if err != nil {
		return "", notify.Permanent(v.errorf(c, "encode request: %w", err))
	}
	raw, status, requestID, err := v.api().Do(ctx, Action, payload, c.Person.Phone, phone)
	if err != nil {
		return "", v.errorf(c, "%w", err)
	}
	var a struct {
		Response struct {
			SendStatus *struct {
				CallID string `json:"CallId"`
			} `json:"SendStatus"`
		} `json:"Response"`
	}
	_ = json.Unmarshal(raw, &a) // the envelope decoded already: the rest is optional
	if a.Response.SendStatus == nil || a.Response.SendStatus.CallID == "" {
		return "", v.errorf(c, "%w", v.api().Fail("NoSendStatus", "the answer has no call id", requestID, status))
	}
	id := a.Response.SendStatus.CallID
	return id, nil
}

// api is the shared Tencent Cloud client with this channel's settings.
func (v *Voice) api() *tencent.Client {
	return &tencent.Client{Endpoint: v.endpoint, Host: v.host, Service: Service, Version: APIVersion, Region: v.region,
		SecretID: v.id, SecretKey: v.key, Timeout: v.timeout, HTTP: v.client, Now: v.now, Limit: voiceLimit}
}

// Error is a failed answer of Tencent Cloud (see tencent.Error): match it
// with errors.As to read the provider's code.
type Error = tencent.Error

// voiceLimit classifies SendTtsVoice's per-number frequency limits (1 in
// 30 s, 2 in 10 min, 3 a day by default): a daily one outlasts every
// retry.
func voiceLimit(code string) (time.Duration, bool) {
	lower := strings.ToLower(code)
	return 0, strings.Contains(lower, "daily") || strings.Contains(lower, "day")
}

func (v *Voice) errorf(c yujing.Call, format string, args ...any) error {
	err := fmt.Errorf("tencentvoice %s: call %s: "+format, append([]any{v.name, c.ID}, args...)...)
	return notify.RedactError(err, v.key, v.id, c.Person.Phone) // the provider's text may echo the request
}

var errBadPhone = errors.New("phone number is not a mainland mobile number (voice messages reach only those)")

// mainlandMobile writes a mainland mobile number as +86…; the service
// calls no other numbers. Spaces, dashes and brackets are dropped. Errors
// never quote the number.
func mainlandMobile(p string) (string, error) {
	p = provider.StripPhone(p)
	if p == "" {
		return "", provider.ErrNoPhone
	}
	p, _ = provider.CutMainland(p)
	if len(p) != 11 || p[0] != '1' || strings.Trim(p, "0123456789") != "" {
		return "", errBadPhone
	}
	return "+86" + p, nil
}

// TemplateParams returns the template variables of c by name, written to
// be read aloud (message.TemplateParams), each clipped to max characters
// (0: no limit).
func TemplateParams(c yujing.Call, max int) map[string]string {
	return message.TemplateParams(c, message.Spoken, max)
}
