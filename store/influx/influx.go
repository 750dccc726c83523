package influx

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"
	ihttp "github.com/influxdata/influxdb-client-go/v2/api/http"

	"yujing"
)

// Defaults for Config fields left at zero.
const (
	DefaultBatchSize = 5000
	DefaultTimeout   = 10 * time.Second
)

// DefaultMeasurement is the measurement of readings without a family.
const DefaultMeasurement = "reading"

// Config says where readings go.
type Config struct {
	// URL is the server's base URL, e.g. "http://127.0.0.1:8086".
	URL string `yaml:"url"`
	// Token is an InfluxDB 2 API token; for InfluxDB 1.8 "user:password",
	// or empty when authentication is off.
	Token string `yaml:"token"`
	// Org is the InfluxDB 2 organization; empty for InfluxDB 1.8.
	Org string `yaml:"org"`
	// Bucket is the InfluxDB 2 bucket; for InfluxDB 1.8
	// "database/retention-policy" (e.g. "yujing/autogen"). Queries
	// (InfluxQL) go to the database and retention policy it names: on
	// InfluxDB 2 the bucket's DBRP mapping (2.1 and later map a bucket
	// "db/rp" as database db, retention policy rp, and any other bucket as
	// a database of its name), on InfluxDB 3 the database.
	Bucket string `yaml:"bucket"`
	// BatchSize is the most points sent in one HTTP request
	// (default DefaultBatchSize).
	BatchSize int `yaml:"batch_size"`
	// Timeout bounds each HTTP request (default DefaultTimeout); it is
	// rounded up to whole seconds.
	Timeout time.Duration `yaml:"timeout"`
	// Gzip compresses each write request. nil: compress unless the URL's
	// host is a loopback address or "localhost" — compression pays over a
	// slow link and only costs CPU on both sides next to InfluxDB
	// (BENCHMARKS.md, end-to-end ingest); set false for a LAN too.
	Gzip *bool `yaml:"gzip"`
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if c.URL == "" {
		errs = append(errs, errors.New("url is required"))
	} else if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("url %q: want http://host:port or https://host:port", c.URL))
	}
	if c.Bucket == "" {
		errs = append(errs, errors.New(`bucket is required (InfluxDB 1.8: "database/retention-policy")`))
	}
	if c.BatchSize < 0 {
		errs = append(errs, fmt.Errorf("batch_size %d: must not be negative", c.BatchSize))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %v: must not be negative", c.Timeout))
	}
	return errors.Join(errs...)
}

// ErrInvalidReading marks readings that cannot be stored: no sensor or
// metric, a value that is NaN or infinite, or a time outside what InfluxDB
// can hold. Retrying them is pointless.
var ErrInvalidReading = errors.New("invalid reading")

// InfluxDB's nanosecond timestamps span these instants.
var (
	minTime = time.Unix(0, math.MinInt64+2)
	maxTime = time.Unix(0, math.MaxInt64-1)
)

// validate returns why r cannot be stored, or nil.
func validate(r *yujing.Reading) error {
	switch {
	case r.Sensor == "":
		return errors.New("no sensor")
	case r.Metric == "":
		return errors.New("no metric")
	case math.IsNaN(r.Value) || math.IsInf(r.Value, 0):
		return fmt.Errorf("value %v", r.Value)
	case r.Time.IsZero():
		return errors.New("no time")
	case r.Time.Before(minTime) || r.Time.After(maxTime):
		return fmt.Errorf("time %s out of range", r.Time.Format(time.RFC3339Nano))
	}
	return nil
}

// Writer writes readings to one bucket (the v2 write API) and queries them
// back (InfluxQL, influxql.go). It is safe for concurrent use.
type Writer struct {
	client    influxdb2.Client
	write     api.WriteAPIBlocking
	http      *http.Client // for InfluxQL
	db, rp    string       // the bucket's database and retention policy
	url       string
	token     string
	timeout   time.Duration
	bucket    string
	batchSize int
	gzip      bool
}

// New returns a Writer for cfg. It does not contact the server; call Ping
// to check that it answers.
func New(cfg Config) (*Writer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("influx: %w", err)
	}
	cfg = cfg.withDefaults()
	timeoutSec := uint((cfg.Timeout + time.Second - 1) / time.Second)
	gzip := GzipByDefault(cfg.URL)
	if cfg.Gzip != nil {
		gzip = *cfg.Gzip
	}
	opts := influxdb2.DefaultOptions().
		SetUseGZip(gzip).
		SetHTTPRequestTimeout(timeoutSec).
		SetPrecision(time.Nanosecond).
		SetApplicationName("yujing")
	client := influxdb2.NewClientWithOptions(strings.TrimSuffix(cfg.URL, "/"), cfg.Token, opts)
	// Answers are compressed when writes are: not next to InfluxDB.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableCompression = !gzip
	db, rp := splitBucket(cfg.Bucket)
	return &Writer{
		client:    client,
		write:     client.WriteAPIBlocking(cfg.Org, cfg.Bucket),
		http:      &http.Client{Transport: tr},
		db:        db,
		rp:        rp,
		url:       strings.TrimSuffix(cfg.URL, "/"),
		token:     cfg.Token,
		timeout:   cfg.Timeout,
		bucket:    cfg.Bucket,
		batchSize: cfg.BatchSize,
		gzip:      gzip,
	}, nil
}

