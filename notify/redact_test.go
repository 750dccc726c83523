package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestRedact(t *testing.T) {
	cases := []struct {
		name, in string
		secrets  []string
		want     string
	}{
		{"url user info and every query value", "post https://bot:pa55w0rd@hooks.example.cn/send?access_token=abc123&debug=1#x: refused",
			nil, "post https://***@hooks.example.cn/send?access_token=***&debug=***#x: refused"},
		{"a query echoed without its URL", "GET /cgi-bin/webhook/send?key=693a91f6-7xxx HTTP/1.1", nil,
			"GET /cgi-bin/webhook/send?key=*** HTTP/1.1"},
		{"credential names in a form", "bad request: token=t0k3n&sign=c2lnbg%3D%3D&timestamp=17", nil,
			"bad request: token=***&sign=***&timestamp=***"},
		{"credential fields in JSON", `{"errmsg":"echo","access_token":"abc123","password": "hunter22","user":"li"}`, nil,
			`{"errmsg":"echo","access_token":"***","password": "***","user":"li"}`},
		{"JSON escaped inside a quoted string", `answer "{\"secret\":\"s3cr3t\",\"ok\":false}"`, nil,
			`answer "{\"secret\":\"***\",\"ok\":false}"`},
		{"an echoed header", "map[Authorization:[Bearer eyJhbGciOi] X-Api-Key:[k-123456] Content-Type:[application/json]]", nil,
			"map[Authorization:[***] X-Api-Key:[***] Content-Type:[application/json]]"},
		{"header lines", "Authorization: Bearer eyJhbGciOi\nX-Auth-Token: 0123456789\nAccept: */*", nil,
			"Authorization: *** X-Auth-Token: *** Accept: */*"},
		{"a TC3 authorization", "Authorization: TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5/2019-02-25/sms/tc3_request, SignedHeaders=content-type;host, Signature=2230eefd229f", nil,
			"Authorization: ***, SignedHeaders=content-type;host, Signature=***"},
		{"known secrets, raw and escaped", `got "whsec+4f/1d=9a" and whsec%2B4f%2F1d%3D9a and 13800000000`,
			[]string{"whsec+4f/1d=9a", "13800000000"}, `got "***" and *** and ***`},
		{"a JSON-escaped secret", `{"echo":"a\u0026b\u003cc-d"}`, []string{"a&b<c-d"}, `{"echo":"***"}`},
		{"longest secret first", "Bearer abcdef0123", []string{"abcdef", "Bearer abcdef0123"}, "***"},
		{"short values are left", "id ab", []string{"ab", "", "  "}, "id ab"},
		{"one line", "line 1\r\n\tline 2\x00\x1b", nil, "line 1 line 2"},
		{"ordinary errors unchanged", "aliyunsms sms: call 1-2-p-sms: isv.BUSINESS_LIMIT_CONTROL: 触发分钟级流控Permits:1 (request R-1)", nil,
			"aliyunsms sms: call 1-2-p-sms: isv.BUSINESS_LIMIT_CONTROL: 触发分钟级流控Permits:1 (request R-1)"},
		{"an SMTP reply unchanged", "email mail: 127.0.0.1:25: auth: 535 5.7.8 Authentication credentials invalid", nil,
			"email mail: 127.0.0.1:25: auth: 535 5.7.8 Authentication credentials invalid"},
		{"a status unchanged", "webhook hook: post https://hooks.example.cn/yujing: http status 503 Service Unavailable", nil,
			"webhook hook: post https://hooks.example.cn/yujing: http status 503 Service Unavailable"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Redact(c.in, c.secrets...); got != c.want {
				t.Errorf("Redact(%q)\n got %q\nwant %q", c.in, got, c.want)
			}
		})
	}
	long := strings.Repeat("危", 3*MaxErrorText)
	if got := Redact(long); utf8.RuneCountInString(got) != MaxErrorText || !strings.HasSuffix(got, "…") {
		t.Errorf("a long text is %d characters, want %d ending in …", utf8.RuneCountInString(got), MaxErrorText)
	}
}

