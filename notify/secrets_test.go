package notify_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"yujing"
	"yujing/notify"
	"yujing/notify/aliyunsms"
	"yujing/notify/aliyunvoice"
	"yujing/notify/dingtalk"
	"yujing/notify/email"
	"yujing/notify/feishu"
	"yujing/notify/smsgateway"
	"yujing/notify/tencentsms"
	"yujing/notify/tencentvoice"
	"yujing/notify/webhook"
	"yujing/notify/wecom"
)

// secretPhone is the person's number: personal data, never in an error.
const secretPhone = "13912345678"

// echoProvider answers every request with an error that echoes all of
// it — the URL with its query, every header, the body — together with
// the secrets it is told of, in its body and in a response header: the
// worst a provider or a proxy in front of it can do.
type echoProvider struct {
	*httptest.Server
	secrets []string

	mu     sync.Mutex
	answer func(echo string) (status int, body string)
}

func newEchoProvider(t *testing.T, secrets ...string) *echoProvider {
	p := &echoProvider{secrets: secrets}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		echo := fmt.Sprintf("known %s: %s %s %v %s", strings.Join(p.secrets, " "), r.Method, r.URL.RequestURI(), r.Header, body)
		p.mu.Lock()
		answer := p.answer
		p.mu.Unlock()
		status, out := answer(echo)
		w.Header().Set("X-Echo", strings.NewReplacer("\r", " ", "\n", " ").Replace(echo))
		w.WriteHeader(status)
		_, _ = io.WriteString(w, out)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *echoProvider) setAnswer(a func(echo string) (int, string)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.answer = a
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// echoSMTP is an SMTP server (go-smtp) on loopback whose AUTH refuses
// every login with a reply that repeats the credentials it got.
func echoSMTP(t *testing.T) (host string, port int) {
	t.Helper()
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return echoSession{}, nil }))
	s.Domain, s.AllowInsecureAuth = "localhost", true
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	h, p, _ := net.SplitHostPort(l.Addr().String())
	port, _ = strconv.Atoi(p)
	return h, port
}

type echoSession struct{}

