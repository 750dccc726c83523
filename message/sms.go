package message

import (
	"errors"
	"strings"
	"unicode/utf16"
)

// Length rules of a domestic Chinese SMS, as Alibaba Cloud and Tencent
// Cloud bill them (see README.md): every character counts one, whether
// Chinese, Latin, digit or punctuation; up to 70 characters is one message;
// a longer one is split into parts of 67.
const (
	SMSSegmentChars     = 70 // one-part message
	SMSLongSegmentChars = 67 // each part of a long message
	MaxSMSSegments      = 2  // yujing keeps every SMS within this many parts

	// SMSSignatureChars is what the text leaves for the signature the
	// provider puts in front of it, brackets included: "【某某市应急管理局】"
	// is 10.
	SMSSignatureChars = 12

	// MaxSMSTextChars is the longest SMS text Render returns: two parts of
	// a long message less the signature.
	MaxSMSTextChars = MaxSMSSegments*SMSLongSegmentChars - SMSSignatureChars

	// MaxSMSParamChars is the longest value of an SMS template parameter
	// other than "link": the strictest per-variable limit among the
	// providers (Tencent Cloud, accounts with personal verification: 12;
	// Huawei Cloud "other" variables: 20; Alibaba Cloud: 35 by default).
	MaxSMSParamChars = 12
)

// ErrSMSTooLong is returned, wrapped, by Render when even the brief form of
// the SMS text is longer than MaxSMSTextChars (an unusually long answer
// link). The returned Message is still filled in: SMSParams, which a
// template-based provider uses, are unaffected.
var ErrSMSTooLong = errors.New("sms text longer than two segments")

// SMS template parameters, the keys of Message.SMSParams. They avoid the
// names Alibaba Cloud refuses for variables (email, mobile, id, nick,
// site).
const (
	ParamLevel     = "level"     // 红色 / RED
	ParamFamily    = "family"    // 燃气 / gas
	ParamPlace     = "place"     // site name, shortened
	ParamSensor    = "sensor"    // sensor name, shortened
	ParamValue     = "value"     // 55.5%LEL
	ParamThreshold = "threshold" // 50%LEL
	ParamTime      = "time"      // 09:31, or 07-14 09:31 on another day
	ParamEvent     = "event"     // 发布, 升级, 解除 ... / raised, upgraded, cleared ...
	ParamDeadline  = "deadline"  // answer due: 09:46; "" when none
	ParamLink      = "link"      // the answer URL; "" when none; not shortened
)

// SMSParamNames lists the keys of Message.SMSParams.
var SMSParamNames = [...]string{ParamLevel, ParamFamily, ParamPlace, ParamSensor, ParamValue,
	ParamThreshold, ParamTime, ParamEvent, ParamDeadline, ParamLink}

// SMSChars counts the characters of s as an SMS does: UTF-16 code units,
// so a character outside the Basic Multilingual Plane (an emoji) counts
// two.
func SMSChars(s string) int {
	n := 0
	for _, r := range s {
		if utf16.RuneLen(r) == 2 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// SMSSegments returns how many messages a domestic SMS of text (signature
// included) is billed and sent as: 1 up to 70 characters, else one per 67.
func SMSSegments(text string) int {
	n := SMSChars(text)
	switch {
	case n == 0:
		return 0
	case n <= SMSSegmentChars:
		return 1
	default:
		return (n + SMSLongSegmentChars - 1) / SMSLongSegmentChars
	}
}

// shorten makes s safe for an SMS and at most max characters: the
// signature brackets 【】 and square brackets, which providers refuse in
// template text, become round ones; line breaks become spaces; a longer
// value is cut and ends with "…".
func shorten(s string, max int) string {
	s = smsSafe.Replace(strings.TrimSpace(s))
	if SMSChars(s) <= max {
		return s
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		w := SMSChars(string(r))
		if n+w > max-1 {
			break
		}
		b.WriteRune(r)
		n += w
	}
	return b.String() + "…"
}

var smsSafe = strings.NewReplacer("【", "(", "】", ")", "[", "(", "]", ")", "\r\n", " ", "\n", " ", "\r", " ")
