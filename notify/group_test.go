package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"yujing"
	"yujing/notify"
	"yujing/notify/webhook"
	"yujing/store"
)

// groupHook is a webhook receiver inside the test: an http.RoundTripper,
// so that it runs in a synctest bubble, which records each request with the
// (fake) time it arrived.
type groupHook struct {
	t      *testing.T
	status int // 0: 200

	mu   sync.Mutex
	reqs []hookRequest
}

type hookRequest struct {
	key string
	at  time.Time
	p   webhook.Payload
}

func (h *groupHook) RoundTrip(r *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	var p webhook.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		h.t.Errorf("webhook body %s: %v", body, err)
	}
	h.mu.Lock()
	h.reqs = append(h.reqs, hookRequest{key: r.Header.Get(webhook.HeaderIdempotency), at: time.Now(), p: p})
	status := h.status
	h.mu.Unlock()
	if status == 0 {
		status = http.StatusOK
	}
	return &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
}

func (h *groupHook) requests() []hookRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.reqs)
}

// newGroupHook is a webhook channel named "hook" posting to h.
func newGroupHook(t *testing.T, h *groupHook) *webhook.Webhook {
	t.Helper()
	h.t = t
	return newHook(t, webhook.Config{Name: "hook", URL: "https://hooks.example.com/yujing"}, &http.Client{Transport: h})
}

var groupLevels = []yujing.Level{yujing.Yellow, yujing.Blue, yujing.Orange, yujing.Yellow}

// raise is the call of a warning raised at site about sensor n for person.
func raise(site, person, channel string, n int, level yujing.Level) yujing.Call {
	id := int64(n)
	if site == "plant-b" {
		id += 1000
	}
	return yujing.Call{
		ID:    fmt.Sprintf("%d-1-%s-%s", id, person, channel),
		Event: yujing.EventRaised, Channel: channel, Created: time.Now(),
		Alert: yujing.Alert{ID: id, Rule: "gas-lel", Sensor: fmt.Sprintf("GT-%03d", n), Site: site, Family: yujing.FamilyGas,
			Metric: "lel", Unit: "%LEL", Level: level, State: yujing.StateFiring, Value: float64(20 + n), Threshold: 20,
			Message: fmt.Sprintf("GT-%03d 超限", n)},
		Person: yujing.Person{ID: person, Name: "值班员"},
	}
}

// TestGroupBurst: 20 warnings raised at one site within the wait reach the
// person as one webhook request listing all 20, highest level first, sent
// when the wait of the first ends; each call is recorded and marked sent.
func TestGroupBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openState(t, filepath.Join(t.TempDir(), "state.db"))
		hook := &groupHook{}
		reg := prometheus.NewRegistry()
		p := newPipeline(t, st, notify.Options{GroupWait: 10 * time.Second, Registerer: reg}, newGroupHook(t, hook))
		start := time.Now()
		var made []yujing.Call
		for i := range 20 {
			c := raise("plant-a", "p1", "hook", i+1, groupLevels[i%len(groupLevels)])
			made = append(made, c)
			if err := p.ob.Call(t.Context(), c); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond) // a burst, not all at once
		}
		time.Sleep(10*time.Second - 2*time.Second - time.Millisecond)
		synctest.Wait()
		if n := len(hook.requests()); n != 0 {
			t.Fatalf("%d requests before the wait ended, want none", n)
		}
		p.wait(t, 20)
		reqs := hook.requests()
		if len(reqs) != 1 {
			t.Fatalf("%d requests, want 1", len(reqs))
		}
		r := reqs[0]
		if took := r.at.Sub(start); took != 10*time.Second {
			t.Errorf("sent %s after the first call, want 10s (the wait does not grow with later calls)", took)
		}
		if len(r.p.Group) != 20 {
			t.Fatalf("group of %d, want 20", len(r.p.Group))
		}
		// Highest level first, then oldest: orange (3, 7, …), yellow, blue.
		var order []string
		for _, e := range r.p.Group {
			order = append(order, e.Level)
		}
		want := slices.Concat(slices.Repeat([]string{"orange"}, 5), slices.Repeat([]string{"yellow"}, 10), slices.Repeat([]string{"blue"}, 5))
		if !slices.Equal(order, want) {
			t.Errorf("levels %v, want %v", order, want)
		}
		lead := r.p.Group[0]
		if lead.CallID != "3-1-p1-hook" || r.key != lead.CallID || r.p.CallID != lead.CallID || r.p.Level != "orange" {
			t.Errorf("led by %s (key %s, payload %s %s), want the oldest orange call 3-1-p1-hook", lead.CallID, r.key, r.p.CallID, r.p.Level)
		}
		if lead.Message != "GT-003 超限" || lead.Value != 23 || lead.Sensor != "GT-003" || lead.Unit != "%LEL" || lead.Event != "raised" {
			t.Errorf("first entry %+v", lead)
		}
		if !strings.HasPrefix(r.p.Message, "plant-a 20 条预警：橙色 GT-003 23%LEL；橙色 GT-007 27%LEL；") ||
			!strings.HasSuffix(r.p.Message, "；蓝色 GT-018 38%LEL") || strings.Count(r.p.Message, "；") != 19 {
			t.Errorf("combined message %q, want every call listed", r.p.Message)
		}
		for _, c := range made {
			rec := callsByID(t, st, c.Alert.ID)[c.ID]
			if rec.Status != store.CallSent || rec.Attempts != 1 || rec.SentAt == nil {
				t.Errorf("%s: %+v, want sent after one attempt", c.ID, rec)
			}
		}
		if err := testutil.GatherAndCompare(reg, strings.NewReader(`# HELP yujing_notify_grouped_calls_total Calls queued together with others as one grouped delivery, by channel.
# TYPE yujing_notify_grouped_calls_total counter
yujing_notify_grouped_calls_total{channel="hook"} 20
`), "yujing_notify_grouped_calls_total"); err != nil {
			t.Error(err)
		}
		if err := testutil.GatherAndCompare(reg, strings.NewReader(counters("hook", 20, 0, 1, nil)),
			"yujing_notify_calls_total", "yujing_notify_attempts_total", "yujing_notify_failures_total"); err != nil {
			t.Error(err)
		}
	})
}

