package config

import (
	"bytes"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"yujing/internal/yamlconf"
)

// A province's configuration lists up to a million sensors. yaml.v3 builds
// a node tree of the whole file first (about 2 KB and 16 µs per sensor),
// so the top-level sensors: list is read here directly when every item is
// written in the plain shape generated and hand-written lists have — one
// flow mapping a line, or a block mapping of one line per field — with
// only the scalar fields (id, name, site, family, region, industry,
// metric, unit, location, topic, decoder, interval) as plain or simply
// quoted scalars. Anything else in the list (comments after a value,
// nested fields such as range or tags, anchors, escapes, ${VAR}, a field
// twice, an unknown one) sends the whole file to yaml.v3 as before: the
// result, errors included, is the same either way (FuzzFastSensors).

// fastFields are the keys the fast path reads, by SensorFile field.
var fastFields = map[string]func(s *SensorFile, v string) bool{
	"id":       func(s *SensorFile, v string) bool { s.ID = v; return true },
	"name":     func(s *SensorFile, v string) bool { s.Name = v; return true },
	"site":     func(s *SensorFile, v string) bool { s.Site = v; return true },
	"family":   func(s *SensorFile, v string) bool { s.Family = v; return true },
	"region":   func(s *SensorFile, v string) bool { s.Region = v; return true },
	"industry": func(s *SensorFile, v string) bool { s.Industry = v; return true },
	"metric":   func(s *SensorFile, v string) bool { s.Metric = v; return true },
	"unit":     func(s *SensorFile, v string) bool { s.Unit = v; return true },
	"location": func(s *SensorFile, v string) bool { s.Location = v; return true },
	"topic":    func(s *SensorFile, v string) bool { s.Topic = v; return true },
	"decoder":  func(s *SensorFile, v string) bool { s.Decoder = v; return true },
	"interval": func(s *SensorFile, v string) bool {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return false // yaml.v3's path says what is wrong
		}
		s.Interval = d
		return true
	},
}

// fastSource is a file whose sensors the fast path read; a sensor keeps
// where its item starts, to find its fields' places when a check needs
// one (rarely: Fields is left nil, a map per sensor costs more than the
// rest of it).
type fastSource struct {
	file string
	data string
}

// fastItem is where a sensor's item starts: the byte offset of its first
// line and that line's number.
type fastItem struct {
	src  *fastSource
	off  int
	line int
}

// at returns the place of key's value in s, else s's own place.
func (s *SensorFile) at(key string) yamlconf.Pos {
	if s.Fields != nil || s.fast.src == nil {
		return s.Fields.At(key, s.Pos)
	}
	var again SensorFile
	fields := yamlconf.Fields{}
	p := fastParser{src: s.fast.src, fields: fields}
	p.item(&again, s.fast.off, s.fast.line)
	return fields.At(key, s.Pos)
}

// fastSensors reads the top-level sensors: list of data. It returns the
// sensors, and data with the list's lines emptied (line breaks kept, so
// every other place stays where it was) for yaml.v3 to read the rest, and
// the list's line; ok is false when the list is not there or not in the
// fast path's shape.
func fastSensors(file string, data []byte) (items []SensorFile, rest []byte, line int, seq yamlconf.Pos, ok bool) {
	if bytes.IndexByte(data, '\r') >= 0 || bytes.IndexByte(data, '\t') >= 0 || !utf8.Valid(data) {
		return nil, nil, 0, yamlconf.Pos{}, false
	}
	src := string(data) // one copy, sliced below; values are cloned out of it
	// The list's line and the lines it spans.
	start, end, line := -1, -1, 0
	first := true
	for off, n := 0, 1; off < len(src); n++ {
		eol := strings.IndexByte(src[off:], '\n')
		next := len(src)
		if eol >= 0 {
			next = off + eol + 1
		}
		text := strings.TrimRight(src[off:next], "\n")
		trimmed := strings.TrimLeft(text, " ")
		switch {
		case trimmed == "" || trimmed[0] == '#':
		case first && (text[0] == '{' || text[0] == '['):
			return nil, nil, 0, yamlconf.Pos{}, false // a flow mapping at the top
		case strings.HasPrefix(text, "---") || strings.HasPrefix(text, "...") || strings.HasPrefix(text, "%"):
			return nil, nil, 0, yamlconf.Pos{}, false // markers and directives
		case strings.HasPrefix(text, "sensors:") || strings.HasPrefix(text, "sensors "):
			if start >= 0 || strings.TrimRight(text, " ") != "sensors:" {
				return nil, nil, 0, yamlconf.Pos{}, false
			}
			start, line = next, n
		case start >= 0 && end < 0 && text[0] != ' ' && text[0] != '-':
			end = off
		}
		if trimmed != "" && trimmed[0] != '#' {
			first = false
		}
		off = next
	}
	if start < 0 {
		return nil, nil, 0, yamlconf.Pos{}, false
	}
	if end < 0 {
		end = len(data)
	}
	p := fastParser{src: &fastSource{file: file, data: src}, strs: map[string]string{}}
	if items, ok = p.list(start, end, line+1); !ok {
		return nil, nil, 0, yamlconf.Pos{}, false
	}
	seq = p.seq
	rest = make([]byte, 0, start+bytes.Count(data[start:end], []byte("\n"))+len(data)-end)
	rest = append(rest, data[:start]...)
	for range bytes.Count(data[start:end], []byte("\n")) {
		rest = append(rest, '\n')
	}
	rest = append(rest, data[end:]...)
	return items, rest, line, seq, true
}

