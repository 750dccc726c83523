package testenv

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// prometheusStartTimeout bounds a Prometheus server's start: it opens its
// TSDB and its rule files, about a second on an idle machine.
const prometheusStartTimeout = time.Minute

// Tool finds a tool scripts/test-deps.sh installs into $YUJING_TOOLS
// (default $HOME/.cache/yujing-tools) — amtool, prometheus, promtool — there
// or in PATH; it skips the test when none is found, or fails it when
// YUJING_REQUIRE_EXTERNAL=1.
func Tool(t testing.TB, name string) string {
	t.Helper()
	var candidates []string
	if d := os.Getenv(ToolsEnv); d != "" {
		candidates = append(candidates, filepath.Join(d, name))
	}
	if home, err := os.UserHomeDir(); err == nil {
		candidates = append(candidates, filepath.Join(home, ".cache", "yujing-tools", name))
	}
	candidates = append(candidates, name)
	bin, ok := findBinary(candidates...)
	if !ok {
		missing(t, name, candidates)
	}
	return bin
}

// Prometheus is a Prometheus server (Debian's package, 2.42) listening on
// 127.0.0.1, its configuration and TSDB in the test's temporary directory.
type Prometheus struct {
	// URL is its HTTP API base, e.g. "http://127.0.0.1:49090".
	URL string
	// Dir holds prometheus.yml, the rule files the test wrote there, and
	// the TSDB.
	Dir string

	proc *process
}

// StartPrometheus starts Prometheus with the configuration config (YAML;
// rule_files are read relative to Dir, where files writes them first:
// name → content) and the extra command-line flags, and waits until
// /-/ready answers. It is stopped when the test ends.
func StartPrometheus(t testing.TB, config string, files map[string]string, flags ...string) *Prometheus {
	t.Helper()
	bin := Tool(t, "prometheus")
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatalf("testenv: write %s: %v", name, err)
		}
	}
	conf := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(conf, []byte(config), 0o644); err != nil {
		t.Fatalf("testenv: write prometheus.yml: %v", err)
	}
	for attempt := 1; ; attempt++ {
		port := FreePort(t)
		p := &Prometheus{URL: "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Dir: dir}
		args := append([]string{"--config.file=" + conf, "--storage.tsdb.path=" + filepath.Join(dir, "data"),
			"--web.listen-address=127.0.0.1:" + strconv.Itoa(port)}, flags...)
		p.proc = newProcess(t, "prometheus", bin, args...)
		err := p.proc.launch(prometheusStartTimeout, p.ready)
		if err == nil {
			return p
		}
		if !errors.Is(err, errPortTaken) || attempt == portAttempts {
			t.Fatalf("testenv: %v", err)
		}
		t.Logf("testenv: %v; trying another port", err)
	}
}

// Stop shuts the server down. Stopping twice is safe.
func (p *Prometheus) Stop() { p.proc.stop() }

// Output is what the server printed (its log).
func (p *Prometheus) Output() string { return p.proc.output.String() }

func (p *Prometheus) ready(ctx context.Context) error {
	return getStatus(ctx, p.URL+"/-/ready", http.StatusOK)
}