// TestGroupBySiteAndPerson: a burst at two sites makes two requests, one
// per site; another person's calls are grouped apart; a call alone goes
// out as itself; a channel that cannot show a group gets every call.
func TestGroupBySiteAndPerson(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hook := &groupHook{}
		plain := newCounting("sms") // not a GroupSender
		onResult, results := collect(100)
		d, err := notify.New([]notify.Channel{newGroupHook(t, hook), plain},
			fast(notify.Options{GroupWait: 5 * time.Second, OnResult: onResult}))
		if err != nil {
			t.Fatal(err)
		}
		d.Run(t.Context())
		defer stop(t, d)
		var calls []yujing.Call
		for i := range 10 {
			calls = append(calls, raise("plant-a", "p1", "hook", i+1, yujing.Yellow), raise("plant-b", "p1", "hook", i+1, yujing.Blue))
		}
		calls = append(calls, raise("plant-a", "p2", "hook", 1, yujing.Yellow), raise("plant-a", "p1", "sms", 1, yujing.Yellow),
			raise("plant-a", "p1", "sms", 2, yujing.Yellow))
		for _, c := range calls {
			if err := d.Call(t.Context(), c); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		if n := plain.total(); n != 2 {
			t.Errorf("sms: %d sends at once, want 2 (not grouped)", n)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		for range calls {
			if r := wait(t, results); r.err != nil {
				t.Errorf("%s: %v", r.call.ID, r.err)
			}
		}
		got := map[string]int{}
		for _, r := range hook.requests() {
			got[r.p.Site+"/"+r.p.Person] = len(r.p.Group)
			if len(r.p.Group) == 0 && r.p.Message != "GT-001 超限" {
				t.Errorf("a call alone says %q, want its own message", r.p.Message)
			}
		}
		if want := map[string]int{"plant-a/p1": 10, "plant-b/p1": 10, "plant-a/p2": 0}; !mapsEqual(got, want) {
			t.Errorf("requests (site/person: group size) %v, want %v", got, want)
		}
	})
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestGroupRedGoesAtOnce: a red warning and an upgrade are not held; one
// for a site and person with calls held sends those at once too, ahead of
// it, so that nothing lower arrives after the red.
func TestGroupRedGoesAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hook := &groupHook{}
		onResult, results := collect(100)
		d, err := notify.New([]notify.Channel{newGroupHook(t, hook)},
			fast(notify.Options{GroupWait: 10 * time.Second, Workers: 1, OnResult: onResult}))
		if err != nil {
			t.Fatal(err)
		}
		d.Run(t.Context())
		defer stop(t, d)
		start := time.Now()
		for i := range 3 {
			if err := d.Call(t.Context(), raise("plant-a", "p1", "hook", i+1, yujing.Yellow)); err != nil {
				t.Fatal(err)
			}
		}
		up := raise("plant-b", "p1", "hook", 9, yujing.Red)
		up.Event, up.ID = yujing.EventUpgraded, "1009-2-p1-hook"
		if err := d.Call(t.Context(), up); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		red := raise("plant-a", "p1", "hook", 4, yujing.Red)
		if err := d.Call(t.Context(), red); err != nil {
			t.Fatal(err)
		}
		for range 5 {
			wait(t, results)
		}
		reqs := hook.requests()
		var got []string
		for _, r := range reqs {
			got = append(got, fmt.Sprintf("%s %s %d @%s", r.key, r.p.Level, len(r.p.Group), r.at.Sub(start)))
		}
		want := []string{"1009-2-p1-hook red 0 @0s", "1-1-p1-hook yellow 3 @1s", "4-1-p1-hook red 0 @1s"}
		if !slices.Equal(got, want) {
			t.Errorf("requests\n got %q\nwant %q", got, want)
		}
		time.Sleep(20 * time.Second)
		synctest.Wait()
		if n := len(hook.requests()); n != 3 {
			t.Errorf("%d requests after the wait, want still 3", n)
		}
	})
}

