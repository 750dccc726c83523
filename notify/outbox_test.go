package notify_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"yujing"
	"yujing/internal/mailbox"
	"yujing/notify"
	"yujing/store"
	"yujing/store/sqlite"
	"yujing/store/sqlstate"
)

// countingChannel counts sends per call id and can be told to fail or to
// block.
type countingChannel struct {
	name  string
	pid   bool          // return a provider id from SendID
	block chan struct{} // when not nil, sends wait for it to close (or ctx)
	fail  error

	mu    sync.Mutex
	sends map[string]int
}

func newCounting(name string) *countingChannel {
	return &countingChannel{name: name, sends: map[string]int{}}
}

func (c *countingChannel) Name() string { return c.name }

func (c *countingChannel) Send(ctx context.Context, call yujing.Call) error {
	_, err := c.SendID(ctx, call)
	return err
}

func (c *countingChannel) SendID(ctx context.Context, call yujing.Call) (string, error) {
	if c.block != nil {
		select {
		case <-c.block:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	if c.fail != nil {
		return "", c.fail
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sends[call.ID]++
	if c.pid {
		return "prov-" + call.ID, nil
	}
	return "", nil
}

func (c *countingChannel) count(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sends[id]
}

func (c *countingChannel) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.sends {
		n += v
	}
	return n
}

func openState(t *testing.T, path string) *sqlstate.State {
	t.Helper()
	st, err := sqlite.OpenState(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// pipeline is an Outbox in front of a running Dispatcher.
type pipeline struct {
	ob      *notify.Outbox
	d       *notify.Dispatcher
	results chan notify.Result
}

func newPipeline(t *testing.T, st notify.OutboxStore, opts notify.Options, chs ...notify.Channel) *pipeline {
	t.Helper()
	return newPipelineWith(t, st, notify.OutboxOptions{}, opts, chs...)
}

// newPipelineWith is newPipeline with the outbox's options.
func newPipelineWith(t *testing.T, st notify.OutboxStore, oo notify.OutboxOptions, opts notify.Options, chs ...notify.Channel) *pipeline {
	t.Helper()
	j, err := notify.NewJournal(st, oo)
	if err != nil {
		t.Fatal(err)
	}
	p := &pipeline{results: make(chan notify.Result, 1000)}
	opts.OnResult = func(r notify.Result) { j.Result(r); p.results <- r }
	opts.OnSend = j.Sending
	opts = fast(opts)
	d, err := notify.New(chs, opts)
	if err != nil {
		t.Fatal(err)
	}
	if p.ob, err = notify.NewOutbox(j, d); err != nil {
		t.Fatal(err)
	}
	p.d = d
	d.Run(t.Context())
	t.Cleanup(func() { _ = d.Stop(context.Background()) })
	return p
}

func (p *pipeline) wait(t *testing.T, n int) []notify.Result {
	t.Helper()
	return p.waitWithin(t, n, 10*time.Second)
}

// waitWithin is wait with a limit of its own (fake time in a bubble).
func (p *pipeline) waitWithin(t *testing.T, n int, limit time.Duration) []notify.Result {
	t.Helper()
	var out []notify.Result
	for range n {
		select {
		case r := <-p.results:
			out = append(out, r)
		case <-time.After(limit):
			t.Fatalf("%d of %d results after %s", len(out), n, limit)
		}
	}
	return out
}

func callsByID(t *testing.T, st *sqlstate.State, alertID int64) map[string]store.CallRecord {
	t.Helper()
	cs, err := st.CallsFor(t.Context(), alertID)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]store.CallRecord{}
	for _, c := range cs {
		m[c.ID] = c
	}
	return m
}

func outboxCall(id, channel string) yujing.Call {
	c := call(id, channel)
	c.Created = time.Now().UTC()
	return c
}

func TestOutboxRecordsThenSends(t *testing.T) {
	st := openState(t, filepath.Join(t.TempDir(), "state.db"))
	ch := newCounting("sms")
	ch.pid = true
	p := newPipeline(t, st, notify.Options{}, ch)
	c := outboxCall("9-1-p1-sms", "sms")
	if err := p.ob.Call(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	p.wait(t, 1)
	// The same call again (same idempotency key): recorded once, sent once.
	if err := p.ob.Call(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	if err := p.ob.Resume(t.Context()); err != nil {
		t.Fatal(err)
	}
	stop(t, p.d)
	if n := ch.count(c.ID); n != 1 {
		t.Errorf("sent %d times, want once", n)
	}
	rec := callsByID(t, st, 9)[c.ID]
	if rec.Status != store.CallSent || rec.Attempts != 1 || rec.SentAt == nil || rec.ProviderID != "prov-"+c.ID {
		t.Errorf("record %+v, want sent once with the provider id", rec)
	}
	// A receipt naming only the provider's id finds the call (stored as
	// call-and-answer stores the receipts it is handed).
	if _, err := st.SaveReceipt(t.Context(), store.ReceiptOf(yujing.Receipt{Channel: "sms", ProviderID: "prov-" + c.ID,
		Status: yujing.ReceiptDelivered, At: time.Now()})); err != nil {
		t.Fatal(err)
	}
	if rs := callsByID(t, st, 9)[c.ID].Receipts; len(rs) != 1 || rs[0].Status != yujing.ReceiptDelivered {
		t.Errorf("receipts %+v, want the delivery report", rs)
	}
}

func TestOutboxFailedAndUnknownChannel(t *testing.T) {
	st := openState(t, filepath.Join(t.TempDir(), "state.db"))
	ch := newCounting("sms")
	ch.fail = notify.Permanent(errors.New("rejected: bad template"))
	p := newPipeline(t, st, notify.Options{}, ch)
	if err := p.ob.Call(t.Context(), outboxCall("a", "sms")); err != nil {
		t.Fatal(err)
	}
	p.wait(t, 1)
	if err := p.ob.Call(t.Context(), outboxCall("b", "voice")); !errors.Is(err, notify.ErrUnknownChannel) {
		t.Errorf("Call through an unknown channel: %v, want ErrUnknownChannel", err)
	}
	recs := callsByID(t, st, 9)
	if r := recs["a"]; r.Status != store.CallFailed || r.LastError != "rejected: bad template" || r.SentAt != nil {
		t.Errorf("a: %+v, want failed with the error", r)
	}
	if r := recs["b"]; r.Status != store.CallFailed || r.Attempts != 0 {
		t.Errorf("b: %+v, want failed without an attempt", r)
	}
	// Failed calls are final: not resent.
	if err := p.ob.Resume(t.Context()); err != nil {
		t.Fatal(err)
	}
	stop(t, p.d)
	if n := ch.total(); n != 0 {
		t.Errorf("%d sends, want none", n)
	}
}

// TestOutboxLeavesTheLadderToCallAndAnswer: notify only delivers. A call
// whose channel fails for good is marked failed and reported to OnOutcome,
// as a sent one is; the outbox makes no call on the next channel of its
// ladder (call-and-answer does, from the report).
func TestOutboxLeavesTheLadderToCallAndAnswer(t *testing.T) {
	st := openState(t, filepath.Join(t.TempDir(), "state.db"))
	im, sms := newCounting("im"), newCounting("sms")
	im.fail = notify.Permanent(errors.New("rejected: bad template"))
	outcomes := mailbox.New[yujing.CallResult]()
	p := newPipelineWith(t, st, notify.OutboxOptions{OnOutcome: outcomes.Put}, notify.Options{}, im, sms)
	c := outboxCall("a", "im")
	c.Fallback = []string{"sms"}
	if err := p.ob.Call(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	if err := p.ob.Call(t.Context(), outboxCall("b", "sms")); err != nil {
		t.Fatal(err)
	}
	p.wait(t, 2)
	stop(t, p.d)
	got := map[string]yujing.CallResult{}
	for _, r := range outcomes.Take() {
		got[r.Call.ID] = r
	}
	if r := got["a"]; r.Sent || r.Reason != "other" || r.Error != "rejected: bad template" || !slices.Equal(r.Call.Fallback, []string{"sms"}) {
		t.Errorf("outcome of a: %+v, want failed (other) with its error and its ladder", r)
	}
	if r := got["b"]; !r.Sent || r.Reason != "" || r.Error != "" || r.At.IsZero() {
		t.Errorf("outcome of b: %+v, want sent", r)
	}
	if len(got) != 2 {
		t.Errorf("outcomes %v, want a's and b's", got)
	}
	recs := callsByID(t, st, 9)
	if r := recs["a"]; r.Status != store.CallFailed {
		t.Errorf("a: %+v, want failed", r)
	}
	if len(recs) != 2 || sms.total() != 1 {
		t.Errorf("the outbox called on by itself: records %v, %d sends on sms; want the failed call and b", slices.Collect(maps.Keys(recs)), sms.total())
	}
}

// failingStore refuses to record.
type failingStore struct{ notify.OutboxStore }

func (failingStore) RecordCall(context.Context, yujing.Call) (bool, error) {
	return false, errors.New("disk full")
}

func TestOutboxNotRecordedNotSent(t *testing.T) {
	st := openState(t, filepath.Join(t.TempDir(), "state.db"))
	ch := newCounting("sms")
	p := newPipeline(t, failingStore{st}, notify.Options{}, ch)
	err := p.ob.Call(t.Context(), outboxCall("a", "sms"))
	if !errors.Is(err, notify.ErrNotRecorded) {
		t.Errorf("Call = %v, want ErrNotRecorded", err)
	}
	if err := p.ob.Call(t.Context(), outboxCall("", "sms")); !errors.Is(err, notify.ErrNotRecorded) {
		t.Errorf("Call without id = %v, want ErrNotRecorded", err)
	}
	stop(t, p.d)
	if n := ch.total(); n != 0 {
		t.Errorf("%d sends of an unrecorded call, want none", n)
	}
}

// TestOutboxRestart: calls left pending by a run that crashed (recorded,
// never marked) or stopped (abandoned at shutdown) are sent once by the
// next run's Resume; calls marked sent are not sent again.
func TestOutboxRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	st := openState(t, path)

	// Run 1: "x" is sent; "y" and "z" are stuck with a hanging provider
	// when the run stops, and "w" is recorded but the process "crashes"
	// before handing it on.
	hang := newCounting("im")
	hang.block = make(chan struct{})
	sms := newCounting("sms")
	p1 := newPipeline(t, st, notify.Options{Workers: 1}, sms, hang)
	if err := p1.ob.Call(t.Context(), outboxCall("x", "sms")); err != nil {
		t.Fatal(err)
	}
	p1.wait(t, 1)
	for _, id := range []string{"y", "z"} {
		if err := p1.ob.Call(t.Context(), outboxCall(id, "im")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.RecordCall(t.Context(), outboxCall("w", "im")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := p1.d.Stop(ctx); err == nil {
		t.Fatal("Stop with a hanging provider: no error")
	}
	p1.wait(t, 2) // y and z abandoned
	recs := callsByID(t, st, 9)
	for id, want := range map[string]string{"x": store.CallSent, "y": store.CallPending, "z": store.CallPending, "w": store.CallPending} {
		if recs[id].Status != want {
			t.Errorf("after run 1: %s is %s, want %s", id, recs[id].Status, want)
		}
	}
	// Calls made while the dispatcher stops are recorded and wait for the
	// next run.
	err := p1.ob.Call(t.Context(), outboxCall("v", "im"))
	if err == nil || !errors.Is(err, notify.ErrStopped) || errors.Is(err, notify.ErrNotRecorded) {
		t.Errorf("Call after Stop = %v, want recorded but stopped", err)
	}
	st.Close()

	// Run 2, reopened from disk.
	st2 := openState(t, path)
	im := newCounting("im")
	sms2 := newCounting("sms")
	p2 := newPipeline(t, st2, notify.Options{}, sms2, im)
	if err := p2.ob.Resume(t.Context()); err != nil {
		t.Fatal(err)
	}
	p2.wait(t, 4)
	if err := p2.ob.Resume(t.Context()); err != nil { // nothing left
		t.Fatal(err)
	}
	stop(t, p2.d)
	for _, id := range []string{"v", "w", "y", "z"} {
		if n := im.count(id); n != 1 {
			t.Errorf("%s sent %d times after the restart, want once", id, n)
		}
	}
	if n := sms2.total(); n != 0 {
		t.Errorf("x sent again after the restart (%d)", n)
	}
	for id, r := range callsByID(t, st2, 9) {
		if r.Status != store.CallSent {
			t.Errorf("%s ends %s, want sent", id, r.Status)
		}
	}
	if r := callsByID(t, st2, 9)["y"]; r.Attempts != 2 {
		t.Errorf("y: %d attempts over both runs, want 2 (one cut short, one sent)", r.Attempts)
	}
}

// TestOutboxResumeRacesCalls: Resume running while calls are being made
// and sent never sends a call twice.
func TestOutboxResumeRacesCalls(t *testing.T) {
	st := openState(t, filepath.Join(t.TempDir(), "state.db"))
	ch := newCounting("im")
	p := newPipeline(t, st, notify.Options{Workers: 4}, ch)
	const n = 200
	var wg sync.WaitGroup
	var resumes atomic.Int64
	done := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			if err := p.ob.Resume(t.Context()); err != nil {
				t.Error(err)
				return
			}
			resumes.Add(1)
		}
	})
	for g := range 4 {
		wg.Go(func() {
			for i := range n / 4 {
				if err := p.ob.Call(t.Context(), outboxCall(fmt.Sprintf("g%d-%d", g, i), "im")); err != nil {
					t.Error(err)
				}
			}
		})
	}
	p.wait(t, n)
	close(done)
	wg.Wait()
	stop(t, p.d)
	var twice []string
	for g := range 4 {
		for i := range n / 4 {
			id := fmt.Sprintf("g%d-%d", g, i)
			if c := ch.count(id); c != 1 {
				twice = append(twice, fmt.Sprintf("%s×%d", id, c))
			}
		}
	}
	slices.Sort(twice)
	if len(twice) > 0 {
		t.Errorf("not sent exactly once: %v", twice)
	}
	t.Logf("%d resumes ran meanwhile", resumes.Load())
}

func TestOutboxResumeDropsRemovedChannel(t *testing.T) {
	st := openState(t, filepath.Join(t.TempDir(), "state.db"))
	for _, c := range []yujing.Call{outboxCall("a", "fax"), outboxCall("b", "im")} {
		if _, err := st.RecordCall(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
	im := newCounting("im")
	p := newPipeline(t, st, notify.Options{}, im)
	if err := p.ob.Resume(t.Context()); err != nil {
		t.Fatal(err)
	}
	p.wait(t, 1)
	stop(t, p.d)
	recs := callsByID(t, st, 9)
	if recs["a"].Status != store.CallFailed || recs["b"].Status != store.CallSent || im.count("b") != 1 {
		t.Errorf("a %s, b %s (%d sends); want a failed (its channel is gone), b sent once", recs["a"].Status, recs["b"].Status, im.count("b"))
	}
}

// TestOutboxNeedsDispatcher: an outbox is built with its journal and its
// dispatcher, or not at all (there is no outbox without a dispatcher to
// hand calls to), and a journal needs a store.
func TestOutboxNeedsDispatcher(t *testing.T) {
	st := openState(t, filepath.Join(t.TempDir(), "state.db"))
	j, err := notify.NewJournal(st, notify.OutboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := notify.NewOutbox(j, nil); err == nil {
		t.Error("NewOutbox without a dispatcher: no error")
	}
	if _, err := notify.NewJournal(nil, notify.OutboxOptions{}); err == nil {
		t.Error("NewJournal(nil): no error")
	}
}
