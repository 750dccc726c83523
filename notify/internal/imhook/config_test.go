package imhook

import (
	"testing"

	"yujing"
	"yujing/message"
)

func TestParseURL(t *testing.T) {
	const token = "SECRETTOKEN"
	for _, c := range []struct{ in, err string }{
		{"https://oapi.dingtalk.com/robot/send?access_token=" + token, ""},
		{"http://127.0.0.1:8080/robot/send?access_token=" + token, ""},
		{"http://localhost/hook/" + token, ""},
		{"", "webhook is empty"},
		{"http://oapi.dingtalk.com/robot/send?access_token=" + token, `webhook scheme "http" is not https`},
		{"ftp://x/" + token, `webhook scheme "ftp" is not https`},
		{"https:///robot/send?access_token=" + token, "webhook has no host"},
		{"https://exa mple.com/?access_token=" + token, "webhook is not a valid URL"},
	} {
		u, err := ParseURL(c.in)
		if c.err == "" {
			if err != nil || u.String() != c.in {
				t.Errorf("ParseURL(%q) = %v, %v", c.in, u, err)
			}
			continue
		}
		if err == nil || err.Error() != c.err {
			t.Errorf("ParseURL(%q) error %v, want %q", c.in, err, c.err)
		}
	}
}

func TestMentionLevelAndLang(t *testing.T) {
	for _, c := range []struct {
		in   string
		want yujing.Level
		err  string
	}{
		{"", yujing.Orange, ""},
		{" none ", yujing.LevelNone, ""},
		{"red", yujing.Red, ""},
		{"blue", yujing.Blue, ""},
		{"purple", 0, `mention_level: unknown level "purple"`},
	} {
		got, err := MentionLevel(c.in)
		if c.err != "" {
			if err == nil || err.Error()[:len(c.err)] != c.err {
				t.Errorf("MentionLevel(%q) error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("MentionLevel(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for lang, want := range map[string]string{"": "", "zh-CN": "", "en": "", "fr": `lang "fr" is not zh-CN or en`} {
		err := CheckLang(lang)
		if (err == nil) != (want == "") || err != nil && err.Error() != want {
			t.Errorf("CheckLang(%q) = %v, want %q", lang, err, want)
		}
	}
}

func TestRendererAndButton(t *testing.T) {
	r, err := Renderer(nil, "")
	if err != nil || r.Lang() != message.LangZH || AnswerButton(r) != "收到 / 确认" {
		t.Fatalf("Renderer(nil, \"\") = %v, %v", r, err)
	}
	own, err := message.New(message.LangZH, nil, map[string]string{"im.title": `定制 {{.Colour}}`})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := Renderer(own, ""); err != nil || r != own {
		t.Errorf("Renderer(own, \"\") = %v, %v; want own", r, err)
	}
	en, err := Renderer(own, message.LangEN)
	if err != nil || en.Lang() != message.LangEN || AnswerButton(en) != "Received / confirm" {
		t.Errorf("Renderer(own, en) = %v, %v", en, err)
	}
	if _, err := Renderer(nil, "fr"); err == nil {
		t.Error("Renderer(nil, fr) succeeded")
	}
}