type fastParser struct {
	src    *fastSource
	strs   map[string]string // one copy of each value that recurs (sites, families, units, names)
	fields yamlconf.Fields   // when set, item records its keys' places here
	skip   int               // lines of the last item list has still to pass
	seq    yamlconf.Pos      // the list's place: its first item's dash
}

func (p *fastParser) pos(line, col int) yamlconf.Pos {
	return yamlconf.Pos{File: p.src.file, Line: line, Col: col}
}

// lines splits data[start:end] into lines, each with its offset.
func (p *fastParser) lines(start, end int, fn func(off int, text string) bool) bool {
	data := p.src.data
	for off := start; off < end; {
		eol := strings.IndexByte(data[off:end], '\n')
		next := end
		if eol >= 0 {
			next = off + eol + 1
		}
		if !fn(off, strings.TrimSuffix(data[off:next], "\n")) {
			return false
		}
		off = next
	}
	return true
}

// list reads the items of the list in data[start:end], whose first line is
// line.
func (p *fastParser) list(start, end, line int) ([]SensorFile, bool) {
	n := 0
	p.lines(start, end, func(_ int, text string) bool {
		if strings.HasPrefix(strings.TrimLeft(text, " "), "- ") {
			n++
		}
		return true
	})
	items := make([]SensorFile, 0, n)
	dash := -1 // the items' indentation
	ok := p.lines(start, end, func(off int, text string) bool {
		defer func() { line++ }()
		trimmed := strings.TrimLeft(text, " ")
		indent := len(text) - len(trimmed)
		switch {
		case trimmed == "" || trimmed[0] == '#':
			return true
		case strings.HasPrefix(trimmed, "- ") && (dash < 0 || indent == dash):
			if dash < 0 {
				p.seq = p.pos(line, indent+1)
			}
			dash = indent
			var s SensorFile
			n, ok := p.item(&s, off, line)
			if !ok {
				return false
			}
			s.fast = fastItem{src: p.src, off: off, line: line}
			items = append(items, s)
			// The item's further lines are read by item: skip them.
			p.skip = n - 1
			return true
		case p.skip > 0 && indent > dash:
			p.skip--
			return true
		}
		return false
	})
	return items, ok && len(items) > 0
}

// item reads the item whose line starts at off into s: "- {k: v, ...}" or
// "- k: v" and the following "  k: v" lines. It returns how many lines the
// item takes.
func (p *fastParser) item(s *SensorFile, off, line int) (int, bool) {
	data := p.src.data
	eol := strings.IndexByte(data[off:], '\n')
	if eol < 0 {
		eol = len(data) - off
	}
	text := data[off : off+eol]
	dash := strings.IndexByte(text, '-')
	body := dash + 1
	for body < len(text) && text[body] == ' ' {
		body++
	}
	if body >= len(text) {
		return 0, false
	}
	var seen []string // a few keys: a slice costs less than a map
	set := func(key, val string, col int, null bool) bool {
		f, ok := fastFields[key]
		if !ok || slices.Contains(seen, key) {
			return false
		}
		seen = append(seen, key)
		if p.fields != nil {
			p.fields[key] = p.pos(line, col)
		}
		if null {
			return true
		}
		if p.strs != nil && key != "id" {
			if v, ok := p.strs[val]; ok {
				val = v
			} else {
				val = strings.Clone(val)
				p.strs[val] = val
			}
		} else {
			val = strings.Clone(val)
		}
		return f(s, val)
	}
	// Columns count characters, as yaml.v3's do.
	col := func(i int) int { return utf8.RuneCountInString(text[:i]) + 1 }
	if text[body] == '{' {
		s.Pos = p.pos(line, col(body))
		if !p.flow(text, body+1, func(key, val string, i int, null bool) bool { return set(key, val, col(i), null) }) {
			return 0, false
		}
		return 1, true
	}
	// A block mapping: its keys at column body+1, one a line.
	s.Pos = p.pos(line, col(body))
	n := 0
	for {
		key, val, at, null, ok := p.blockEntry(text[body:])
		if !ok || !set(key, val, col(body+at), null) {
			return 0, false
		}
		n++
		off += len(text) + 1
		line++
		if off >= len(data) {
			return n, true
		}
		eol := strings.IndexByte(data[off:], '\n')
		if eol < 0 {
			eol = len(data) - off
		}
		text = data[off : off+eol]
		trimmed := strings.TrimLeft(text, " ")
		if len(text)-len(trimmed) != body || trimmed == "" || trimmed[0] == '#' || trimmed[0] == '-' {
			// The next item, a blank or comment line, the end of the
			// list: or a line more indented (a continuation), which
			// list refuses.
			return n, true
		}
	}
}

