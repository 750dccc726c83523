package providertest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// Answer is a fake provider's canned HTTP answer.
type Answer struct {
	Status int
	Header map[string]string // besides the Content-Type the provider sets
	Body   string
}

// RobotSpec is what one IM platform's robot webhook does.
type RobotSpec[T any] struct {
	ContentType string // of every answer
	OK          Answer // the answer to a good request when none is queued
	// Check checks a request as the platform documents it and returns the
	// message it carries, to record; or the platform's refusal: its code
	// (never 0, which is success on these platforms) and message.
	Check func(r *http.Request) (msg T, code int, why string)
	// Refusal is the platform's answer refusing a request with code.
	Refusal func(code int, why string) Answer
}

// Robot is a stand-in for an IM platform's robot webhook (DingTalk, WeCom,
// Feishu). A request the spec refuses fails the test — a channel must
// never send one — and is answered with the refusal; a good one is
// recorded and answered with the queued answers in turn (the last one
// repeats), or the spec's OK.
type Robot[T any] struct {
	*httptest.Server // nil until Start
	t                testing.TB
	spec             RobotSpec[T]
	answers          *Answers[Answer]
	sent             Recorder[T]
}

// NewRobot returns a robot that answers with answers, then spec.OK. It
// serves through ServeHTTP (e.g. with HandlerTransport inside a synctest
// bubble) until Start puts it on a loopback server.
func NewRobot[T any](t testing.TB, spec RobotSpec[T], answers ...Answer) *Robot[T] {
	return &Robot[T]{t: t, spec: spec, answers: NewAnswers(spec.OK, answers...)}
}

// Start serves the robot on a loopback server until the test ends.
func (r *Robot[T]) Start() *Robot[T] {
	r.Server = httptest.NewServer(r)
	r.t.Cleanup(r.Close)
	return r
}

// ServeHTTP checks a request and answers it.
func (r *Robot[T]) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	msg, code, why := r.spec.Check(req)
	a := Answer{}
	if code != 0 {
		r.t.Errorf("robot refused the request: %d %s", code, why)
		a = r.spec.Refusal(code, why)
	} else {
		r.sent.Add(msg)
		a = r.answers.Next()
	}
	for k, v := range a.Header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", r.spec.ContentType)
	w.WriteHeader(a.Status)
	_, _ = io.WriteString(w, a.Body)
}

// Sent returns the messages of the good requests, in order.
func (r *Robot[T]) Sent() []T { return r.sent.All() }
