package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"yujing/config"
)

// TestSecretsStayHidden runs calls through channels holding secrets — a
// signed webhook with a token in its query and a bearer header, a DingTalk
// robot and Alibaba Cloud SMS — against local servers that fail and echo
// everything they got back, then reads every API endpoint (the alert's
// calls also as a viewer, who may read them) and the whole log: no secret
// appears anywhere.
func TestSecretsStayHidden(t *testing.T) {
	secrets := map[string]string{
		"YUJING_TEST_WEBHOOK_SECRET":  "whsec-4f1d9a7c",
		"YUJING_TEST_WEBHOOK_TOKEN":   "wh-query-token-5e6f",
		"YUJING_TEST_WEBHOOK_BEARER":  "wh-bearer-0a1b2c",
		"YUJING_TEST_DINGTALK_TOKEN":  "dtk-token-77aa21",
		"YUJING_TEST_DINGTALK_SECRET": "SECdd8e3f0b6c",
		"YUJING_TEST_ALIYUN_SECRET":   "aliyun-sk-9b02ce",
	}
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	var echoed atomic.Int64 // requests that carried the webhook's query token
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(r.URL.RawQuery, secrets["YUJING_TEST_WEBHOOK_TOKEN"]) {
			echoed.Add(1)
		}
		w.WriteHeader(http.StatusBadRequest) // permanent: logged once, with the provider's answer
		fmt.Fprintf(w, `{"errcode": 310000, "errmsg": "bad request %s %s", "Code": "isv.INVALID_PARAMETERS", "Message": "echo %s"}`, r.URL.String(), body, r.Header)
	}))
	defer echo.Close()
	cfg := configFrom(t, fmt.Sprintf(`
data_dir: %s
mqtt: {embedded: {listen: "127.0.0.1:0"}}
sites: [{id: p}]
sensors: [{id: G1, site: p, family: gas, metric: lel}]
rules: [{name: gas, match: {family: gas}, above: {red: 50}}]
people: [{id: x, name: X, phone: "13800000000"}]
channels:
  - name: hook
    webhook: {url: "%s?access_token=${YUJING_TEST_WEBHOOK_TOKEN}", secret: "${YUJING_TEST_WEBHOOK_SECRET}",
      headers: {Authorization: "Bearer ${YUJING_TEST_WEBHOOK_BEARER}"}}
  - name: ding
    dingtalk: {webhook: "%s/robot/send?access_token=${YUJING_TEST_DINGTALK_TOKEN}", secret: "${YUJING_TEST_DINGTALK_SECRET}"}
  - name: sms
    aliyun_sms: {endpoint: %q, access_key_id: LTAItestid, access_key_secret: "${YUJING_TEST_ALIYUN_SECRET}", sign_name: 测试, template_code: SMS_1}
notify: [{people: [x], channels: [hook, ding, sms]}]
`, t.TempDir(), echo.URL+"/hook", echo.URL, echo.URL+"/"))
	const viewerToken = "viewer-token-0123456789abcdef0123456789"
	cfg.HTTP.APITokens = append(cfg.HTTP.APITokens, config.APIToken{Name: "viewer", Role: "viewer", Token: viewerToken})
	inst := start(t, cfg)
	api := "http://" + inst.http
	publish(t, publisher(t, inst.mqtt), "yujing/p/G1", `{"value": 60}`)
	var as []apiAlert
	waitFor(t, 5*time.Second, "the alert", func() bool { getJSON(t, api+"/api/v1/alerts", &as); return len(as) == 1 })
	var detail struct {
		Calls []struct {
			Channel, Status string
			LastError       string `json:"last_error"`
		}
	}
	waitFor(t, 10*time.Second, "all three calls failed permanently", func() bool {
		getJSON(t, fmt.Sprintf("%s/api/v1/alerts/%d", api, as[0].ID), &detail)
		failed := 0
		for _, c := range detail.Calls {
			if c.Status == "failed" {
				failed++
			}
		}
		return failed == 3
	})
	if echoed.Load() == 0 {
		t.Fatal("the webhook's requests never carried its query token: the test proves nothing")
	}
	var seen strings.Builder
	// A viewer reads the alert and its calls, with their last errors.
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/v1/alerts/%d", api, as[0].ID), nil)
	req.Header.Set("Authorization", "Bearer "+viewerToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	asViewer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(asViewer), `"last_error":"webhook hook: post`) {
		t.Fatalf("viewer GET alert: %d %s, want the calls with their last errors", resp.StatusCode, asViewer)
	}
	seen.Write(asViewer)
	for _, path := range []string{"/api/v1/alerts", fmt.Sprintf("/api/v1/alerts/%d", as[0].ID), "/api/v1/rules",
		"/api/v1/sensors", "/api/v1/silences", "/api/v1/rejected", "/metrics", "/healthz"} {
		resp, err := authed.Get(api + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		seen.Write(b)
	}
	seen.WriteString(inst.logs.String())
	for name, v := range secrets {
		if strings.Contains(seen.String(), v) {
			i := strings.Index(seen.String(), v)
			t.Errorf("secret %s shows in the API or the log: …%s…", name, seen.String()[max(0, i-120):min(len(seen.String()), i+40)])
		}
	}
	if !strings.Contains(inst.logs.String(), "notify call failed") {
		t.Errorf("the failures were not logged at all: the test proves nothing")
	}
}
