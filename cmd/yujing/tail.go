package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"yujing"
	"yujing/alerting"
	"yujing/config"
	"yujing/ingest"
	"yujing/ingest/decode"
	"yujing/ingest/decode/all"
	"yujing/internal/apiclient"
	"yujing/store"
	"yujing/store/sqlite"
)

const tailUsage = `Usage: yujing tail [-config FILE] [-broker tcp://HOST:PORT] [-n COUNT] [-url URL] SENSOR|TOPIC-FILTER

Watches a sensor's topics (or any topic filter) on the broker and prints, for
each message, one line per reading: receive time, topic, sensor, metric,
value and unit, and what the configuration's rules make of it:

  → ok                        accepted, no warning level reached
  → gas-lel: yellow (≥ 25)    a rule's level is reached (evaluated offline)
  → rejected: REASON: …       refused as yujing would (unknown topic, bad
                              payload, out of range, …)

A sensor's topics are its own and those the configuration's topic templates
(mqtt.topics, e.g. plant/{site}/gas/{sensor}) map to it. A sensor that is not
in the configuration file (registered through the API: yujing sensors import,
the console) is looked up at the running yujing (-url, -token).

tail is a separate MQTT client (clean session, its own client id, QoS 0): it
never takes messages from yujing's own session, raises nothing and calls
no one. It stops after -n messages or on Ctrl-C.

Flags:
`

func tailCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tail", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, tailUsage); fs.PrintDefaults() }
	path := fs.String("config", "", "configuration file (default: the embedded demo)")
	broker := fs.String("broker", "", "MQTT broker URL (default: the configuration's)")
	count := fs.Int("n", 0, "stop after this many messages (0: until Ctrl-C)")
	api := addAPIFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 || *count < 0 {
		fs.Usage()
		return 2
	}
	c, err := api.client()
	if err != nil {
		fmt.Fprintln(stderr, "yujing tail:", err)
		return 2
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *broker != "" {
		cfg.MQTT.Broker = *broker
		if !strings.Contains(cfg.MQTT.Broker, "://") {
			cfg.MQTT.Broker = "tcp://" + cfg.MQTT.Broker
		}
	}
	if err := tail(ctx, cfg, c, fs.Arg(0), *count, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "yujing tail:", err)
		return 1
	}
	return 0
}

// tailer decodes, validates and evaluates messages as serve would, offline.
type tailer struct {
	cfg      *config.Config
	reg      *ingest.Registry
	decoders *decode.Registry
	eng      *alerting.Engine
	rules    map[string]*alerting.Rule
	loc      *time.Location
	last     map[tailKey]struct{} // readings seen, to refuse duplicates as the subscriber does
	points   []decode.Point
	out      io.Writer
}

