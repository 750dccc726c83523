package replay

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"yujing"
	"yujing/ingest/decode"
	"yujing/ingest/decode/lineprotocol"
)

// Reading is a recorded reading and the line it came from.
type Reading struct {
	Line    int
	Reading yujing.Reading
	// Fault marks a value outside the sensor's physical range: it goes to
	// the fault rules only, as ingest refuses it (out_of_range).
	Fault bool
}

// Sensors finds the sensors readings name.
type Sensors interface {
	ByID(id string) (*yujing.Sensor, bool)
}

// ReadFile reads the recording in file: line protocol when its name ends
// in .lp, else CSV. Bad lines are reported on bad as file:line: message,
// skipped and counted.
func ReadFile(file string, sensors Sensors, bad io.Writer) ([]Reading, int, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	return Read(file, f, strings.HasSuffix(strings.ToLower(file), ".lp"), sensors, bad)
}

// Read reads a recording from r, named name in what it reports: InfluxDB
// line protocol when lp (the sensor tag names the sensor, each field is a
// metric, timestamps in nanoseconds), else CSV (a header row, then
// time,sensor,metric,value; time RFC 3339 or epoch milliseconds; metric
// empty for the sensor's default). Bad lines are reported on bad as
// name:line: message, skipped and counted.
func Read(name string, r io.Reader, lp bool, sensors Sensors, bad io.Writer) ([]Reading, int, error) {
	var (
		out    []Reading
		nbad   int
		header = !lp
		points []decode.Point
		err    error
	)
	dec := lineprotocol.Default()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	n := 0
	fail := func(format string, args ...any) {
		nbad++
		fmt.Fprintf(bad, "%s:%d: %s\n", name, n, fmt.Sprintf(format, args...))
	}
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !lp {
			fields := strings.Split(line, ",")
			for i := range fields {
				fields[i] = strings.TrimSpace(fields[i])
			}
			if header {
				header = false
				if !strings.EqualFold(fields[0], "time") {
					fail("want a header row time,sensor,metric,value")
				}
				continue
			}
			if len(fields) != 4 {
				fail("want time,sensor,metric,value, got %d fields", len(fields))
				continue
			}
			ts, err := parseTime(fields[0])
			if err != nil {
				fail("%v", err)
				continue
			}
			v, err := strconv.ParseFloat(fields[3], 64)
			if err != nil {
				fail("value %q is not a number", fields[3])
				continue
			}
			if r, msg := bind(sensors, fields[1], fields[2], v, ts); msg != "" {
				fail("%s", msg)
			} else {
				r.Line = n
				out = append(out, r)
			}
			continue
		}
		points, err = dec.Decode(points[:0], []byte(line))
		if err != nil {
			fail("%s", strings.TrimPrefix(err.Error(), "line 1: "))
			continue
		}
		for _, p := range points {
			if p.Sensor == "" {
				fail("no sensor tag")
				break
			}
			if p.Time.IsZero() {
				fail("no timestamp")
				break
			}
			if r, msg := bind(sensors, p.Sensor, p.Metric, p.Value, p.Time); msg != "" {
				fail("%s", msg)
			} else {
				r.Line = n
				out = append(out, r)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nbad, fmt.Errorf("%s: %w", name, err)
	}
	return out, nbad, nil
}

// bind checks a recorded value as ingest checks a payload's: known sensor
// and metric (after the sensor's metric map), finite, within the physical
// range (a value outside it is kept, marked for the fault rules). A
// recording has no topic, and its times are history: the timestamp window
// does not apply.
func bind(sensors Sensors, sensor, metric string, v float64, ts time.Time) (Reading, string) {
	sn, ok := sensors.ByID(sensor)
	if !ok {
		return Reading{}, fmt.Sprintf("unknown sensor %q", sensor)
	}
	if metric == "" {
		metric = sn.Metric
	}
	if m, ok := sn.MetricMap[metric]; ok {
		metric = m
	}
	if !sn.HasMetric(metric) {
		return Reading{}, fmt.Sprintf("sensor %s has no metric %q", sn.ID, metric)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return Reading{}, fmt.Sprintf("%s: value is not finite", metric)
	}
	rd := yujing.Reading{Sensor: sn.ID, Site: sn.Site, Family: sn.Family, Metric: metric, Unit: sn.UnitOf(metric),
		Value: v, Time: ts.UTC(), Region: sn.Region, Industry: sn.Industry}
	fault := (sn.Min != nil && v < *sn.Min) || (sn.Max != nil && v > *sn.Max)
	return Reading{Reading: rd, Fault: fault}, ""
}

func parseTime(s string) (time.Time, error) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: want RFC 3339 or epoch milliseconds", s)
	}
	return t.UTC(), nil
}
