package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"yujing"
	"yujing/alerting/issued"
	"yujing/alertmanager"
	"yujing/internal/testenv"
	"yujing/web"
)

// promToken is the operator token Prometheus and amtool send.
const promToken = "prom-token-0123456789abcdef0123456789abcdef"

// alertmanagerYAML is a site whose duty officer (陈刚) is called on the
// webhook channel for red and orange warnings, with the alertmanager
// section on and an operator token for Prometheus and amtool.
func alertmanagerYAML(t *testing.T, p *phones) string {
	return fmt.Sprintf(`
data_dir: %s
timezone: Asia/Shanghai
mqtt: {embedded: {listen: "127.0.0.1:0"}}
delivery: {group_wait: 0s}
http:
  api_tokens: [{name: prometheus, role: operator, token: %s}]
sites: [{id: plant-a, name: 甲厂, region: "320115"}]
people:
  - {id: chen, name: 陈刚, phone: "13800000005", org: acme}
orgs:
  - {id: acme, name: 某化工有限公司, kind: enterprise, region: "320115", sites: [plant-a]}
responsibility:
  - site: plant-a
    chain:
      - {tier: 1, role: duty_officer, people: [chen]}
channels:
  - {name: webhook, webhook: {url: "%s"}}
escalation:
  base_url: http://yj.test
  policies:
    - name: serious
      levels: [orange, red]
      steps:
        - {targets: [{role: duty_officer}], ladder: [webhook], deadline: 10m}
alertmanager:
  levels: {critical: red, warning: orange, info: blue}
  site_map: [{label: job, value: plant-a-exporter, site: plant-a}]
`, t.TempDir(), promToken, p.hook.URL)
}

// issuedAlert is the open warning the Alertmanager API keeps under key.
func issuedAlert(t *testing.T, api, key string) (web.AlertDetail, bool) {
	t.Helper()
	var as []yujing.Alert
	getJSON(t, api+"/api/v1/alerts?rule="+issued.Rule(alertmanager.Source), &as)
	for _, a := range as {
		if a.Sensor == key {
			var d web.AlertDetail
			getJSON(t, fmt.Sprintf("%s/api/v1/alerts/%d", api, a.ID), &d)
			return d, true
		}
	}
	return web.AlertDetail{}, false
}