func tail(ctx context.Context, cfg *config.Config, api *apiclient.Client, arg string, count int, stdout, stderr io.Writer) error {
	reg, err := ingest.NewRegistry(cfg.Sites, cfg.Sensors, cfg.MQTT.Topics...)
	if err != nil {
		return err
	}
	decoders, err := all.Registry()
	if err != nil {
		return err
	}
	var lookupErr error
	if _, ok := reg.ByID(arg); !ok && !strings.ContainsAny(arg, "/+#") && api != nil {
		// Not in the file: a sensor registered through the API.
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		var st ingest.Status
		lookupErr = api.Do(lctx, "GET", "/api/v1/sensors/"+url.PathEscape(arg), nil, &st)
		cancel()
		if lookupErr == nil {
			sensors := append(slices.Clone(cfg.Sensors), fromStatus(&st))
			if err := reg.Replace(cfg.Sites, sensors, cfg.MQTT.Topics...); err != nil {
				return fmt.Errorf("sensor %s as registered at %s: %w", arg, api.Base(), err)
			}
			fmt.Fprintf(stderr, "sensor %s is not in the configuration; using its registration at %s\n", arg, api.Base())
		}
	}
	filters, err := tailFilters(reg, cfg.MQTT.Topics, arg)
	if err != nil {
		if lookupErr != nil {
			err = fmt.Errorf("%w (nor at %s: %v)", err, api.Base(), lookupErr)
		}
		return err
	}
	dir, err := os.MkdirTemp("", "yujing-tail-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	st, err := sqlite.OpenState(ctx, filepath.Join(dir, "tail-state.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	loc := cfg.Location
	if loc == nil {
		loc = time.UTC
	}
	eng, err := alerting.New(cfg.Rules, cfg.Routes, st, nopReplayCaller{}, reg, alerting.Options{Location: loc})
	if err != nil {
		return err
	}
	if err := eng.Restore(ctx); err != nil {
		return err
	}
	t := &tailer{cfg: cfg, reg: reg, decoders: decoders, eng: eng, rules: map[string]*alerting.Rule{},
		loc: loc, last: map[tailKey]struct{}{}, out: stdout}
	for _, r := range cfg.Rules {
		t.rules[r.Name] = r
	}

	msgs := make(chan tailMsg, 256)
	done := make(chan struct{}) // closed on return: unblocks paho's handler
	subscribed := make(chan error, 4)
	id := make([]byte, 6)
	rand.Read(id)
	clientID := "yujing-tail-" + hex.EncodeToString(id)
	o := mqtt.NewClientOptions().
		AddBroker(cfg.MQTT.Broker).
		SetClientID(clientID).
		SetCleanSession(true). // never the serve's persistent session
		SetOrderMatters(true).
		SetAutoReconnect(true).
		SetConnectTimeout(10 * time.Second).
		SetKeepAlive(30 * time.Second).
		SetOnConnectHandler(func(c mqtt.Client) {
			subs := make(map[string]byte, len(filters))
			for _, f := range filters {
				subs[f] = 0
			}
			tok := c.SubscribeMultiple(subs, func(_ mqtt.Client, m mqtt.Message) {
				select {
				case msgs <- tailMsg{at: time.Now(), topic: m.Topic(), payload: m.Payload()}:
				case <-done:
				}
			})
			go func() {
				var err error
				if !tok.WaitTimeout(10 * time.Second) {
					err = errors.New("no SUBACK within 10s")
				} else {
					err = tok.Error()
				}
				select {
				case subscribed <- err:
				default:
				}
			}()
		})
	if cfg.MQTT.Username != "" {
		o.SetUsername(cfg.MQTT.Username)
		o.SetPassword(cfg.MQTT.Password)
	}
	if cfg.MQTT.TLS != nil {
		o.SetTLSConfig(cfg.MQTT.TLS)
	}
	client := mqtt.NewClient(o)
	tok := client.Connect()
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return fmt.Errorf("connect to %s: %w", cfg.MQTT.Broker, err)
		}
	case <-ctx.Done():
		return nil
	}
	defer client.Disconnect(250)
	defer close(done)

	for n := 0; count == 0 || n < count; {
		select {
		case <-ctx.Done():
			return nil
		case err := <-subscribed:
			if err != nil {
				return fmt.Errorf("subscribe to %s at %s: %w", strings.Join(filters, ", "), cfg.MQTT.Broker, err)
			}
			fmt.Fprintf(stderr, "subscribed to %s at %s\n", strings.Join(filters, ", "), cfg.MQTT.Broker)
		case m := <-msgs:
			n++
			t.handle(ctx, m)
		}
	}
	return nil
}

