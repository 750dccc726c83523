package providertest

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// RPC checks requests to an Alibaba Cloud RPC-style API (dysmsapi,
// dyvmsapi) as Alibaba Cloud documents them: a POSTed form, the common
// parameters, the signature (version 1.0, HMAC-SHA1) recomputed
// independently from the received form, a timestamp within 15 minutes, and
// a nonce not used before.
type RPC struct {
	KeyID, Secret string
	Version       string
	Region        string  // default cn-hangzhou
	Nonces        *Nonces // the nonces seen; shared by every check of one provider
}

// Check reads r's form and checks r. It returns the form; for a request
// the provider refuses, also the HTTP status, the error code and the
// message it answers with (code is "" for a good request).
func (v RPC) Check(r *http.Request) (form url.Values, status int, code, msg string) {
	if r.Method != http.MethodPost {
		return nil, 405, "UnsupportedHTTPMethod", r.Method
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return nil, 400, "InvalidParameter", "content type " + ct
	}
	raw, _ := io.ReadAll(r.Body)
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		return nil, 400, "InvalidParameter", "body is not a form"
	}
	region := v.Region
	if region == "" {
		region = "cn-hangzhou"
	}
	for k, want := range map[string]string{
		"Version": v.Version, "Format": "JSON", "AccessKeyId": v.KeyID,
		"SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "RegionId": region,
	} {
		if got := form.Get(k); got != want {
			return form, 400, "InvalidParameter", k + " = " + got
		}
	}
	// The signature, recomputed from what arrived.
	keys := make([]string, 0, len(form))
	for k := range form {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = popEncode(k) + "=" + popEncode(form.Get(k))
	}
	sts := "POST&" + popEncode("/") + "&" + popEncode(strings.Join(pairs, "&"))
	mac := hmac.New(sha1.New, []byte(v.Secret+"&"))
	mac.Write([]byte(sts))
	if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); form.Get("Signature") != want {
		return form, 400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation. server string to sign is:" + sts
	}
	ts, err := time.Parse("2006-01-02T15:04:05Z", form.Get("Timestamp"))
	if err != nil || time.Since(ts).Abs() > 15*time.Minute {
		return form, 400, "InvalidTimeStamp.Expired", "timestamp " + form.Get("Timestamp")
	}
	if n := form.Get("SignatureNonce"); !v.Nonces.use(n) {
		return form, 400, "SignatureNonceUsed", "nonce " + n
	}
	return form, 0, "", ""
}

// popEncode is the documented encoding, done as the documentation says:
// URL-encode, then "+"→"%20", "*"→"%2A", "%7E"→"~".
func popEncode(s string) string {
	return strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(url.QueryEscape(s))
}

// Nonces remembers the signature nonces a provider has seen. The zero
// value is ready for use; it is safe for concurrent use.
type Nonces struct {
	mu   sync.Mutex
	seen map[string]bool
}

// use records n and reports whether it was fresh (set and not seen).
func (s *Nonces) use(n string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	fresh := n != "" && !s.seen[n]
	s.seen[n] = true
	return fresh
}

// AliyunError is Alibaba Cloud's JSON answer with a code other than OK.
func AliyunError(code, msg, requestID string) string {
	b, _ := json.Marshal(map[string]string{"RequestId": requestID, "Code": code, "Message": msg})
	return string(b)
}
