package sensorview

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"yujing"
	"yujing/alerting"
	"yujing/ingest"
	"yujing/ingest/sheet"
	"yujing/internal/table"
)

// API is a running yujing's HTTP API.
type API interface {
	Do(ctx context.Context, method, path string, in, out any) error
}

// Statuses fetches every sensor with its last readings.
func Statuses(ctx context.Context, api API) ([]ingest.Status, error) { return Select(ctx, api, nil) }

// PageSize is how many sensors Select asks for at a time.
const PageSize = 1000

// Select fetches the sensors with their last readings that filters select
// (GET /api/v1/sensors's site, family, region, status, q), a page at a
// time, each page starting after the last id of the one before. A server
// from before paging answers every sensor at once; then so does Select.
func Select(ctx context.Context, api API, filters url.Values) ([]ingest.Status, error) {
	var out []ingest.Status
	after := ""
	for {
		v := url.Values{}
		for k, vs := range filters {
			v[k] = vs
		}
		v.Set("limit", strconv.Itoa(PageSize))
		if after != "" {
			v.Set("after", after)
		}
		var page []ingest.Status
		if err := api.Do(ctx, http.MethodGet, "/api/v1/sensors?"+v.Encode(), nil, &page); err != nil {
			return nil, err
		}
		if after != "" && len(page) > 0 && page[0].ID <= after {
			return out, nil // it did not page: the first answer had them all
		}
		out = append(out, page...)
		if len(page) != PageSize {
			return out, nil
		}
		after = page[len(page)-1].ID
	}
}

// Status fetches one sensor with its last readings.
func Status(ctx context.Context, api API, id string) (ingest.Status, error) {
	var st ingest.Status
	err := api.Do(ctx, http.MethodGet, "/api/v1/sensors/"+url.PathEscape(id), nil, &st)
	return st, err
}

// faultKinds are the kinds of rule whose open warning means the device is
// faulty.
var faultKinds = []alerting.Kind{alerting.KindFault, alerting.KindStuck}

// States returns each sensor's status word: fault while a fault or stuck
// rule has an open warning on it, else online or offline; and the open
// warnings (of sensor only, when it is not ""). note says why fault could
// not be told, if so.
func States(ctx context.Context, api API, sts []ingest.Status, sensor string) (states map[string]string, open []yujing.Alert, note string) {
	states = map[string]string{}
	for _, st := range sts {
		states[st.ID] = "offline"
		if st.Online {
			states[st.ID] = "online"
		}
	}
	var rules []alerting.RuleStatus
	if err := api.Do(ctx, http.MethodGet, "/api/v1/rules", nil, &rules); err != nil {
		return states, nil, "fault status unknown: " + err.Error()
	}
	q := url.Values{"state": {"firing,acknowledged,disposing"}}
	if sensor != "" {
		q.Set("sensor", sensor)
	}
	if err := api.Do(ctx, http.MethodGet, "/api/v1/alerts?"+q.Encode(), nil, &open); err != nil {
		return states, nil, "fault status unknown: " + err.Error()
	}
	kinds := map[string]alerting.Kind{}
	for _, r := range rules {
		kinds[r.Name] = r.Kind
	}
	for _, a := range open {
		if _, ok := states[a.Sensor]; ok && slices.Contains(faultKinds, kinds[a.Rule]) {
			states[a.Sensor] = "fault"
		}
	}
	return states, open, ""
}

// item is a sensor as WriteJSON writes it: the API's status plus the
// status word.
type item struct {
	ingest.Status
	State string `json:"status"`
}

