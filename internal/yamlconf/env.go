package yamlconf

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// expansion is a string value as written (raw) and as expanded (value).
type expansion struct {
	at         Pos
	raw, value string
	vars       []string
}

// expandEnv replaces ${NAME} and ${NAME:-default} in a string value with the
// environment variable, so secrets need not sit in the file. "$$" is a
// literal "$". Any other "$" is kept as it is.
func expandEnv(s string, lookup func(string) (string, bool)) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return "", fmt.Errorf("unterminated ${ in %q", s)
			}
			expr := s[i+2 : i+end]
			name, def, hasDef := strings.Cut(expr, ":-")
			if !validEnvName(name) {
				return "", fmt.Errorf("invalid environment variable name %q", name)
			}
			val, ok := lookup(name)
			switch {
			case ok && val != "":
				b.WriteString(val)
			case hasDef:
				b.WriteString(def)
			case ok:
			default:
				return "", fmt.Errorf("environment variable %s is not set (write ${%s:-default} to allow that)", name, name)
			}
			i += end
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// minRedact is the length from which Redact replaces an expanded value or
// an environment variable's value wherever a message quotes it; shorter
// ones only in an error at the value's own place.
const minRedact = 6

// Redact rewrites the messages of err (an Errors, an *Error, or anything
// else as one message) so that each value ${VAR} expanded reads as written
// in the file, and what the environment gave reads as ${VAR}: errors show
// the configuration, never a secret.
func (d *Decoder) Redact(err error) error {
	if err == nil || len(d.expanded) == 0 {
		return err
	}
	var es Errors
	var e *Error
	switch {
	case errors.As(err, &es):
	case errors.As(err, &e):
		es = Errors{e}
	default:
		return errors.New(d.redact(err.Error(), Pos{}))
	}
	out := make(Errors, len(es))
	for i, e := range es {
		out[i] = &Error{Pos: e.Pos, Msg: d.redact(e.Msg, e.Pos)}
	}
	return out
}

func (d *Decoder) redact(msg string, at Pos) string {
	exps := slices.Clone(d.expanded)
	slices.SortStableFunc(exps, func(a, b expansion) int { return len(b.value) - len(a.value) })
	local := map[string]bool{} // variables expanded at this place
	for _, x := range exps {
		if x.at == at {
			for _, v := range x.vars {
				local[v] = true
			}
		}
		if x.value != "" && (x.at == at || len(x.value) >= minRedact) {
			msg = replaceValue(msg, x.value, x.raw)
		}
	}
	names := slices.Collect(maps.Keys(d.vars))
	slices.SortFunc(names, func(a, b string) int {
		if c := len(d.vars[b]) - len(d.vars[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	for _, name := range names {
		if v := d.vars[name]; len(v) >= minRedact || local[name] {
			msg = replaceValue(msg, v, "${"+name+"}")
		}
	}
	return msg
}

// replaceValue replaces value in msg with raw, also where msg quotes it
// with %q.
func replaceValue(msg, value, raw string) string {
	if q := strconv.Quote(value); q[1:len(q)-1] != value {
		qr := strconv.Quote(raw)
		msg = strings.ReplaceAll(msg, q[1:len(q)-1], qr[1:len(qr)-1])
	}
	return strings.ReplaceAll(msg, value, raw)
}
