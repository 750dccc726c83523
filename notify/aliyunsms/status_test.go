package aliyunsms

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"yujing/message"
	"yujing/notify"
	"yujing/notify/aliyunsms/dysmstest"
)

// TestSendStatus asks the local provider, which checks QuerySendDetails
// as documented (signature, PhoneNumber, SendDate yyyyMMdd within 30 days,
// PageSize 1–50, CurrentPage) and answers from the SMS it accepted,
// whether a call was sent.
func TestSendStatus(t *testing.T) {
	other := func(n int) func(*SMS) {
		return func(s *SMS) {
			for i := range n {
				c := testCall()
				c.ID = fmt.Sprintf("other-%d", i)
				if err := s.Send(t.Context(), c); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	ours := func(s *SMS) {
		if err := s.Send(t.Context(), testCall()); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name    string
		before  []func(*SMS)
		sinceTo time.Duration // how long ago the last attempt began
		want    notify.SendStatus
		pages   int // queries of the first day; 0: one per day (nothing found)
	}{
		{"sent", []func(*SMS){other(2), ours}, time.Second, notify.SendStatus{State: notify.SendAccepted}, 1},
		{"sent, on the second page", []func(*SMS){ours, other(queryPageSize + 5)}, time.Second, notify.SendStatus{State: notify.SendAccepted}, 2},
		{"not sent, records settled", []func(*SMS){other(1)}, 2 * QuerySettle, notify.SendStatus{State: notify.SendNotFound}, 0},
		{"nothing that day", nil, QuerySettle, notify.SendStatus{State: notify.SendNotFound}, 0},
		{"not found yet", nil, 10 * time.Second, notify.SendStatus{State: notify.SendUnknown, AskAgainIn: QuerySettle - 10*time.Second}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := newFakeDysms(t, nil)
			s := newSMS(t, testConfig(srv.URL))
			for _, f := range c.before {
				f(s)
			}
			now := time.Now()
			s.now = func() time.Time { return now }
			doubt := notify.InDoubt{From: now.Add(-c.sinceTo), To: now.Add(-c.sinceTo)}
			got, err := s.SendStatus(t.Context(), testCall(), doubt)
			if err != nil {
				t.Fatalf("SendStatus: %v (rejected %v)", err, srv.rejected())
			}
			if got != c.want {
				t.Errorf("SendStatus = %+v, want %+v", got, c.want)
			}
			// One page of each day (two days just after midnight), or the
			// pages of the day the SMS was found on.
			days := queryDays(doubt, now)
			type query struct{ day, page string }
			var want []query
			for _, d := range days {
				want = append(want, query{d, "1"})
			}
			if c.pages > 0 {
				want = want[:0]
				for p := range c.pages {
					want = append(want, query{days[0], fmt.Sprint(p + 1)})
				}
			}
			qs := srv.p.Queries()
			if len(qs) != len(want) {
				t.Fatalf("%d queries, want %v; rejected %v", len(qs), want, srv.rejected())
			}
			for i, q := range qs {
				for k, want := range map[string]string{"PhoneNumber": testPhone, "SendDate": want[i].day, "PageSize": "50", "CurrentPage": want[i].page} {
					if q.Get(k) != want {
						t.Errorf("query %d: %s = %q, want %q", i, k, q.Get(k), want)
					}
				}
			}
		})
	}
}

// TestQueryDays: the days asked about run from the last attempt (plus the
// request's time in flight) back to the call's creation, latest first, at
// most seven, none older than the provider's 30 days.
func TestQueryDays(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, message.Beijing)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	now := at("2025-07-14 12:00") // queryDays is told the time: no real clock here
	day := func(d int) string { return now.AddDate(0, 0, d).Format("20060102") }
	cases := []struct {
		name     string
		from, to time.Time
		want     []string
	}{
		{"same day", now.Add(-time.Hour), now.Add(-time.Hour), []string{day(0)}},
		{"created yesterday", now.AddDate(0, 0, -1), now.Add(-time.Minute), []string{day(0), day(-1)}},
		{"a week and more", now.AddDate(0, 0, -20), now, []string{day(0), day(-1), day(-2), day(-3), day(-4), day(-5), day(-6)}},
		{"created 40 days ago", now.AddDate(0, 0, -40), now.AddDate(0, 0, -29), []string{day(-29), day(-30)}},
		{"older than the provider keeps", now.AddDate(0, 0, -40), now.AddDate(0, 0, -35), nil},
	}
	for _, c := range cases {
		if got := queryDays(notify.InDoubt{From: c.from, To: c.to}, now); strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("%s: queryDays = %v, want %v", c.name, got, c.want)
		}
	}
	// A request begun a few seconds before midnight may be recorded after it.
	late := at("2025-07-14 23:59")
	if got := queryDays(notify.InDoubt{From: late, To: late}, late.Add(time.Hour)); strings.Join(got, " ") != "20250715 20250714" {
		t.Errorf("around midnight: queryDays = %v, want 20250715 20250714", got)
	}
}

// TestSendStatusErrors: a refused query is permanent (the call goes out
// again: yujing cannot tell), a busy provider retryable; neither error
// shows the key, the secret or the number.
func TestSendStatusErrors(t *testing.T) {
	cases := []struct {
		name, code string
		status     int
		retryable  bool
	}{
		{"no permission", "isp.RAM_PERMISSION_DENY", 403, false},
		{"busy", "isp.SYSTEM_ERROR", 200, true},
		{"throttled", "Throttling.User", 400, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := dysmstest.New(testKeyID, testSecret)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				if form, _ := url.ParseQuery(string(body)); form.Get("Action") == QueryAction {
					w.WriteHeader(c.status)
					fmt.Fprintf(w, `{"Code":%q,"Message":"echo %s","RequestId":"R-1"}`, c.code, body)
					return
				}
				r.Body = io.NopCloser(bytes.NewReader(body))
				p.ServeHTTP(w, r)
			}))
			defer srv.Close()
			s := newSMS(t, testConfig(srv.URL))
			_, err := s.SendStatus(t.Context(), testCall(), notify.InDoubt{From: time.Now(), To: time.Now()})
			if err == nil || notify.Retryable(err) != c.retryable {
				t.Fatalf("err %v: want retryable %v", err, c.retryable)
			}
			for _, secret := range []string{testSecret, testKeyID, testPhone} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q shows %s", err, secret)
				}
			}
		})
	}
}
