package main

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"yujing"
	"yujing/config"
	"yujing/store/sqlstate"
)

// TestConsoleBoardPagesInBrowser: a flood has left 1 100 warnings open.
// The board shows the first 200 in the duty room's order — red first,
// the longest waiting first — with the total, the next 200 after 显示更多,
// a level filtered by the server, and counters in the header that count
// every open warning (before, the console read at most 1 000 and counted
// those: 250 red shown for 275). Then a burst of readings raises a new red
// warning: the counters, the total and the alarm follow without a reload.
func TestConsoleBoardPagesInBrowser(t *testing.T) {
	const open = 1100 // blue, yellow, orange, red in turn: 275 each
	env := newConsoleEnv(t, func(cfg *config.Config) {
		ctx := context.Background()
		st, err := sqlstate.OpenSQLite(ctx, filepath.Join(cfg.DataDir, "state.db"), sqlstate.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		// Started in the last ten minutes, half a second apart: none is
		// overdue yet (督办 would add a transition and calls for each of
		// them at start, a storm of its own).
		t0 := time.Now().Add(-10 * time.Minute)
		for i := range open {
			at := t0.Add(time.Duration(i) * 500 * time.Millisecond)
			a := yujing.Alert{Rule: "gas-lel", Sensor: fmt.Sprintf("FLOOD-%04d", i), Site: "demo-plant", Family: yujing.FamilyGas,
				Metric: "lel", Unit: "%LEL", Level: yujing.Levels[i%4], State: yujing.StateAcknowledged, AckedBy: "earlier", AckedAt: &at,
				Value: 60, StartedAt: at, UpdatedAt: at}
			if err := st.CreateAlert(ctx, &a, &yujing.Transition{At: at, Event: yujing.EventRaised, ToLevel: a.Level, ToState: a.State}); err != nil {
				t.Fatal(err)
			}
		}
	})
	p := env.browser(t, "viewer")
	p.goTo("#/board", `document.querySelectorAll("#alerts tbody tr").length === 200`)
	if got := p.text("#shown"); got != "显示 200 条，共 1100 条" {
		t.Errorf("the board's count %q, want 显示 200 条，共 1100 条", got)
	}
	var order []string
	p.eval(`[...document.querySelectorAll("#alerts tbody tr")].map(r => r.dataset.level + " " + r.querySelector("[data-sensor]").dataset.sensor)`, &order)
	// Red are FLOOD-0003, 0007, …: the oldest red first, 200 of 275.
	if len(order) != 200 || order[0] != "red FLOOD-0003" || order[1] != "red FLOOD-0007" || order[199] != "red FLOOD-0799" {
		t.Errorf("the first page: %d rows, first %q, %q, last %q; want 200 red from FLOOD-0003 by age to FLOOD-0799", len(order), first(order, 0), first(order, 1), first(order, 199))
	}
	p.wait("the counters", `document.querySelector('#counters .count[data-level="red"] b').textContent === "275"`, 10*time.Second)
	for _, l := range []string{"orange", "yellow", "blue"} {
		if got := p.text(fmt.Sprintf(`#counters .count[data-level="%s"] b`, l)); got != "275" {
			t.Errorf("the %s counter %q, want 275", l, got)
		}
	}
	p.shot("board-flood-1920")

	p.click("show more", "#board-more")
	p.wait("the next page", `document.querySelectorAll("#alerts tbody tr").length === 400`, 10*time.Second)
	p.eval(`[...document.querySelectorAll("#alerts tbody tr")].map(r => r.dataset.level + " " + r.querySelector("[data-sensor]").dataset.sensor)`, &order)
	if order[274] != "red FLOOD-1099" || order[275] != "orange FLOOD-0002" {
		t.Errorf("after 显示更多: row 275 %q and 276 %q, want the last red FLOOD-1099 then the oldest orange FLOOD-0002", first(order, 274), first(order, 275))
	}

	// The red counter's link: the server filters the level.
	p.click("the orange counter", `#counters .count[data-level="orange"]`)
	p.wait("orange only", `location.hash.includes("level=orange") && document.querySelectorAll("#alerts tbody tr").length === 200 && document.querySelector("#shown").textContent === "显示 200 条，共 275 条"`, 10*time.Second)
	if n := p.count(`#alerts tbody tr:not([data-level="orange"])`); n != 0 {
		t.Errorf("the orange board has %d rows of other levels", n)
	}

	// A live burst: 50 red readings on the demo's gas detector raise one
	// warning (one per rule and sensor); the board and the counter follow.
	pub := publisher(t, env.inst.mqtt)
	for i := range 50 {
		publish(t, pub, "yujing/demo-plant/GT-101", fmt.Sprintf(`{"value": %d}`, 60+i%5))
	}
	p.goTo("#/board?level=red", `document.querySelector("#shown").textContent === "显示 200 条，共 276 条"`)
	p.wait("the red counter", `document.querySelector('#counters .count[data-level="red"] b').textContent === "276"`, 10*time.Second)
	// The flood's warnings were acknowledged: the alarm is for the new one.
	p.wait("the banner and the alarm", `!document.querySelector("#banner").hidden && document.querySelector("#banner").textContent.includes("罐区可燃气体探测器") && (document.querySelector("#alarm-pending") || {}).textContent === "1 条红色、橙色预警未响应，报警声每 30 秒重复一次，直到有人确认响应"`, 10*time.Second)
}

// first is xs[i], or "" past its end.
func first(xs []string, i int) string {
	if i < len(xs) {
		return xs[i]
	}
	return ""
}
