package json

import (
	"strconv"
	"time"

	"yujing/ingest/decode"
)

// fast decodes the payloads nearly every sensor sends, {"value": N} and
// {"value": N, "ts": T} in either order with T whole epoch milliseconds,
// without encoding/json (1.5 µs and 8 allocations a message, BENCHMARKS.md)
// and without allocating. p is trimmed and starts with '{'. ok is false for
// anything else — other or repeated keys, keys spelt otherwise (encoding/json
// matches them case-insensitively), escapes, null, strings, a timestamp
// with a fraction or exponent, a number out of range, any syntax error — and
// the caller decodes it the general way, which also words the errors.
// FuzzFastAgrees checks that both ways give the same point.
func fast(dst []decode.Point, p []byte) (_ []decode.Point, ok bool) {
	var pt decode.Point
	hasValue, hasTS := false, false
	i := skipSpace(p, 1)
	for {
		// A key: exactly "value" or "ts".
		if i >= len(p) || p[i] != '"' {
			return dst, false
		}
		var isValue bool
		switch {
		case hasPrefixAt(p, i, `"value"`):
			isValue, i = true, i+len(`"value"`)
		case hasPrefixAt(p, i, `"ts"`):
			i += len(`"ts"`)
		default:
			return dst, false
		}
		i = skipSpace(p, i)
		if i >= len(p) || p[i] != ':' {
			return dst, false
		}
		i = skipSpace(p, i+1)
		end := scanNumber(p, i)
		if end == i {
			return dst, false
		}
		if isValue {
			if hasValue {
				return dst, false
			}
			v, err := strconv.ParseFloat(string(p[i:end]), 64)
			if err != nil {
				return dst, false // out of range: the general way reports it
			}
			pt.Value, hasValue = v, true
		} else {
			if hasTS {
				return dst, false
			}
			ms, ok := epochMillis(p[i:end])
			if !ok {
				return dst, false
			}
			pt.Time, hasTS = time.Unix(ms/1000, ms%1000*int64(time.Millisecond)).UTC(), true
		}
		i = skipSpace(p, end)
		if i >= len(p) {
			return dst, false
		}
		switch p[i] {
		case ',':
			i = skipSpace(p, i+1)
		case '}':
			if i+1 != len(p) || !hasValue {
				return dst, false
			}
			return append(dst, pt), true
		default:
			return dst, false
		}
	}
}

func hasPrefixAt(p []byte, i int, s string) bool {
	return len(p)-i >= len(s) && string(p[i:i+len(s)]) == s
}

// skipSpace skips JSON whitespace from i.
func skipSpace(p []byte, i int) int {
	for i < len(p) && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r') {
		i++
	}
	return i
}

// scanNumber returns the end of the JSON number starting at i, or i when
// there is none: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber(p []byte, i int) int {
	start := i
	if i < len(p) && p[i] == '-' {
		i++
	}
	switch {
	case i < len(p) && p[i] == '0':
		i++
	case i < len(p) && p[i] >= '1' && p[i] <= '9':
		i = digits(p, i)
	default:
		return start
	}
	if i < len(p) && p[i] == '.' {
		j := digits(p, i+1)
		if j == i+1 {
			return start
		}
		i = j
	}
	if i < len(p) && (p[i] == 'e' || p[i] == 'E') {
		i++
		if i < len(p) && (p[i] == '+' || p[i] == '-') {
			i++
		}
		j := digits(p, i)
		if j == i {
			return start
		}
		i = j
	}
	return i
}

func digits(p []byte, i int) int {
	for i < len(p) && p[i] >= '0' && p[i] <= '9' {
		i++
	}
	return i
}

// epochMillis parses a timestamp of whole milliseconds below 10¹⁵ (the
// general way accepts up to 10¹⁵, fractions and exponents too).
func epochMillis(num []byte) (int64, bool) {
	if len(num) == 0 || len(num) > 15 {
		return 0, false
	}
	var ms int64
	for _, c := range num {
		if c < '0' || c > '9' {
			return 0, false
		}
		ms = ms*10 + int64(c-'0')
	}
	return ms, true
}
