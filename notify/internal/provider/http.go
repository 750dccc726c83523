package provider

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
)

// NoRedirectClient is the HTTP client a channel gets when it is given
// none: a transport of its own, and redirects are not followed — a
// provider's API answers where it is asked, and a redirect would carry a
// signed request, a token in the URL or a body elsewhere. The 3xx answer
// comes back to the channel, which treats it as a failure.
func NoRedirectClient() *http.Client {
	return &http.Client{
		Transport:     http.DefaultTransport.(*http.Transport).Clone(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// CheckEndpoint checks a provider API's endpoint from the configuration:
// an http or https URL with a host, no query and no user info. The error
// names the key endpoint and never quotes the URL.
func CheckEndpoint(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return nil, errors.New("endpoint is not a valid URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("endpoint scheme %q is not http or https", u.Scheme)
	case u.Host == "":
		return nil, errors.New("endpoint has no host")
	case u.RawQuery != "" || u.User != nil:
		return nil, errors.New("endpoint must not carry a query or user info")
	}
	return u, nil
}

// Loopback reports whether host names this machine (localhost or a
// loopback address): where tests run their fake providers without TLS.
func Loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// StripPhone drops what people write between the digits of a phone
// number: spaces, tabs, dashes and brackets. Each channel then writes the
// number the way its provider wants it.
func StripPhone(p string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '(', ')', '\t':
			return -1
		}
		return r
	}, p)
}

// DecodeBatch decodes a callback body that is a JSON array of items or a
// single item (an object). what names the items in the error of a body
// that is neither: "reports", "callbacks".
func DecodeBatch[T any](body []byte, what string) ([]T, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, errors.New("empty body")
	}
	if body[0] == '{' {
		var it T
		if err := json.Unmarshal(body, &it); err != nil {
			return nil, fmt.Errorf("not JSON: %w", err)
		}
		return []T{it}, nil
	}
	var items []T
	if err := json.Unmarshal(body, &items); err != nil {
		return nil, fmt.Errorf("not a JSON array of %s: %w", what, err)
	}
	return items, nil
}

// Headers checks the extra headers a configuration adds to every request
// (its key headers) and returns them: a name must be an RFC 9110 token and
// none of reserved (headers the channel or the transport sets, compared
// canonically); a value must hold no line break or NUL. It reports every
// problem; errors never quote a value, which may be a secret.
func Headers(cfg map[string]string, reserved ...string) (http.Header, []error) {
	h := make(http.Header, len(cfg))
	var errs []error
	for k, v := range cfg {
		switch {
		case !validHeaderName(k):
			errs = append(errs, fmt.Errorf("header name %q is not valid", k))
		case slices.Contains(reserved, textproto.CanonicalMIMEHeaderKey(k)):
			errs = append(errs, fmt.Errorf("header %q is set by yujing and cannot be configured", k))
		case strings.ContainsAny(v, "\r\n\x00"):
			errs = append(errs, fmt.Errorf("header %q has a control character in its value", k))
		default:
			h.Set(k, v)
		}
	}
	return h, errs
}

// validHeaderName reports whether name is an RFC 9110 token.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		b := name[i]
		switch {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0:
		default:
			return false
		}
	}
	return true
}

// Field is a configuration key and its value.
type Field struct{ Key, Value string }

// Missing reports each field whose value is empty or white space: "secret_id
// is empty".
func Missing(fields ...Field) []error {
	var errs []error
	for _, f := range fields {
		if strings.TrimSpace(f.Value) == "" {
			errs = append(errs, fmt.Errorf("%s is empty", f.Key))
		}
	}
	return errs
}

// NotNumber reports each field whose value is set and not all digits (an
// application or template id the provider numbers): `template_id "T-1" is
// not a number`.
func NotNumber(fields ...Field) []error {
	var errs []error
	for _, f := range fields {
		if f.Value != "" && strings.Trim(f.Value, "0123456789") != "" {
			errs = append(errs, fmt.Errorf("%s %q is not a number", f.Key, f.Value))
		}
	}
	return errs
}

// Phone numbers a channel cannot send to. Errors never quote the number.
var (
	ErrNoPhone  = errors.New("has no phone number")
	ErrBadPhone = errors.New("phone number is not valid")
)

// CutMainland returns a mainland number written with its country code
// (+86…, 0086…, or 86 before an 11-digit mobile) without it, and whether
// it was so written.
func CutMainland(p string) (national string, ok bool) {
	switch {
	case strings.HasPrefix(p, "+86"):
		return p[3:], true
	case strings.HasPrefix(p, "0086"):
		return p[4:], true
	case len(p) == 13 && strings.HasPrefix(p, "861"):
		return p[2:], true
	}
	return p, false
}