func TestRedactError(t *testing.T) {
	if RedactError(nil, "secret") != nil {
		t.Error("RedactError(nil) is not nil")
	}
	plain := errors.New("nothing to hide")
	if RedactError(plain) != plain {
		t.Error("an error with nothing to redact is not returned as it is")
	}
	inner := &HTTPError{StatusCode: 429, Body: `{"access_token":"abc123"}`}
	err := RedactError(Permanent(fmt.Errorf("post %s: %w", "https://h/x?key=k3y-123", inner)), "k3y-123")
	if got := err.Error(); strings.Contains(got, "abc123") || strings.Contains(got, "k3y-123") {
		t.Errorf("error %q shows a secret", got)
	}
	var he *HTTPError
	if !errors.As(err, &he) || he != inner || Retryable(err) || FailureReason(err) != ReasonThrottled {
		t.Errorf("the redacted error lost its classification: retryable %v, reason %s", Retryable(err), FailureReason(err))
	}
	if !errors.Is(RedactError(fmt.Errorf("token=x1234: %w", context.DeadlineExceeded)), context.DeadlineExceeded) {
		t.Error("errors.Is does not see through a redacted error")
	}
}

func TestRequestSecrets(t *testing.T) {
	got := RequestSecrets("https://user:pw0rd@h.example/p?access_token=t0k&x=1&x=2",
		map[string]string{"Authorization": "Bearer abc.def", "X-Key": "k1"})
	want := map[string]bool{"user": true, "pw0rd": true, "t0k": true, "1": true, "2": true, "Bearer abc.def": true, "abc.def": true, "k1": true}
	if len(got) != len(want) {
		t.Errorf("RequestSecrets = %q", got)
	}
	for _, s := range got {
		if !want[s] {
			t.Errorf("RequestSecrets has %q", s)
		}
	}
	if got := RequestSecrets("%zz", nil); len(got) != 0 {
		t.Errorf("RequestSecrets of a bad URL = %q", got)
	}
}

// TestCheckResponseRedacts: an error answer that echoes the request's
// query and headers keeps neither in HTTPError.Body.
func TestCheckResponseRedacts(t *testing.T) {
	body := `{"error":"bad","url":"/hook?access_token=abc123","headers":{"Authorization":["Bearer xyz789"]}}`
	resp := &http.Response{StatusCode: 400, Header: http.Header{}, Body: ioNopCloser(body)}
	err := CheckResponse(resp)
	if s := err.Error(); strings.Contains(s, "abc123") || strings.Contains(s, "xyz789") {
		t.Errorf("CheckResponse error %q shows the echoed credentials", s)
	}
}

// FuzzRedact: whatever the text, a secret of four characters or more
// (without "*", which the replacement itself writes) never survives, and
// the result is one bounded line.
func FuzzRedact(f *testing.F) {
	f.Add("post https://u:p@h/x?access_token=abc", "abcd")
	f.Add(`{"echo":"s3cr3t s3cr3t"}`, "s3cr3t")
	f.Add("a\x00b\nc", "a\x00bc")
	f.Add(strings.Repeat("x", 2000), "xxxx")
	f.Fuzz(func(t *testing.T, text, secret string) {
		got := Redact(text, secret)
		if s := OneLine(secret); utf8.RuneCountInString(s) >= 4 && !strings.Contains(s, "*") && strings.Contains(got, s) {
			t.Errorf("Redact(%q, %q) = %q keeps the secret", text, secret, got)
		}
		if strings.ContainsAny(got, "\r\n\t\x00") || utf8.RuneCountInString(got) > MaxErrorText || !utf8.ValidString(got) {
			t.Errorf("Redact(%q) = %q is not one bounded line", text, got)
		}
	})
}

func ioNopCloser(s string) io.ReadCloser { return io.NopCloser(strings.NewReader(s)) }
