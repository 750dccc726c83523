package notify_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"yujing/notify"
)

func TestClassification(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	cases := []struct {
		name      string
		err       error
		retryable bool
		reason    string
	}{
		{"nil", nil, false, ""},
		{"plain", errors.New("boom"), true, notify.ReasonOther},
		{"permanent", notify.Permanent(errors.New("bad number")), false, notify.ReasonOther},
		{"wrapped permanent", fmt.Errorf("sms: %w", notify.Permanent(errors.New("x"))), false, notify.ReasonOther},
		{"503", &notify.HTTPError{StatusCode: 503}, true, notify.ReasonHTTP5xx},
		{"404 permanent", notify.Permanent(&notify.HTTPError{StatusCode: 404}), false, notify.ReasonHTTP4xx},
		{"429", fmt.Errorf("x: %w", &notify.HTTPError{StatusCode: 429}), true, notify.ReasonThrottled},
		{"408", &notify.HTTPError{StatusCode: 408}, true, notify.ReasonTimeout},
		{"deadline", fmt.Errorf("send: %w", context.DeadlineExceeded), true, notify.ReasonTimeout},
		{"url timeout", &url.Error{Op: "Post", URL: "http://x", Err: context.DeadlineExceeded}, true, notify.ReasonTimeout},
		{"dns timeout", &net.DNSError{Err: "timeout", IsTimeout: true}, true, notify.ReasonTimeout},
		{"refused", &url.Error{Op: "Post", URL: "http://x", Err: refused}, true, notify.ReasonNetwork},
		{"eof", &url.Error{Op: "Post", URL: "http://x", Err: io.EOF}, true, notify.ReasonNetwork},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := notify.Retryable(c.err); got != c.retryable {
				t.Errorf("Retryable = %v, want %v", got, c.retryable)
			}
			if got := notify.FailureReason(c.err); got != c.reason {
				t.Errorf("FailureReason = %q, want %q", got, c.reason)
			}
		})
	}
	if notify.Permanent(nil) != nil {
		t.Error("Permanent(nil) != nil")
	}
	inner := errors.New("inner")
	if p := notify.Permanent(inner); !errors.Is(p, inner) || p.Error() != "inner" {
		t.Errorf("Permanent hides its error: %v", p)
	}
}

func TestCheckResponse(t *testing.T) {
	cases := []struct {
		status     int
		retryAfter string
		body       string
		ok         bool
		retryable  bool
		wantAfter  time.Duration
		wantBody   string
	}{
		{200, "", "", true, false, 0, ""},
		{299, "", "", true, false, 0, ""},
		{503, "7", "down\r\nfor maintenance\x00", false, true, 7 * time.Second, "down for maintenance"},
		{429, "120", "", false, true, 2 * time.Minute, ""},
		{429, "soon", "", false, true, 0, ""},
		{408, "", "", false, true, 0, ""},
		{400, "", `{"code":"bad"}`, false, false, 0, `{"code":"bad"}`},
		{403, "", "", false, false, 0, ""},
		{301, "", "", false, false, 0, ""},
		{500, "", strings.Repeat("x", 1000), false, true, 0, strings.Repeat("x", 256)},
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.status), func(t *testing.T) {
			resp := &http.Response{StatusCode: c.status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(c.body))}
			if c.retryAfter != "" {
				resp.Header.Set("Retry-After", c.retryAfter)
			}
			err := notify.CheckResponse(resp)
			if (err == nil) != c.ok {
				t.Fatalf("err = %v, want ok %v", err, c.ok)
			}
			if err == nil {
				return
			}
			if notify.Retryable(err) != c.retryable {
				t.Errorf("Retryable(%v) = %v", err, !c.retryable)
			}
			var he *notify.HTTPError
			if !errors.As(err, &he) {
				t.Fatalf("%v is not an *HTTPError", err)
			}
			if he.StatusCode != c.status || he.RetryAfter != c.wantAfter || he.Body != c.wantBody {
				t.Errorf("got %+v, want status %d retry after %s body %q", he, c.status, c.wantAfter, c.wantBody)
			}
		})
	}
	// Retry-After as an HTTP date.
	resp := &http.Response{StatusCode: 503, Header: http.Header{"Retry-After": {time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)}}}
	var he *notify.HTTPError
	if err := notify.CheckResponse(resp); !errors.As(err, &he) || he.RetryAfter < 59*time.Minute || he.RetryAfter > time.Hour {
		t.Errorf("Retry-After date: %+v", he)
	}
}

// A failed request's error names the safe URL, never the token or phone
// number in the real one, and is still classified as before.
func TestWithSafeURL(t *testing.T) {
	c := &http.Client{Timeout: 5 * time.Second}
	secret := "http://user:pa55word@127.0.0.1:1/send?to=13800138000&key=s3cret"
	_, err := c.Get(secret)
	if err == nil {
		t.Fatal("GET to port 1 succeeded")
	}
	safe := notify.WithSafeURL(err, "http://127.0.0.1:1/send")
	for _, leak := range []string{"pa55word", "13800138000", "s3cret"} {
		if strings.Contains(safe.Error(), leak) {
			t.Errorf("%q holds %s", safe, leak)
		}
	}
	if !strings.Contains(safe.Error(), "http://127.0.0.1:1/send") {
		t.Errorf("%q does not name the safe URL", safe)
	}
	if got, want := notify.FailureReason(safe), notify.FailureReason(err); got != want {
		t.Errorf("reason %q after WithSafeURL, %q before", got, want)
	}
	plain := errors.New("not a url.Error")
	if notify.WithSafeURL(plain, "x") != plain {
		t.Error("another error was changed")
	}
}
