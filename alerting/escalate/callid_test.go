package escalate_test

import (
	"context"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"yujing"
)

// instanceTag is a state database's instance id: ten characters of the
// lower-case base32 alphabet.
var instanceTag = regexp.MustCompile(`^[a-z2-7]{10}$`)

// Call ids (and so the webhook's Idempotency-Key) are unique across state
// databases: two fresh ones make different ids for the same escalation,
// round, step, person and channel (issue 14 item 11: after the data
// directory was wiped, esc1-r0-s1-p1-p-hook went out for two different
// alerts, and a receiver that de-duplicates dropped the second). A restart
// on the same database makes the same ids, so nothing is called twice.
func TestCallIDsUniquePerStateDatabase(t *testing.T) {
	step1 := func(w *world) []string {
		var out []string
		for _, p := range w.rcv.calls(t, 2) {
			out = append(out, p.CallID)
		}
		slices.Sort(out)
		return out
	}
	a, b := newWorld(t), newWorld(t)
	for _, w := range []*world{a, b} {
		w.reading(60)
		w.at(0)
	}
	idsA, idsB := step1(a), step1(b)
	for i := range idsA {
		if idsA[i] == idsB[i] {
			t.Errorf("two state databases made the same call id %q", idsA[i])
		}
	}
	// The id still says what the call is, after the database's tag.
	for i, suffix := range []string{"-esc1-r0-s1-wang-d-sms", "-esc1-r0-s1-zhang-p-im"} {
		tag, ok := strings.CutSuffix(idsA[i], suffix)
		if !ok || !instanceTag.MatchString(tag) {
			t.Errorf("call id %q, want <instance tag>%s", idsA[i], suffix)
		}
	}

	a.restart()
	a.at(5 * time.Minute)
	got := a.rcv.calls(t, 3)
	want := strings.TrimSuffix(idsA[0], "-esc1-r0-s1-wang-d-sms") + "-esc1-r0-s2-chen-p-voice"
	if got[2].CallID != want {
		t.Errorf("step 2 after a restart: call id %q, want %q (the same database's tag)", got[2].CallID, want)
	}
	a.quiet(t, 3)
}

// In a database upgraded from a version without instance ids, an
// escalation from before the upgrade keeps naming its calls as then (so
// that a resumed one makes no call twice); a newer one's calls begin with
// the instance id.
func TestCallIDsAcrossUpgrade(t *testing.T) {
	w := &world{t: t, sensors: 2, clock: &clock{t: t0}, rcv: newReceiver(t), set: policies(), dir: directory(t),
		path: filepath.Join(t.TempDir(), "state.db"), legacy: 1}
	w.open()
	for _, sensor := range []string{"gas-1", "gas-2"} {
		w.eng.Observe(context.Background(), []yujing.Reading{{Sensor: sensor, Site: "plant-a", Family: yujing.FamilyGas,
			Metric: "lel", Unit: "%LEL", Value: 60, Time: w.clock.now()}})
		w.at(0)
	}
	var got []string
	for _, p := range w.rcv.calls(t, 4) {
		got = append(got, p.CallID)
	}
	slices.Sort(got)
	tag := w.st.InstanceID()
	want := []string{"esc1-r0-s1-wang-d-sms", "esc1-r0-s1-zhang-p-im", tag + "-esc2-r0-s1-wang-d-sms", tag + "-esc2-r0-s1-zhang-p-im"}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("call ids %q, want %q", got, want)
	}
}
