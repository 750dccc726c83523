package ingest

import (
	"log/slog"
	"sort"
	"sync"
	"time"
	"unicode/utf8"
)

// Rejection is a message (or an entry of one) that was refused, kept for
// inspection.
type Rejection struct {
	At      time.Time `json:"at"`
	Topic   string    `json:"topic"`
	Sensor  string    `json:"sensor,omitempty"`
	Reason  string    `json:"reason"`
	Error   string    `json:"error"`
	Payload string    `json:"payload"` // clipped to MaxKeptPayload bytes
}

// Rejection reasons beyond the decoders' own (decode.Reason).
const (
	ReasonUnknownTopic  = "unknown_topic"
	ReasonUnknownSensor = "unknown_sensor"
	ReasonUnknownMetric = "unknown_metric"
	ReasonNoDecoder     = "no_decoder"
	// ReasonDocumentRefused: a document (an issued warning in CAP) its
	// intake did not apply; the error says why.
	ReasonDocumentRefused = "document_refused"
	ReasonOversize        = "oversize"
	ReasonOutOfRange      = "out_of_range"
	ReasonTimestamp       = "timestamp_out_of_window"
	ReasonDuplicate       = "duplicate"
	// ReasonBadMetricName: a metric name that is not valid UTF-8, holds a
	// control character or is too long (decode.CheckMetricName).
	ReasonBadMetricName = "bad_metric_name"
	// ReasonTooManyMetrics: a new metric name for a sensor that lists no
	// metrics and already has Config.MaxUndeclaredMetrics.
	ReasonTooManyMetrics = "too_many_metrics"
)

// Reasons input is set aside without being an error: counted in
// yujing_ingest_ignored_total, logged at debug level, not kept.
const (
	// IgnoredNodeMetric: a Sparkplug edge node's own metric (NBIRTH,
	// NDATA) when no sensor is registered on the node's NDATA topic.
	IgnoredNodeMetric = "node_metric"
)

// MaxKeptPayload is how much of a rejected payload is kept.
const MaxKeptPayload = 512

// Rejections is a bounded ring of the newest rejections, and a rate-limited
// logger that says each reason at most once per interval with how many it
// held back.
type Rejections struct {
	mu       sync.Mutex
	ring     []Rejection
	next     int
	full     bool
	log      *slog.Logger
	every    time.Duration
	lastLog  map[string]time.Time
	withheld map[string]int
}

// NewRejections keeps up to size rejections and logs each reason at most
// once per every.
func NewRejections(size int, every time.Duration, log *slog.Logger) *Rejections {
	if size <= 0 {
		size = 1000
	}
	return &Rejections{ring: make([]Rejection, size), log: log, every: every,
		lastLog: map[string]time.Time{}, withheld: map[string]int{}}
}

func clipPayload(p []byte) string {
	if len(p) > MaxKeptPayload {
		p = p[:MaxKeptPayload]
		for len(p) > 0 && !utf8.Valid(p) {
			p = p[:len(p)-1]
		}
		return string(p) + "…"
	}
	if !utf8.Valid(p) {
		return string([]rune(string(p)))
	}
	return string(p)
}

// Add keeps rj and logs it unless its reason was logged recently.
func (r *Rejections) Add(rj Rejection) {
	r.mu.Lock()
	r.ring[r.next] = rj
	r.next = (r.next + 1) % len(r.ring)
	if r.next == 0 {
		r.full = true
	}
	last, ok := r.lastLog[rj.Reason]
	logIt := !ok || rj.At.Sub(last) >= r.every
	withheld := 0
	if logIt {
		r.lastLog[rj.Reason] = rj.At
		withheld = r.withheld[rj.Reason]
		r.withheld[rj.Reason] = 0
	} else {
		r.withheld[rj.Reason]++
	}
	r.mu.Unlock()
	if logIt && r.log != nil {
		r.log.Warn("reading rejected", "reason", rj.Reason, "topic", rj.Topic, "sensor", rj.Sensor,
			"err", rj.Error, "similar_since_last_log", withheld)
	}
}

// List returns up to limit rejections, newest first.
func (r *Rejections) List(limit int) []Rejection {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.next
	if r.full {
		n = len(r.ring)
	}
	if limit <= 0 || limit > n {
		limit = n
	}
	out := make([]Rejection, 0, n)
	for i := 0; i < n; i++ {
		idx := (r.next - 1 - i + len(r.ring)) % len(r.ring)
		out = append(out, r.ring[idx])
	}
	// Workers add concurrently, each stamping its batch's time: order by
	// time, newest first, then keep limit.
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.After(out[j].At) })
	return out[:limit]
}
