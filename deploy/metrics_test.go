package deploy

import (
	"os"
	"regexp"
	"slices"
	"testing"
)

// TestClusterMetricNamesExist checks that every yujing_cluster_ metric the
// Grafana dashboards, the Prometheus rules and their tests name is one that
// package cluster registers (cluster/metrics.go): a misspelt name would
// leave a panel empty and an alert silent, and no tool reports either.
func TestClusterMetricNamesExist(t *testing.T) {
	src, err := os.ReadFile("../cluster/metrics.go")
	if err != nil {
		t.Fatal(err)
	}
	registered := map[string]bool{}
	for _, m := range regexp.MustCompile(`Name:\s*"(yujing_cluster_\w+)"`).FindAllSubmatch(src, -1) {
		registered[string(m[1])] = true
	}
	if len(registered) == 0 {
		t.Fatal("cluster/metrics.go: no yujing_cluster_ metric found: has the way it names them changed?")
	}
	used := regexp.MustCompile(`yujing_cluster_\w+`)
	files := []string{
		"compose/grafana/dashboards/yujing-health.json",
		"prometheus/rules.yml",
		"prometheus/rules_test.yml",
	}
	seen := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var unknown []string
		for _, name := range used.FindAllString(string(b), -1) {
			seen++
			if !registered[name] && !slices.Contains(unknown, name) {
				unknown = append(unknown, name)
			}
		}
		if len(unknown) > 0 {
			t.Errorf("%s names %v: cluster/metrics.go registers none of these", f, unknown)
		}
	}
	if seen == 0 {
		t.Errorf("%v name no yujing_cluster_ metric: the Cluster row and the cluster alerts are gone", files)
	}
}