// tailFilters returns the topic filters for a sensor id — its own topic and
// those the topic templates map to it — or a topic filter.
func tailFilters(reg *ingest.Registry, templates []string, arg string) ([]string, error) {
	sn, ok := reg.ByID(arg)
	if !ok {
		if !strings.ContainsAny(arg, "/+#") {
			return nil, fmt.Errorf("no sensor %q in the configuration; give a sensor id or a topic filter", arg)
		}
		return []string{arg}, nil
	}
	filters := []string{sn.Topic}
	if sn.Decoder == "sparkplugb" && strings.HasPrefix(sn.Topic, "spBv1.0/") {
		// A Sparkplug device publishes DBIRTH, DDATA and DDEATH; its node NDEATH.
		p := strings.Split(sn.Topic, "/")
		if len(p) == 5 {
			filters = []string{"spBv1.0/" + p[1] + "/+/" + p[3] + "/" + p[4], "spBv1.0/" + p[1] + "/+/" + p[3]}
		}
	}
	for _, tpl := range templates {
		if f, ok := templateFilter(tpl, sn); ok && !slices.Contains(filters, f) {
			filters = append(filters, f)
		}
	}
	return filters, nil
}

// templateFilter is the subscription covering the topics a topic template
// maps to sensor sn: its {sensor}, {site}, {family} and {region} levels
// filled in, {any} as +. ok is false when the template can never name sn
// (it has a {region} level and sn no region).
func templateFilter(tpl string, sn *yujing.Sensor) (string, bool) {
	if ingest.CheckTemplate(tpl) != nil {
		return "", false
	}
	segs := strings.Split(tpl, "/")
	for i, seg := range segs {
		switch seg {
		case "{sensor}":
			segs[i] = sn.ID
		case "{site}":
			segs[i] = sn.Site
		case "{family}":
			segs[i] = string(sn.Family)
		case "{region}":
			if sn.Region == "" {
				return "", false
			}
			segs[i] = sn.Region
		case "{any}":
			segs[i] = "+"
		}
	}
	return strings.Join(segs, "/"), true
}

type tailMsg struct {
	at      time.Time
	topic   string
	payload []byte
}

// handle prints one line per reading (or refusal) of a message.
func (t *tailer) handle(ctx context.Context, m tailMsg) {
	at := m.at.In(t.loc).Format("2006-01-02 15:04:05")
	line := func(sensor, metric, value, outcome string) {
		fmt.Fprintf(t.out, "%s  %s  %s  %s  %s  → %s\n", at, m.topic, dash(sensor), dash(metric), dash(value), outcome)
	}
	sensor, ok := t.reg.ByTopic(m.topic)
	if !ok {
		line("", "", "", "rejected: "+ingest.ReasonUnknownTopic+": no sensor is registered for this topic")
		return
	}
	const maxPayload = 256 << 10 // the subscriber's default
	if len(m.payload) > maxPayload {
		line(sensor.ID, "", "", fmt.Sprintf("rejected: %s: payload of %d bytes exceeds the limit of %d", ingest.ReasonOversize, len(m.payload), maxPayload))
		return
	}
	dec, ok := t.decoders.Get(sensor.Decoder)
	if !ok {
		line(sensor.ID, "", "", fmt.Sprintf("rejected: %s: decoder %q does not exist", ingest.ReasonNoDecoder, sensor.Decoder))
		return
	}
	var err error
	if td, ok := dec.(decode.TopicDecoder); ok {
		t.points, err = td.DecodeTopic(t.points[:0], m.topic, m.payload)
	} else {
		t.points, err = dec.Decode(t.points[:0], m.payload)
	}
	if err != nil {
		for _, e := range decode.Split(err) {
			line(sensor.ID, "", "", fmt.Sprintf("rejected: %s: %s", e.Reason, e.Error()))
		}
	}
	maxAge, maxFuture := t.cfg.MQTT.MaxAge, t.cfg.MQTT.MaxFuture
	if maxAge <= 0 {
		maxAge = 30 * 24 * time.Hour
	}
	if maxFuture <= 0 {
		maxFuture = 5 * time.Minute
	}
	for _, p := range t.points {
		if p.Event != "" {
			line(sensor.ID, "", "", "device "+p.Event)
			continue
		}
		id := sensor.ID
		if p.Sensor != "" {
			id = p.Sensor
		}
		ts := p.Time
		if ts.IsZero() {
			ts = m.at
		}
		r, msg := bindReplay(t.reg, id, p.Metric, p.Value, ts)
		value := fmt.Sprintf("%g", p.Value)
		if msg != "" {
			reason := ingest.ReasonUnknownMetric
			if _, ok := t.reg.ByID(id); !ok {
				reason = ingest.ReasonUnknownSensor
			} else if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
				reason = string(decode.ReasonNotFinite)
			}
			line(id, p.Metric, value, "rejected: "+reason+": "+msg)
			continue
		}
		rd := r.rd
		if rd.Unit != "" {
			value += " " + rd.Unit
		}
		if r.fault {
			sn, _ := t.reg.ByID(id)
			t.eng.ObserveFault(ctx, rd, ingest.ReasonOutOfRange)
			line(id, rd.Metric, value, fmt.Sprintf("rejected: %s: %g is outside the physical range %s%s",
				ingest.ReasonOutOfRange, rd.Value, tailRange(sn), t.firing(ctx, rd, true)))
			continue
		}
		if ts.After(m.at.Add(maxFuture)) || ts.Before(m.at.Add(-maxAge)) {
			line(id, rd.Metric, value, fmt.Sprintf("rejected: %s: timestamp %s is outside [now-%s, now+%s]",
				ingest.ReasonTimestamp, ts.Format(time.RFC3339), maxAge, maxFuture))
			continue
		}
		k := tailKey{id, rd.Metric, rd.Time.UnixNano()}
		if _, again := t.last[k]; again {
			line(id, rd.Metric, value, fmt.Sprintf("rejected: %s: a reading at %s was already received", ingest.ReasonDuplicate, rd.Time.Format(time.RFC3339Nano)))
			continue
		}
		if len(t.last) > 100000 {
			clear(t.last)
		}
		t.last[k] = struct{}{}
		t.eng.Tick(ctx, m.at) // holds (for:) that ran out since the last reading
		t.eng.Observe(ctx, []yujing.Reading{rd})
		if s := t.firing(ctx, rd, false); s != "" {
			line(id, rd.Metric, value, strings.TrimPrefix(s, "; "))
		} else {
			line(id, rd.Metric, value, "ok")
		}
	}
}

