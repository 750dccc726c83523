package email

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/mail"
	"strings"
	"testing"

	"yujing"
	"yujing/notify"
)

// TestSendGroup: a group goes out as one e-mail, the first call's, whose
// note (说明) lists every call.
func TestSendGroup(t *testing.T) {
	srv := newServer(t, modePlain)
	e := newChannel(t, srv.config(TLSNone))
	a, b := testCall("42-1-p1-email"), testCall("43-1-p1-email")
	b.Alert.ID, b.Alert.Sensor = 43, "wl-04"
	lead := a
	lead.Alert.Message = "qiantang-gauge 2 条预警：红色 wl-03 7.32m；红色 wl-04 7.32m"
	if _, err := e.SendGroup(t.Context(), notify.Group{Call: lead, Members: []yujing.Call{a, b}}); err != nil {
		t.Fatal(err)
	}
	got := srv.messages()
	if len(got) != 1 {
		t.Fatalf("%d messages, want 1", len(got))
	}
	msg, err := mail.ReadMessage(bytes.NewReader(got[0].data))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(msg.Body)
	body, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(string(raw), "\r\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), "说明："+lead.Alert.Message) {
		t.Errorf("body does not list the group:\n%s", body)
	}
}
