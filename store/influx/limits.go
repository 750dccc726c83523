package influx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"yujing"
)

// Limits are InfluxDB 1.8's limits on what a database may hold ([data]
// in influxdb.conf; 0 is no limit). A write past one is refused for good
// (400, partial write). They apply to shards with the inmem index,
// InfluxDB 1.8's default (index-version); InfluxDB 2 has neither.
type Limits struct {
	MaxValuesPerTag      int // max-values-per-tag: values of one tag key in one measurement
	MaxSeriesPerDatabase int // max-series-per-database
}

// Defaults18 are InfluxDB 1.8's defaults.
var Defaults18 = Limits{MaxValuesPerTag: 100000, MaxSeriesPerDatabase: 1000000}

// ErrNoLimits: the server does not report its limits.
var ErrNoLimits = errors.New("InfluxDB does not report its limits")

// Limits asks the server for its limits with SHOW DIAGNOSTICS (InfluxDB
// 1.8: its config-data row; an admin user when authentication is on). It
// fails with an error matching ErrNoLimits when the server answers
// without them (InfluxDB 2).
func (w *Writer) Limits(ctx context.Context) (Limits, error) {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.url+"/query?"+url.Values{"q": {"SHOW DIAGNOSTICS"}}.Encode(), nil)
	if err != nil {
		return Limits{}, fmt.Errorf("influx: limits: %w", err)
	}
	if w.token != "" {
		req.Header.Set("Authorization", "Token "+w.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Limits{}, fmt.Errorf("influx: limits: SHOW DIAGNOSTICS: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Limits{}, fmt.Errorf("influx: limits: SHOW DIAGNOSTICS: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return Limits{}, fmt.Errorf("%w: SHOW DIAGNOSTICS answered %s: %.200s", ErrNoLimits, resp.Status, body)
	}
	return parseDiagnostics(body)
}

// parseDiagnostics reads the limits from the config-data row of SHOW
// DIAGNOSTICS' JSON answer (whose other rows hold strings and booleans).
func parseDiagnostics(body []byte) (Limits, error) {
	var out struct {
		Error   string `json:"error"`
		Results []struct {
			Error  string `json:"error"`
			Series []struct {
				Name    string              `json:"name"`
				Columns []string            `json:"columns"`
				Values  [][]json.RawMessage `json:"values"`
			} `json:"series"`
		} `json:"results"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return Limits{}, fmt.Errorf("%w: SHOW DIAGNOSTICS: %v", ErrNoLimits, err)
	}
	if out.Error != "" {
		return Limits{}, fmt.Errorf("%w: SHOW DIAGNOSTICS: %s", ErrNoLimits, out.Error)
	}
	for _, r := range out.Results {
		if r.Error != "" {
			return Limits{}, fmt.Errorf("%w: SHOW DIAGNOSTICS: %s", ErrNoLimits, r.Error)
		}
		for _, s := range r.Series {
			if s.Name != "config-data" || len(s.Values) != 1 || len(s.Values[0]) != len(s.Columns) {
				continue
			}
			var l Limits
			found := 0
			for i, c := range s.Columns {
				var dst *int
				switch c {
				case "max-values-per-tag":
					dst = &l.MaxValuesPerTag
				case "max-series-per-database":
					dst = &l.MaxSeriesPerDatabase
				default:
					continue
				}
				n, err := strconv.Atoi(string(s.Values[0][i]))
				if err != nil || n < 0 {
					return Limits{}, fmt.Errorf("%w: config-data %s = %s", ErrNoLimits, c, s.Values[0][i])
				}
				*dst = n
				found++
			}
			if found == 2 {
				return l, nil
			}
		}
	}
	return Limits{}, fmt.Errorf("%w: SHOW DIAGNOSTICS has no config-data row with max-values-per-tag and max-series-per-database", ErrNoLimits)
}

// Demand is what a set of sensors needs of InfluxDB's limits once each has
// reported every metric it declares, in yujing's schema (doc.go).
type Demand struct {
	// Series is the series they make: one per sensor and unit of its
	// metrics, at least (a sensor that declares no units may bring more).
	Series int
	// TagValues is the most values of one tag in one measurement (the
	// sensor tag of the family with the most sensors, usually), and which.
	TagValues        int
	Measurement, Tag string
}

// DemandOf returns what sensors need of InfluxDB's limits.
func DemandOf(sensors []yujing.Sensor) Demand {
	type key struct{ measurement, tag string }
	values := map[key]map[string]struct{}{}
	note := func(m, tag, v string) {
		if v == "" {
			return
		}
		k := key{m, tag}
		if values[k] == nil {
			values[k] = map[string]struct{}{}
		}
		values[k][v] = struct{}{}
	}
	var d Demand
	for i := range sensors {
		s := &sensors[i]
		m := string(s.Family)
		if m == "" {
			m = DefaultMeasurement
		}
		units := map[string]struct{}{s.UnitOf(s.Metric): {}}
		for _, u := range s.Units {
			units[u] = struct{}{}
		}
		d.Series += len(units)
		for u := range units {
			note(m, "unit", u)
		}
		note(m, "sensor", s.ID)
		note(m, "site", s.Site)
		note(m, "region", s.Region)
		note(m, "industry", s.Industry)
	}
	for k, vs := range values {
		n := len(vs)
		if n > d.TagValues || n == d.TagValues && (k.measurement < d.Measurement || k.measurement == d.Measurement && k.tag < d.Tag) {
			d.TagValues, d.Measurement, d.Tag = n, k.measurement, k.tag
		}
	}
	return d
}

// Exceeded says, one sentence each, which of l the demand d does not fit.
func (l Limits) Exceeded(d Demand) []string {
	var out []string
	if l.MaxValuesPerTag > 0 && d.TagValues > l.MaxValuesPerTag {
		out = append(out, fmt.Sprintf("max-values-per-tag is %d, and tag %q of measurement %q needs %d values: the readings of the sensors past the %dth will be refused",
			l.MaxValuesPerTag, d.Tag, d.Measurement, d.TagValues, l.MaxValuesPerTag))
	}
	if l.MaxSeriesPerDatabase > 0 && d.Series > l.MaxSeriesPerDatabase {
		out = append(out, fmt.Sprintf("max-series-per-database is %d, and the sensors make at least %d series: readings of new series past the limit will be refused",
			l.MaxSeriesPerDatabase, d.Series))
	}
	return out
}
