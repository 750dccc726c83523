package providertest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"yujing"
	"yujing/internal/yamlconf"
	"yujing/notify"
	"yujing/store"
	"yujing/store/sqlite"
	"yujing/store/sqlstate"
)

// CheckFailure checks how a failed send is classified: whether the
// dispatcher tries again, and the reason its metrics give.
func CheckFailure(t testing.TB, err error, retryable bool, reason string) {
	t.Helper()
	if err == nil {
		t.Errorf("no error, want retryable=%v reason=%q", retryable, reason)
		return
	}
	if notify.Retryable(err) != retryable || notify.FailureReason(err) != reason {
		t.Errorf("err %v: retryable=%v reason=%q, want %v %q", err, notify.Retryable(err), notify.FailureReason(err), retryable, reason)
	}
}

// NoSecrets checks that err shows none of secrets.
func NoSecrets(t testing.TB, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error %q reveals %s", err, s)
		}
	}
}

// CheckTimeouts sends call to a provider that never answers, once with
// the channel's own timeout and once with the caller's deadline (50 ms
// each), and checks that each send ends within 2 s as a retryable timeout.
// build makes the channel for a provider at url with timeout as its own
// per-request timeout (0: none). check, if given, looks at each error
// further (secrets, the endpoint named).
func CheckTimeouts(t *testing.T, call yujing.Call, build func(url string, timeout time.Duration) notify.Channel, check ...func(*testing.T, error)) {
	t.Helper()
	srv := Hang(t)
	for _, c := range []struct {
		name     string
		cfg, ctx time.Duration
	}{{"config timeout", 50 * time.Millisecond, 0}, {"caller deadline", 0, 50 * time.Millisecond}} {
		t.Run(c.name, func(t *testing.T) {
			ch := build(srv.URL, c.cfg)
			ctx := t.Context()
			if c.ctx > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, c.ctx)
				defer cancel()
			}
			start := time.Now()
			err := ch.Send(ctx, call)
			if err == nil {
				t.Fatal("Send succeeded against a server that never answers")
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("Send took %s, timeout not honoured", d)
			}
			CheckFailure(t, err, true, notify.ReasonTimeout)
			for _, f := range check {
				f(t, err)
			}
		})
	}
}

// DecodeSample decodes the package's sample.yaml into cfg strictly, as
// yujing reads a configuration, with env as the environment, and fails
// the test on any error.
func DecodeSample(t testing.TB, cfg any, env map[string]string) {
	t.Helper()
	data, err := os.ReadFile("sample.yaml")
	if err != nil {
		t.Fatal(err)
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	if err := yamlconf.DecodeEnv("sample.yaml", data, cfg, lookup); err != nil {
		t.Fatal(err)
	}
}

// ReceiptCase is a callback body and the receipts it gives, or the error
// it gives (a part of its text).
type ReceiptCase struct {
	Name string
	Body string
	Want []yujing.Receipt
	Err  string
}

// CheckReceipts runs parse on each case's body and compares the receipts
// field by field, times as instants (whatever their zone).
func CheckReceipts(t *testing.T, parse func([]byte) ([]yujing.Receipt, error), cases []ReceiptCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			got, err := parse([]byte(c.Body))
			if c.Err != "" {
				if err == nil || !strings.Contains(err.Error(), c.Err) {
					t.Fatalf("err %v, want %q", err, c.Err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.Want) {
				t.Fatalf("got %d receipts %+v, want %+v", len(got), got, c.Want)
			}
			for i := range got {
				g, w := got[i], c.Want[i]
				if !g.At.Equal(w.At) {
					t.Errorf("receipt %d at %s, want %s", i, g.At, w.At)
				}
				g.At, w.At = time.Time{}, time.Time{}
				if g != w {
					t.Errorf("receipt %d\n got %+v\nwant %+v", i, g, w)
				}
			}
		})
	}
}

// Dispatch runs a dispatcher over ch with opts (OnResult is set here)
// until the test ends, and returns it with the results of its calls.
func Dispatch(t testing.TB, ch notify.Channel, opts notify.Options) (*notify.Dispatcher, <-chan notify.Result) {
	t.Helper()
	results := make(chan notify.Result, 16)
	opts.OnResult = func(r notify.Result) { results <- r }
	d, err := notify.New([]notify.Channel{ch}, opts)
	if err != nil {
		t.Fatal(err)
	}
	d.Run(t.Context())
	t.Cleanup(func() { _ = d.Stop(context.Background()) })
	return d, results
}

