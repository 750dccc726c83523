package providertest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"yujing/notify/internal/sign"
)

// tc3Request is a SendSms request signed as notify/internal/sign signs it,
// an implementation the verifier does not share, at time at; edit changes
// it after signing.
func tc3Request(t *testing.T, key string, at time.Time, edit func(*http.Request)) *http.Request {
	t.Helper()
	body := []byte(`{"PhoneNumberSet":["+8613800000000"]}`)
	r := httptest.NewRequest(http.MethodPost, "http://sms.tencentcloudapi.com/", bytes.NewReader(body))
	s := sign.TC3{Service: "sms", Host: r.Host, Action: "SendSms", Timestamp: at.Unix(), Payload: body}
	r.Header.Set("Content-Type", sign.TC3ContentType)
	r.Header.Set("X-TC-Action", "SendSms")
	r.Header.Set("X-TC-Version", "2021-01-11")
	r.Header.Set("X-TC-Region", "ap-guangzhou")
	r.Header.Set("X-TC-Timestamp", strconv.FormatInt(at.Unix(), 10))
	r.Header.Set("Authorization", s.Authorization("AKIDtest", key))
	if edit != nil {
		edit(r)
	}
	return r
}

// TestTC3: the verifier accepts what notify/internal/sign signs, and
// refuses each thing Tencent Cloud refuses.
func TestTC3(t *testing.T) {
	v := TC3{SecretID: "AKIDtest", SecretKey: "right-key", Service: "sms", Version: "2021-01-11", Actions: []string{"SendSms"}}
	now := time.Now()
	cases := []struct {
		name string
		req  *http.Request
		code string
	}{
		{"signed", tc3Request(t, "right-key", now, nil), ""},
		{"other key", tc3Request(t, "wrong-key", now, nil), "AuthFailure.SignatureFailure"},
		{"stale", tc3Request(t, "right-key", now.Add(-10*time.Minute), nil), "AuthFailure.SignatureExpire"},
		{"body changed", tc3Request(t, "right-key", now, func(r *http.Request) {
			r.Body = io.NopCloser(strings.NewReader(`{"PhoneNumberSet":["+8613900000000"]}`))
		}), "AuthFailure.SignatureFailure"},
		{"other action", tc3Request(t, "right-key", now, func(r *http.Request) { r.Header.Set("X-TC-Action", "SendSms2") }), "InvalidAction"},
		{"other version", tc3Request(t, "right-key", now, func(r *http.Request) { r.Header.Set("X-TC-Version", "2019-07-11") }), "InvalidParameter"},
		{"no scheme", tc3Request(t, "right-key", now, func(r *http.Request) {
			r.Header.Set("Authorization", strings.TrimPrefix(r.Header.Get("Authorization"), "TC3-HMAC-SHA256 "))
		}), "AuthFailure.InvalidAuthorization"},
		{"other id", tc3Request(t, "right-key", now, func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "AKIDtest", "AKIDother", 1))
		}), "AuthFailure.SecretIdNotFound"},
	}
	for _, c := range cases {
		body, action, code, msg := v.Check(c.req)
		if code != c.code {
			t.Errorf("%s: code %q (%s), want %q", c.name, code, msg, c.code)
		}
		if c.code == "" && (action != "SendSms" || !json.Valid(body)) {
			t.Errorf("%s: action %q body %q", c.name, action, body)
		}
	}
}

