package aliyunsms

import (
	"net/http"
	"net/url"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"yujing/notify"
	"yujing/notify/aliyunsms/dysmstest"
	"yujing/notify/internal/providertest"
)

// TestThrottleWaitsTheProvidersWindow: a number throttled per minute
// (isv.BUSINESS_LIMIT_CONTROL 触发分钟级流控) is tried again through the
// dispatcher, with its default MaxBackoff of 30 s, no earlier than a
// minute later — a retry within the window would only be throttled again.
func TestThrottleWaitsTheProvidersWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := dysmstest.New(testKeyID, testSecret)
		var mu sync.Mutex
		var at []time.Time
		p.Reply = func(url.Values) (int, string) {
			mu.Lock()
			defer mu.Unlock()
			at = append(at, time.Now())
			if len(at) == 1 {
				return 200, `{"Code":"isv.BUSINESS_LIMIT_CONTROL","Message":"触发分钟级流控Permits:1","RequestId":"R-1"}`
			}
			return 200, `{"Code":"OK","Message":"OK","RequestId":"R-2","BizId":"1^0"}`
		}
		s, err := New(testConfig("https://dysmsapi.aliyuncs.com"), &http.Client{Transport: p.Transport()})
		if err != nil {
			t.Fatal(err)
		}
		d, results := providertest.Dispatch(t, s, notify.Options{})
		if err := d.Call(t.Context(), testCall()); err != nil {
			t.Fatal(err)
		}
		r := <-results
		if r.Err != nil || r.Attempts != 2 {
			t.Fatalf("result %+v, want sent at the second attempt; rejected %v", r, p.Rejected())
		}
		mu.Lock()
		defer mu.Unlock()
		if gap := at[1].Sub(at[0]); gap < time.Minute {
			t.Errorf("retried %s after the minute-level throttle, want at least a minute", gap)
		}
	})
}
