package main

import (
	"context"
	"net/http"
	"strings"

	"yujing/duty"
	"yujing/sitestatus"
)

// What nodes keep in memory of what the API edits — silences, registered
// sensors, the directory (people, organisations, rosters, responsibility
// chains), sites' production statuses — is read again by every other node
// when one of them changes it: the node that served the change notifies
// yujing_state with its kind, and each other node reloads that kind from
// the state database. Without it, a sensor registered through node A
// would not be subscribed to by the node holding its partition, and a
// silence set on A would not hold back B's calls.

const busState = "yujing_state" // "<node> <kind>": node changed kind; read it again

// stateKinds maps the API's paths of each kind to it.
var stateKinds = []struct{ prefix, kind string }{
	{"/api/v1/silences", "silences"},
	{"/api/v1/sensors", "sensors"},
	{"/api/v1/people", "directory"},
	{"/api/v1/orgs", "directory"},
	{"/api/v1/rosters", "directory"},
	{"/api/v1/responsibility", "directory"},
	{"/api/v1/sites/", "statuses"}, // PUT /api/v1/sites/{id}/status
}

// stateKind returns the kind a successful request on path changed, or "".
func stateKind(method, path string) string {
	if method == http.MethodGet || method == http.MethodHead {
		return ""
	}
	for _, k := range stateKinds {
		if strings.HasPrefix(path, k.prefix) {
			if k.kind == "statuses" && !strings.HasSuffix(path, "/status") {
				return ""
			}
			return k.kind
		}
	}
	return ""
}

// statusRecorder keeps the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Flush lets the live stream through (it is a GET: never watched, but
// wrapped all the same).
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the connection's own writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// watchWrites returns h telling the other nodes of every change it served
// to what they keep in memory; h itself on a node alone.
func (c *clusterStage) watchWrites(h http.Handler) http.Handler {
	if c == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := stateKind(r.Method, r.URL.Path)
		if kind == "" {
			h.ServeHTTP(w, r)
			return
		}
		rec := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		if rec.status >= 200 && rec.status < 300 {
			c.stateChanged.Put(kind)
		}
	})
}

// refreshers read each kind of state again from the state database.
func refreshers(alerts *alertStage, sensors *sensorBook, directory *duty.Book, statuses *sitestatus.Board) map[string]func(context.Context) error {
	return map[string]func(context.Context) error{"silences": alerts.alerts.ReloadSilences, "sensors": sensors.catalog.Load,
		"directory": directory.Load, "statuses": statuses.Reload}
}

// refreshState reads kind again from the state database.
func (pw *partitionWork) refreshState(ctx context.Context, kind string) {
	f := pw.refresh[kind]
	if f == nil {
		return
	}
	if err := f(ctx); err != nil {
		pw.log.Error("cluster: another node's change not read", "kind", kind, "err", err)
		return
	}
	pw.log.Debug("cluster: read again after another node's change", "kind", kind)
}
