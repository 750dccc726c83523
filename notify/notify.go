package notify

import (
	"context"
	"errors"
	"net"

	"yujing"
)

// Channel is a delivery integration: SMS, voice, an IM platform, a webhook.
//
// Send delivers one call once; it must honour ctx (the Dispatcher gives it a
// per-send deadline) and be safe for concurrent use. It does not retry: it
// returns an error wrapped with Permanent when trying again cannot help, and
// any other error when it can. Errors must not contain secrets (tokens,
// signing keys, URLs with credentials), because they are logged.
type Channel interface {
	// Name is the channel's unique name, the value of yujing.Call.Channel
	// that routes calls to it.
	Name() string
	Send(ctx context.Context, c yujing.Call) error
}

// PermanentError marks a failure that must not be retried, such as an HTTP
// 4xx answer other than 408 and 429, or a call the provider cannot accept.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string {
	if e.Err == nil {
		return "permanent failure"
	}
	return e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err so that Retryable reports false. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// Retryable reports whether delivery should be tried again after err: true
// for any non-nil error not wrapped with Permanent.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	var p *PermanentError
	return !errors.As(err, &p)
}

// Failure reasons, the values of the reason label of
// yujing_notify_failures_total.
const (
	ReasonTimeout   = "timeout"      // the send timed out, or HTTP 408
	ReasonHTTP5xx   = "http_5xx"     // the provider answered 5xx
	ReasonHTTP4xx   = "http_4xx"     // the provider answered 4xx (other than 408, 429)
	ReasonThrottled = "throttled"    // HTTP 429 or provider rate limiting
	ReasonNetwork   = "network"      // connection refused, reset, DNS, TLS, ...
	ReasonCircuit   = "circuit_open" // not tried: the channel's circuit breaker is open
	ReasonOther     = "other"        // anything else
)

// Reasons lists every failure reason.
var Reasons = [...]string{ReasonTimeout, ReasonHTTP5xx, ReasonHTTP4xx, ReasonThrottled, ReasonNetwork, ReasonCircuit, ReasonOther}

// FailureReason classifies err for metrics: an open circuit as
// circuit_open, an *HTTPError by its status, then deadline expiry or a
// network timeout as timeout, then any other net.Error (which includes
// *url.Error from net/http) as network.
func FailureReason(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, ErrCircuitOpen) {
		return ReasonCircuit
	}
	var he *HTTPError
	if errors.As(err, &he) {
		switch s := he.StatusCode; {
		case s == 429:
			return ReasonThrottled
		case s == 408:
			return ReasonTimeout
		case s >= 500 && s <= 599:
			return ReasonHTTP5xx
		case s >= 400 && s <= 499:
			return ReasonHTTP4xx
		default:
			return ReasonOther
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return ReasonTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) {
		if ne.Timeout() {
			return ReasonTimeout
		}
		return ReasonNetwork
	}
	return ReasonOther
}
