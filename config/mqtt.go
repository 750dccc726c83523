package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"yujing/ingest"
	"yujing/internal/yamlconf"
)

// MQTTFile is the MQTT section.
type MQTTFile struct {
	Pos          yamlconf.Pos
	Fields       yamlconf.Fields
	Embedded     *EmbeddedFile `yaml:"embedded"`
	Broker       string        `yaml:"broker"`
	ClientID     string        `yaml:"client_id"`
	Username     string        `yaml:"username"`
	Password     string        `yaml:"password"`
	QoS          *int          `yaml:"qos"`
	CleanSession bool          `yaml:"clean_session"`
	Filters      []string      `yaml:"filters"`
	Shards       int           `yaml:"shards"`
	QueueSize    int           `yaml:"queue_size"`
	// Linger is how long a shard waits to fill its batch under sustained
	// load (default 50ms; 0: never); see ingest.Config.Linger.
	Linger *time.Duration `yaml:"linger"`
	// PasswordFile reads the password from a file (a mounted secret).
	PasswordFile string `yaml:"password_file"`
	// SharedGroup subscribes as $share/<group>/<filter> so several yujing
	// instances split one broker's load.
	SharedGroup string `yaml:"shared_group"`
	// Topics are topic templates such as plant/{site}/gas/{sensor}: a
	// message on a matching topic belongs to the sensor named by {sensor}.
	Topics []string `yaml:"topics"`
	// Discovery lists messages on unknown topics for the integrator to adopt.
	Discovery bool     `yaml:"discovery"`
	TLS       *TLSFile `yaml:"tls"`
	// MaxAge and MaxFuture bound readings' timestamps (default 720h, 5m).
	MaxAge    time.Duration `yaml:"max_age"`
	MaxFuture time.Duration `yaml:"max_future"`
	// MaxUndeclaredMetrics bounds the metric names a sensor that lists no
	// metrics takes from payloads (default 32); see
	// ingest.Config.MaxUndeclaredMetrics.
	MaxUndeclaredMetrics int `yaml:"max_undeclared_metrics"`
}