// CheckDefaultLimit checks that ch's own quota is want, that the
// dispatcher applies it to the channel, and that a limit configured for
// the channel (own) replaces it.
func CheckDefaultLimit(t testing.TB, ch interface {
	notify.Channel
	notify.DefaultLimiter
}, want, own notify.Limit) {
	t.Helper()
	if got := ch.DefaultLimit(); got != want {
		t.Errorf("DefaultLimit() = %+v, want %+v", got, want)
	}
	disp, err := notify.New([]notify.Channel{ch}, notify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := disp.Limit(ch.Name()); !ok || got != want {
		t.Errorf("dispatcher applies %+v (%v), want %+v", got, ok, want)
	}
	disp, err = notify.New([]notify.Channel{ch}, notify.Options{Limits: map[string]notify.Limit{ch.Name(): own}})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := disp.Limit(ch.Name()); got != own {
		t.Errorf("with a configured limit the dispatcher applies %+v, want %+v", got, own)
	}
}

// Stage is the real outbox over a SQLite state database.
type Stage struct {
	*notify.Outbox
	State *sqlstate.State
}

// Outbox runs ch under the real outbox, on a SQLite state database in the
// test's directory, and the real dispatcher, until the test ends; it
// returns the outbox and the results of its calls.
func Outbox(t testing.TB, ch notify.Channel) (*Stage, <-chan notify.Result) {
	t.Helper()
	st, err := sqlite.OpenState(t.Context(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	j, err := notify.NewJournal(st, notify.OutboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan notify.Result, 16)
	d, err := notify.New([]notify.Channel{ch}, notify.Options{OnResult: func(r notify.Result) { j.Result(r); results <- r }})
	if err != nil {
		t.Fatal(err)
	}
	ob, err := notify.NewOutbox(j, d)
	if err != nil {
		t.Fatal(err)
	}
	d.Run(t.Context())
	t.Cleanup(func() { _ = d.Stop(context.Background()) })
	return &Stage{Outbox: ob, State: st}, results
}

// Await returns the next result, failing the test when none comes within
// 10 s (of real time: not for a synctest bubble, where a plain receive
// waits as long as the fake clock needs).
func Await(t testing.TB, results <-chan notify.Result) notify.Result {
	t.Helper()
	select {
	case r := <-results:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no result")
		return notify.Result{}
	}
}

// Receive parses each callback body with parse, stores every receipt as
// call-and-answer does when the callback endpoint hands it one, and
// returns the calls of warning alertID as stored.
func Receive(t testing.TB, ob *Stage, parse func([]byte) ([]yujing.Receipt, error), alertID int64, bodies ...string) []store.CallRecord {
	t.Helper()
	for _, body := range bodies {
		rs, err := parse([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if _, err := ob.State.SaveReceipt(t.Context(), store.ReceiptOf(r)); err != nil {
				t.Fatal(err)
			}
		}
	}
	calls, err := ob.State.CallsFor(t.Context(), alertID)
	if err != nil {
		t.Fatal(err)
	}
	return calls
}

// AnswerCase is a provider's answer and how a send that gets it ends.
type AnswerCase struct {
	Name      string
	Answer    Answer
	OK        bool          // the send succeeds; nothing else is checked
	Retryable bool          // the dispatcher tries again
	Reason    string        // notify.FailureReason
	Contains  string        // a part of the error's text
	Wait      time.Duration // the wait the error carries (RetryAfter); 0: not checked
}

// CheckAnswers sends once per case — send builds a provider that gives the
// case's answer and a channel for it, and sends — and checks how each send
// ends, and that no error shows any of secrets.
func CheckAnswers(t *testing.T, cases []AnswerCase, send func(t *testing.T, a Answer) error, secrets ...string) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			err := send(t, c.Answer)
			if (err == nil) != c.OK {
				t.Fatalf("err = %v, want ok=%v", err, c.OK)
			}
			if err == nil {
				return
			}
			CheckFailure(t, err, c.Retryable, c.Reason)
			if !strings.Contains(err.Error(), c.Contains) {
				t.Errorf("error %q lacks %q", err, c.Contains)
			}
			if c.Wait > 0 {
				var he *notify.HTTPError
				if !errors.As(err, &he) || he.RetryAfter != c.Wait {
					t.Errorf("error %v carries the wait %v, want %s", err, he, c.Wait)
				}
			}
			NoSecrets(t, err, secrets...)
		})
	}
}

// CheckSecretsKept sends once per reply — send builds a provider that
// answers with it, typically echoing the request's keys and numbers, and
// the channel — and checks that each send fails with an error showing
// none of secrets.
func CheckSecretsKept[R any](t *testing.T, replies map[string]R, send func(t *testing.T, reply R) error, secrets ...string) {
	t.Helper()
	for name, reply := range replies {
		t.Run(name, func(t *testing.T) {
			err := send(t, reply)
			if err == nil {
				t.Fatal("Send succeeded")
			}
			NoSecrets(t, err, secrets...)
		})
	}
}