// TestGroupFailsTogether: a grouped delivery the receiver refuses marks
// every member failed with the same error and attempts.
func TestGroupFailsTogether(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hook := &groupHook{status: http.StatusBadRequest}
		onResult, results := collect(10)
		d, err := notify.New([]notify.Channel{newGroupHook(t, hook)},
			fast(notify.Options{GroupWait: time.Second, OnResult: onResult}))
		if err != nil {
			t.Fatal(err)
		}
		d.Run(t.Context())
		defer stop(t, d)
		for i := range 3 {
			if err := d.Call(t.Context(), raise("plant-a", "p1", "hook", i+1, yujing.Blue)); err != nil {
				t.Fatal(err)
			}
		}
		var errs []string
		for range 3 {
			r := wait(t, results)
			if r.err == nil || notify.Retryable(r.err) || r.attempts != 1 {
				t.Errorf("%s: err %v after %d attempts, want a permanent failure after 1", r.call.ID, r.err, r.attempts)
				continue
			}
			errs = append(errs, r.err.Error())
		}
		if len(errs) != 3 || errs[0] != errs[1] || errs[1] != errs[2] {
			t.Errorf("errors %q, want the same for every member", errs)
		}
		if n := len(hook.requests()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
}

// TestGroupStopSendsHeld: Stop does not wait for the rest of a group's
// wait: it sends what is held with the queue. Without Run, held calls end
// abandoned (left pending for the next start).
func TestGroupStopSendsHeld(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hook := &groupHook{}
		onResult, results := collect(10)
		d, err := notify.New([]notify.Channel{newGroupHook(t, hook)},
			fast(notify.Options{GroupWait: time.Minute, OnResult: onResult}))
		if err != nil {
			t.Fatal(err)
		}
		d.Run(t.Context())
		for i := range 3 {
			if err := d.Call(t.Context(), raise("plant-a", "p1", "hook", i+1, yujing.Blue)); err != nil {
				t.Fatal(err)
			}
		}
		start := time.Now()
		stop(t, d)
		if took := time.Since(start); took != 0 {
			t.Errorf("Stop took %s, want no wait", took)
		}
		for range 3 {
			if r := wait(t, results); r.err != nil {
				t.Errorf("%s: %v", r.call.ID, r.err)
			}
		}
		if reqs := hook.requests(); len(reqs) != 1 || len(reqs[0].p.Group) != 3 {
			t.Errorf("requests %+v, want one listing 3", reqs)
		}

		d2, err := notify.New([]notify.Channel{newGroupHook(t, hook)},
			fast(notify.Options{GroupWait: time.Minute, OnResult: onResult}))
		if err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			if err := d2.Call(t.Context(), raise("plant-a", "p1", "hook", i+1, yujing.Blue)); err != nil {
				t.Fatal(err)
			}
		}
		if err := d2.Stop(t.Context()); !errors.Is(err, notify.ErrStopped) {
			t.Errorf("Stop without Run = %v, want ErrStopped", err)
		}
		for range 2 {
			if r := wait(t, results); !errors.Is(r.err, notify.ErrStopped) {
				t.Errorf("%s: %v, want ErrStopped", r.call.ID, r.err)
			}
		}
	})
}

