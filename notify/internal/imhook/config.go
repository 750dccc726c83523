package imhook

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"yujing"
	"yujing/message"
	"yujing/notify/internal/provider"
)

// ParseURL checks a robot's webhook URL from the configuration: https, or
// http to a loopback address (tests), with a host. The channel then checks
// where its platform keeps the token. Errors name the key webhook and
// never quote the URL, which holds the token.
func ParseURL(s string) (*url.URL, error) {
	if s == "" {
		return nil, errors.New("webhook is empty")
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return nil, errors.New("webhook is not a valid URL")
	case u.Scheme != "https" && !(u.Scheme == "http" && provider.Loopback(u.Hostname())):
		return nil, fmt.Errorf("webhook scheme %q is not https", u.Scheme)
	case u.Host == "":
		return nil, errors.New("webhook has no host")
	}
	return u, nil
}

// CheckLang reports a lang (the key lang) with no built-in templates; ""
// is the renderer's.
func CheckLang(lang string) error {
	if lang != "" && !message.ValidLang(lang) {
		return fmt.Errorf("lang %q is not %s or %s", lang, message.LangZH, message.LangEN)
	}
	return nil
}

// MentionLevel reads the key mention_level: the lowest level whose calls
// mention the person, blue, yellow, orange or red; "none" is
// yujing.LevelNone (never); "" is orange (orange and red).
func MentionLevel(s string) (yujing.Level, error) {
	switch s = strings.TrimSpace(s); s {
	case "":
		return yujing.Orange, nil
	case "none":
		return yujing.LevelNone, nil
	}
	l, err := yujing.ParseLevel(s)
	if err != nil {
		return l, fmt.Errorf("mention_level: %w, or none", err)
	}
	return l, nil
}

// Renderer is r in lang (r.WithLang), or, when r is nil, the built-in
// templates in lang.
func Renderer(r *message.Renderer, lang string) (*message.Renderer, error) {
	if r == nil {
		return message.New(lang, nil, nil)
	}
	return r.WithLang(lang)
}

// AnswerButton is the text of the button that opens the answer link, in
// the renderer's language.
func AnswerButton(r *message.Renderer) string {
	if r.Lang() == message.LangEN {
		return "Received / confirm"
	}
	return "收到 / 确认"
}