// amtool runs amtool against yujing with the operator token.
func amtool(t *testing.T, url string, args ...string) (string, error) {
	t.Helper()
	bin := testenv.Tool(t, "amtool")
	dir := t.TempDir()
	httpConf := filepath.Join(dir, "http.yml")
	if err := os.WriteFile(httpConf, []byte("authorization:\n  credentials: "+promToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--alertmanager.url=" + url, "--http.config.file=" + httpConf}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+dir) // no amtool config of the machine's
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// amtool alert add, as the README writes it, raises a red warning that
// calls the site's duty officer; adding it again changes nothing; amtool
// alert query lists it; adding it with an end in the past resolves it;
// an alert without a site is refused with amtool showing why; without
// the token amtool is refused.
func TestAmtoolAlertAdd(t *testing.T) {
	p := newPhones(t)
	inst := start(t, configFrom(t, alertmanagerYAML(t, p)))
	api := "http://" + inst.http
	labels := []string{"HighLoad", "severity=critical", "site=plant-a", "instance=10.1.2.3:9100"}
	key := alertmanager.Fingerprint(map[string]string{"alertname": "HighLoad", "site": "plant-a", "instance": "10.1.2.3:9100"})

	add := append([]string{"alert", "add"}, append(labels, "--annotation=summary=1号厂区服务器负载过高")...)
	if out, err := amtool(t, api, add...); err != nil {
		t.Fatalf("amtool alert add: %v\n%s", err, out)
	}
	waitFor(t, 10*time.Second, "the duty officer's call", func() bool { return len(p.sent()) >= 1 })
	if got := p.sent(); len(got) != 1 || got[0].channel != "webhook" || got[0].to != "chen" {
		t.Fatalf("calls %+v, want 陈刚 once on the webhook", got)
	}
	d, ok := issuedAlert(t, api, key)
	if !ok || d.Level != yujing.Red || d.Site != "plant-a" || d.State != yujing.StateFiring ||
		d.Message != "HighLoad（10.1.2.3:9100）\n1号厂区服务器负载过高" || len(d.History) != 1 || d.History[0].Actor != "token:prometheus" {
		t.Fatalf("warning %+v (found %v)", d, ok)
	}

	// The same alert again: nothing changes, nobody is called again.
	if out, err := amtool(t, api, add...); err != nil {
		t.Fatalf("amtool alert add again: %v\n%s", err, out)
	}
	if d2, _ := issuedAlert(t, api, key); len(d2.History) != 1 || d2.ID != d.ID || len(d2.Calls) != 1 {
		t.Errorf("after the same alert again: alert %d, history %+v, calls %d; want alert %d unchanged, one call", d2.ID, d2.History, len(d2.Calls), d.ID)
	}

	out, err := amtool(t, api, "alert", "query", "-o", "json", "alertname=HighLoad")
	if err != nil || !strings.Contains(out, `"fingerprint":"`+alertmanager.Fingerprint(map[string]string{"alertname": "HighLoad", "severity": "critical", "site": "plant-a", "instance": "10.1.2.3:9100"})+`"`) {
		t.Errorf("amtool alert query: %v\n%s", err, out)
	}

	// Refused: no site. amtool shows yujing's reason and fails.
	out, err = amtool(t, api, "alert", "add", "NoSite", "severity=critical")
	if err == nil || !strings.Contains(out, "no site label, no alertmanager.site_map entry matches") {
		t.Errorf("an alert without a site: %v\n%s", err, out)
	}
	t.Logf("amtool refused: %s", out)

	// Resolved: the same alert with an end in the past.
	end := time.Now().Add(-time.Second).UTC().Format(time.RFC3339)
	if out, err := amtool(t, api, append(append([]string{"alert", "add"}, labels...), "--end="+end)...); err != nil {
		t.Fatalf("amtool alert add --end: %v\n%s", err, out)
	}
	var resolved yujing.Alert
	getJSON(t, fmt.Sprintf("%s/api/v1/alerts/%d", api, d.ID), &resolved)
	if resolved.State != yujing.StateResolved {
		t.Errorf("after --end in the past the warning is %s, want resolved", resolved.State)
	}

	// Sent firing again with a start before the end (Prometheus keeps an
	// alert's start across its own restart): it fires again, as in
	// Alertmanager — the warning reopens and calls again.
	start := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	if out, err := amtool(t, api, append(append([]string{"alert", "add"}, labels...), "--start="+start)...); err != nil {
		t.Fatalf("amtool alert add --start: %v\n%s", err, out)
	}
	var again yujing.Alert
	getJSON(t, fmt.Sprintf("%s/api/v1/alerts/%d", api, d.ID), &again)
	if again.State != yujing.StateFiring {
		t.Errorf("sent again after it ended, the warning is %s, want firing (reopened)", again.State)
	}
	waitFor(t, 10*time.Second, "the second call", func() bool { return len(p.sent()) >= 2 })

	// Without the token.
	bin := testenv.Tool(t, "amtool")
	cmd := exec.CommandContext(t.Context(), bin, "--alertmanager.url="+api, "alert", "add", "X", "site=plant-a", "severity=info")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "401") {
		t.Errorf("amtool without a token: %v\n%s", err, out)
	}
}

// exporter is a loopback exporter whose gauge the test sets.
type exporter struct {
	srv *httptest.Server
	lel atomic.Int64
}

func newExporter(t *testing.T) *exporter {
	e := &exporter{}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# HELP plant_gas_lel Combustible gas, %%LEL.\n# TYPE plant_gas_lel gauge\nplant_gas_lel{point=\"GT-1\"} %d\n", e.lel.Load())
	}))
	t.Cleanup(e.srv.Close)
	return e
}

