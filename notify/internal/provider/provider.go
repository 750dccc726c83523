// Package provider holds what the cloud SMS and voice channels share when
// they turn a provider's answer into an error: text made safe to log and
// show (no secrets, no phone numbers, no control characters, bounded), and
// the throttling window Alibaba Cloud names in its flow-control messages.
package provider

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Redact replaces every value of secrets (access keys, phone numbers) of
// four characters or more in text with "***". Shorter values are left:
// replacing them would mangle ordinary text and protect nothing.
func Redact(text string, secrets ...string) string {
	var pairs []string
	for _, v := range secrets {
		if v = strings.TrimSpace(v); len(v) >= 4 {
			pairs = append(pairs, v, "***")
		}
	}
	if len(pairs) == 0 {
		return text
	}
	return strings.NewReplacer(pairs...).Replace(text)
}

// Printable makes a provider's text fit for one log line: valid UTF-8,
// whitespace folded to single spaces, control characters dropped, at most
// max runes (0: no limit).
func Printable(s string, max int) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		if !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, s)
	return Clip(strings.Join(strings.Fields(s), " "), max)
}

// Clip keeps the first max runes of s (0: all of them).
func Clip(s string, max int) string {
	if max <= 0 || utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max])
}

// AliyunWindow reads the throttling window from an Alibaba Cloud
// flow-control message (触发分钟级/小时级/天级流控, or the English words):
// 0 when it names none.
func AliyunWindow(msg string) time.Duration {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "天级") || strings.Contains(m, "day"):
		return 24 * time.Hour
	case strings.Contains(m, "小时级") || strings.Contains(m, "hour"):
		return time.Hour
	case strings.Contains(m, "分钟级") || strings.Contains(m, "minute"):
		return time.Minute
	}
	return 0
}