// rpcRequest is a SendSms form signed as notify/internal/sign signs it.
func rpcRequest(secret, nonce string, at time.Time) *http.Request {
	params := map[string]string{
		"AccessKeyId": "LTAItest", "Action": "SendSms", "Format": "JSON", "RegionId": "cn-hangzhou",
		"SignatureMethod": sign.RPCSignatureMethod, "SignatureNonce": nonce, "SignatureVersion": sign.RPCSignatureVersion,
		"Timestamp": at.UTC().Format(sign.RPCTimestampFormat), "Version": "2017-05-25", "PhoneNumbers": "13800000000",
		"TemplateParam": `{"site":"厂区 A*~"}`,
	}
	body := sign.CanonicalQuery(params) + "&Signature=" + sign.PercentEncode(sign.RPCSign(http.MethodPost, secret, params))
	r := httptest.NewRequest(http.MethodPost, "http://dysmsapi.aliyuncs.com/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// TestRPC: the verifier accepts what notify/internal/sign signs, once per
// nonce, and refuses a wrong secret or a stale timestamp.
func TestRPC(t *testing.T) {
	v := RPC{KeyID: "LTAItest", Secret: "right-secret", Version: "2017-05-25", Nonces: &Nonces{}}
	now := time.Now()
	for _, c := range []struct {
		name   string
		req    *http.Request
		status int
		code   string
	}{
		{"signed", rpcRequest("right-secret", "n1", now), 0, ""},
		{"nonce again", rpcRequest("right-secret", "n1", now), 400, "SignatureNonceUsed"},
		{"other secret", rpcRequest("wrong-secret", "n2", now), 400, "SignatureDoesNotMatch"},
		{"stale", rpcRequest("right-secret", "n3", now.Add(-time.Hour)), 400, "InvalidTimeStamp.Expired"},
		{"GET", httptest.NewRequest(http.MethodGet, "http://dysmsapi.aliyuncs.com/", nil), 405, "UnsupportedHTTPMethod"},
	} {
		form, status, code, msg := v.Check(c.req)
		if status != c.status || code != c.code {
			t.Errorf("%s: %d %q (%s), want %d %q", c.name, status, code, msg, c.status, c.code)
		}
		if c.code == "" && form.Get("TemplateParam") != `{"site":"厂区 A*~"}` {
			t.Errorf("%s: form %v", c.name, form)
		}
	}
}

// TestRobot: a good request is recorded and gets the queued answers in
// turn, the last repeating; a request the spec refuses gets the refusal.
func TestRobot(t *testing.T) {
	spec := RobotSpec[string]{
		ContentType: "application/json", OK: Answer{Status: 200, Body: "ok"},
		Check: func(r *http.Request) (string, int, string) {
			b, _ := io.ReadAll(r.Body)
			if string(b) == "bad" {
				return "", 400, "refused"
			}
			return string(b), 0, ""
		},
		Refusal: func(code int, why string) Answer { return Answer{Status: 200, Body: strconv.Itoa(code) + " " + why} },
	}
	r := NewRobot(t, spec, Answer{Status: 429, Header: map[string]string{"Retry-After": "3"}, Body: "slow"}, Answer{Status: 200, Body: "fine"})
	client := &http.Client{Transport: HandlerTransport(r.ServeHTTP)}
	var got []string
	for _, body := range []string{"a", "b", "c"} {
		resp, err := client.Post("http://robot.test/", "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		got = append(got, strconv.Itoa(resp.StatusCode)+" "+string(b)+" "+resp.Header.Get("Retry-After")+" "+resp.Header.Get("Content-Type"))
	}
	want := []string{"429 slow 3 application/json", "200 fine  application/json", "200 fine  application/json"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("answers %q, want %q", got, want)
	}
	if sent := r.Sent(); strings.Join(sent, "") != "abc" {
		t.Errorf("Sent() = %q", sent)
	}
	ft := &fakeT{TB: t}
	r = NewRobot(ft, spec)
	resp, err := (&http.Client{Transport: HandlerTransport(r.ServeHTTP)}).Post("http://robot.test/", "text/plain", strings.NewReader("bad"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "400 refused" || !ft.failed || len(r.Sent()) != 0 {
		t.Errorf("refused request: answer %q, test failed %v, sent %q", b, ft.failed, r.Sent())
	}
	if a := NewAnswers(Answer{Body: "default"}); a.Next().Body != "default" {
		t.Error("no queued answer: want the default")
	}
}

// fakeT records that a test would have failed.
type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Errorf(string, ...any) { f.failed = true }

// TestHangAndClosed: a hanging server holds a request until the client
// gives up; a closed one refuses the connection.
func TestHangAndClosed(t *testing.T) {
	srv := Hang(t)
	client := &http.Client{Timeout: 50 * time.Millisecond}
	if _, err := client.Get(srv.URL); err == nil {
		t.Error("the hanging server answered")
	}
	if _, err := client.Get(ClosedURL(t)); err == nil {
		t.Error("the closed server answered")
	}
}
