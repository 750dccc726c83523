package alertmanager

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

// Fingerprints agree with Alertmanager's: the ones its own code wrote
// into the webhook golden files, and model.LabelSet.Fingerprint.
func TestFingerprintIsAlertmanagers(t *testing.T) {
	for _, name := range []string{"firing.json", "resolved.json"} {
		body, err := os.ReadFile(filepath.Join("testdata", "webhook", name))
		if err != nil {
			t.Fatal(err)
		}
		msg, _, err := DecodeWebhook(body)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range msg.Alerts {
			if got := Fingerprint(a.Labels); got != a.Fingerprint {
				t.Errorf("%s: Fingerprint(%v) = %s, Alertmanager wrote %s", name, a.Labels, got, a.Fingerprint)
			}
		}
	}
	for _, ls := range []map[string]string{
		{},
		{"alertname": "X"},
		{"alertname": "高负载", "站点": "一号厂区", "a": "", "b": "\xff"},
		{"a": "bc", "ab": "c"},
	} {
		mls := model.LabelSet{}
		for k, v := range ls {
			mls[model.LabelName(k)] = model.LabelValue(v)
		}
		if got, want := Fingerprint(ls), mls.Fingerprint().String(); got != want {
			t.Errorf("Fingerprint(%v) = %s, model says %s", ls, got, want)
		}
	}
}

func TestDecodePostable(t *testing.T) {
	t0 := "2026-01-02T03:04:05.123456789+08:00"
	for _, c := range []struct {
		name    string
		body    string
		n       int      // valid alerts
		errs    []string // parts of the error, in order
		payload bool     // the whole body is refused
	}{
		{"prometheus", `[{"labels":{"alertname":"HighLoad","severity":"critical","site":"plant-a"},"annotations":{"summary":"s"},"startsAt":"` + t0 + `","endsAt":"2026-01-02T03:08:05Z","generatorURL":"http://p:9090/graph"}]`, 1, nil, false},
		{"amtool: zero times, no annotations", `[{"labels":{"alertname":"x"},"annotations":{},"startsAt":"0001-01-01T00:00:00.000Z","endsAt":"0001-01-01T00:00:00.000Z","generatorURL":""}]`, 1, nil, false},
		{"unknown fields are ignored", `[{"labels":{"a":"b"},"status":"firing","extra":1}]`, 1, nil, false},
		{"empty list", `[]`, 0, nil, false},
		{"not a list", `{"labels":{}}`, 0, []string{"want a JSON array of alerts"}, true},
		{"not JSON", `[{"labels":`, 0, []string{"bad payload"}, true},
		{"empty body", ``, 0, []string{"want a JSON array"}, true},
		{"no labels", `[{"labels":{"a":"b"}},{"annotations":{"x":"y"}}]`, 1, []string{"alerts[1]: labels: at least one label with a value is required"}, false},
		{"only empty values", `[{"labels":{"a":""}}]`, 0, []string{`alerts[0] {a=""}: labels: at least one`}, false},
		{"empty label name", `[{"labels":{"":"v","a":"b"}}]`, 0, []string{`alerts[0] {="v", a="b"}: labels: a name is empty`}, false},
		{"end before start", `[{"labels":{"alertname":"X"},"startsAt":"2026-01-02T03:04:05Z","endsAt":"2026-01-02T03:00:00Z"}]`, 0,
			[]string{`alerts[0] {alertname="X"}: endsAt 2026-01-02T03:00:00Z is before startsAt 2026-01-02T03:04:05Z`}, false},
		{"bad time", `[{"labels":{"alertname":"X"},"startsAt":"yesterday"}]`, 0, []string{`alerts[0]: a time is not RFC 3339`, `yesterday`}, false},
		{"label value not a string", `[{"labels":{"alertname":1}}]`, 0, []string{`alerts[0]: labels.alertname: want a string, not a JSON number`}, false},
		{"two bad, one good", `[{"labels":{}},{"labels":{"a":"b"}},{"labels":{"c":"d"},"startsAt":"2026-01-02T03:04:05Z","endsAt":"2026-01-01T00:00:00Z"}]`, 1,
			[]string{"alerts[0]: labels", `alerts[2] {c="d"}: endsAt`}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			as, err := DecodePostable([]byte(c.body))
			if len(as) != c.n {
				t.Errorf("%d alerts, want %d", len(as), c.n)
			}
			if errors.Is(err, ErrPayload) != c.payload {
				t.Errorf("err %v: ErrPayload %v, want %v", err, errors.Is(err, ErrPayload), c.payload)
			}
			if len(c.errs) == 0 {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", c.errs)
			}
			msg, at := err.Error(), 0
			for _, want := range c.errs {
				i := strings.Index(msg[at:], want)
				if i < 0 {
					t.Fatalf("error %q lacks %q (after offset %d)", msg, want, at)
				}
				at += i + len(want)
			}
		})
	}
	as, err := DecodePostable([]byte(`[{"labels":{"alertname":"HighLoad","severity":"critical","empty":""},"annotations":{"summary":"s"},"startsAt":"` + t0 + `","generatorURL":"http://p/g"}]`))
	if err != nil {
		t.Fatal(err)
	}
	a := as[0]
	want, _ := time.Parse(time.RFC3339Nano, t0)
	if !a.StartsAt.Equal(want) || !a.EndsAt.IsZero() || a.GeneratorURL != "http://p/g" || a.Annotations["summary"] != "s" || a.Resolved || a.Webhook {
		t.Errorf("alert = %+v", a)
	}
	if _, ok := a.Labels["empty"]; ok || a.Fingerprint != Fingerprint(map[string]string{"alertname": "HighLoad", "severity": "critical"}) {
		t.Errorf("labels %v, fingerprint %s: the empty label should be dropped before fingerprinting, as Alertmanager does", a.Labels, a.Fingerprint)
	}
}

