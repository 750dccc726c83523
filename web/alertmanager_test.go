package web_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"yujing"
	"yujing/alertmanager"
	"yujing/web"
)

// warningBook keeps what the receiver hands on, for the HTTP tests; the
// real lifecycle behind it is tested end to end in cmd/yujing.
type warningBook struct {
	mu   sync.Mutex
	open map[string]alertmanager.Warning
}

func (b *warningBook) Issue(_ context.Context, w alertmanager.Warning) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.open[w.Key] = w
	return nil
}

func (b *warningBook) End(_ context.Context, key string, _ alertmanager.Ending) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.open, key)
	return nil
}

func (b *warningBook) Current(_ context.Context, key string) (alertmanager.Warning, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	w, ok := b.open[key]
	return w, ok, nil
}

func alertmanagerServer(t *testing.T, on bool) (*httptest.Server, *warningBook) {
	t.Helper()
	b := &warningBook{open: map[string]alertmanager.Warning{}}
	opts := web.Options{Alerts: &auditAlerts{}, Logger: slog.New(slog.DiscardHandler), Version: "1.2.3"}
	if on {
		m := alertmanager.NewMapper(alertmanager.Mapping{}, func(s string) bool { return s == "plant-a" }, yujing.BuiltinFamilies())
		r, err := alertmanager.NewReceiver(m, b, alertmanager.Options{})
		if err != nil {
			t.Fatal(err)
		}
		opts.AlertReceiver = r
	}
	srv := httptest.NewServer(web.New(opts).Handler())
	t.Cleanup(srv.Close)
	return srv, b
}

func call(t *testing.T, method, url, body string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// POST /api/v2/alerts answers as Alertmanager does: 200 and no body when
// every alert was taken; 400 and a JSON string naming each alert refused
// (the others are taken); the webhook answers in yujing's own way.
func TestAlertmanagerAPI(t *testing.T) {
	srv, b := alertmanagerServer(t, true)
	now := time.Now().UTC()
	at := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339Nano) }
	golden, err := os.ReadFile("../alertmanager/testdata/webhook/firing.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, method, path, body string
		code                     int
		ctype, want              string // want: the whole body, or with prefix ~ a part of it
		open                     int    // warnings open after
	}{
		{"prometheus", "POST", "/api/v2/alerts",
			`[{"labels":{"alertname":"HighLoad","severity":"critical","site":"plant-a","instance":"h1"},"annotations":{"summary":"负载过高"},"startsAt":"` + at(-time.Minute) + `","endsAt":"` + at(4*time.Minute) + `","generatorURL":"http://p:9090/graph"}]`,
			200, "", "", 1},
		{"one refused, one taken", "POST", "/api/v2/alerts",
			`[{"labels":{"alertname":"Other","severity":"warning"}},{"labels":{"alertname":"Disk","severity":"warning","site":"plant-a"}}]`,
			400, "application/json; charset=utf-8",
			`"alerts[0] {alertname=\"Other\", severity=\"warning\"}: labels do not map to a warning: no site label, no alertmanager.site_map entry matches and alertmanager.default_site is not set"` + "\n", 2},
		{"not a list", "POST", "/api/v2/alerts", `{"labels":{}}`, 400, "application/json; charset=utf-8",
			`"bad payload: want a JSON array of alerts ({labels, annotations, startsAt, endsAt, generatorURL})"` + "\n", 2},
		{"resolved", "POST", "/api/v2/alerts",
			`[{"labels":{"alertname":"Disk","severity":"warning","site":"plant-a"},"endsAt":"` + at(-time.Second) + `"}]`, 200, "", "", 1},
		{"list", "GET", "/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true&receiver=&filter=alertname%3D%22HighLoad%22", "", 200, "application/json; charset=utf-8",
			`~"labels":{"alertname":"HighLoad","instance":"h1","severity":"critical","site":"plant-a"}`, 1},
		{"list, filtered out", "GET", "/api/v2/alerts?filter=" + url.QueryEscape(`{severity=~"warn.*"}`), "", 200, "application/json; charset=utf-8", "[]\n", 1},
		{"list, another receiver", "GET", "/api/v2/alerts?receiver=pager", "", 200, "application/json; charset=utf-8", "[]\n", 1},
		{"list, bad filter", "GET", "/api/v2/alerts?filter=" + url.QueryEscape(`severity=~"("`), "", 400, "application/json; charset=utf-8", `~error parsing regexp: missing closing )`, 1},
		{"status", "GET", "/api/v2/status", "", 200, "application/json; charset=utf-8", `~"cluster":{"peers":[],"status":"disabled"},"config":{"original":"# yujing takes alerts here`, 1},
		{"webhook", "POST", "/api/v1/warnings/alertmanager", string(golden), 200, "application/json; charset=utf-8",
			`{"accepted":2,"group_key":"{}/{team=\"safety\"}:{alertname=\"HighLoad\"}"}` + "\n", 3},
		{"webhook version 3", "POST", "/api/v1/warnings/alertmanager", `{"version":"3","alerts":[]}`, 400, "application/json; charset=utf-8",
			`{"error":"bad payload: version \"3\": want \"4\" (Alertmanager's webhook payload)"}` + "\n", 3},
		{"too big", "POST", "/api/v2/alerts", "[" + strings.Repeat(" ", 8<<20) + "]", 413, "application/json; charset=utf-8",
			`"body larger than 8388608 bytes: send fewer alerts at a time"` + "\n", 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, ctype, body := call(t, c.method, srv.URL+c.path, c.body)
			if code != c.code || ctype != c.ctype {
				t.Errorf("%d %q, want %d %q; body %s", code, ctype, c.code, c.ctype, body)
			}
			if want, part := strings.CutPrefix(c.want, "~"); part && !strings.Contains(body, want) || !part && body != c.want {
				t.Errorf("body %s\nwant %s", body, c.want)
			}
			b.mu.Lock()
			n := len(b.open)
			b.mu.Unlock()
			if n != c.open {
				t.Errorf("%d warnings open, want %d", n, c.open)
			}
		})
	}
	var st struct {
		VersionInfo map[string]string `json:"versionInfo"`
		Uptime      time.Time         `json:"uptime"`
	}
	_, _, body := call(t, "GET", srv.URL+"/api/v2/status", "")
	if err := json.Unmarshal([]byte(body), &st); err != nil || st.VersionInfo["version"] != "yujing 1.2.3" || st.Uptime.IsZero() {
		t.Errorf("status %s: %v", body, err)
	}
}

// Without the configuration's alertmanager section, the API says so.
func TestAlertmanagerAPIOff(t *testing.T) {
	srv, _ := alertmanagerServer(t, false)
	for _, p := range []struct{ method, path string }{{"POST", "/api/v2/alerts"}, {"GET", "/api/v2/alerts"}, {"GET", "/api/v2/status"}, {"POST", "/api/v1/warnings/alertmanager"}} {
		code, _, body := call(t, p.method, srv.URL+p.path, "[]")
		if code != 404 || !strings.Contains(body, "add an alertmanager: section to the configuration") {
			t.Errorf("%s %s: %d %s", p.method, p.path, code, body)
		}
	}
}
