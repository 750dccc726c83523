package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"yujing"
	"yujing/ingest"
)

// Readings is what the console's charts need of the reading store: one
// series of one sensor's metric over a window, oldest first.
// store/sqlite.Readings (the embedded store) and store/influx.Writer both
// provide it.
type Readings interface {
	Query(ctx context.Context, sensor, metric string, from, to time.Time) ([]yujing.Reading, error)
}

// Readings API limits.
const (
	// DefaultReadingsWindow is the window when neither from nor to is given.
	DefaultReadingsWindow = 6 * time.Hour
	// MaxReadingsWindow bounds to − from, so a chart never asks the store
	// for months of raw readings.
	MaxReadingsWindow = 31 * 24 * time.Hour
	// MaxReadingPoints bounds the points of one answer; longer series are
	// downsampled on the server.
	MaxReadingPoints = 1000
)

// ReadingPoint is one point of a chart.
type ReadingPoint struct {
	Time  time.Time `json:"ts"`
	Value float64   `json:"value"`
}

// ReadingSeries answers GET /api/v1/sensors/{id}/readings.
type ReadingSeries struct {
	Sensor string    `json:"sensor"`
	Metric string    `json:"metric"`
	Unit   string    `json:"unit,omitempty"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	// Count is how many readings the window holds; Points has at most the
	// requested number, and Downsampled says when it holds fewer than Count.
	Count       int            `json:"count"`
	Downsampled bool           `json:"downsampled"`
	Points      []ReadingPoint `json:"points"`
}

// readings serves GET /api/v1/sensors/{id}/readings?metric=&from=&to=&points=.
// from and to are RFC 3339 times (default: the DefaultReadingsWindow up to
// now, or around the one given); metric defaults to the sensor's own;
// points (2 to MaxReadingPoints, default MaxReadingPoints) caps the answer.
func (s *Server) readings(w http.ResponseWriter, r *http.Request) {
	if s.opts.Readings == nil {
		writeError(w, http.StatusNotFound, errors.New("readings are not kept here"))
		return
	}
	id := r.PathValue("id")
	var sn *yujing.Sensor
	if st, ok := s.opts.Sensors.Status(id, s.opts.Now()); ok {
		sn = &st.Sensor
	}
	if sn == nil {
		writeError(w, http.StatusNotFound, fmt.Errorf("sensor %s: %w", id, ingest.ErrSensorNotFound))
		return
	}
	q := r.URL.Query()
	metric := q.Get("metric")
	if metric == "" {
		metric = sn.Metric
	}
	if !sn.HasMetric(metric) {
		writeError(w, http.StatusBadRequest, fmt.Errorf("metric: sensor %s does not report %q", id, metric))
		return
	}
	from, to, err := readingsWindow(q.Get("from"), q.Get("to"), s.opts.Now())
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	limit := MaxReadingPoints
	if v := q.Get("points"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2 || n > MaxReadingPoints {
			writeError(w, http.StatusBadRequest, fmt.Errorf("points: want a whole number from 2 to %d, got %q", MaxReadingPoints, v))
			return
		}
		limit = n
	}
	rs, err := s.opts.Readings.Query(r.Context(), id, metric, from, to)
	if err != nil {
		s.opts.Logger.Error("readings query failed", "sensor", id, "metric", metric, "err", err)
		writeError(w, http.StatusInternalServerError, fmt.Errorf("readings of %s/%s: %w", id, metric, err))
		return
	}
	pts := Downsample(rs, limit)
	out := ReadingSeries{Sensor: id, Metric: metric, Unit: sn.UnitOf(metric), From: from, To: to,
		Count: len(rs), Downsampled: len(pts) < len(rs), Points: pts}
	if out.Unit == "" && len(rs) > 0 {
		out.Unit = rs[len(rs)-1].Unit
	}
	writeJSON(w, http.StatusOK, out)
}

// readingsWindow parses the from and to of a readings request.
func readingsWindow(fromS, toS string, now time.Time) (from, to time.Time, err error) {
	parse := func(name, v string) (time.Time, error) {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return time.Time{}, fmt.Errorf("%s: want an RFC 3339 time such as 2025-06-01T08:00:00+08:00, got %q", name, v)
		}
		return t, nil
	}
	switch {
	case fromS == "" && toS == "":
		to = now
		from = to.Add(-DefaultReadingsWindow)
	case fromS == "":
		if to, err = parse("to", toS); err != nil {
			return
		}
		from = to.Add(-DefaultReadingsWindow)
	case toS == "":
		if from, err = parse("from", fromS); err != nil {
			return
		}
		to = from.Add(DefaultReadingsWindow)
		if to.After(now) && from.Before(now) {
			to = now
		}
	default:
		if from, err = parse("from", fromS); err != nil {
			return
		}
		if to, err = parse("to", toS); err != nil {
			return
		}
	}
	if !from.Before(to) {
		return from, to, fmt.Errorf("from: %s is not before to %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	if to.Sub(from) > MaxReadingsWindow {
		return from, to, fmt.Errorf("to: the window from %s to %s is longer than %d days", from.Format(time.RFC3339), to.Format(time.RFC3339), int(MaxReadingsWindow/(24*time.Hour)))
	}
	return from, to, nil
}

// Downsample returns at most limit points of rs (oldest first). A longer
// series is cut into limit/2 runs of consecutive readings and each run
// keeps its lowest and its highest reading, in time order: a short spike
// over a threshold stays on the chart, where averaging would flatten it.
func Downsample(rs []yujing.Reading, limit int) []ReadingPoint {
	out := make([]ReadingPoint, 0, min(len(rs), max(limit, 2)))
	if len(rs) <= limit {
		for _, x := range rs {
			out = append(out, ReadingPoint{Time: x.Time, Value: x.Value})
		}
		return out
	}
	runs := max(limit/2, 1)
	n := len(rs)
	for i := range runs {
		lo, hi := i*n/runs, (i+1)*n/runs
		if lo >= hi {
			continue
		}
		minAt, maxAt := lo, lo
		for j := lo + 1; j < hi; j++ {
			if rs[j].Value < rs[minAt].Value {
				minAt = j
			}
			if rs[j].Value > rs[maxAt].Value {
				maxAt = j
			}
		}
		first, second := min(minAt, maxAt), max(minAt, maxAt)
		out = append(out, ReadingPoint{Time: rs[first].Time, Value: rs[first].Value})
		if second != first {
			out = append(out, ReadingPoint{Time: rs[second].Time, Value: rs[second].Value})
		}
	}
	return out
}