func (echoSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (echoSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		blob := base64.StdEncoding.EncodeToString([]byte(identity + "\x00" + username + "\x00" + password))
		return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8},
			Message: "AUTH PLAIN " + blob + " refused for " + username + " with password " + password}
	}), nil
}
func (echoSession) Mail(string, *smtp.MailOptions) error { return nil }
func (echoSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (echoSession) Data(io.Reader) error                 { return nil }
func (echoSession) Reset()                               {}
func (echoSession) Logout() error                        { return nil }

// leakCase is one channel holding secrets, against a provider that
// echoes them.
type leakCase struct {
	name    string
	secrets []string // what must not show; the person's phone is added
	// make builds the channel against the provider at base (an
	// echoProvider's URL), or against its own server when base is "".
	make func(t *testing.T, base string) notify.Channel
	// coded is the channel's own error answer carrying echo in its message.
	coded func(echo string) (int, string)
}

func leakCases() []leakCase {
	return []leakCase{
		{name: "webhook", secrets: []string{"wh-query-t0ken", "wh-bearer-9f8e7d", "wh-api-key-77", "whsec-signing-k3y"},
			make: func(t *testing.T, base string) notify.Channel {
				return mustChannel(t)(webhook.New(webhook.Config{Name: "leak", URL: base + "/hook?access_token=wh-query-t0ken",
					Secret: "whsec-signing-k3y", Headers: map[string]string{"Authorization": "Bearer wh-bearer-9f8e7d", "X-Api-Key": "wh-api-key-77"}}, nil))
			},
			coded: func(echo string) (int, string) { return 422, `{"error":` + jsonString(echo) + `}` }},
		{name: "dingtalk", secrets: []string{"dt-access-t0ken", "SECdt-signing-secret"},
			make: func(t *testing.T, base string) notify.Channel {
				return mustChannel(t)(dingtalk.New(dingtalk.Config{Name: "leak", Webhook: base + "/robot/send?access_token=dt-access-t0ken",
					Secret: "SECdt-signing-secret"}, nil, nil))
			},
			coded: func(echo string) (int, string) { return 200, `{"errcode":310000,"errmsg":` + jsonString(echo) + `}` }},
		{name: "wecom", secrets: []string{"wc-key-693a91f6"},
			make: func(t *testing.T, base string) notify.Channel {
				return mustChannel(t)(wecom.New(wecom.Config{Name: "leak", Webhook: base + "/cgi-bin/webhook/send?key=wc-key-693a91f6"}, nil, nil))
			},
			coded: func(echo string) (int, string) {
				return 200, `{"errcode":` + strconv.Itoa(wecom.CodeInvalidParam) + `,"errmsg":` + jsonString(echo) + `}`
			}},
		{name: "feishu", secrets: []string{"fs-hook-t0ken-4c2e", "fs-signing-secret"},
			make: func(t *testing.T, base string) notify.Channel {
				return mustChannel(t)(feishu.New(feishu.Config{Name: "leak", Webhook: base + "/open-apis/bot/v2/hook/fs-hook-t0ken-4c2e",
					Secret: "fs-signing-secret"}, nil, nil))
			},
			coded: func(echo string) (int, string) {
				return 200, `{"code":` + strconv.Itoa(feishu.CodeSignMismatch) + `,"msg":` + jsonString(echo) + `}`
			}},
		{name: "aliyunsms", secrets: []string{"LTAIleakkeyid01", "aliyun-sms-secret-k3y"},
			make: func(t *testing.T, base string) notify.Channel {
				return mustChannel(t)(aliyunsms.New(aliyunsms.Config{Name: "leak", Endpoint: base + "/", AccessKeyID: "LTAIleakkeyid01",
					AccessKeySecret: "aliyun-sms-secret-k3y", SignName: "应急管理局", TemplateCode: "SMS_1"}, nil))
			},
			coded: func(echo string) (int, string) {
				return 200, `{"Code":"isv.INVALID_PARAMETERS","Message":` + jsonString(echo) + `,"RequestId":"R-1"}`
			}},
		{name: "aliyunvoice", secrets: []string{"LTAIleakkeyid02", "aliyun-voice-secret-k3y"},
			make: func(t *testing.T, base string) notify.Channel {
				return mustChannel(t)(aliyunvoice.New(aliyunvoice.Config{Name: "leak", Endpoint: base + "/", AccessKeyID: "LTAIleakkeyid02",
					AccessKeySecret: "aliyun-voice-secret-k3y", TtsCode: "TTS_1"}, nil))
			},
			coded: func(echo string) (int, string) {
				return 200, `{"Code":"isv.INVALID_PARAMETERS","Message":` + jsonString(echo) + `,"RequestId":"R-1"}`
			}},
		{name: "tencentsms", secrets: []string{"AKIDleaksecretid01", "tencent-sms-secret-k3y"},
			make: func(t *testing.T, base string) notify.Channel {
				return mustChannel(t)(tencentsms.New(tencentsms.Config{Name: "leak", Endpoint: base + "/", SecretID: "AKIDleaksecretid01",
					SecretKey: "tencent-sms-secret-k3y", SmsSdkAppID: "1400006666", SignName: "应急管理局", TemplateID: "1110"}, nil))
			},
			coded: func(echo string) (int, string) {
				return 200, `{"Response":{"Error":{"Code":"InvalidParameter","Message":` + jsonString(echo) + `},"RequestId":"R-1"}}`
			}},
		{name: "tencentvoice", secrets: []string{"AKIDleaksecretid02", "tencent-voice-secret-k3y"},
			make: func(t *testing.T, base string) notify.Channel {
				return mustChannel(t)(tencentvoice.New(tencentvoice.Config{Name: "leak", Endpoint: base + "/", SecretID: "AKIDleaksecretid02",
					SecretKey: "tencent-voice-secret-k3y", VoiceSdkAppID: "1400006666", TemplateID: "1110"}, nil))
			},
			coded: func(echo string) (int, string) {
				return 200, `{"Response":{"Error":{"Code":"InvalidParameter","Message":` + jsonString(echo) + `},"RequestId":"R-1"}}`
			}},
		{name: "smsgateway", secrets: []string{"gw-user-li", "gw-pass-w0rd", "gw-query-t0ken", "gw-header-k3y"},
			make: func(t *testing.T, base string) notify.Channel {
				u := strings.Replace(base, "://", "://gw-user-li:gw-pass-w0rd@", 1) + "/send?token=gw-query-t0ken&to={{.Phone}}"
				return mustChannel(t)(smsgateway.New(smsgateway.Config{Name: "leak", URL: u, Headers: map[string]string{"X-Gateway-Key": "gw-header-k3y"},
					Body: `{"to":{{json .Phone}},"text":{{json .Text}}}`, SuccessJSONField: "code", SuccessValue: "0", MessageJSONField: "msg"}, nil))
			},
			coded: func(echo string) (int, string) { return 200, `{"code":"E1","msg":` + jsonString(echo) + `}` }},
		{name: "email", secrets: []string{"smtp-user@example.cn", "smtp-passw0rd",
			base64.StdEncoding.EncodeToString([]byte("\x00smtp-user@example.cn\x00smtp-passw0rd"))},
			make: func(t *testing.T, _ string) notify.Channel {
				host, port := echoSMTP(t)
				return mustChannel(t)(email.New(email.Config{Name: "leak", Host: host, Port: port, TLS: email.TLSNone,
					Username: "smtp-user@example.cn", Password: "smtp-passw0rd", From: "yujing <alerts@example.cn>", To: []string{"duty@example.cn"}}, nil))
			}},
	}
}

func mustChannel(t *testing.T) func(notify.Channel, error) notify.Channel {
	return func(c notify.Channel, err error) notify.Channel {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
}

// TestChannelErrorsKeepSecrets: every channel, sending through the outbox
// and the dispatcher to a provider that echoes the request and the
// secrets back in its error (a coded answer, a 502 page, a 200 that is not
// the provider's document; e-mail: an SMTP reply repeating the login),
// leaves no secret and no phone number in the error Send returns, in the
// log, or in the stored call's last_error, which the API shows to viewers.
func TestChannelErrorsKeepSecrets(t *testing.T) {
	answers := map[string]func(lc leakCase) func(echo string) (int, string){
		"coded": func(lc leakCase) func(string) (int, string) { return lc.coded },
		"page 502": func(leakCase) func(string) (int, string) {
			return func(e string) (int, string) { return 502, "<html>" + e + "</html>" }
		},
		"text 200": func(leakCase) func(string) (int, string) { return func(e string) (int, string) { return 200, e } },
		"json 400": func(leakCase) func(string) (int, string) {
			return func(e string) (int, string) { return 400, `{"message":` + jsonString(e) + `}` }
		},
	}
	for _, lc := range leakCases() {
		for aname, answer := range answers {
			if lc.coded == nil && aname != "coded" {
				continue // not an HTTP channel: one case
			}
			t.Run(lc.name+"/"+aname, func(t *testing.T) {
				secrets := append([]string{secretPhone}, lc.secrets...)
				base := ""
				if lc.coded != nil {
					p := newEchoProvider(t, secrets...)
					p.setAnswer(answer(lc))
					base = p.URL
				}
				ch := lc.make(t, base)
				call := leakCall(lc.name, 1)
				sendErr := ch.Send(t.Context(), call)
				if sendErr == nil {
					if aname == "text 200" {
						return // accepted as sent (a webhook's 200): nothing to leak
					}
					t.Fatal("Send succeeded against a provider that refuses")
				}
				logs, lastErr := sendThroughPipeline(t, ch, leakCall(lc.name, 2))
				if lastErr == "" || !strings.Contains(logs, "notify call failed") {
					t.Fatalf("the failure left no last_error (%q) or no log line:\n%s", lastErr, logs)
				}
				for _, s := range secrets {
					for where, text := range map[string]string{"Send's error": sendErr.Error(), "the log": logs, "last_error": lastErr} {
						if i := strings.Index(text, s); i >= 0 {
							t.Errorf("%s shows %q: …%s…", where, s, text[max(0, i-80):min(len(text), i+len(s)+40)])
						}
					}
				}
			})
		}
	}
}

func leakCall(channel string, n int) yujing.Call {
	at := time.Now()
	return yujing.Call{ID: fmt.Sprintf("%d-1-p-leak", n), Channel: "leak", Event: yujing.EventRaised, Created: at,
		Person: yujing.Person{ID: "p", Name: "值班员", Phone: secretPhone, Email: "duty-person@example.cn"},
		Alert: yujing.Alert{ID: int64(n), Rule: "gas", Sensor: "GT-1", Site: "plant", Family: yujing.FamilyGas, Metric: "lel",
			Unit: "%LEL", Level: yujing.Red, State: yujing.StateFiring, Value: 60, Threshold: 50, StartedAt: at, UpdatedAt: at,
			Message: channel + " leak test"}}
}

// sendThroughPipeline makes call through an outbox over a fresh state
// database and a dispatcher that logs to a buffer (debug level), with one
// attempt, and returns the log and the stored call's last_error.
func sendThroughPipeline(t *testing.T, ch notify.Channel, call yujing.Call) (logs, lastErr string) {
	t.Helper()
	st := openState(t, filepath.Join(t.TempDir(), "state.db"))
	var buf syncBuf
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	j, err := notify.NewJournal(st, notify.OutboxOptions{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan notify.Result, 1)
	d, err := notify.New([]notify.Channel{ch}, notify.Options{Logger: log, MaxAttempts: 1,
		OnResult: func(r notify.Result) { j.Result(r); done <- r }})
	if err != nil {
		t.Fatal(err)
	}
	ob, err := notify.NewOutbox(j, d)
	if err != nil {
		t.Fatal(err)
	}
	d.Run(t.Context())
	defer d.Stop(context.Background())
	if err := ob.Call(t.Context(), call); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("no result within 30s")
	}
	recs, err := st.CallsFor(t.Context(), call.Alert.ID)
	if err != nil || len(recs) != 1 {
		t.Fatalf("calls %+v, %v", recs, err)
	}
	return buf.String(), recs[0].LastError
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
