package sitestatus_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"yujing"
	"yujing/internal/fakeclock"
	"yujing/sitestatus"
	"yujing/store/sqlite"
)

// TestBoard sets statuses on a real state database: each change is kept
// with who and why, the latest is the site's status (normal when none was
// set), a reopened board has them, and bad changes are refused with every
// reason at once.
func TestBoard(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "state.db")
	st, err := sqlite.OpenState(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	clk := fakeclock.New(time.Now().Truncate(time.Second))
	known := func(site string) bool { return site == "mine" || site == "plant" }
	b, err := sitestatus.Open(ctx, st, known, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Status("mine"); got != yujing.StatusNormal {
		t.Errorf("status before any: %s, want normal", got)
	}
	if _, err := b.Set(ctx, "mine", yujing.StatusOrderedStopped, "li", "某应急停字〔2026〕12号"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(48 * time.Hour)
	if _, err := b.Set(ctx, "mine", yujing.StatusRectifying, "wang", "整改方案已备案"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		site, status, by, reason, want string
	}{
		{"nowhere", "normal", "li", "x", `site "nowhere" is not defined`},
		{"mine", "stopped", "li", "x", `status "stopped": want one of normal, ordered_stopped, rectifying, suspended, closed`},
		{"mine", "normal", " ", " ", "by: who sets the status is required\nreason: why"},
		{"mine", "normal", "li", strings.Repeat("因", sitestatus.MaxReason+1), "reason: 501 characters, at most 500"},
	} {
		_, err := b.Set(ctx, c.site, yujing.ProductionStatus(c.status), c.by, c.reason)
		if !errors.Is(err, sitestatus.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Set(%s, %s, %q, %.10q): %v, want ErrInvalid saying %q", c.site, c.status, c.by, c.reason, err, c.want)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = sqlite.OpenState(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b, err = sitestatus.Open(ctx, st, known, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := b.Get("mine"); !ok || got.Status != yujing.StatusRectifying || got.By != "wang" || !got.Since.Equal(clk.Now()) {
		t.Errorf("after reopening: %+v, %v; want rectifying by wang since now", got, ok)
	}
	if got := b.Status("plant"); got != yujing.StatusNormal {
		t.Errorf("plant: %s, want normal", got)
	}
	h, err := b.History(ctx, "mine", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 2 || h[0].Status != yujing.StatusRectifying || h[1].Status != yujing.StatusOrderedStopped ||
		h[1].By != "li" || h[1].Reason != "某应急停字〔2026〕12号" || !h[1].Since.Equal(clk.Now().Add(-48*time.Hour)) {
		t.Errorf("history %+v", h)
	}
	if all := b.All(); len(all) != 1 || all[0].Site != "mine" {
		t.Errorf("All() = %+v", all)
	}
}
