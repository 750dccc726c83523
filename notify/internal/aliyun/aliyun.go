// Package aliyun is what the Alibaba Cloud channels (notify/aliyunsms,
// notify/aliyunvoice) share: a signed RPC-style request (POST, form body,
// HMAC-SHA1 signature), the reading of the provider's JSON answer, and
// the classification of its error codes for the dispatcher. Each channel
// keeps its own action, parameters, phone format and provider-id field.
package aliyun

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"yujing/notify"
	"yujing/notify/internal/provider"
	"yujing/notify/internal/sign"
)

// Client sends the signed requests of one channel.
type Client struct {
	Endpoint, KeyID, Secret, Region, Version string
	Timeout                                  time.Duration // per request; 0: the caller's context decides
	HTTP                                     *http.Client
	Now                                      func() time.Time
	// Limits reports whether a code is a per-number (or per-callee) rate
	// limit whose message names its window (分钟级/小时级/天级): a minute
	// window is retried, an hour or a day is not.
	Limits func(code string) bool
}

// MaxAnswer bounds how much of an answer is read.
const MaxAnswer = 64 << 10

// answer is the JSON document every action answers with, success or not,
// with the provider's id for what it accepted in one of two fields.
type answer struct {
	Code      string `json:"Code"`
	Message   string `json:"Message"`
	RequestID string `json:"RequestId"`
	BizID     string `json:"BizId"`  // SendSms
	CallID    string `json:"CallId"` // SingleCallByTts
}

// Do signs and posts action with params (the common parameters are
// added) and returns the provider's id for what it accepted. Errors never
// hold the key, the secret or the phones (redacted from the provider's
// text); those not worth retrying are wrapped with notify.Permanent, the
// others classified for notify.FailureReason (a *Error or a
// *notify.HTTPError inside).
func (c *Client) Do(ctx context.Context, action string, params map[string]string, phones ...string) (string, error) {
	raw, err := c.Call(ctx, action, params, phones...)
	if err != nil {
		return "", err
	}
	var a answer
	_ = json.Unmarshal(raw, &a)    // Call decoded it already
	return a.BizID + a.CallID, nil // an action answers with one of them
}

// Call is Do for an action whose answer the caller reads itself: it
// returns the answer's body once its Code is OK.
func (c *Client) Call(ctx context.Context, action string, params map[string]string, phones ...string) ([]byte, error) {
	all := map[string]string{
		"AccessKeyId":      c.KeyID,
		"Action":           action,
		"Format":           "JSON",
		"RegionId":         c.Region,
		"SignatureMethod":  sign.RPCSignatureMethod,
		"SignatureNonce":   nonce(),
		"SignatureVersion": sign.RPCSignatureVersion,
		"Timestamp":        c.Now().UTC().Format(sign.RPCTimestampFormat),
		"Version":          c.Version,
	}
	for k, v := range params {
		all[k] = v
	}
	body := sign.CanonicalQuery(all) + "&Signature=" + sign.PercentEncode(sign.RPCSign(http.MethodPost, c.Secret, all))
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Endpoint, strings.NewReader(body))
	if err != nil {
		return nil, notify.Permanent(fmt.Errorf("build request: %w", err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err // a *url.Error naming the endpoint, which holds no secret
	}
	defer resp.Body.Close()
	return c.answer(action, resp, phones)
}

func (c *Client) answer(action string, resp *http.Response, phones []string) ([]byte, error) {
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswer))
	if err != nil {
		return nil, fmt.Errorf("read answer: %w", err)
	}
	var a answer
	if json.Unmarshal(raw, &a) != nil || a.Code == "" {
		// Not a provider document (a proxy, a gateway page): the status decides.
		resp.Body = io.NopCloser(bytes.NewReader(raw))
		if err := notify.CheckResponse(resp); err != nil {
			var he *notify.HTTPError
			if errors.As(err, &he) {
				he.Body = c.Redact(he.Body, phones...)
			}
			return nil, err
		}
		return nil, fmt.Errorf("answer with status %d is not a %s result", resp.StatusCode, action)
	}
	if a.Code == "OK" {
		return raw, nil
	}
	e := &Error{provider.NewCloudError(a.Code, a.Message, a.RequestID, resp.StatusCode,
		func(s string) string { return c.Redact(s, phones...) })}
	if e.classify(c.Limits) {
		return nil, notify.Permanent(e)
	}
	return nil, e
}

// Redact removes the access key, its secret and the phones from a text
// that came back from the provider.
func (c *Client) Redact(text string, phones ...string) string {
	return notify.Redact(text, append([]string{c.Secret, c.KeyID}, phones...)...)
}

// Error is an answer of Alibaba Cloud other than "OK" (its Code, e.g.
// isv.BUSINESS_LIMIT_CONTROL; see provider.CloudError). Match it with
// errors.As to read the provider's code.
type Error struct{ provider.CloudError }

// classify sets e's classification and reports whether trying again is
// pointless. limits names the rate-limit codes whose message gives the
// window.
func (e *Error) classify(limits func(string) bool) (permanent bool) {
	code, status := e.Code, e.StatusCode
	throttle := func(after time.Duration) {
		e.Reason = &notify.HTTPError{StatusCode: http.StatusTooManyRequests, RetryAfter: after}
	}
	fault := func() {
		if status < 500 || status > 599 {
			status = http.StatusServiceUnavailable
		}
		e.Reason = &notify.HTTPError{StatusCode: status}
	}
	reject := func() bool {
		if status < 400 || status > 499 {
			status = http.StatusBadRequest
		}
		e.Reason = &notify.HTTPError{StatusCode: status}
		return true
	}
	switch {
	case limits != nil && limits(code):
		// An hour or day window outlasts every retry of the dispatcher.
		switch provider.AliyunWindow(e.Message) {
		case time.Minute:
			throttle(time.Minute)
		case time.Hour, 24 * time.Hour:
			throttle(0)
			return true
		default:
			throttle(0)
		}
	case code == "isv.DAY_LIMIT_CONTROL" || code == "isv.MONTH_LIMIT_CONTROL":
		throttle(0) // the account's own daily or monthly cap
		return true
	case strings.HasPrefix(code, "Throttling") || strings.Contains(code, "FLOW_CONTROL"):
		throttle(0)
	case code == "SignatureNonceUsed":
		// a fresh nonce goes with the next attempt
	case code == "isp.RAM_PERMISSION_DENY":
		return reject()
	case strings.HasPrefix(code, "isp."), code == "InternalError", code == "ServiceUnavailable",
		strings.HasPrefix(code, "InternalError."), strings.HasPrefix(code, "ServiceUnavailable."):
		fault()
	case strings.HasPrefix(code, "isv."), strings.HasPrefix(code, "Signature"), code == "IncompleteSignature",
		strings.HasPrefix(code, "InvalidAccessKeyId"), strings.HasPrefix(code, "InvalidTimeStamp"),
		strings.HasPrefix(code, "Missing"), strings.HasPrefix(code, "Invalid"),
		strings.HasPrefix(code, "Forbidden"), strings.HasPrefix(code, "Unsupported"):
		return reject()
	case status == http.StatusTooManyRequests:
		throttle(0)
	case status >= 500 && status <= 599:
		fault()
	case status >= 400 && status <= 499:
		return reject()
	}
	return false
}

func nonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}
