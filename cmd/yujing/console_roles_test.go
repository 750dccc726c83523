package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"yujing/config"
)

// TestConsoleRolesInBrowser: the console offers each role what the API
// lets it do, and nothing more (web/auth/rules.go). A viewer and an
// operator see the sensors, silences and unregistered topics but no
// button to add, edit, import, delete, register, silence or end a silence;
// the users and audit pages are neither in their menu nor drawn when
// typed in; the operator acknowledges warnings. An admin sees all of it.
// For each refused control the API is asked too: 403.
func TestConsoleRolesInBrowser(t *testing.T) {
	env := newConsoleEnv(t, func(c *config.Config) { c.MQTT.Discovery = true })
	alert := env.redAlert()
	publish(t, publisher(t, env.inst.mqtt), "yujing/demo-plant/GT-170", `{"value": 1}`)
	if code := env.admin.do("POST", "/api/v1/silences", map[string]any{"matchers": map[string]string{"sensor": "TK-201"}, "ends_at": time.Now().Add(time.Hour), "comment": "储罐检修"}, nil); code != http.StatusCreated {
		t.Fatalf("silence: %d", code)
	}
	// The controls each screen has for an admin alone, and whether an
	// operator has the warning's actions.
	adminOnly := map[string][]string{
		"#/sensors":                         {"#sensor-add", "#sensor-import", "button.sensor-delete", "a[data-edit]"},
		"#/silences":                        {"#sl-new", "button.expire"},
		"#/silences/new":                    {"#silence-form"},
		"#/discovered":                      {"a.register"},
		fmt.Sprintf("#/alert/%d", alert.ID): {"#silence-link"},
	}
	ready := map[string]string{
		"#/sensors":                         `document.querySelector("#sensor-table tbody tr") !== null`,
		"#/silences":                        `document.querySelector("#silences tbody tr") !== null`,
		"#/silences/new":                    `document.querySelector("#silences tbody tr") !== null`,
		"#/discovered":                      `document.querySelector('#discovered tr[data-topic="yujing/demo-plant/GT-170"]') !== null`,
		fmt.Sprintf("#/alert/%d", alert.ID): `document.querySelector("article.detail") !== null`,
	}
	adminPages := []string{"#/users", "#/audit", "#/sensor", "#/sensor/GT-101", "#/sensorimport"}

	for _, role := range []string{"viewer", "operator", "admin"} {
		t.Run(role, func(t *testing.T) {
			p := env.browser(t, role)
			admin := role == "admin"
			var menu []string
			p.eval(`[...document.querySelectorAll("#nav a")].map(a => a.dataset.page)`, &menu)
			has := strings.Join(menu, ",")
			for _, page := range []string{"board", "sensors", "duty", "stats", "silences"} {
				if !strings.Contains(has, page) {
					t.Errorf("menu %s lacks %s", has, page)
				}
			}
			for _, page := range []string{"users", "audit"} {
				if strings.Contains(has, page) != admin {
					t.Errorf("menu %s: %s there = %v, want %v", has, page, !admin, admin)
				}
			}
			for route, sels := range adminOnly {
				p.goTo(route, ready[route])
				for _, sel := range sels {
					if n := p.count(sel); (n > 0) != admin {
						t.Errorf("%s: %d × %s, want them only for an admin", route, n, sel)
					}
				}
				if strings.HasPrefix(route, "#/alert/") {
					if n := p.count("#ack"); (n > 0) != (role != "viewer") {
						t.Errorf("%s: %d acknowledge buttons for a %s", route, n, role)
					}
				}
				p.shot(fmt.Sprintf("roles-%s-%s-1920", role, strings.NewReplacer("#/", "", "/", "-").Replace(route)))
			}
			for _, route := range adminPages {
				p.do("type in "+route, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`location.hash = %q`, route)))
				if admin {
					p.wait(route+" drawn", `document.querySelector("#forbidden") === null && document.querySelector("#view form, #view table, #view .card") !== null`, 10*time.Second)
				} else {
					p.wait(route+" refused", `document.querySelector("#forbidden") !== null`, 10*time.Second)
				}
			}
		})
	}

	// The API refuses what the console does not offer.
	for _, c := range []struct {
		role         string
		api          *consoleAPI
		method, path string
		body         any
	}{
		{"viewer", env.viewer, "POST", "/api/v1/silences", map[string]any{"matchers": map[string]string{"sensor": "GT-101"}, "ends_at": time.Now().Add(time.Hour), "comment": "x"}},
		{"operator", env.operator, "POST", "/api/v1/silences", map[string]any{"matchers": map[string]string{"sensor": "GT-101"}, "ends_at": time.Now().Add(time.Hour), "comment": "x"}},
		{"operator", env.operator, "DELETE", "/api/v1/silences/1", nil},
		{"operator", env.operator, "POST", "/api/v1/sensors", map[string]string{"id": "X-1", "site": "demo-plant", "family": "gas"}},
		{"operator", env.operator, "DELETE", "/api/v1/sensors/GT-101", nil},
		{"operator", env.operator, "POST", "/api/v1/sensors/import?dry_run=1", []any{}},
		{"operator", env.operator, "GET", "/api/v1/users", nil},
		{"operator", env.operator, "GET", "/api/v1/audit", nil},
		{"viewer", env.viewer, "GET", "/api/v1/tokens", nil},
		{"viewer", env.viewer, "POST", fmt.Sprintf("/api/v1/alerts/%d/ack", alert.ID), map[string]string{}},
	} {
		if code := c.api.do(c.method, c.path, c.body, nil); code != http.StatusForbidden {
			t.Errorf("%s %s %s: status %d, want 403", c.role, c.method, c.path, code)
		}
	}
}