// firing describes the alerts open on rd's sensor and metric after it was
// evaluated ("; rule: level (≥ threshold)" each); with faults only, those
// of fault rules.
func (t *tailer) firing(ctx context.Context, rd yujing.Reading, faults bool) string {
	as, err := t.eng.List(ctx, store.AlertFilter{States: []yujing.State{yujing.StateFiring}, Sensor: rd.Sensor})
	if err != nil {
		return "; (rules: " + err.Error() + ")"
	}
	sort.Slice(as, func(i, j int) bool { return as[i].Rule < as[j].Rule })
	var b strings.Builder
	for _, a := range as {
		r := t.rules[a.Rule]
		if a.Metric != rd.Metric || (faults && (r == nil || r.Kind != alerting.KindFault)) {
			continue
		}
		fmt.Fprintf(&b, "; %s: %s", a.Rule, a.Level)
		if r != nil && (r.Kind == "" || r.Kind == alerting.KindThreshold) {
			op := "≥"
			if r.Below.Set[a.Level] && r.Below.Value[a.Level] == a.Threshold &&
				!(r.Above.Set[a.Level] && r.Above.Value[a.Level] == a.Threshold) {
				op = "≤"
			}
			fmt.Fprintf(&b, " (%s %g)", op, a.Threshold)
		}
	}
	return b.String()
}

func tailRange(s *yujing.Sensor) string {
	lo, hi := "-∞", "+∞"
	if s != nil && s.Min != nil {
		lo = fmt.Sprint(*s.Min)
	}
	if s != nil && s.Max != nil {
		hi = fmt.Sprint(*s.Max)
	}
	return "[" + lo + ", " + hi + "]"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// tailKey identifies a reading for duplicate detection.
type tailKey struct {
	sensor, metric string
	t              int64
}
