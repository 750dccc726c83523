package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"yujing/internal/testenv"
)

// TestClusterReload: POST /-/reload on one node of a cluster reloads every
// node, each from its own copy of the file; when another node refuses its
// copy, the answer names that node and why, and that node keeps running
// its previous rules. Before, only the node asked reloaded.
func TestClusterReload(t *testing.T) {
	gas := "  - {name: gas, match: {family: gas}, above: {red: 50}}\n"
	text, files, nodes := twoNodes(t, gas)
	write := func(f, s string) {
		t.Helper()
		if err := os.WriteFile(f, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	rules := func(n *instance) string {
		_, body := do(t, "GET", "http://"+n.http+"/api/v1/rules", "")
		return body
	}

	// The same new rule in both copies: asked of A, B takes it too.
	for _, f := range files {
		write(f, text(gas+"  - {name: gas-high, match: {family: gas}, above: {red: 80}}\n"))
	}
	if code, body := do(t, "POST", "http://"+nodes[0].http+"/-/reload", ""); code != 200 {
		t.Fatalf("reload on A: %d %s", code, body)
	}
	if !strings.Contains(rules(nodes[1]), `"gas-high"`) {
		t.Fatalf("B's rules after a reload asked of A: %s", rules(nodes[1]))
	}

	// B's copy does not parse: A answers naming B and its reason; B keeps
	// its rules.
	write(files[0], text(gas+"  - {name: gas-low, match: {family: gas}, above: {red: 20}}\n"))
	write(files[1], text(gas+"  - {name: gas-low, match: {family: gas}, above: {red: twenty}}\n"))
	code, body := do(t, "POST", "http://"+nodes[0].http+"/-/reload", "")
	if code != 409 || !strings.Contains(body, "refused it") || !strings.Contains(body, "twenty") {
		t.Errorf("reload with B's copy broken: %d %s; want 409 naming B's refusal", code, body)
	}
	if r := rules(nodes[1]); strings.Contains(r, `"gas-low"`) || !strings.Contains(r, `"gas-high"`) {
		t.Errorf("B's rules after refusing its copy: %s", r)
	}
	if !strings.Contains(rules(nodes[0]), `"gas-low"`) {
		t.Errorf("A did not take its own copy: %s", rules(nodes[0]))
	}
}

// twoNodes starts two in-process nodes of a cluster on a new PostgreSQL,
// each from its own copy of the same file, with rules. text makes that
// file with other rules.
func twoNodes(t *testing.T, rules string) (text func(rules string) string, files []string, nodes []*instance) {
	t.Helper()
	pg := testenv.StartPostgres(t)
	db := testenv.InfluxDB(t)
	t.Setenv("YUJING_TEST_STATE_URL", pg.URL)
	text = func(rules string) string {
		return fmt.Sprintf(`mqtt: {embedded: {listen: "127.0.0.1:0"}}
influx: {url: %s, bucket: %s}
state: {url: "${YUJING_TEST_STATE_URL}", cluster: {ttl: 1s, partitions: 4}}
sites: [{id: p}]
sensors: [{id: G1, site: p, family: gas, metric: lel}]
people: [{id: zhang, name: 张伟, phone: "13800000001"}]
rules:
%s`, db.URL, db.Bucket(), rules)
	}
	dir := t.TempDir()
	files = []string{filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")}
	for _, f := range files {
		if err := os.WriteFile(f, []byte(text(rules)), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := loadConfig(f)
		if err != nil {
			t.Fatal(err)
		}
		cfg.HTTPListen, cfg.EmbeddedListen, cfg.DataDir = "127.0.0.1:0", "127.0.0.1:0", t.TempDir()
		nodes = append(nodes, start(t, cfg))
	}
	for _, n := range nodes {
		waitFor(t, 20*time.Second, "the node listening to the cluster", func() bool {
			return strings.Contains(n.logs.String(), "cluster: listening for the other nodes' changes")
		})
	}
	return text, files, nodes
}

// TestClusterSharesEdits: what the API edits on one node — a silence, a
// registered sensor, a person, a site's production status — reaches the
// other node's memory within seconds, so that the node holding a
// partition subscribes to a sensor registered elsewhere and holds back
// the calls a silence set elsewhere covers. Before, each node knew only
// the edits made through itself (until it restarted).
func TestClusterSharesEdits(t *testing.T) {
	_, _, nodes := twoNodes(t, "  - {name: gas, match: {family: gas}, above: {red: 50}}\n")
	a, b := "http://"+nodes[0].http, "http://"+nodes[1].http
	for _, e := range []struct{ method, path, body string }{
		{"POST", "/api/v1/silences", fmt.Sprintf(`{"matchers": {"sensor": "G1"}, "ends_at": %q, "comment": "检修"}`, time.Now().Add(time.Hour).UTC().Format(time.RFC3339))},
		{"POST", "/api/v1/sensors", `{"id": "G2", "site": "p", "family": "gas", "metric": "lel"}`},
		{"POST", "/api/v1/people", `{"id": "li", "name": "李娜", "phone": "13800000002"}`},
		{"PUT", "/api/v1/sites/p/status", `{"status": "suspended", "reason": "季节性停产"}`},
	} {
		if code, body := do(t, e.method, a+e.path, e.body); code/100 != 2 {
			t.Fatalf("%s %s on A: %d %s", e.method, e.path, code, body)
		}
	}
	for _, want := range []struct{ path, has string }{
		{"/api/v1/silences", `"检修"`},
		{"/api/v1/sensors/G2", `"G2"`},
		{"/api/v1/people/li", `"李娜"`},
		{"/api/v1/sites/p/status", `"suspended"`},
	} {
		waitFor(t, 5*time.Second, "B showing "+want.path, func() bool {
			code, body := do(t, "GET", b+want.path, "")
			return code == 200 && strings.Contains(body, want.has)
		})
	}
}
