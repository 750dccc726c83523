package main

import (
	"context"
	"encoding/json"
	"flag"
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
	"yujing/internal/apiclient"
	"yujing/internal/table"
)

// sensorItem is a sensor as ls -json prints it: the API's status plus the
// status word ls shows.
type sensorItem struct {
	ingest.Status
	State string `json:"status"`
}

// faultKinds are the kinds of rule whose open warning means the device is
// faulty.
var faultKinds = []alerting.Kind{alerting.KindFault, alerting.KindStuck}

// sensorStates returns each sensor's status word: fault while a fault or
// stuck rule has an open warning on it, else online or offline. note says
// why fault could not be told, if so.
func sensorStates(ctx context.Context, c *apiclient.Client, sts []ingest.Status, sensor string) (states map[string]string, open []yujing.Alert, note string) {
	states = map[string]string{}
	for _, st := range sts {
		states[st.ID] = "offline"
		if st.Online {
			states[st.ID] = "online"
		}
	}
	var rules []alerting.RuleStatus
	if err := c.Do(ctx, http.MethodGet, "/api/v1/rules", nil, &rules); err != nil {
		return states, nil, "fault status unknown: " + err.Error()
	}
	q := url.Values{"state": {"firing,acknowledged,disposing"}}
	if sensor != "" {
		q.Set("sensor", sensor)
	}
	if err := c.Do(ctx, http.MethodGet, "/api/v1/alerts?"+q.Encode(), nil, &open); err != nil {
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

func sensorsListCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sensors ls", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: yujing sensors ls [-url URL] [-token T] [-site S] [-family F] [-json]\n\n")
		fs.PrintDefaults()
	}
	site := fs.String("site", "", "only the sensors of this site")
	family := fs.String("family", "", "only this family (gas, hazard, … or 燃气, 危化, …)")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	api := addAPIFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	c, err := api.client()
	if err != nil {
		fmt.Fprintln(stderr, "yujing sensors ls:", err)
		return 2
	}
	var fam yujing.Family
	if *family != "" {
		// The server's configuration may declare more families than the
		// built-in ones; a server that does not say knows the built-in ones.
		var fams yujing.Families
		if c.Do(ctx, http.MethodGet, "/api/v1/families", nil, &fams) != nil {
			fams = nil
		}
		f, err := sheet.ParseFamily(fams, *family)
		if err != nil {
			fmt.Fprintln(stderr, "yujing sensors ls: -family:", err)
			return 2
		}
		fam = f
	}
	sts, err := statuses(ctx, c)
	if err != nil {
		fmt.Fprintln(stderr, "yujing sensors ls:", err)
		return 1
	}
	sts = slices.DeleteFunc(sts, func(s ingest.Status) bool {
		return (*site != "" && s.Site != *site) || (fam != "" && s.Family != fam)
	})
	states, _, note := sensorStates(ctx, c, sts, "")
	if note != "" {
		fmt.Fprintln(stderr, "yujing sensors ls:", note)
	}
	if *asJSON {
		items := make([]sensorItem, len(sts))
		for i, st := range sts {
			items[i] = sensorItem{Status: st, State: states[st.ID]}
		}
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(items); err != nil {
			fmt.Fprintln(stderr, "yujing sensors ls:", err)
			return 1
		}
		return 0
	}
	now := time.Now()
	t := table.New(stdout, "ID", "NAME", "FAMILY", "SITE", "LAST VALUE", "LAST SEEN", "STATUS")
	for _, st := range sts {
		t.Row(st.ID, dash(st.Name), string(st.Family), st.Site, dash(lastValues(&st)), ago(now, st.LastSeen), states[st.ID])
	}
	t.Flush()
	if len(sts) == 0 {
		fmt.Fprintln(stderr, "no sensors")
	}
	return 0
}

// lastValues writes the newest value of each metric, the default metric
// first: "12.5 %LEL", or "level 9.1 m, pressure 0.42 MPa".
func lastValues(st *ingest.Status) string {
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

// ago writes how long ago t was: 8s ago, 3m ago, 2h5m ago, 4d ago, never.
func ago(now time.Time, t *time.Time) string {
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

func sensorsShowCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sensors show", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: yujing sensors show [-url URL] [-token T] ID\n\n")
		fs.PrintDefaults()
	}
	api := addAPIFlags(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fs.Usage()
		return 2
	}
	c, err := api.client()
	if err != nil {
		fmt.Fprintln(stderr, "yujing sensors show:", err)
		return 2
	}
	var st ingest.Status
	if err := c.Do(ctx, http.MethodGet, "/api/v1/sensors/"+url.PathEscape(pos[0]), nil, &st); err != nil {
		fmt.Fprintln(stderr, "yujing sensors show:", err)
		return 1
	}
	states, open, note := sensorStates(ctx, c, []ingest.Status{st}, st.ID)
	if note != "" {
		fmt.Fprintln(stderr, "yujing sensors show:", note)
	}
	showSensor(stdout, &st, states[st.ID], open, time.Now())
	return 0
}

// showSensor prints every field of a sensor, its readings and its open
// warnings.
func showSensor(w io.Writer, st *ingest.Status, state string, open []yujing.Alert, now time.Time) {
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
	rng := "none"
	if st.Min != nil || st.Max != nil {
		lo, hi := "-∞", "+∞"
		if st.Min != nil {
			lo = sheet.FormatNumber(st.Min)
		}
		if st.Max != nil {
			hi = sheet.FormatNumber(st.Max)
		}
		rng = lo + " … " + hi
		if st.Unit != "" {
			rng += " " + st.Unit
		}
	}
	field("range", rng)
	iv := st.Interval
	if d, err := time.ParseDuration(st.Interval); err == nil {
		iv = fmt.Sprintf("%s (offline after %s without a reading)", sheet.FormatDuration(d), sheet.FormatDuration(ingest.OfflineAfter*d))
	}
	field("interval", iv)
	if len(st.Tags) > 0 {
		field("tags", sheet.FormatTags(st.Tags))
	}
	seen := ago(now, st.LastSeen)
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