// TLSFile configures TLS to the broker.
type TLSFile struct {
	Pos                yamlconf.Pos
	Fields             yamlconf.Fields
	CA                 string `yaml:"ca"`   // PEM file of the CA(s) to trust; default: the system's
	Cert               string `yaml:"cert"` // client certificate (PEM file), with key
	Key                string `yaml:"key"`
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// EmbeddedFile configures the built-in MQTT broker.
type EmbeddedFile struct {
	Fields yamlconf.Fields
	Listen string `yaml:"listen"`
}

// MQTT is the subscriber's connection.
type MQTT struct {
	// FromEmbedded is true when no broker was configured: the subscriber
	// connects to the embedded broker, wherever it ends up listening.
	FromEmbedded bool
	Broker       string
	ClientID     string
	Username     string
	Password     string
	QoS          byte
	CleanSession bool
	Filters      []string
	Shards       int
	QueueSize    int
	Linger       time.Duration // 0: ingest's default; negative: never
	SharedGroup  string
	Topics       []string // topic templates
	Discovery    bool
	TLS          *tls.Config
	MaxAge       time.Duration
	MaxFuture    time.Duration
	// MaxUndeclaredMetrics: 0 means ingest's default.
	MaxUndeclaredMetrics int
}

func (c *checker) mqtt(cfg *Config) {
	m := c.f.MQTT
	pos := m.Pos
	if pos.IsZero() {
		pos = c.f.Pos
	}
	if m.Embedded != nil && m.Broker != "" {
		c.Add(m.Fields.At("broker", pos), "mqtt: give embedded: (run the built-in broker) or broker: (use an external one), not both")
	}
	if m.Embedded != nil || m.Broker == "" {
		cfg.EmbeddedListen = "127.0.0.1:1883"
		if m.Embedded != nil && m.Embedded.Listen != "" {
			cfg.EmbeddedListen = m.Embedded.Listen
			c.hostPort(m.Embedded.Fields.At("listen", pos), "mqtt.embedded.listen", cfg.EmbeddedListen)
		}
	}
	cfg.MQTT = MQTT{Broker: m.Broker, ClientID: m.ClientID, Username: m.Username, Password: m.Password,
		CleanSession: m.CleanSession, Filters: m.Filters, Shards: m.Shards, QueueSize: m.QueueSize, QoS: 1}
	if cfg.MQTT.Broker == "" {
		cfg.MQTT.FromEmbedded = true
		host, port, _ := net.SplitHostPort(cfg.EmbeddedListen)
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		cfg.MQTT.Broker = "tcp://" + net.JoinHostPort(host, port)
	} else {
		u, err := url.Parse(m.Broker)
		if err != nil || !slices.Contains([]string{"tcp", "mqtt", "ssl", "tls", "mqtts", "ws", "wss"}, u.Scheme) || u.Host == "" {
			c.Add(m.Fields.At("broker", pos), "mqtt.broker: want a URL such as tcp://127.0.0.1:1883 or ssl://broker:8883, got %q", m.Broker)
		}
	}
	if cfg.MQTT.ClientID == "" {
		cfg.MQTT.ClientID = "yujing"
	}
	if m.QoS != nil {
		if *m.QoS != 0 && *m.QoS != 1 {
			c.Add(m.Fields.At("qos", pos), "mqtt.qos: want 0 or 1 (1 is needed for the no-loss guarantee), got %d", *m.QoS)
		}
		cfg.MQTT.QoS = byte(*m.QoS)
	}
	if m.PasswordFile != "" {
		if m.Password != "" {
			c.Add(m.Fields.At("password_file", pos), "mqtt: give password or password_file, not both")
		}
		b, err := os.ReadFile(m.PasswordFile)
		if err != nil {
			c.Add(m.Fields.At("password_file", pos), "mqtt.password_file: %v", err)
		}
		cfg.MQTT.Password = strings.TrimRight(string(b), "\r\n")
	}
	cfg.MQTT.SharedGroup, cfg.MQTT.Discovery = m.SharedGroup, m.Discovery
	if m.Linger != nil {
		switch l := *m.Linger; {
		case l < 0 || l > time.Second:
			c.Add(m.Fields.At("linger", pos), "mqtt.linger %s: want 0s (never) to 1s; the default, 50ms, suits most sites", l)
		case l == 0:
			cfg.MQTT.Linger = -1
		default:
			cfg.MQTT.Linger = l
		}
	}
	cfg.MQTT.MaxAge, cfg.MQTT.MaxFuture = m.MaxAge, m.MaxFuture
	if m.MaxUndeclaredMetrics < 0 {
		c.Add(m.Fields.At("max_undeclared_metrics", pos), "mqtt.max_undeclared_metrics %d: want a positive number of metric names (default 32)", m.MaxUndeclaredMetrics)
	}
	cfg.MQTT.MaxUndeclaredMetrics = m.MaxUndeclaredMetrics
	if m.SharedGroup != "" && (strings.ContainsAny(m.SharedGroup, "/+#") || m.Embedded != nil || m.Broker == "") {
		c.Add(m.Fields.At("shared_group", pos), "mqtt.shared_group %q: a plain name without / + #, and only with an external broker (broker:)", m.SharedGroup)
	}
	for i, tpl := range m.Topics {
		if err := ingest.CheckTemplate(tpl); err != nil {
			c.Add(m.Fields.At(fmt.Sprintf("topics[%d]", i), pos), "mqtt.topics[%d]: %v", i, err)
		}
		cfg.MQTT.Topics = append(cfg.MQTT.Topics, tpl)
	}
	if t := m.TLS; t != nil {
		tc, err := tlsConfig(t)
		if err != nil {
			c.Add(t.Pos, "mqtt.tls: %v", err)
		}
		cfg.MQTT.TLS = tc
	}
	for i, flt := range m.Filters {
		if flt == "" || strings.Contains(flt, "#") && !strings.HasSuffix(flt, "#") {
			c.Add(m.Fields.At(fmt.Sprintf("filters[%d]", i), pos), "mqtt.filters[%d]: %q is not a valid topic filter", i, flt)
		}
	}
}

// tlsConfig loads the broker TLS files.
func tlsConfig(t *TLSFile) (*tls.Config, error) {
	tc := &tls.Config{ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
	var errs []error
	if t.CA != "" {
		pem, err := os.ReadFile(t.CA)
		if err != nil {
			errs = append(errs, fmt.Errorf("ca: %w", err))
		} else {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				errs = append(errs, fmt.Errorf("ca: no PEM certificate in %s", t.CA))
			}
			tc.RootCAs = pool
		}
	}
	if (t.Cert == "") != (t.Key == "") {
		errs = append(errs, errors.New("give both cert and key for a client certificate"))
	} else if t.Cert != "" {
		cert, err := tls.LoadX509KeyPair(t.Cert, t.Key)
		if err != nil {
			errs = append(errs, fmt.Errorf("client certificate: %w", err))
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, errors.Join(errs...)
}
