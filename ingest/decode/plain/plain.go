// Package plain decodes a bare number, as simple transmitters and PLC
// gateways publish it, optionally followed by a unit:
//
//	31.5
//	31.5 %LEL
//	-3e2
//	 0.41MPa
//
// Leading and trailing white space (a trailing newline) is ignored. The
// number is decimal with an optional sign, fraction and exponent. A unit,
// when present, starts with a letter or one of % ‰ ° ℃ ℉ and holds no white
// space. Config.Unit pins the unit a sensor must send: another unit is
// refused with ReasonBadValue; a bare number is still accepted. The point has
// the sensor's default metric and the time of receipt.
package plain

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"yujing/ingest/decode"
)

// Name is the registry name of the default decoder.
const Name = "plain"

// maxUnit bounds the unit suffix; longer text is not a unit.
const maxUnit = 32

// Config tunes a decoder. The zero value is the default decoder.
type Config struct {
	// Name is the registry name; default "plain". Give a custom decoder
	// its own name (e.g. "plain-lel") so it can sit beside the default.
	Name string
	// Unit, when set, is the only unit suffix accepted, e.g. "%LEL".
	// Units are compared exactly: "MPa" is not "mpa".
	Unit string
}

// Decoder decodes a bare number. It holds no state and is safe for
// concurrent use.
type Decoder struct {
	name string
	unit string
}

// New returns a decoder for cfg, or an error naming the bad setting.
func New(cfg Config) (*Decoder, error) {
	d := Default()
	if cfg.Name != "" {
		d.name = cfg.Name
	}
	if cfg.Unit != "" {
		if !validUnit([]byte(cfg.Unit)) {
			return nil, fmt.Errorf("plain: unit %q: want a letter or %% ‰ ° ℃ ℉ first, no white space, at most %d bytes", cfg.Unit, maxUnit)
		}
		d.unit = cfg.Unit
	}
	return d, nil
}

// Default returns the decoder registered as "plain", accepting any unit.
func Default() *Decoder { return &Decoder{name: Name} }

// Name implements decode.Decoder.
func (d *Decoder) Name() string { return d.name }

// Decode implements decode.Decoder.
func (d *Decoder) Decode(dst []decode.Point, payload []byte) ([]decode.Point, error) {
	p := bytes.TrimSpace(payload)
	if len(p) == 0 {
		return dst, decode.Errorf(decode.ReasonMalformed, "", "empty payload")
	}
	n := numberLen(p)
	if n == 0 {
		if nonFinite(p) {
			return dst, decode.Errorf(decode.ReasonNotFinite, "", "%q is not a finite number", clip(p))
		}
		return dst, decode.Errorf(decode.ReasonMalformed, "", "want a number with an optional unit, got %q", clip(p))
	}
	unit := bytes.TrimLeft(p[n:], " \t")
	if len(unit) > 0 && (!validUnit(unit) || radixPrefix(p[:n], p[n:])) {
		return dst, decode.Errorf(decode.ReasonMalformed, "", "want a number with an optional unit, got %q", clip(p))
	}
	if len(unit) > 0 && d.unit != "" && string(unit) != d.unit {
		return dst, decode.Errorf(decode.ReasonBadValue, "", "unit %s, want %s", unit, d.unit)
	}
	f, err := strconv.ParseFloat(string(p[:n]), 64)
	if err != nil && math.IsInf(f, 0) {
		return dst, decode.Errorf(decode.ReasonNotFinite, "", "%s is not a finite number", p[:n])
	}
	if err != nil { // cannot happen: numberLen checked the syntax
		return dst, decode.Errorf(decode.ReasonMalformed, "", "invalid number %q: %v", p[:n], err)
	}
	return append(dst, decode.Point{Value: f}), nil
}

// numberLen returns the length of the decimal number p starts with
// ([+-] digits [. digits] [e [+-] digits], or [+-] . digits …), or 0.
func numberLen(p []byte) int {
	i := 0
	if i < len(p) && (p[i] == '+' || p[i] == '-') {
		i++
	}
	int0 := i
	for i < len(p) && isDigit(p[i]) {
		i++
	}
	digits := i - int0
	if i < len(p) && p[i] == '.' {
		i++
		frac0 := i
		for i < len(p) && isDigit(p[i]) {
			i++
		}
		digits += i - frac0
	}
	if digits == 0 {
		return 0
	}
	if i < len(p) && (p[i] == 'e' || p[i] == 'E') {
		j := i + 1
		if j < len(p) && (p[j] == '+' || p[j] == '-') {
			j++
		}
		exp0 := j
		for j < len(p) && isDigit(p[j]) {
			j++
		}
		if j > exp0 { // otherwise the e starts a unit ("5em" is not 5e…)
			i = j
		}
	}
	return i
}

// radixPrefix reports whether num and the text right after it spell a
// hexadecimal literal (0x1F), which is not 0 in the unit "x1F".
func radixPrefix(num, after []byte) bool {
	num = bytes.TrimLeft(num, "+-")
	if string(num) != "0" || len(after) == 0 {
		return false
	}
	return after[0] == 'x' || after[0] == 'X'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// nonFinite reports whether p spells NaN or an infinity, with any sign,
// case and unit.
func nonFinite(p []byte) bool {
	if len(p) > 0 && (p[0] == '+' || p[0] == '-') {
		p = p[1:]
	}
	for _, w := range []string{"infinity", "inf", "nan"} {
		if len(p) >= len(w) && bytes.EqualFold(p[:len(w)], []byte(w)) {
			rest := p[len(w):]
			return len(rest) == 0 || !unicode.IsLetter(rune(rest[0]))
		}
	}
	return false
}

// validUnit reports whether u looks like a unit: a letter or a unit sign
// first, no white space or control characters, valid UTF-8, short.
func validUnit(u []byte) bool {
	if len(u) == 0 || len(u) > maxUnit || !utf8.Valid(u) {
		return false
	}
	first, _ := utf8.DecodeRune(u)
	if !unicode.IsLetter(first) && !strings.ContainsRune("%‰°℃℉", first) {
		return false
	}
	for _, r := range string(u) {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return false
		}
	}
	return true
}

func clip(p []byte) string {
	if len(p) > 32 {
		return string(p[:32]) + "…"
	}
	return string(p)
}
