package providertest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// TC3 checks requests to a Tencent Cloud API 3.0 service as Tencent Cloud
// documents them: a POST to /, the X-TC-Action (one of Actions),
// X-TC-Version and X-TC-Region headers, a timestamp within five minutes,
// and the TC3-HMAC-SHA256 signature recomputed step by step from what
// arrived — canonical request, string to sign, the key derived from
// "TC3"+SecretKey through the date, the service and "tc3_request" —
// signing at least content-type.
type TC3 struct {
	SecretID, SecretKey string
	Service, Version    string
	Region              string // default ap-guangzhou
	Actions             []string
}

// Check reads r's body and checks r. It returns the body and the action;
// for a request the provider refuses, also the error code and message it
// answers with (code is "" for a good request).
func (v TC3) Check(r *http.Request) (body []byte, action, code, msg string) {
	body, _ = io.ReadAll(r.Body)
	action = r.Header.Get("X-TC-Action")
	region := v.Region
	if region == "" {
		region = "ap-guangzhou"
	}
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		return body, action, "InvalidAction", r.Method + " " + r.URL.Path
	}
	if !slices.Contains(v.Actions, action) {
		return body, action, "InvalidAction", "X-TC-Action = " + action
	}
	for k, want := range map[string]string{"X-TC-Version": v.Version, "X-TC-Region": region} {
		if got := r.Header.Get(k); got != want {
			return body, action, "InvalidParameter", k + " = " + got
		}
	}
	ts, err := strconv.ParseInt(r.Header.Get("X-TC-Timestamp"), 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() > 5*time.Minute {
		return body, action, "AuthFailure.SignatureExpire", "timestamp " + r.Header.Get("X-TC-Timestamp")
	}
	// Authorization: TC3-HMAC-SHA256 Credential=<id>/<date>/<service>/tc3_request, SignedHeaders=…, Signature=…
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, "TC3-HMAC-SHA256 ")
	if !ok {
		return body, action, "AuthFailure.InvalidAuthorization", auth
	}
	fields := map[string]string{}
	for _, kv := range strings.Split(rest, ", ") {
		k, val, _ := strings.Cut(kv, "=")
		fields[k] = val
	}
	date := time.Unix(ts, 0).UTC().Format("2006-01-02")
	scope := date + "/" + v.Service + "/tc3_request"
	if fields["Credential"] != v.SecretID+"/"+scope {
		return body, action, "AuthFailure.SecretIdNotFound", "credential " + fields["Credential"]
	}
	var canon strings.Builder
	for _, h := range strings.Split(fields["SignedHeaders"], ";") {
		val := r.Header.Get(h)
		if h == "host" {
			val = r.Host
		}
		canon.WriteString(h + ":" + strings.ToLower(strings.TrimSpace(val)) + "\n")
	}
	payloadHash := sha256.Sum256(body)
	cr := "POST\n/\n\n" + canon.String() + "\n" + fields["SignedHeaders"] + "\n" + hex.EncodeToString(payloadHash[:])
	crHash := sha256.Sum256([]byte(cr))
	sts := "TC3-HMAC-SHA256\n" + strconv.FormatInt(ts, 10) + "\n" + scope + "\n" + hex.EncodeToString(crHash[:])
	key := hmacSHA256(hmacSHA256(hmacSHA256([]byte("TC3"+v.SecretKey), date), v.Service), "tc3_request")
	if !slices.Contains(strings.Split(fields["SignedHeaders"], ";"), "content-type") ||
		fields["Signature"] != hex.EncodeToString(hmacSHA256(key, sts)) {
		return body, action, "AuthFailure.SignatureFailure", "The provided credentials could not be validated. Please check your signature is correct."
	}
	return body, action, "", ""
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// TencentError is Tencent Cloud's answer to a request it refuses:
// Response.Error with code and message, and the RequestId.
func TencentError(code, msg, requestID string) string {
	b, _ := json.Marshal(map[string]any{"Response": map[string]any{
		"Error": map[string]string{"Code": code, "Message": msg}, "RequestId": requestID}})
	return string(b)
}