// TestGroupRestartMidHold: calls held when yujing stops short (the stop's
// deadline has passed) or recorded just before a crash are still pending;
// the next start sends them once, grouped again.
func TestGroupRestartMidHold(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "state.db")
		st := openState(t, path)
		hook := &groupHook{}
		p1 := newPipeline(t, st, notify.Options{GroupWait: 10 * time.Second}, newGroupHook(t, hook))
		var ids []string
		for i := range 3 {
			c := raise("plant-a", "p1", "hook", i+1, yujing.Yellow)
			ids = append(ids, c.ID)
			if err := p1.ob.Call(t.Context(), c); err != nil {
				t.Fatal(err)
			}
		}
		for i := 3; i < 5; i++ { // recorded, then the process died
			c := raise("plant-a", "p1", "hook", i+1, yujing.Orange)
			ids = append(ids, c.ID)
			if _, err := st.RecordCall(t.Context(), c); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(5 * time.Second)
		expired, cancel := context.WithCancel(t.Context())
		cancel()
		if err := p1.d.Stop(expired); err == nil {
			t.Error("Stop past its deadline with calls held: no error")
		}
		p1.wait(t, 3)
		if n := len(hook.requests()); n != 0 {
			t.Fatalf("%d requests from the first run, want none", n)
		}
		for _, id := range ids {
			if s := callsByID(t, st, alertOf(id))[id].Status; s != store.CallPending {
				t.Errorf("after the first run %s is %s, want pending", id, s)
			}
		}
		st.Close()

		st2 := openState(t, path)
		p2 := newPipeline(t, st2, notify.Options{GroupWait: 10 * time.Second}, newGroupHook(t, hook))
		if err := p2.ob.Resume(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := p2.ob.Resume(t.Context()); err != nil { // held: in flight, not handed on twice
			t.Fatal(err)
		}
		time.Sleep(10 * time.Second)
		p2.wait(t, 5)
		if err := p2.ob.Resume(t.Context()); err != nil { // nothing left
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		reqs := hook.requests()
		if len(reqs) != 1 {
			t.Fatalf("%d requests after the restart, want 1", len(reqs))
		}
		var listed []string
		for _, e := range reqs[0].p.Group {
			listed = append(listed, e.CallID)
		}
		slices.Sort(listed)
		if !slices.Equal(listed, ids) {
			t.Errorf("the delivery lists %v, want each of %v once", listed, ids)
		}
		for _, id := range ids {
			if r := callsByID(t, st2, alertOf(id))[id]; r.Status != store.CallSent {
				t.Errorf("%s ends %s, want sent", id, r.Status)
			}
		}
	})
}

// alertOf is the alert id in a call id made by raise.
func alertOf(callID string) int64 {
	var id int64
	fmt.Sscanf(callID, "%d-", &id)
	return id
}

// TestGroupOff: without GroupWait every call goes out at once.
func TestGroupOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hook := &groupHook{}
		onResult, results := collect(10)
		d, err := notify.New([]notify.Channel{newGroupHook(t, hook)}, fast(notify.Options{OnResult: onResult}))
		if err != nil {
			t.Fatal(err)
		}
		d.Run(t.Context())
		defer stop(t, d)
		for i := range 3 {
			if err := d.Call(t.Context(), raise("plant-a", "p1", "hook", i+1, yujing.Blue)); err != nil {
				t.Fatal(err)
			}
		}
		for range 3 {
			wait(t, results)
		}
		for _, r := range hook.requests() {
			if len(r.p.Group) != 0 || !r.at.Equal(hook.requests()[0].at) {
				t.Errorf("request %s: group %d at %s, want a single call at once", r.key, len(r.p.Group), r.at)
			}
		}
	})
}

func TestGroupable(t *testing.T) {
	for _, c := range []struct {
		event yujing.Event
		level yujing.Level
		want  bool
	}{
		{yujing.EventRaised, yujing.Blue, true},
		{yujing.EventRaised, yujing.Orange, true},
		{yujing.EventReopened, yujing.Yellow, true},
		{yujing.EventRaised, yujing.Red, false},
		{yujing.EventReopened, yujing.Red, false},
		{yujing.EventUpgraded, yujing.Orange, false},
		{yujing.EventDowngraded, yujing.Blue, false},
		{yujing.EventResolved, yujing.Blue, false},
	} {
		if got := notify.Groupable(yujing.Call{Event: c.event, Alert: yujing.Alert{Level: c.level}}); got != c.want {
			t.Errorf("Groupable(%s %s) = %v, want %v", c.event, c.level, got, c.want)
		}
	}
	// A call-and-answer call has its own answer link and deadline: it
	// goes out at once, never held or merged.
	esc := yujing.Call{Event: yujing.EventRaised, Alert: yujing.Alert{Level: yujing.Blue}, Escalation: 7, AnswerURL: "https://yj.example.cn/answer/t"}
	if notify.Groupable(esc) {
		t.Error("an escalation call is groupable")
	}
}

