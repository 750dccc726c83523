package config

import (
	"net/url"
	"os"
	"strings"
	"time"

	"yujing/internal/yamlconf"
)

// StateFile is the state section: where warnings, calls, escalations,
// users, sessions, tokens, the audit log and the directory are kept.
// Without it, the embedded SQLite file <data_dir>/state.db.
type StateFile struct {
	Pos    yamlconf.Pos
	Fields yamlconf.Fields
	// URL is a PostgreSQL database,
	// postgres://user:password@host:5432/db?sslmode=verify-full. Write the
	// password as ${VAR}, or give the whole URL in URLFile.
	URL string `yaml:"url"`
	// URLFile reads the URL from a file (a mounted secret).
	URLFile string `yaml:"url_file"`
	// Cluster tunes the cluster the nodes on this database form
	// (docs/CLUSTER.md): every node with the same url is one, alone or
	// with others.
	Cluster *ClusterFile `yaml:"cluster"`
}

// ClusterFile is state.cluster.
type ClusterFile struct {
	Pos    yamlconf.Pos
	Fields yamlconf.Fields
	// TTL is how long a lease lasts without renewal (default 10s): a dead
	// node's sensors move to the others within about TTL + TTL/3.
	TTL time.Duration `yaml:"ttl"`
	// Partitions is the number of partitions of the sites (default 32):
	// the same on every node.
	Partitions int `yaml:"partitions"`
}

// State says where the state database is.
type State struct {
	// URL is the PostgreSQL URL, password and all: give it to the store,
	// never to a log (use Where).
	URL string
	// Where names the database without its password, for logs and errors:
	// postgres://user@host:5432/db.
	Where string
	// Cluster is the cluster's settings: every node on a PostgreSQL state
	// database is a node of its cluster.
	Cluster *Cluster
}

// Cluster is a cluster node's settings (zero: the defaults of package
// cluster).
type Cluster struct {
	TTL        time.Duration
	Partitions int
}

// state checks the state section and sets cfg.State (nil without it).
func (c *checker) state(cfg *Config) {
	sf := c.f.State
	if sf == nil {
		return
	}
	raw := sf.URL
	at := sf.Fields.At("url", sf.Pos)
	switch {
	case sf.URLFile != "" && sf.URL != "":
		c.Add(sf.Fields.At("url_file", sf.Pos), "state: give url or url_file, not both")
		return
	case sf.URLFile != "":
		at = sf.Fields.At("url_file", sf.Pos)
		b, err := os.ReadFile(sf.URLFile)
		if err != nil {
			c.Add(at, "state.url_file: %v", err)
			return
		}
		raw = strings.TrimSpace(string(b))
	case sf.URL == "":
		c.Add(sf.Pos, "state: give url (postgres://user:password@host:5432/db) or url_file, or leave state out for the embedded database in data_dir")
		return
	}
	where, ok := postgresWhere(raw)
	if !ok {
		// The URL is not quoted: it may hold a password.
		c.Add(at, "state: want a PostgreSQL URL such as postgres://user:password@host:5432/db?sslmode=verify-full")
		return
	}
	if c.f.Influx == nil {
		c.Add(at, "state: a PostgreSQL state database needs influx: for readings (the embedded reading store keeps one node's readings only)")
	}
	cfg.State = &State{URL: raw, Where: where, Cluster: &Cluster{}}
	c.clusterMQTT(at)
	if cl := sf.Cluster; cl != nil {
		cfg.State.Cluster = &Cluster{TTL: cl.TTL, Partitions: cl.Partitions}
		if cl.TTL != 0 && cl.TTL < 300*time.Millisecond {
			c.Add(cl.Fields.At("ttl", cl.Pos), "state.cluster.ttl %v: want at least 300ms (default 10s)", cl.TTL)
		}
		if cl.Partitions < 0 || cl.Partitions > 4096 {
			c.Add(cl.Fields.At("partitions", cl.Pos), "state.cluster.partitions %d: want 1 to 4096 (default 32), the same on every node", cl.Partitions)
		}
	}
}

// clusterMQTT refuses the MQTT settings a cluster node cannot honour: it
// subscribes once per partition it holds, to the exact topics of the
// partition's sensors, each in a persistent session of its own.
func (c *checker) clusterMQTT(at yamlconf.Pos) {
	m := c.f.MQTT
	for _, x := range []struct {
		set        bool
		field, why string
	}{
		{m.Discovery, "discovery", "a cluster node subscribes to its partitions' sensors' topics only; run discovery on a node without state"},
		{m.SharedGroup != "", "shared_group", "a cluster splits the sensors by partition, each in a session of its own, not by a shared subscription"},
		{len(m.Filters) > 0, "filters", "a cluster node subscribes to its partitions' sensors' topics, not to filters"},
		{m.CleanSession, "clean_session", "a partition's session must persist, so that its next holder gets what was not acknowledged"},
	} {
		if x.set {
			c.Add(m.Fields.At(x.field, at), "mqtt.%s with a PostgreSQL state: %s", x.field, x.why)
		}
	}
}

// postgresWhere checks that raw is a postgres:// or postgresql:// URL with
// a host and a database and returns it without its password and
// parameters.
func postgresWhere(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" ||
		strings.Trim(u.Path, "/") == "" || u.Opaque != "" {
		return "", false
	}
	w := url.URL{Scheme: "postgres", Host: u.Host, Path: u.Path}
	if u.User != nil {
		w.User = url.User(u.User.Username())
	}
	return w.String(), true
}