// blockEntry reads "key: value" (the value to the end of the line);
// col is the value's offset in text.
func (p *fastParser) blockEntry(text string) (key, val string, col int, null, ok bool) {
	i := strings.Index(text, ": ")
	if i <= 0 || !plainKey(text[:i]) {
		return "", "", 0, false, false
	}
	key = text[:i]
	col = i + 2
	for col < len(text) && text[col] == ' ' {
		col++
	}
	raw := strings.TrimRight(text[col:], " ")
	if raw == "" {
		return "", "", 0, false, false // an empty value or a nested block
	}
	switch raw[0] {
	case '"', '\'':
		v, n, ok := quoted(raw)
		if !ok || n != len(raw) {
			return "", "", 0, false, false
		}
		return key, v, col, false, true
	}
	if !plainValue(raw, false) {
		return "", "", 0, false, false
	}
	return key, raw, col, isNullWord(raw), true
}

// flow reads the flow mapping text[from:] ("k: v, k: v}" after the "{"),
// which must end the line.
func (p *fastParser) flow(text string, from int, set func(key, val string, at int, null bool) bool) bool {
	i := from
	skip := func() {
		for i < len(text) && text[i] == ' ' {
			i++
		}
	}
	for entries := 0; ; entries++ {
		skip()
		if i < len(text) && text[i] == '}' && entries == 0 {
			return false // {}: let yaml.v3 have it
		}
		k := strings.Index(text[i:], ": ")
		if k <= 0 || !plainKey(text[i:i+k]) {
			return false
		}
		key := text[i : i+k]
		i += k + 2
		skip()
		at := i
		if i >= len(text) {
			return false
		}
		var val string
		null := false
		if text[i] == '"' || text[i] == '\'' {
			v, n, ok := quoted(text[i:])
			if !ok {
				return false
			}
			val, i = v, i+n
		} else {
			j := i
			for j < len(text) && text[j] != ',' && text[j] != '}' {
				j++
			}
			val = strings.TrimRight(text[i:j], " ")
			if !plainValue(val, true) {
				return false
			}
			null = isNullWord(val)
			i = j
		}
		if !set(key, val, at, null) {
			return false
		}
		skip()
		if i >= len(text) {
			return false
		}
		switch text[i] {
		case ',':
			i++
			continue
		case '}':
			i++
			return strings.TrimRight(text[i:], " ") == ""
		}
		return false
	}
}

// plainKey: a key of the fast path's (lower-case letters and _).
func plainKey(k string) bool {
	for i := 0; i < len(k); i++ {
		if c := k[i]; (c < 'a' || c > 'z') && c != '_' {
			return false
		}
	}
	return k != ""
}

// plainValue reports whether v is a plain scalar whose value is its text,
// as yaml.v3 reads it: no indicator first, no ": " or " #" inside, no "$"
// (${VAR} expansion is yaml's path), no control characters; in a flow
// mapping, none of ,[]{} or ":".
func plainValue(v string, flow bool) bool {
	if v == "" || strings.ContainsAny(v[:1], "-?:,[]{}#&*!|>'\"%@`") || strings.HasSuffix(v, ":") {
		return false
	}
	if strings.Contains(v, ": ") || strings.Contains(v, " #") || strings.ContainsAny(v, "$\\") {
		return false
	}
	if flow && strings.ContainsAny(v, ",[]{}:") {
		return false
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f || r == 0xfeff || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029 || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// isNullWord: the plain scalars YAML reads as null.
func isNullWord(v string) bool {
	switch v {
	case "~", "null", "Null", "NULL":
		return true
	}
	return false
}

// quoted reads a quoted scalar at the start of s without escapes (a
// double-quoted one with no backslash, a single-quoted one where a
// doubled quote stands for a quote), on one line; n is how many bytes it
// takes.
func quoted(s string) (v string, n int, ok bool) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == q && q == '\'' && i+1 < len(s) && s[i+1] == '\'':
			b.WriteByte('\'')
			i++
		case c == q:
			v = b.String()
			if !plainText(v) {
				return "", 0, false
			}
			return v, i + 1, true
		case c == '\\' && q == '"', c == '$':
			return "", 0, false
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, false
}

// plainText: no characters yaml.v3 would refuse or fold in a quoted scalar.
func plainText(v string) bool {
	for _, r := range v {
		if r < 0x20 || r == 0x7f || r == 0xfeff || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029 || r == utf8.RuneError {
			return false
		}
	}
	return true
}
