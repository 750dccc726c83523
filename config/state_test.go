package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const stateBase = ingestBase + "influx: {url: \"http://i:8086\", bucket: y/autogen}\n"

// stateSecret is the password the environment and the URL files hold: no
// error or summary may show it.
const stateSecret = "s3cret-Pw-8f2a"

func stateEnv(name string) (string, bool) {
	switch name {
	case "PGPASSWORD_YJ":
		return stateSecret, true
	case "STATE_URL":
		return "postgres://yujing:" + stateSecret + "@db.example:5432/yujing?sslmode=verify-full", true
	}
	return "", false
}

// state.url and state.url_file: the URL as given goes to the store, and
// what logs and `yujing check` show has no password.
func TestState(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "state-url")
	if err := os.WriteFile(file, []byte("postgresql://yujing:"+stateSecret+"@[::1]:6432/duty\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, yaml string
		url, where string
	}{
		{"none", "", "", ""},
		{"password from the environment",
			"state: {url: \"postgres://yujing:${PGPASSWORD_YJ}@db.example/yujing?sslmode=require\"}\n",
			"postgres://yujing:" + stateSecret + "@db.example/yujing?sslmode=require", "postgres://yujing@db.example/yujing"},
		{"the whole URL from the environment", "state: {url: \"${STATE_URL}\"}\n",
			"postgres://yujing:" + stateSecret + "@db.example:5432/yujing?sslmode=verify-full", "postgres://yujing@db.example:5432/yujing"},
		{"url_file", "state: {url_file: " + file + "}\n",
			"postgresql://yujing:" + stateSecret + "@[::1]:6432/duty", "postgres://yujing@[::1]:6432/duty"},
		{"no user", "state: {url: \"postgres://db.example/yujing\"}\n", "postgres://db.example/yujing", "postgres://db.example/yujing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse("x.yaml", []byte(stateBase+c.yaml), Options{LookupEnv: stateEnv})
			if err != nil {
				t.Fatal(err)
			}
			if c.url == "" {
				if cfg.State != nil {
					t.Fatalf("State = %+v, want nil (the embedded database)", cfg.State)
				}
				return
			}
			if cfg.State == nil || cfg.State.URL != c.url || cfg.State.Where != c.where {
				t.Fatalf("State = %+v; want URL %q, Where %q", cfg.State, c.url, c.where)
			}
			if cfg.State.Cluster == nil {
				t.Errorf("State.Cluster is nil: every node on a PostgreSQL state is one of its cluster")
			}
			if sum := cfg.Summary(); strings.Contains(sum, stateSecret) || !strings.Contains(sum, "state in "+c.where) {
				t.Errorf("summary %q: want the state database without its password", sum)
			}
		})
	}
}

func TestStateErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	for _, c := range []struct{ name, yaml, want string }{
		{"both", "state:\n  url: \"postgres://h/db\"\n  url_file: /run/secrets/state\n",
			`x.yaml:5:13: state: give url or url_file, not both`},
		{"neither", "state: {}\n",
			`x.yaml:3:8: state: give url (postgres://user:password@host:5432/db) or url_file, or leave state out for the embedded database in data_dir`},
		{"not postgres, password not shown", "state: {url: \"mysql://yujing:${PGPASSWORD_YJ}@db/yujing\"}\n",
			`x.yaml:3:14: state: want a PostgreSQL URL such as postgres://user:password@host:5432/db?sslmode=verify-full`},
		{"a literal password not shown", "state: {url: \"postgres://yujing:" + stateSecret + "@/yujing\"}\n",
			`x.yaml:3:14: state: want a PostgreSQL URL such as postgres://user:password@host:5432/db?sslmode=verify-full`},
		{"no database", "state: {url: \"postgres://yujing:${PGPASSWORD_YJ}@db:5432\"}\n",
			`x.yaml:3:14: state: want a PostgreSQL URL such as postgres://user:password@host:5432/db?sslmode=verify-full`},
		{"a file that is not there", "state: {url_file: " + missing + "}\n",
			`x.yaml:3:19: state.url_file: open ` + missing + `: no such file or directory`},
		{"misspelt", "state: {uri: \"postgres://h/db\"}\n",
			`x.yaml:3:9: state: unknown field "uri" (did you mean "url"?)`},
		{"a cluster's ttl too short", "state: {url: \"postgres://h/db\", cluster: {ttl: 100ms}}\n", `x.yaml:3:48: state.cluster.ttl 100ms: want at least 300ms (default 10s)`},
		{"too many partitions", "state: {url: \"postgres://h/db\", cluster: {partitions: 5000}}\n", `x.yaml:3:55: state.cluster.partitions 5000: want 1 to 4096 (default 32), the same on every node`},
		{"discovery in a cluster", "mqtt: {discovery: true}\nstate: {url: \"postgres://h/db\"}\n", `x.yaml:3:19: mqtt.discovery with a PostgreSQL state: a cluster node subscribes to its partitions' sensors' topics only; run discovery on a node without state`},
		{"a shared subscription in a cluster", "mqtt: {broker: \"tcp://b:1883\", shared_group: g, clean_session: true}\nstate: {url: \"postgres://h/db\"}\n", "x.yaml:3:46: mqtt.shared_group with a PostgreSQL state: a cluster splits the sensors by partition, each in a session of its own, not by a shared subscription\n" +
			"x.yaml:3:64: mqtt.clean_session with a PostgreSQL state: a partition's session must persist, so that its next holder gets what was not acknowledged"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(stateBase+c.yaml), Options{LookupEnv: stateEnv})
			if err == nil || strings.TrimSpace(err.Error()) != c.want {
				t.Errorf("error:\n%v\nwant:\n%s", err, c.want)
			}
		})
	}
	// Without influx: the readings of several nodes need one store.
	_, err := Parse("x.yaml", []byte(ingestBase+"state: {url: \"${STATE_URL}\"}\n"), Options{LookupEnv: stateEnv})
	want := `x.yaml:2:14: state: a PostgreSQL state database needs influx: for readings (the embedded reading store keeps one node's readings only)`
	if err == nil || strings.TrimSpace(err.Error()) != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
}
