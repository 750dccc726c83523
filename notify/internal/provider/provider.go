// Package provider holds what notify's channels share when they call a
// provider over HTTP and read its answers, so that each channel folder
// keeps only its own request format, signing and code meanings:
//
//   - the HTTP client a channel gets when given none (NoRedirectClient),
//     the check of a configured endpoint, loopback hosts;
//   - the order of a positional template and the check of its names (the
//     variables themselves, TemplateParams, are package message's: the
//     one owner of a warning's text);
//   - reading callbacks: one item or a JSON array (DecodeBatch), provider
//     times in Beijing time (ParseBeijing), phone numbers stripped of
//     separators;
//   - turning an answer into an error: text made printable and bounded
//     (the secrets and phone numbers go with notify.Redact), the throttling
//     window Alibaba Cloud names in its flow-control messages, and the
//     coded error both clouds answer with (CloudError).
package provider

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"yujing/message"
	"yujing/notify"
)

// Printable makes a provider's text fit for one log line: valid UTF-8,
// whitespace folded to single spaces, control characters dropped, at most
// max runes (0: no limit).
func Printable(s string, max int) string { return message.Clip(notify.OneLine(s), max) }

// AliyunWindow reads the throttling window from an Alibaba Cloud
// flow-control message (触发分钟级/小时级/天级流控, or the English words):
// 0 when it names none.
func AliyunWindow(msg string) time.Duration {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "天级") || strings.Contains(m, "day"):
		return 24 * time.Hour
	case strings.Contains(m, "小时级") || strings.Contains(m, "hour"):
		return time.Hour
	case strings.Contains(m, "分钟级") || strings.Contains(m, "minute"):
		return time.Minute
	}
	return 0
}

// CloudError is a cloud API's coded answer (Alibaba Cloud's or Tencent
// Cloud's), made safe to log: each cloud's Error embeds it and adds its
// own classification of the codes.
//
// It unwraps to Reason, a *notify.HTTPError that only carries the
// classification for notify.FailureReason: status 429 for throttling
// (with RetryAfter when the limit's window is known), 5xx for faults on
// the provider's side, 4xx for rejected requests. StatusCode is the status
// the provider really answered with (200 for most coded errors).
type CloudError struct {
	Code       string // the provider's code, e.g. isv.BUSINESS_LIMIT_CONTROL
	Message    string // the provider's message, without keys or phone numbers
	RequestID  string
	StatusCode int
	// Reason is the classification; nil for "other".
	Reason *notify.HTTPError
}

// NewCloudError keeps code, msg and requestID printable and bounded, and
// passes msg through redact (which removes keys and phone numbers).
func NewCloudError(code, msg, requestID string, status int, redact func(string) string) CloudError {
	return CloudError{Code: Printable(code, 80), Message: redact(Printable(msg, 200)),
		RequestID: Printable(requestID, 80), StatusCode: status}
}

func (e *CloudError) Error() string {
	s := e.Code
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.StatusCode != http.StatusOK {
		s += " (http " + strconv.Itoa(e.StatusCode) + ")"
	}
	if e.RequestID != "" {
		s += " (request " + e.RequestID + ")"
	}
	return s
}

// Unwrap returns the classification, or nil when it is "other".
func (e *CloudError) Unwrap() error {
	if e.Reason == nil {
		return nil
	}
	return e.Reason
}