func TestDefaultGroupText(t *testing.T) {
	var ms []yujing.Call
	for i := range 3 {
		ms = append(ms, raise("plant-a", "p1", "hook", i+1, groupLevels[i]))
	}
	notify.SortGroup(ms)
	if got, want := notify.DefaultGroupText(ms), "plant-a 3 条预警：橙色 GT-003 23%LEL；黄色 GT-001 21%LEL；蓝色 GT-002 22%LEL"; got != want {
		t.Errorf("text\n got %q\nwant %q", got, want)
	}
	for i := 3; i < 25; i++ {
		ms = append(ms, raise("plant-a", "p1", "hook", i+1, yujing.Blue))
	}
	if got := notify.DefaultGroupText(ms); !strings.HasSuffix(got, "蓝色 GT-020 40%LEL；…共 25 条") || strings.Count(got, "；") != 20 {
		t.Errorf("text of 25 %q, want 20 listed and the count", got)
	}
}

// TestBreakerPerChannel: Options.Breakers replaces the breaker of the
// channels it names; the others keep Options.Breaker.
func TestBreakerPerChannel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fail := func(name string) *countingChannel {
			c := newCounting(name)
			c.fail = errors.New("down")
			return c
		}
		a, b := fail("a"), fail("b")
		reg := prometheus.NewRegistry()
		onResult, results := collect(10)
		d, err := notify.New([]notify.Channel{a, b}, fast(notify.Options{Registerer: reg, MaxAttempts: 3, OnResult: onResult,
			Breaker: notify.Breaker{Failures: 2}, Breakers: map[string]notify.Breaker{"b": {Failures: -1}}}))
		if err != nil {
			t.Fatal(err)
		}
		d.Run(t.Context())
		defer stop(t, d)
		for _, ch := range []string{"a", "b"} {
			if err := d.Call(t.Context(), call("9-1-p1-"+ch, ch)); err != nil {
				t.Fatal(err)
			}
		}
		wait(t, results)
		wait(t, results)
		want := `# HELP yujing_notify_circuit_state Circuit breaker state by channel: 0 closed, 1 half-open, 2 open.
# TYPE yujing_notify_circuit_state gauge
yujing_notify_circuit_state{channel="a"} 2
yujing_notify_circuit_state{channel="b"} 0
`
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "yujing_notify_circuit_state"); err != nil {
			t.Error(err)
		}
	})
	if _, err := notify.New([]notify.Channel{newCounting("a")}, notify.Options{Breakers: map[string]notify.Breaker{"x": {}}}); err == nil {
		t.Error("a breaker for an unknown channel: no error")
	}
	if _, err := notify.New([]notify.Channel{newCounting("a")}, notify.Options{GroupWait: -time.Second}); err == nil {
		t.Error("a negative group wait: no error")
	}
}

// limitedHook is a channel that declares a quota.
type limitedHook struct{ *countingChannel }

func (limitedHook) DefaultLimit() notify.Limit { return notify.Limit{PerMinute: 20, Burst: 1} }

func TestDispatcherLimit(t *testing.T) {
	d, err := notify.New([]notify.Channel{limitedHook{newCounting("im")}, newCounting("plain"), limitedHook{newCounting("over")}},
		notify.Options{Limits: map[string]notify.Limit{"over": {PerMinute: 60, Burst: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		want notify.Limit
		ok   bool
	}{
		{"im", notify.Limit{PerMinute: 20, Burst: 1}, true},
		{"over", notify.Limit{PerMinute: 60, Burst: 2}, true},
		{"plain", notify.Limit{}, false},
		{"nope", notify.Limit{}, false},
	} {
		if got, ok := d.Limit(c.name); got != c.want || ok != c.ok {
			t.Errorf("Limit(%s) = %+v, %v; want %+v, %v", c.name, got, ok, c.want, c.ok)
		}
	}
}
