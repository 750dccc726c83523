package sign

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// Fixed parts of Tencent Cloud's signature method v3 as notify uses it: a
// POST of a JSON body to "/", signing the content-type, host and
// x-tc-action headers.
const (
	TC3Algorithm     = "TC3-HMAC-SHA256"
	TC3ContentType   = "application/json; charset=utf-8"
	TC3SignedHeaders = "content-type;host;x-tc-action"
	tc3Terminator    = "tc3_request"
)

// TC3 is one request to a Tencent Cloud API 3.0 endpoint, as far as its
// signature is concerned.
type TC3 struct {
	Service     string // the product, first label of the host: "sms", "vms", "cvm"
	Host        string // the Host header, e.g. "sms.tencentcloudapi.com"
	Action      string // X-TC-Action, e.g. "SendSms"
	Timestamp   int64  // X-TC-Timestamp, Unix seconds
	ContentType string // Content-Type header; "" means TC3ContentType
	Payload     []byte // the request body
}

func (r *TC3) contentType() string {
	if r.ContentType == "" {
		return TC3ContentType
	}
	return r.ContentType
}

// Date is the UTC date of the timestamp, as used in the credential scope.
func (r *TC3) Date() string {
	return time.Unix(r.Timestamp, 0).UTC().Format("2006-01-02")
}

// CredentialScope is Date/Service/tc3_request.
func (r *TC3) CredentialScope() string {
	return r.Date() + "/" + r.Service + "/" + tc3Terminator
}

// CanonicalRequest is
//
//	POST\n/\n\ncontent-type:<ct>\nhost:<host>\nx-tc-action:<action>\n\n<signed headers>\n<hex sha256(payload)>
//
// with header values lower-cased and trimmed.
func (r *TC3) CanonicalRequest() string {
	sum := sha256.Sum256(r.Payload)
	var b strings.Builder
	b.WriteString("POST\n/\n\n")
	b.WriteString("content-type:" + strings.ToLower(strings.TrimSpace(r.contentType())) + "\n")
	b.WriteString("host:" + strings.ToLower(strings.TrimSpace(r.Host)) + "\n")
	b.WriteString("x-tc-action:" + strings.ToLower(strings.TrimSpace(r.Action)) + "\n")
	b.WriteString("\n" + TC3SignedHeaders + "\n")
	b.WriteString(hex.EncodeToString(sum[:]))
	return b.String()
}

// StringToSign is "TC3-HMAC-SHA256\n<timestamp>\n<credential scope>\n<hex
// sha256(canonical request)>".
func (r *TC3) StringToSign() string {
	sum := sha256.Sum256([]byte(r.CanonicalRequest()))
	return TC3Algorithm + "\n" + strconv.FormatInt(r.Timestamp, 10) + "\n" + r.CredentialScope() + "\n" + hex.EncodeToString(sum[:])
}

// Signature is the hex HMAC-SHA256 of the string to sign under the derived
// key: HMAC("TC3"+secretKey, date) → HMAC(·, service) → HMAC(·,
// "tc3_request").
func (r *TC3) Signature(secretKey string) string {
	k := hmacSHA256([]byte("TC3"+secretKey), r.Date())
	k = hmacSHA256(k, r.Service)
	k = hmacSHA256(k, tc3Terminator)
	return hex.EncodeToString(hmacSHA256(k, r.StringToSign()))
}

// Authorization is the value of the Authorization header.
func (r *TC3) Authorization(secretID, secretKey string) string {
	return TC3Algorithm + " Credential=" + secretID + "/" + r.CredentialScope() +
		", SignedHeaders=" + TC3SignedHeaders + ", Signature=" + r.Signature(secretKey)
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}