// A real Prometheus (Debian's 2.42) scrapes a loopback exporter; its
// alerting rule fires, the alert reaches yujing through the Alertmanager
// API with Prometheus' bearer token and calls the duty officer once
// (Prometheus re-sends it every second, which changes nothing); when the
// rule stops firing, Prometheus sends it resolved and the warning
// resolves.
func TestPrometheusAlertsCallThroughYujing(t *testing.T) {
	p := newPhones(t)
	inst := start(t, configFrom(t, alertmanagerYAML(t, p)))
	api := "http://" + inst.http
	exp := newExporter(t)
	exp.lel.Store(62)
	rules := `groups:
  - name: plant
    interval: 1s
    rules:
      - alert: GasHigh
        expr: plant_gas_lel > 50
        for: 0s
        labels: {severity: critical}
        annotations: {summary: "可燃气体浓度 {{ $value }} %LEL，超过二级报警值"}
`
	conf := fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [rules.yml]
alerting:
  alertmanagers:
    - static_configs: [{targets: ["%s"]}]
      authorization: {credentials: %s}
      timeout: 5s
scrape_configs:
  - job_name: plant-a-exporter
    static_configs: [{targets: ["%s"]}]
`, inst.http, promToken, strings.TrimPrefix(exp.srv.URL, "http://"))
	prom := testenv.StartPrometheus(t, conf, map[string]string{"rules.yml": rules}, "--rules.alert.resend-delay=1s")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("prometheus log:\n%s", prom.Output())
		}
	})

	waitFor(t, 60*time.Second, "the duty officer's call", func() bool { return len(p.sent()) >= 1 })
	labels := map[string]string{"alertname": "GasHigh", "instance": strings.TrimPrefix(exp.srv.URL, "http://"), "job": "plant-a-exporter", "point": "GT-1"}
	key := alertmanager.Fingerprint(labels)
	d, ok := issuedAlert(t, api, key)
	if !ok || d.Level != yujing.Red || d.Site != "plant-a" || !strings.Contains(d.Message, "可燃气体浓度 62 %LEL") {
		t.Fatalf("warning %+v (found %v)", d, ok)
	}
	// Prometheus re-sends every second: wait for a re-send yujing took
	// (the list of alerts received shows a later update), then check that
	// it changed nothing and called nobody again.
	var first time.Time
	waitFor(t, 30*time.Second, "a re-send", func() bool {
		var got []map[string]any
		getJSON(t, api+"/api/v2/alerts", &got)
		if len(got) != 1 {
			return false
		}
		at, _ := time.Parse(time.RFC3339Nano, got[0]["updatedAt"].(string))
		if first.IsZero() {
			first = at
		}
		return at.After(first)
	})
	if d2, _ := issuedAlert(t, api, key); len(d2.History) != 1 || len(p.sent()) != 1 {
		t.Errorf("after re-sends: history %+v, calls %+v; want the raise and one call", d2.History, p.sent())
	}

	exp.lel.Store(10)
	waitFor(t, 60*time.Second, "the warning resolved", func() bool {
		var a yujing.Alert
		getJSON(t, fmt.Sprintf("%s/api/v1/alerts/%d", api, d.ID), &a)
		return a.State == yujing.StateResolved
	})
	if len(p.sent()) != 1 {
		t.Errorf("calls %+v, want the one", p.sent())
	}
}

// An Alertmanager's webhook notifications (written by Alertmanager's own
// code, alertmanager/testdata/webhook) raise a warning per alert — red
// for critical, orange for warning — each calling the duty officer, and
// the resolved notification resolves its warning, leaving the other.
func TestAlertmanagerWebhookCallsThroughYujing(t *testing.T) {
	p := newPhones(t)
	inst := start(t, configFrom(t, alertmanagerYAML(t, p)))
	api := "http://" + inst.http
	post := func(file string) {
		t.Helper()
		body, err := os.ReadFile(filepath.Join("..", "..", "alertmanager", "testdata", "webhook", file))
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, api+"/api/v1/warnings/alertmanager", strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer "+promToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: %s", file, resp.Status)
		}
	}
	post("firing.json")
	waitFor(t, 10*time.Second, "two calls", func() bool { return len(p.sent()) >= 2 })
	crit := alertmanager.Fingerprint(map[string]string{"alertname": "HighLoad", "instance": "10.1.2.3:9100", "job": "node", "site": "plant-a"})
	warn := alertmanager.Fingerprint(map[string]string{"alertname": "HighLoad", "instance": "10.1.2.4:9100", "job": "node", "site": "plant-a"})
	dc, ok1 := issuedAlert(t, api, crit)
	dw, ok2 := issuedAlert(t, api, warn)
	if !ok1 || !ok2 || dc.Level != yujing.Red || dw.Level != yujing.Orange || dc.Message != "HighLoad（10.1.2.3:9100）\n1号厂区服务器负载过高" {
		t.Fatalf("warnings %+v %+v", dc.Alert, dw.Alert)
	}
	post("firing.json") // Alertmanager's repeat_interval: nothing new
	post("resolved.json")
	var a yujing.Alert
	getJSON(t, fmt.Sprintf("%s/api/v1/alerts/%d", api, dc.ID), &a)
	if a.State != yujing.StateResolved {
		t.Errorf("critical warning %s after the resolved notification, want resolved", a.State)
	}
	getJSON(t, fmt.Sprintf("%s/api/v1/alerts/%d", api, dw.ID), &a)
	if a.State != yujing.StateFiring {
		t.Errorf("warning-level warning %s, want still firing", a.State)
	}
	if got := p.sent(); len(got) != 2 {
		t.Errorf("calls %+v, want two", got)
	}
}

// A silence holds back the calls of warnings that came from Alertmanager
// clients as of any other, never their record: with orange warnings of
// rule issued:alertmanager silenced, the webhook's warning-level alert
// is kept, marked silenced and calls nobody, while its critical one and
// a later critical one call the duty officer.
func TestAlertmanagerWarningsSilenced(t *testing.T) {
	p := newPhones(t)
	inst := start(t, configFrom(t, alertmanagerYAML(t, p)))
	api := "http://" + inst.http
	body := fmt.Sprintf(`{"matchers": {"rule": %q, "levels": ["orange"]}, "starts_at": %q, "ends_at": %q, "comment": "监控系统升级"}`,
		issued.Rule(alertmanager.Source), time.Now().Add(-time.Minute).UTC().Format(time.RFC3339), time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	if code := postJSON(t, api+"/api/v1/silences", body, nil); code != http.StatusCreated {
		t.Fatalf("silence: %d", code)
	}
	send := func(path, body string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, api+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+promToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: %s", path, resp.Status)
		}
	}
	golden, err := os.ReadFile(filepath.Join("..", "..", "alertmanager", "testdata", "webhook", "firing.json"))
	if err != nil {
		t.Fatal(err)
	}
	send("/api/v1/warnings/alertmanager", string(golden))
	// A later alert: its call comes after whatever the silenced one
	// would have made, as changes are handled in order.
	send("/api/v2/alerts", `[{"labels":{"alertname":"Later","severity":"critical","site":"plant-a"}}]`)
	waitFor(t, 10*time.Second, "the two red warnings' calls", func() bool { return len(p.sent()) >= 2 })
	warn := alertmanager.Fingerprint(map[string]string{"alertname": "HighLoad", "instance": "10.1.2.4:9100", "job": "node", "site": "plant-a"})
	d, ok := issuedAlert(t, api, warn)
	if !ok || d.Level != yujing.Orange || !d.Silenced || len(d.Calls) != 0 {
		t.Errorf("the silenced warning: %+v (found %v), want orange, silenced, no calls", d.Alert, ok)
	}
	if got := p.sent(); len(got) != 2 {
		t.Errorf("calls %+v, want the two red warnings'", got)
	}
	// The 叫应 report of these warnings alone.
	for source, want := range map[string]int{alertmanager.Source: 2, "cap": 0} {
		var rep struct {
			Rows []struct {
				Key   string `json:"key"`
				Calls int    `json:"calls"`
			} `json:"rows"`
		}
		getJSON(t, api+"/api/v1/reports/answers?by=person&source="+source, &rep)
		calls := 0
		for _, r := range rep.Rows {
			if r.Key == "chen" {
				calls += r.Calls
			}
		}
		if calls != want {
			t.Errorf("answer report, source %s: %+v, want %d calls to chen", source, rep.Rows, want)
		}
	}
}

// The alertmanager section's mapping is applied on reload: a severity
// refused before is taken once the file lists it, and a site added to
// the file is known to it.
func TestAlertmanagerMappingReloads(t *testing.T) {
	p := newPhones(t)
	text := alertmanagerYAML(t, p)
	cfg := configFrom(t, text)
	inst := start(t, cfg)
	api := "http://" + inst.http
	post := func() (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, api+"/api/v2/alerts",
			strings.NewReader(`[{"labels":{"alertname":"Pager","severity":"page","site":"plant-b"}}]`))
		req.Header.Set("Authorization", "Bearer "+promToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		_, _ = io.Copy(&b, resp.Body)
		return resp.StatusCode, b.String()
	}
	if code, body := post(); code != 400 || !strings.Contains(body, `severity \"page\" maps to no level`) || !strings.Contains(body, `site \"plant-b\" is not defined`) {
		t.Fatalf("before the reload: %d %s", code, body)
	}
	text = strings.Replace(text, "levels: {critical: red, warning: orange, info: blue}", "levels: {critical: red, warning: orange, info: blue, page: red}", 1)
	text = strings.Replace(text, `sites: [{id: plant-a, name: 甲厂, region: "320115"}]`, `sites: [{id: plant-a, name: 甲厂, region: "320115"}, {id: plant-b, name: 乙厂, region: "320115"}]`, 1)
	if err := os.WriteFile(cfg.Source, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, body := do(t, "POST", api+"/-/reload", ""); code != 200 {
		t.Fatalf("reload: %d %s", code, body)
	}
	if code, body := post(); code != 200 {
		t.Fatalf("after the reload: %d %s", code, body)
	}
}
