package tencentsms

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"yujing/notify"
)

// TestSendStatus asks the local provider, which checks
// PullSmsSendStatusByPhoneNumber as documented (TC3 signature, BeginTime
// within 7 days, Offset 0, Limit ≤ 100, E.164 number, SmsSdkAppId) and
// answers with the status reports of the SMS it accepted, whether a call
// was sent.
func TestSendStatus(t *testing.T) {
	cases := []struct {
		name      string
		sendOurs  bool
		others    int
		noReports bool
		sinceTo   time.Duration
		want      notify.SendStatus
	}{
		{"reported", true, 2, false, time.Second, notify.SendStatus{State: notify.SendAccepted, ProviderID: "5000:1045710669157053657849499602"}},
		{"no report yet", true, 0, true, 10 * time.Second, notify.SendStatus{State: notify.SendUnknown, AskAgainIn: QuerySettle - 10*time.Second}},
		{"no report after the settle time: cannot tell", true, 0, true, 2 * QuerySettle, notify.SendStatus{State: notify.SendUnknown}},
		{"only other calls' reports", false, 3, false, 2 * QuerySettle, notify.SendStatus{State: notify.SendUnknown}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := newFakeSMS(t, nil)
			s := newSMS(t, testConfig(srv.URL))
			for i := range c.others {
				call := testCall()
				call.ID = fmt.Sprintf("other-%d", i)
				if err := s.Send(t.Context(), call); err != nil {
					t.Fatal(err)
				}
			}
			if c.sendOurs {
				if err := s.Send(t.Context(), testCall()); err != nil {
					t.Fatal(err)
				}
			}
			srv.mu.Lock()
			srv.noReports = c.noReports
			srv.mu.Unlock()
			now := time.Now()
			s.now = func() time.Time { return now }
			doubt := notify.InDoubt{From: now.Add(-c.sinceTo - time.Second), To: now.Add(-c.sinceTo)}
			got, err := s.SendStatus(t.Context(), testCall(), doubt)
			if err != nil {
				t.Fatalf("SendStatus: %v (rejected %v)", err, srv.bad)
			}
			if got != c.want {
				t.Errorf("SendStatus = %+v, want %+v", got, c.want)
			}
			ps := srv.pulled()
			if len(ps) != 1 {
				t.Fatalf("%d queries, want 1; rejected %v", len(ps), srv.bad)
			}
			want := pullByPhone{BeginTime: doubt.From.Add(-time.Minute).Unix(), EndTime: now.Unix(), Limit: 100,
				PhoneNumber: "+86" + testPhone, SmsSdkAppID: testAppID}
			if ps[0] != want {
				t.Errorf("query %+v, want %+v", ps[0], want)
			}
		})
	}
}

// TestSendStatusErrors: a query the provider refuses is permanent (yujing
// cannot tell; the call goes out again), one it cannot serve now is
// retryable; neither error shows the keys or the number.
func TestSendStatusErrors(t *testing.T) {
	cases := []struct {
		code      string
		retryable bool
	}{
		{"UnauthorizedOperation.SmsSdkAppIdVerifyFail", false},
		{"InternalError.Timeout", true},
		{"RequestLimitExceeded", true},
	}
	for _, c := range cases {
		t.Run(c.code, func(t *testing.T) {
			srv := newFakeSMS(t, nil)
			s := newSMS(t, testConfig(srv.URL))
			srv.pullReply = apiError(c.code, "echo "+testID+" "+testKey+" +86"+testPhone)
			_, err := s.SendStatus(t.Context(), testCall(), notify.InDoubt{From: time.Now(), To: time.Now()})
			if err == nil || notify.Retryable(err) != c.retryable {
				t.Fatalf("err %v: want retryable %v", err, c.retryable)
			}
			for _, secret := range []string{testID, testKey, testPhone} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q shows %s", err, secret)
				}
			}
		})
	}
}
