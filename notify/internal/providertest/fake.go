package providertest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// HandlerTransport serves every request with a handler in the calling
// goroutine: a client using it works inside a testing/synctest bubble,
// where a real listener would not.
type HandlerTransport func(http.ResponseWriter, *http.Request)

// RoundTrip serves r and returns the recorded answer.
func (h HandlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	h(rec, r)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// Hang starts a server that reads each request and never answers until
// the client goes away (or the test ends): a provider that accepted the
// connection and hangs.
func Hang(t testing.TB) *httptest.Server {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // then the server notices the client going away
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first: no handler holds Close up
	return srv
}

// ClosedURL returns the base URL of a server that listened a moment ago
// and no longer does: a request to it fails to connect.
func ClosedURL(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	return u
}

// Answers hands out canned answers in turn; the last one repeats, and
// with none the default answers. Safe for concurrent use.
type Answers[T any] struct {
	mu   sync.Mutex
	next []T
	def  T
}

// NewAnswers returns the answers list, then def when list is empty.
func NewAnswers[T any](def T, list ...T) *Answers[T] {
	return &Answers[T]{next: list, def: def}
}

// Next returns the answer to give now.
func (a *Answers[T]) Next() T {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.next) == 0 {
		return a.def
	}
	n := a.next[0]
	if len(a.next) > 1 {
		a.next = a.next[1:]
	}
	return n
}

// Recorder keeps what a fake server accepted, in order. Safe for
// concurrent use.
type Recorder[T any] struct {
	mu   sync.Mutex
	list []T
}

// Add records v.
func (r *Recorder[T]) Add(v T) {
	r.mu.Lock()
	r.list = append(r.list, v)
	r.mu.Unlock()
}

// All returns what was recorded.
func (r *Recorder[T]) All() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]T(nil), r.list...)
}
