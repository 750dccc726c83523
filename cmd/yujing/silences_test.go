package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestSilencesAPI(t *testing.T) {
	hook := &hookRecorder{t: t, secret: "s3cret-for-test"}
	hs := httptest.NewServer(hook)
	defer hs.Close()
	inst := start(t, demoConfig(t, hs.URL))
	api := "http://" + inst.http
	ends := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)

	// created_by is who is logged in (the test's token), whatever the body says.
	code, body := do(t, "POST", api+"/api/v1/silences", `{"matchers": {"sensor": "GT-101"}, "ends_at": "`+ends+`", "created_by": "li", "comment": "探头标定"}`)
	if code != http.StatusCreated || !strings.Contains(body, `"id":1`) || !strings.Contains(body, `"created_by":"`+testActor+`"`) {
		t.Fatalf("create: %d %s", code, body)
	}
	if code, body := do(t, "POST", api+"/api/v1/silences", `{"matchers": {}, "ends_at": "`+ends+`"}`); code != 400 || !strings.Contains(body, "silence of everything") || !strings.Contains(body, "comment") {
		t.Errorf("invalid silence: %d %s", code, body)
	}
	pub := publisher(t, inst.mqtt)
	publish(t, pub, "yujing/demo-plant/GT-101", `{"value": 30}`)
	waitFor(t, 5*time.Second, "the silenced alert, recorded and marked", func() bool {
		var as []struct {
			ID       int64
			Silenced bool
		}
		getJSON(t, api+"/api/v1/alerts", &as)
		return len(as) == 1 && as[0].Silenced
	})
	// No sleep for a call that should not come: the silenced raise was
	// handed to call-and-answer long before the upgrade below, whose wait
	// wants exactly one call, the upgrade; a call about the raise would
	// make it two.
	if calls, _ := hook.snapshot(); len(calls) != 0 {
		t.Fatalf("a silenced alert called: %v", calls)
	}
	var sl []struct {
		ID     int64
		Active bool
	}
	getJSON(t, api+"/api/v1/silences", &sl)
	if len(sl) != 1 || !sl[0].Active {
		t.Fatalf("silences: %+v", sl)
	}
	if code, _ := do(t, "DELETE", fmt.Sprintf("%s/api/v1/silences/%d?by=li", api, sl[0].ID), ""); code != http.StatusNoContent {
		t.Fatalf("expire: %d", code)
	}
	// Who ended it is kept with it: the logged-in actor, whatever ?by says.
	var ended []struct {
		ExpiredAt *time.Time `json:"expired_at"`
		ExpiredBy string     `json:"expired_by"`
	}
	getJSON(t, api+"/api/v1/silences", &ended)
	if len(ended) != 1 || ended[0].ExpiredAt == nil || ended[0].ExpiredBy != testActor {
		t.Errorf("the expired silence: %+v, want expired_at and expired_by %q", ended, testActor)
	}
	publish(t, pub, "yujing/demo-plant/GT-101", `{"value": 55}`)
	waitFor(t, 5*time.Second, "the upgrade call once the silence expired", func() bool {
		calls, _ := hook.snapshot()
		return len(calls) == 1 && calls[0]["event"] == "upgraded"
	})
	if code, _ := do(t, "DELETE", api+"/api/v1/silences/99", ""); code != 404 {
		t.Errorf("expire unknown: %d, want 404", code)
	}
}
