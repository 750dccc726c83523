// Package imhook is what the IM robot channels (notify/dingtalk,
// notify/wecom, notify/feishu) share: posting a JSON message to a webhook
// whose URL holds a secret, keeping that secret out of every error, the
// error of a coded answer, and the configuration they have in common (the
// webhook's scheme, lang, mention_level, the renderer, the answer button).
// Each channel keeps its message format, signing, where its platform puts
// the token, and the meaning of its platform's codes.
package imhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"yujing/notify"
)

// MaxAnswer is how much of an answer is read.
const MaxAnswer = 64 << 10

// Hook is one robot's webhook.
type Hook struct {
	Prefix  string // of every error, e.g. "dingtalk duty-group"
	URL     string // where to post, secrets included
	SafeURL string // the URL without its secrets, for errors
	Timeout time.Duration
	Client  *http.Client
	// Secrets are replaced by *** in every error (notify.Redact): the
	// token, the signing secret, the phone numbers of the message.
	Secrets []string
}

// Post sends body (JSON) and hands the answer (its first MaxAnswer bytes)
// to check, which classifies it. Errors name the safe URL only, and pass
// through notify.RedactError with the hook's secrets, whatever check put
// in them.
func (h *Hook) Post(ctx context.Context, body []byte, check func(resp *http.Response, raw []byte) error) error {
	return notify.RedactError(h.post(ctx, body, check), h.Secrets...)
}

func (h *Hook) post(ctx context.Context, body []byte, check func(resp *http.Response, raw []byte) error) error {
	if h.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.Timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return notify.Permanent(fmt.Errorf("%s: build request for %s: %w", h.Prefix, h.SafeURL, h.redact(err)))
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := h.Client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", h.Prefix, h.redact(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswer))
	if err == nil {
		err = check(resp, raw)
	} else {
		err = fmt.Errorf("read answer: %w", err)
	}
	if err != nil {
		return fmt.Errorf("%s: post %s: %w", h.Prefix, h.SafeURL, err)
	}
	return nil
}

// CheckStatus classifies an answer that is not the robot's own by its HTTP
// status (notify.CheckResponse), without the secrets.
func (h *Hook) CheckStatus(resp *http.Response, raw []byte) error {
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	err := notify.CheckResponse(resp)
	var he *notify.HTTPError
	if errors.As(err, &he) {
		he.Body = h.Scrub(he.Body)
	}
	return err
}

// redact replaces the URL inside a *url.Error, whose query or path carries
// the secret, with the safe URL.
func (h *Hook) redact(err error) error { return notify.WithSafeURL(err, h.SafeURL) }

// Scrub makes a text from the answer safe (notify.Redact with the hook's
// secrets).
func (h *Hook) Scrub(s string) string { return notify.Redact(s, h.Secrets...) }

// APIError is a robot's answer with a code other than success. Match it
// with errors.As to read the code.
type APIError struct {
	Label   string // how the platform names its code: errcode, code
	Code    int
	Message string
	// throttle, for a rate-limit answer, makes notify.FailureReason say
	// "throttled" and gives the dispatcher the wait.
	throttle *notify.HTTPError
}

// NewAPIError is the error of an answer with code; throttled marks a rate
// limit, with the wait before a retry may pass (0: not known).
func NewAPIError(label string, code int, msg string, throttled bool, wait time.Duration) *APIError {
	e := &APIError{Label: label, Code: code, Message: msg}
	if throttled {
		e.throttle = &notify.HTTPError{StatusCode: http.StatusTooManyRequests, RetryAfter: wait,
			Body: label + " " + strconv.Itoa(code)}
	}
	return e
}

func (e *APIError) Error() string {
	s := e.Label + " " + strconv.Itoa(e.Code)
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Unwrap returns, for a throttled answer, an HTTP 429 *notify.HTTPError
// carrying the wait; nil otherwise.
func (e *APIError) Unwrap() error {
	if e.throttle == nil {
		return nil
	}
	return e.throttle
}

// Throttled reports whether the robot refused the message for sending too
// fast.
func (e *APIError) Throttled() bool { return e.throttle != nil }
