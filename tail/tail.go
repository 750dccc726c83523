package tail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"yujing"
	"yujing/config"
	"yujing/ingest"
	"yujing/store/sqlite"
)

// API is a running yujing's HTTP API, where a sensor registered through it
// (yujing sensors import, the console) and not in the configuration file
// is looked up.
type API interface {
	Do(ctx context.Context, method, path string, in, out any) error
	Base() string
}

// Options say what to watch and where to write.
type Options struct {
	Target string // a sensor id, or a topic filter
	Count  int    // stop after this many messages; 0: when ctx ends
	API    API    // where a sensor not in the configuration is looked up; nil: nowhere
	Out    io.Writer
	// Notes gets what tail does: where it subscribed, where a sensor's
	// registration came from.
	Notes io.Writer
}

// Run watches o.Target on cfg's broker until o.Count messages were shown
// or ctx ends.
func Run(ctx context.Context, cfg *config.Config, o Options) error {
	reg, err := ingest.NewRegistry(cfg.Sites, cfg.Sensors, cfg.MQTT.Topics...)
	if err != nil {
		return err
	}
	var lookupErr error
	if _, ok := reg.ByID(o.Target); !ok && !strings.ContainsAny(o.Target, "/+#") && o.API != nil {
		// Not in the file: a sensor registered through the API.
		var sn yujing.Sensor
		if sn, lookupErr = registered(ctx, o.API, o.Target); lookupErr == nil {
			sensors := append(slices.Clone(cfg.Sensors), sn)
			if err := reg.Replace(cfg.Sites, sensors, cfg.MQTT.Topics...); err != nil {
				return fmt.Errorf("sensor %s as registered at %s: %w", o.Target, o.API.Base(), err)
			}
			fmt.Fprintf(o.Notes, "sensor %s is not in the configuration; using its registration at %s\n", o.Target, o.API.Base())
		}
	}
	filters, err := Filters(reg, cfg.MQTT.Topics, o.Target)
	if err != nil {
		if lookupErr != nil {
			err = fmt.Errorf("%w (nor at %s: %v)", err, o.API.Base(), lookupErr)
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
	j, err := newJudge(ctx, cfg, reg, st, o.Out)
	if err != nil {
		return err
	}
	return watch(ctx, cfg.MQTT, filters, o.Count, o.Notes, j.handle)
}

// registered looks a sensor up at a running yujing.
func registered(ctx context.Context, api API, id string) (yujing.Sensor, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var st ingest.Status
	if err := api.Do(ctx, http.MethodGet, "/api/v1/sensors/"+url.PathEscape(id), nil, &st); err != nil {
		return yujing.Sensor{}, err
	}
	s := st.Sensor
	if d, err := time.ParseDuration(st.Interval); err == nil {
		s.Interval = d
	}
	return s, nil
}

// message is one MQTT message and when it was received.
type message struct {
	at      time.Time
	topic   string
	payload []byte
}

// watch subscribes to filters on the broker of c and hands each message
// to handle until count messages were handled (0: no limit) or ctx ends.
func watch(ctx context.Context, c config.MQTT, filters []string, count int, notes io.Writer, handle func(context.Context, message)) error {
	msgs := make(chan message, 256)
	done := make(chan struct{}) // closed on return: unblocks paho's handler
	subscribed := make(chan error, 4)
	id := make([]byte, 6)
	rand.Read(id)
	o := mqtt.NewClientOptions().
		AddBroker(c.Broker).
		SetClientID("yujing-tail-" + hex.EncodeToString(id)).
		SetCleanSession(true). // never the serve's persistent session
		SetOrderMatters(true).
		SetAutoReconnect(true).
		SetConnectTimeout(10 * time.Second).
		SetKeepAlive(30 * time.Second).
		SetOnConnectHandler(func(cl mqtt.Client) {
			subs := make(map[string]byte, len(filters))
			for _, f := range filters {
				subs[f] = 0
			}
			tok := cl.SubscribeMultiple(subs, func(_ mqtt.Client, m mqtt.Message) {
				select {
				case msgs <- message{at: time.Now(), topic: m.Topic(), payload: m.Payload()}:
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
	if c.Username != "" {
		o.SetUsername(c.Username)
		o.SetPassword(c.Password)
	}
	if c.TLS != nil {
		o.SetTLSConfig(c.TLS)
	}
	client := mqtt.NewClient(o)
	tok := client.Connect()
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return fmt.Errorf("connect to %s: %w", c.Broker, err)
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
				return fmt.Errorf("subscribe to %s at %s: %w", strings.Join(filters, ", "), c.Broker, err)
			}
			fmt.Fprintf(notes, "subscribed to %s at %s\n", strings.Join(filters, ", "), c.Broker)
		case m := <-msgs:
			n++
			handle(ctx, m)
		}
	}
	return nil
}

// Filters returns the topic filters that watch target: for a sensor id,
// its own topic, a Sparkplug device's BIRTH and DEATH and its node's, and
// the topics the topic templates map to it; else target itself when it is
// a topic filter.
func Filters(reg *ingest.Registry, templates []string, target string) ([]string, error) {
	sn, ok := reg.ByID(target)
	if !ok {
		if !strings.ContainsAny(target, "/+#") {
			return nil, fmt.Errorf("no sensor %q in the configuration; give a sensor id or a topic filter", target)
		}
		return []string{target}, nil
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
