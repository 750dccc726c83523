package sign

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"sort"
	"strings"
)

// Values of the fixed signature parameters of Alibaba Cloud's RPC style.
const (
	RPCSignatureMethod  = "HMAC-SHA1"
	RPCSignatureVersion = "1.0"
	// RPCTimestampFormat is the layout of the Timestamp parameter: ISO 8601
	// in UTC, whole seconds.
	RPCTimestampFormat = "2006-01-02T15:04:05Z"
)

const upperHex = "0123456789ABCDEF"

// PercentEncode encodes s the way Alibaba Cloud's RPC signature requires
// (RFC 3986 over the UTF-8 bytes): A–Z, a–z, 0–9, "-", "_", "." and "~"
// stay as they are, every other byte becomes %XY with upper-case hex. So a
// space is %20 (not "+"), "*" is %2A and "~" is not encoded: the result of
// Java's URLEncoder followed by the documented "+"→"%20", "*"→"%2A",
// "%7E"→"~" replacements.
func PercentEncode(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&0x0f])
	}
	return b.String()
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

// CanonicalQuery is the canonicalized query string of params: every
// parameter but Signature, names and values percent-encoded, joined as
// name=value, sorted by name, separated by "&". It is also a valid
// application/x-www-form-urlencoded body.
func CanonicalQuery(params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys) // byte order of the names, as the documentation sorts them
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(PercentEncode(k))
		b.WriteByte('=')
		b.WriteString(PercentEncode(params[k]))
	}
	return b.String()
}

// RPCStringToSign is HTTPMethod + "&" + PercentEncode("/") + "&" +
// PercentEncode(CanonicalQuery(params)).
func RPCStringToSign(method string, params map[string]string) string {
	return method + "&%2F&" + PercentEncode(CanonicalQuery(params))
}

// RPCSignature is Base64(HMAC-SHA1(accessKeySecret + "&", stringToSign)),
// the value of the Signature parameter (before it is percent-encoded into
// the request).
func RPCSignature(accessKeySecret, stringToSign string) string {
	m := hmac.New(sha1.New, []byte(accessKeySecret+"&"))
	m.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// RPCSign returns the Signature of a request with the given HTTP method and
// parameters (the common ones included, Signature excluded).
func RPCSign(method, accessKeySecret string, params map[string]string) string {
	return RPCSignature(accessKeySecret, RPCStringToSign(method, params))
}
