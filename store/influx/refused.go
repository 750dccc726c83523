package influx

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	ihttp "github.com/influxdata/influxdb-client-go/v2/api/http"

	"yujing"
)

// Reasons a Refusal gives: a short, fixed set, fit for a metric label.
const (
	// ReasonMaxValuesPerTag: InfluxDB 1.8's [data] max-values-per-tag
	// (default 100 000): a tag of a measurement (e.g. sensor of gas) has
	// that many values already, and points bringing a new one are dropped.
	ReasonMaxValuesPerTag = "max_values_per_tag"
	// ReasonMaxSeriesPerDatabase: InfluxDB 1.8's [data]
	// max-series-per-database (default 1 000 000) reached.
	ReasonMaxSeriesPerDatabase = "max_series_per_database"
	// ReasonFieldTypeConflict: the metric's field holds another type in
	// this shard (something else wrote it).
	ReasonFieldTypeConflict = "field_type_conflict"
	// ReasonBeyondRetention: older than the retention policy keeps.
	ReasonBeyondRetention = "beyond_retention"
	// ReasonInvalidReading: no sensor or metric, NaN or infinite value,
	// time out of range: never sent (ErrInvalidReading).
	ReasonInvalidReading = "invalid_reading"
	// ReasonTooLarge: 413, the request was too large (lower batch_size).
	ReasonTooLarge = "too_large"
	// ReasonOther: any other refusal (400, 422).
	ReasonOther = "other"
)

// Refusal is readings InfluxDB refused for good, and why.
//
// InfluxDB 1.8 writes the points of a request it can and answers 400
// "partial write: <why the first was dropped> dropped=<how many>": it does
// not say which points it dropped. So Readings is the whole request (its
// valid readings); writing the others again stores each once (same series
// and time), so replaying all of them is harmless.
type Refusal struct {
	Reason   string // a Reason* constant
	Err      error  // InfluxDB's answer, with the bucket
	Readings []yujing.Reading
}

// RefusedError is a Write of which InfluxDB refused some or all readings
// for good. The readings not in a Refusal were written.
type RefusedError struct {
	Bucket   string
	Total    int // readings in the Write
	Refusals []Refusal
}

func (e *RefusedError) Error() string {
	if len(e.Refusals) == 1 {
		return e.Refusals[0].Err.Error()
	}
	n := 0
	for _, r := range e.Refusals {
		n += len(r.Readings)
	}
	return fmt.Sprintf("influx: bucket %q refused %d of %d readings for good in %d parts, first: %v",
		e.Bucket, n, e.Total, len(e.Refusals), e.Refusals[0].Err)
}

// Unwrap returns the refusals' errors, so that errors.Is and errors.As
// see ErrInvalidReading and the server's *http.Error.
func (e *RefusedError) Unwrap() []error {
	errs := make([]error, len(e.Refusals))
	for i, r := range e.Refusals {
		errs[i] = r.Err
	}
	return errs
}

// Refusals says which readings of rs, written with the error err that
// Retryable calls final, InfluxDB refused and why: those of a
// *RefusedError, else all of rs.
func Refusals(err error, rs []yujing.Reading) []Refusal {
	var re *RefusedError
	if errors.As(err, &re) {
		return re.Refusals
	}
	return []Refusal{{Reason: reasonOf(err), Err: err, Readings: rs}}
}

// reasonOf classifies a refusal by InfluxDB's answer.
func reasonOf(err error) string {
	if errors.Is(err, ErrInvalidReading) {
		return ReasonInvalidReading
	}
	var he *ihttp.Error
	if errors.As(err, &he) && he.StatusCode == http.StatusRequestEntityTooLarge {
		return ReasonTooLarge
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "max-values-per-tag"):
		return ReasonMaxValuesPerTag
	case strings.Contains(msg, "max-series-per-database"):
		return ReasonMaxSeriesPerDatabase
	case strings.Contains(msg, "field type conflict"):
		return ReasonFieldTypeConflict
	case strings.Contains(msg, "beyond retention"):
		return ReasonBeyondRetention
	}
	return ReasonOther
}