func TestDecodeWebhook(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "webhook", "firing.json"))
	if err != nil {
		t.Fatal(err)
	}
	msg, as, err := DecodeWebhook(body)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Version != "4" || msg.Receiver != "yujing" || msg.Status != "firing" || msg.GroupKey != `{}/{team="safety"}:{alertname="HighLoad"}` ||
		msg.CommonLabels["site"] != "plant-a" || msg.ExternalURL != "http://alertmanager.example:9093" || len(msg.Alerts) != 2 {
		t.Errorf("message = %+v", msg)
	}
	if len(as) != 2 || as[0].Resolved || !as[0].Webhook || as[0].Labels["severity"] != "critical" || as[1].Index != 1 ||
		as[0].Annotations["summary"] != "1号厂区服务器负载过高" || !as[0].EndsAt.IsZero() {
		t.Errorf("alerts = %+v", as)
	}
	body, err = os.ReadFile(filepath.Join("testdata", "webhook", "resolved.json"))
	if err != nil {
		t.Fatal(err)
	}
	_, as, err = DecodeWebhook(body)
	if err != nil || len(as) != 1 || !as[0].Resolved || as[0].EndsAt.IsZero() {
		t.Errorf("resolved: %+v, %v", as, err)
	}

	for _, c := range []struct{ name, body, want string }{
		{"version 3", `{"version":"3","alerts":[]}`, `bad payload: version "3": want "4"`},
		{"no version", `{"alerts":[]}`, `bad payload: version "": want "4"`},
		{"a list", `[]`, `bad payload: want a JSON object`},
		{"bad status", `{"version":"4","alerts":[{"status":"pending","labels":{"alertname":"X"}}]}`, `alerts[0] {alertname="X"}: status "pending": want firing or resolved`},
		{"no labels", `{"version":"4","alerts":[{"status":"firing","labels":{}}]}`, `alerts[0]: labels: at least one`},
		{"alerts not a list", `{"version":"4","alerts":{}}`, `bad payload: alerts: want a list, not a JSON object`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := DecodeWebhook([]byte(c.body))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}

// FuzzDecode feeds both decoders garbage: no panic, and every alert they
// return is one Receive can take (labels present, fingerprint theirs, end
// not before start).
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"firing.json", "resolved.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", "webhook", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`[{"labels":{"alertname":"X","severity":"critical"},"annotations":{"summary":"s"},"startsAt":"2026-01-02T03:04:05Z","endsAt":"2026-01-02T03:08:05Z"}]`))
	f.Add([]byte(`[{"labels":{"":""}},{"labels":null},null,1,"x"]`))
	f.Add([]byte(`{"version":"4","alerts":[null,{"status":"resolved","labels":{"a":"\u0000"}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		as, _ := DecodePostable(body)
		_, bs, _ := DecodeWebhook(body)
		for _, a := range append(as, bs...) {
			if len(a.Labels) == 0 || a.Fingerprint != Fingerprint(a.Labels) {
				t.Fatalf("alert %+v: no labels or a wrong fingerprint", a)
			}
			for n, v := range a.Labels {
				if n == "" || v == "" {
					t.Fatalf("alert %+v: an empty label name or value", a)
				}
			}
			if !a.StartsAt.IsZero() && !a.EndsAt.IsZero() && a.EndsAt.Before(a.StartsAt) {
				t.Fatalf("alert %+v: ends before it starts", a)
			}
		}
	})
}
