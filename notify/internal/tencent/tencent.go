// Package tencent is what the Tencent Cloud channels (notify/tencentsms,
// notify/tencentvoice) share: an API 3.0 request signed with TC3, the
// reading of the answer's envelope (Response.Error, RequestId), and the
// classification of its error codes for the dispatcher. Each channel keeps
// its action, payload, phone format, the part of the answer that says
// whether its number was reached, and its frequency-limit codes.
package tencent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"yujing/notify"
	"yujing/notify/internal/provider"
	"yujing/notify/internal/sign"
)

// Client sends the signed requests of one channel.
type Client struct {
	Endpoint, Host, Service, Version, Region string
	SecretID, SecretKey                      string
	Timeout                                  time.Duration // per request; 0: the caller's context decides
	HTTP                                     *http.Client
	Now                                      func() time.Time
	// Limit classifies a code of the LimitExceeded family (per-number
	// frequency limits): how long until a retry may pass (0: not known) and
	// whether the window outlasts every retry of the dispatcher.
	Limit func(code string) (after time.Duration, long bool)
}

// MaxAnswer bounds how much of an answer is read.
const MaxAnswer = 64 << 10

// envelope is what every API 3.0 answer has.
type envelope struct {
	Response struct {
		Error *struct {
			Code    string `json:"Code"`
			Message string `json:"Message"`
		} `json:"Error"`
		RequestID string `json:"RequestId"`
	} `json:"Response"`
}

// Do signs and posts payload for action and returns the answer, its HTTP
// status and its RequestId when the request itself succeeded; the caller
// reads its own part of the answer from raw. Errors never hold the keys or
// the phones (redacted from the provider's text); those not worth retrying
// are wrapped with notify.Permanent, the others classified for
// notify.FailureReason.
func (c *Client) Do(ctx context.Context, action string, payload []byte, phones ...string) (raw []byte, status int, requestID string, err error) {
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Endpoint, bytes.NewReader(payload))
	if err != nil {
		return nil, 0, "", notify.Permanent(fmt.Errorf("build request: %w", err))
	}
	ts := c.Now().Unix()
	tc3 := sign.TC3{Service: c.Service, Host: c.Host, Action: action, Timestamp: ts, Payload: payload}
	req.Header.Set("Content-Type", sign.TC3ContentType)
	req.Header.Set("X-TC-Action", action)
	req.Header.Set("X-TC-Version", c.Version)
	req.Header.Set("X-TC-Region", c.Region)
	req.Header.Set("X-TC-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("Authorization", tc3.Authorization(c.SecretID, c.SecretKey))
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, 0, "", err // a *url.Error naming the endpoint, which holds no secret
	}
	defer resp.Body.Close()
	raw, err = io.ReadAll(io.LimitReader(resp.Body, MaxAnswer))
	if err != nil {
		return nil, resp.StatusCode, "", fmt.Errorf("read answer: %w", err)
	}
	var env envelope
	if json.Unmarshal(raw, &env) != nil || (env.Response.Error == nil && env.Response.RequestID == "") {
		// Not a provider document (a proxy, a gateway page): the status decides.
		resp.Body = io.NopCloser(bytes.NewReader(raw))
		if err := notify.CheckResponse(resp); err != nil {
			var he *notify.HTTPError
			if errors.As(err, &he) {
				he.Body = c.Redact(he.Body, phones...)
			}
			return nil, resp.StatusCode, "", err
		}
		return nil, resp.StatusCode, "", fmt.Errorf("answer with status %d is not a %s result", resp.StatusCode, action)
	}
	r := &env.Response
	if r.Error != nil {
		return nil, resp.StatusCode, r.RequestID, c.Fail(r.Error.Code, r.Error.Message, r.RequestID, resp.StatusCode, phones...)
	}
	return raw, resp.StatusCode, r.RequestID, nil
}

// Fail is the classified error of a failed answer: the request's Error, or
// a channel's send status that did not reach the number.
func (c *Client) Fail(code, msg, requestID string, status int, phones ...string) error {
	e := &Error{provider.NewCloudError(code, msg, requestID, status,
		func(s string) string { return c.Redact(s, phones...) })}
	if e.classify(c.Limit) {
		return notify.Permanent(e)
	}
	return e
}

// Redact removes the keys and the phones from a text that came back from
// the provider.
func (c *Client) Redact(text string, phones ...string) string {
	return notify.Redact(text, append([]string{c.SecretKey, c.SecretID}, phones...)...)
}

// Error is a failed answer of Tencent Cloud: the request's Error, or the
// number's send status (its Code, e.g.
// LimitExceeded.PhoneNumberDailyLimit; see provider.CloudError). Match it
// with errors.As to read the provider's code.
type Error struct{ provider.CloudError }

// rejections are the code families of requests the provider will not
// accept again as they are.
var rejections = []string{
	"InvalidParameter", "InvalidParameterValue", "MissingParameter", "UnknownParameter", "FailedOperation",
	"UnauthorizedOperation", "AuthFailure", "UnsupportedOperation", "OperationDenied", "ResourceNotFound",
	"ResourceUnavailable", "ResourceInsufficient", "InvalidAction", "InvalidRequest", "NoSuchProduct",
	"NoSuchVersion", "ActionOffline", "IpInBlacklist", "IpNotInWhitelist",
}

// classify sets e's classification and reports whether trying again is
// pointless.
func (e *Error) classify(limit func(string) (time.Duration, bool)) (permanent bool) {
	code, status := e.Code, e.StatusCode
	family, _, _ := strings.Cut(code, ".")
	switch {
	case family == "RequestLimitExceeded":
		e.Reason = &notify.HTTPError{StatusCode: http.StatusTooManyRequests}
	case family == "LimitExceeded":
		var after time.Duration
		var long bool
		if limit != nil {
			after, long = limit(code)
		}
		e.Reason = &notify.HTTPError{StatusCode: http.StatusTooManyRequests, RetryAfter: after}
		return long
	case family == "InternalError":
		if status < 500 || status > 599 {
			status = http.StatusServiceUnavailable
		}
		e.Reason = &notify.HTTPError{StatusCode: status}
	case slices.Contains(rejections, family):
		if status < 400 || status > 499 {
			status = http.StatusBadRequest
		}
		e.Reason = &notify.HTTPError{StatusCode: status}
		return true
	case status == http.StatusTooManyRequests || status >= 500 && status <= 599:
		e.Reason = &notify.HTTPError{StatusCode: status}
	case status >= 400 && status <= 499:
		e.Reason = &notify.HTTPError{StatusCode: status}
		return true
	}
	return false
}

// Phone writes the number of a callback (nationcode and mobile) as the
// calls carry it: a mainland number without +86, another with +<code>.
func Phone(nation, mobile string) string {
	if nation == "" || nation == "86" || mobile == "" {
		return mobile
	}
	return "+" + nation + mobile
}
