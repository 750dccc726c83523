package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestAuditSecretNames(t *testing.T) {
	for name, want := range map[string]bool{
		"password": true, "Password": true, "new_password": true, "passwd": true, "pwd": true,
		"secret": true, "client_secret": true, "webhookSecret": true,
		"token": true, "access_token": true, "refreshToken": true, "credentials": true,
		"key": true, "api_key": true, "apiKey": true, "APIKey": true, "access-key-id": true, "AccessKeyId": true,
		"appkey": true, "private_key": true, "Authorization": true, "cookie": true,
		"by": false, "note": false, "reason": false, "keyword": false, "monkey": false, "keys_pressed": false,
		"id": false, "topic": false, "metric_map": false, "hotkeys": false,
	} {
		if got := secretName(name); got != want {
			t.Errorf("secretName(%q) = %v, want %v", name, got, want)
		}
	}
}

// detail is the Detail of a body read whole.
func detail(body string) string {
	return detailOf([]byte(body), json.Valid([]byte(body)), false)
}

func TestAuditDetail(t *testing.T) {
	for _, c := range []struct {
		name, body, want string
	}{
		{"empty", "", ""},
		{"json kept", `{"by":"li","note":"阀门已更换 <ok> & done","n":1.50}`, `{"by":"li","n":1.50,"note":"阀门已更换 <ok> & done"}`},
		{"json nested secrets", `{"by":"li","token":"t-1","cfg":{"apiKey":"k-1","keyword":"kw"},"list":[{"password":"p-1"}],"secret":{"a":1}}`,
			`{"by":"li","cfg":{"apiKey":"[REDACTED]","keyword":"kw"},"list":[{"password":"[REDACTED]"}],"secret":"[REDACTED]","token":"[REDACTED]"}`},
		{"form", `user=li&password=hunter2&api_key=k%201&note=x`, `user=li&password=[REDACTED]&api_key=[REDACTED]&note=x`},
		{"text pairs", `Token: abc123, by: li; "secret" : "s 1"`, `Token: [REDACTED], by: li; "secret" : "[REDACTED]"`},
		{"broken json", `{"by":"li","password":"p-1",`, `{"by":"li","password":"[REDACTED]",`},
		{"invalid utf-8", "note=\xff\xfe", "note=\uFFFD"},
	} {
		if got := detail(c.body); got != c.want {
			t.Errorf("%s: detail\n%s\nwant\n%s", c.name, got, c.want)
		}
	}

	// Long strings are kept as their length and hash; base64 ones as the
	// decoded data's, so that a stored photo can be matched to its record.
	photo := bytes.Repeat([]byte{0x89, 'P', 'N', 'G', 7}, 1000)
	photoSum := sha256.Sum256(photo)
	note := strings.Repeat("长", 1000)
	noteSum := sha256.Sum256([]byte(note))
	got := detail(`{"by":"li","note":"` + note + `","photos":[{"name":"valve.png","data":"` + base64.StdEncoding.EncodeToString(photo) + `"}]}`)
	if want := fmt.Sprintf(`{"by":"li","note":"[text: 3000 bytes, sha256 %x]","photos":[{"data":"[base64: 5000 bytes, sha256 %x]","name":"valve.png"}]}`, noteSum, photoSum); got != want {
		t.Errorf("long strings: detail\n%s\nwant\n%s", got, want)
	}

	// Over MaxAuditDetail in all: cut on a character boundary, marked.
	var fields []string
	for i := range 5 {
		fields = append(fields, fmt.Sprintf(`"note%d":"%s"`, i, strings.Repeat("长", 600)))
	}
	long := `{` + strings.Join(fields, ",") + `,"token":"zzz"}`
	got = detail(long)
	if !utf8.ValidString(got) || len(got) > MaxAuditDetail+100 || strings.Contains(got, "zzz") ||
		!strings.HasSuffix(got, fmt.Sprintf("[truncated: the body had %d bytes]", len(long))) {
		t.Errorf("long detail (%d bytes): …%s", len(got), got[max(0, len(got)-80):])
	}
	huge := `{"password":"p-1","note":"` + strings.Repeat("x", 100<<10) + `"}`
	got = detailOf([]byte(huge)[:64<<10], false, true)
	if strings.Contains(got, "p-1") || !strings.HasSuffix(got, "[truncated: the body had over 65536 bytes]") {
		t.Errorf("huge detail: %.60s…%s", got, got[max(0, len(got)-60):])
	}
}

func TestAuditActor(t *testing.T) {
	for _, c := range []struct{ target, body, want string }{
		{"/api/v1/alerts/1/ack", `{"by": " li ", "note": "x"}`, "li"},
		{"/api/v1/silences", `{"created_by": "wang", "comment": "calibration"}`, "wang"},
		{"/api/v1/silences", `{"by": "li", "created_by": "wang"}`, "li"},
		{"/api/v1/silences/3?by=zhao", ``, "zhao"},
		{"/api/v1/alerts/1/ack?by=zhao", `{"by": "li"}`, "li"},
		{"/api/v1/alerts/1/ack", `{"by": 7}`, "anonymous"},
		{"/api/v1/alerts/1/ack", `{"by": "   "}`, "anonymous"},
		{"/-/reload", `by=li`, "anonymous"},
		{"/-/reload", ``, "anonymous"},
	} {
		r := httptest.NewRequest("POST", c.target, nil)
		body := []byte(c.body)
		if got := actorOf(r, body, json.Valid(body)); got != c.want {
			t.Errorf("%s %s: actor %q, want %q", c.target, c.body, got, c.want)
		}
	}
	long := strings.Repeat("李", 100)
	r := httptest.NewRequest("POST", "/api/v1/alerts/1/ack", nil)
	if got := actorOf(r, []byte(`{"by":"`+long+`"}`), true); len(got) > maxActor+len("…") || !utf8.ValidString(got) {
		t.Errorf("long actor %q", got)
	}
}
