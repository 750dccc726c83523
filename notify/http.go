package notify

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// HTTPError is an unsuccessful answer from a provider's HTTP API.
type HTTPError struct {
	StatusCode int
	// RetryAfter is the wait the provider asked for (Retry-After header), or
	// 0. The Dispatcher waits at least this long, even beyond its
	// MaxBackoff; a wait over its MaxProviderWait ends the call failed.
	RetryAfter time.Duration
	// Body is the start of the response body, for diagnosis, without what
	// Redact removes (an echo of the request's query or headers).
	Body string
}

func (e *HTTPError) Error() string {
	s := "http status " + strconv.Itoa(e.StatusCode)
	if t := http.StatusText(e.StatusCode); t != "" {
		s += " " + t
	}
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// maxErrorBody is how much of an error response is kept in HTTPError.Body.
const maxErrorBody = 256

// CheckResponse classifies an HTTP answer: nil for 2xx; an *HTTPError for
// 408, 429 and 5xx (retryable); an *HTTPError wrapped with Permanent for
// every other status (other 4xx, and 1xx or 3xx a client did not handle).
// It reads at most a small part of the body of an unsuccessful answer and
// does not close it.
func CheckResponse(resp *http.Response) error {
	code := resp.StatusCode
	if code >= 200 && code <= 299 {
		return nil
	}
	e := &HTTPError{StatusCode: code, RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now())}
	if resp.Body != nil {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		e.Body = Redact(string(b)) // it may echo the request: its query, its headers
	}
	if code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || (code >= 500 && code <= 599) {
		return e
	}
	return Permanent(e)
}

// retryAfter parses a Retry-After value: delay seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > int64(24*time.Hour/time.Second) {
			n = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// OneLine keeps a text that came back from a provider (an error body, a
// message) on one readable line: valid UTF-8, whitespace folded to single
// spaces, control characters dropped.
func OneLine(s string) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		if !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// WithSafeURL replaces the URL of err, a *url.Error as an http.Client
// returns it when a request fails, with safe, the URL without what must not
// reach a log: a token in its query or user info, a phone number. Other
// errors are returned as they are.
func WithSafeURL(err error, safe string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		r := *ue
		r.URL = safe
		return &r
	}
	return err
}