// WriteJSON writes the sensors as an indented JSON list, each with its
// status word ("status").
func WriteJSON(w io.Writer, sts []ingest.Status, states map[string]string) error {
	items := make([]item, len(sts))
	for i, st := range sts {
		items[i] = item{Status: st, State: states[st.ID]}
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(items)
}

// WriteTable writes the sensors as a table: id, name, family, site, last
// values, last seen (as of now) and status word.
func WriteTable(w io.Writer, sts []ingest.Status, states map[string]string, now time.Time) error {
	t := table.New(w, "ID", "NAME", "FAMILY", "SITE", "LAST VALUE", "LAST SEEN", "STATUS")
	for _, st := range sts {
		t.Row(st.ID, dash(st.Name), string(st.Family), st.Site, dash(LastValues(&st)), Ago(now, st.LastSeen), states[st.ID])
	}
	return t.Flush()
}

// LastValues writes the newest value of each metric, the default metric
// first: "12.5 %LEL", or "level 9.1 m, pressure 0.42 MPa".
func LastValues(st *ingest.Status) string {
	rs := slices.Clone(st.Last)
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].Metric == st.Metric && rs[j].Metric != st.Metric })
	var parts []string
	for _, r := range rs {
		v := strconv.FormatFloat(r.Value, 'g', -1, 64)
		if r.Unit != "" {
			v += " " + r.Unit
		}
		if len(rs) > 1 {
			v = r.Metric + " " + v
		}
		parts = append(parts, v)
	}
	return strings.Join(parts, ", ")
}

// Ago writes how long before now t was: 8s ago, 3m ago, 2h5m ago, 4d ago,
// never.
func Ago(now time.Time, t *time.Time) string {
	if t == nil || t.IsZero() {
		return "never"
	}
	d := now.Sub(*t)
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%dm ago", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd ago", int(d/(24*time.Hour)))
}

// Show writes every field of a sensor, its status word, its last readings
// and its open warnings, one "name: value" a line.
func Show(w io.Writer, st *ingest.Status, state string, open []yujing.Alert, now time.Time) {
	field := func(name, v string) {
		label := ""
		if name != "" {
			label = name + ":"
		}
		fmt.Fprintln(w, strings.TrimRight(fmt.Sprintf("%-13s%s", label, v), " "))
	}
	field("id", st.ID)
	field("name", st.Name)
	field("family", strings.TrimSpace(string(st.Family)+" "+sheet.FamilyChinese(st.Family)))
	field("site", st.Site)
	field("region", st.Region)
	field("industry", st.Industry)
	field("location", st.Location)
	field("topic", st.Topic)
	field("decoder", st.Decoder)
	metric := st.Metric
	if st.Unit != "" {
		metric += " (" + st.Unit + ")"
	}
	field("metric", metric)
	if len(st.Units) > 0 {
		field("metrics", sheet.FormatTags(st.Units))
	}
	if len(st.MetricMap) > 0 {
		field("metric map", sheet.FormatTags(st.MetricMap))
	}
	field("range", rangeOf(st))
	iv := st.Interval
	if d, err := time.ParseDuration(st.Interval); err == nil {
		iv = fmt.Sprintf("%s (offline after %s without a reading)", sheet.FormatDuration(d), sheet.FormatDuration(ingest.OfflineAfter*d))
	}
	field("interval", iv)
	if len(st.Tags) > 0 {
		field("tags", sheet.FormatTags(st.Tags))
	}
	seen := Ago(now, st.LastSeen)
	if st.LastSeen != nil {
		seen = st.LastSeen.Local().Format("2006-01-02 15:04:05") + " (" + seen + ")"
	}
	field("last seen", seen)
	field("status", state)
	label := "last values"
	for _, r := range st.Last {
		v := r.Metric + " " + strconv.FormatFloat(r.Value, 'g', -1, 64)
		if r.Unit != "" {
			v += " " + r.Unit
		}
		field(label, v+" at "+r.Time.Local().Format("2006-01-02 15:04:05"))
		label = ""
	}
	label = "warnings"
	for _, a := range open {
		field(label, fmt.Sprintf("#%d %s %s (%s) since %s, value %g", a.ID, a.Rule, a.Level, a.State,
			a.StartedAt.Local().Format("2006-01-02 15:04:05"), a.Value))
		label = ""
	}
}

// rangeOf writes a sensor's physical range: "0 … 100 %LEL", "-∞ … 12", none.
func rangeOf(st *ingest.Status) string {
	if st.Min == nil && st.Max == nil {
		return "none"
	}
	lo, hi := "-∞", "+∞"
	if st.Min != nil {
		lo = sheet.FormatNumber(st.Min)
	}
	if st.Max != nil {
		hi = sheet.FormatNumber(st.Max)
	}
	rng := lo + " … " + hi
	if st.Unit != "" {
		rng += " " + st.Unit
	}
	return rng
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