// GzipByDefault reports whether writes to rawURL are compressed when
// Config.Gzip is not set: unless its host is "localhost" or a loopback
// address.
func GzipByDefault(rawURL string) bool {
	u, err := url.Parse(rawURL)
	if err != nil {
		return true
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

// Gzip reports whether write requests are compressed.
func (w *Writer) Gzip() bool { return w.gzip }

// Write stores rs, at most BatchSize points per HTTP request, in order. It
// returns at the first request that fails in a way that may pass (the
// server down, slow, failing): earlier requests stay written, and writing
// them again is harmless. A request the server refuses for good (400,
// 413, 422: a limit reached, a field type conflict) does not stop the
// others, nor do invalid readings, which are left out: Write goes on and
// then returns a *RefusedError holding the readings that may be missing
// and why (Refusals), matching ErrInvalidReading when some were invalid.
//
// Each request's body is encoded straight from the readings (appendLine),
// one allocation per request instead of a write.Point (about ten
// allocations) per reading.
func (w *Writer) Write(ctx context.Context, rs []yujing.Reading) error {
	var (
		body     strings.Builder
		lines    int
		invalid  int
		first    error
		written  int
		from     int // rs[from:] holds the next request's readings
		refusals []Refusal
		scratch  [64]byte
	)
	// flush sends the request holding the valid readings of rs[from:to].
	flush := func(to int) error {
		if lines == 0 {
			from = to
			return nil
		}
		err := w.write.WriteRecord(ctx, body.String())
		n := lines
		lines = 0
		body = strings.Builder{}
		if err == nil {
			written += n
			from = to
			return nil
		}
		err = fmt.Errorf("influx: write %d points to bucket %q (%d of %d written before): %w", n, w.bucket, written, len(rs), err)
		if Retryable(err) {
			return err
		}
		refusals = append(refusals, Refusal{Reason: reasonOf(err), Err: err, Readings: valid(rs[from:to])})
		from = to
		return nil
	}
	for i := range rs {
		r := &rs[i]
		if err := validate(r); err != nil {
			if invalid == 0 {
				first = fmt.Errorf("reading %d (sensor %q, metric %q): %w", i, r.Sensor, r.Metric, err)
			}
			invalid++
			continue
		}
		if lines == 0 {
			body.Grow(min(len(rs)-i, w.batchSize) * 96)
		} else {
			body.WriteByte('\n')
		}
		appendLine(&body, scratch[:0], r)
		lines++
		if lines == w.batchSize {
			if err := flush(i + 1); err != nil {
				return err
			}
		}
	}
	if err := flush(len(rs)); err != nil {
		return err
	}
	if invalid > 0 {
		var bad []yujing.Reading
		for i := range rs {
			if validate(&rs[i]) != nil {
				bad = append(bad, rs[i])
			}
		}
		refusals = append(refusals, Refusal{Reason: ReasonInvalidReading, Readings: bad,
			Err: fmt.Errorf("influx: bucket %q: skipped %d of %d readings, first %v: %w", w.bucket, invalid, len(rs), first, ErrInvalidReading)})
	}
	if len(refusals) > 0 {
		return &RefusedError{Bucket: w.bucket, Total: len(rs), Refusals: refusals}
	}
	return nil
}

// valid returns the readings of rs that can be stored.
func valid(rs []yujing.Reading) []yujing.Reading {
	out := make([]yujing.Reading, 0, len(rs))
	for i := range rs {
		if validate(&rs[i]) == nil {
			out = append(out, rs[i])
		}
	}
	return out
}

// appendLine writes a valid reading as one line of line protocol, without
// the newline: the schema of doc.go, tags sorted by key — industry,
// region, sensor, site, unit (empty ones left out) — the value as a float
// field named by the metric, the time in nanoseconds. Escaping and order
// are the client library's (write.NewPoint sorts the tags, and
// influxdata/line-protocol encodes them): TestAppendLine compares the two.
func appendLine(b *strings.Builder, scratch []byte, r *yujing.Reading) {
	m := string(r.Family)
	if m == "" {
		m = DefaultMeasurement
	}
	escape(b, m, nameEscapes)
	// InfluxDB keys a series by its tags sorted by key and sorts a line's
	// tags itself when they come unsorted (a copy of the key and an
	// insertion sort per point): sorted here, they are taken as they are.
	appendTag(b, "industry", r.Industry)
	appendTag(b, "region", r.Region)
	appendTag(b, "sensor", r.Sensor)
	appendTag(b, "site", r.Site)
	appendTag(b, "unit", r.Unit)
	b.WriteByte(' ')
	escape(b, r.Metric, keyEscapes)
	b.WriteByte('=')
	b.Write(strconv.AppendFloat(scratch[:0], r.Value, 'f', -1, 64))
	b.WriteByte(' ')
	b.Write(strconv.AppendInt(scratch[:0], r.Time.UnixNano(), 10))
}

// Characters escaped with a backslash in measurement names, and in tag
// keys, tag values and field keys; the line-protocol encoder writes the
// control characters as \t, \n, \f, \r.
const (
	nameEscapes = "\t\n\f\r ,"
	keyEscapes  = "\t\n\f\r ,="
)

func appendTag(b *strings.Builder, k, v string) {
	if v == "" {
		return
	}
	b.WriteByte(',')
	b.WriteString(k)
	b.WriteByte('=')
	escape(b, v, keyEscapes)
}

func escape(b *strings.Builder, s, special string) {
	if !strings.ContainsAny(s, special) {
		b.WriteString(s)
		return
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\f':
			b.WriteString(`\f`)
		case c == '\r':
			b.WriteString(`\r`)
		case strings.IndexByte(special, c) >= 0:
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
}

// Retryable reports whether a failed Write may succeed later unchanged: true
// for network errors, timeouts and server-side failures, false for invalid
// readings and data the server rejects (400 bad request or field type
// conflict, 413 too large, 422).
func Retryable(err error) bool {
	var re *RefusedError
	if err == nil || errors.Is(err, ErrInvalidReading) || errors.As(err, &re) {
		return false
	}
	var he *ihttp.Error
	if errors.As(err, &he) {
		switch he.StatusCode {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
			return false
		}
	}
	return true
}

// Ping checks that the server answers.
func (w *Writer) Ping(ctx context.Context) error {
	if _, err := w.client.Ping(ctx); err != nil {
		return fmt.Errorf("influx: ping %s: %w", w.client.ServerURL(), err)
	}
	return nil
}

// Close releases idle connections. Close does not wait for anything: Write
// has nothing buffered.
func (w *Writer) Close() {
	w.client.Close()
	w.http.CloseIdleConnections()
}

// Query returns the values of one metric of one sensor with from <= time <
// to, oldest first, in one InfluxQL request over every measurement (the
// sensor's family may have changed).
func (w *Writer) Query(ctx context.Context, sensor, metric string, from, to time.Time) ([]yujing.Reading, error) {
	if !from.Before(to) {
		return nil, nil
	}
	// The columns come in the order asked for (a metric named like a tag
	// gets its column renamed): time, the field, site, unit.
	q := "SELECT " + qlIdent(metric) + `::field, "site"::tag, "unit"::tag FROM /.*/ WHERE "sensor"::tag = ` + qlString(sensor) +
		" AND time >= " + qlTime(from) + " AND time < " + qlTime(to)
	var out []yujing.Reading
	err := w.influxQL(ctx, q, func(_ int, s *qlSeries) error {
		var err error
		out, err = appendReadings(out, s, sensor, metric)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("influx: query bucket %q for sensor %q metric %q: %w", w.bucket, sensor, metric, err)
	}
	// One series per measurement, each in time order; merge them by time.
	slices.SortStableFunc(out, func(a, b yujing.Reading) int { return a.Time.Compare(b.Time) })
	return out, nil
}

// appendReadings appends the rows of one series of Query's answer to out.
func appendReadings(out []yujing.Reading, s *qlSeries, sensor, metric string) ([]yujing.Reading, error) {
	family := yujing.Family(s.Name)
	if family == DefaultMeasurement {
		family = ""
	}
	for _, row := range s.Values {
		if len(row) != 4 {
			return out, fmt.Errorf("series %s: row %v: want time, value, site and unit", s.Name, row)
		}
		t, err := qlTimeOf(row[0])
		if err != nil {
			return out, fmt.Errorf("series %s: %w", s.Name, err)
		}
		v, ok, err := qlFloat(row[1])
		if err != nil {
			return out, fmt.Errorf("series %s: %w", s.Name, err)
		}
		if !ok {
			continue // another field's point
		}
		out = append(out, yujing.Reading{Sensor: sensor, Site: tag(row[2]), Family: family, Metric: metric,
			Unit: tag(row[3]), Value: v, Time: time.Unix(0, t).UTC()})
	}
	return out, nil
}

// tag returns a tag column's value, "" when the column is absent or null.
func tag(v any) string {
	s, _ := v.(string)
	return s
}
