// Package yamlconf decodes YAML configuration strictly and keeps the place
// of every value, so that each problem can be reported as
// "file:line:col: what is wrong", all problems at once.
//
// It walks the yaml.v3 node tree with reflection: unknown keys, duplicate
// keys, wrong scalar types and NaN are errors with their position. A struct
// field of type Pos receives the position of the struct's own YAML node, and a
// field of type Fields receives the position of each key's value, so later
// semantic checks can point at the exact line too.
package yamlconf

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Pos is a place in a configuration file.
type Pos struct {
	File string
	Line int
	Col  int
}

// String formats the position as file:line:col.
func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// Errorf returns an Error at p.
func (p Pos) Errorf(format string, args ...any) *Error {
	return &Error{Pos: p, Msg: fmt.Sprintf(format, args...)}
}

// IsZero reports whether p was never set (the value was not in the file).
func (p Pos) IsZero() bool { return p.Line == 0 }

// Fields maps a YAML key of a struct to the position of its value.
type Fields map[string]Pos

// At returns the position of key, or fallback when the key was absent.
func (f Fields) At(key string, fallback Pos) Pos {
	if p, ok := f[key]; ok {
		return p
	}
	return fallback
}

// Error is one problem at one place.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Errors is every problem found, in file order.
type Errors []*Error

func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Sort orders the errors by file, line and column.
func (es Errors) Sort() {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i].Pos, es[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// Err returns nil when there are no errors, else the sorted errors.
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	es.Sort()
	return es
}

// Collector gathers errors from semantic checks.
type Collector struct{ Errs Errors }

// Add records an error at p.
func (c *Collector) Add(p Pos, format string, args ...any) {
	c.Errs = append(c.Errs, p.Errorf(format, args...))
}

// Unmarshaler lets a type decode itself from a node. Errors it returns are
// reported at the node's position unless they are already *Error or Errors.
type Unmarshaler interface {
	UnmarshalYAMLNode(file string, n *yaml.Node) error
}

var (
	posType      = reflect.TypeFor[Pos]()
	fieldsType   = reflect.TypeFor[Fields]()
	durationType = reflect.TypeFor[time.Duration]()
	unmType      = reflect.TypeFor[Unmarshaler]()
	textType     = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// Decode decodes the single YAML document in data into v, a pointer to a
// struct. An empty document leaves v untouched. The error, if any, is Errors.
func Decode(file string, data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("yamlconf: Decode needs a non-nil pointer, got %T", v)
	}
	return DecodeEnv(file, data, v, os.LookupEnv)
}

// DecodeEnv is Decode with the environment looked up through lookup.
func DecodeEnv(file string, data []byte, v any, lookup func(string) (string, bool)) error {
	rv := reflect.ValueOf(v)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return Errors{syntaxError(file, data, err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return Errors{{Pos: Pos{file, extra.Line, extra.Column}, Msg: "only one YAML document is allowed in a configuration file"}}
	}
	d := &decoder{file: file, lookupEnv: lookup}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	d.value(root, rv.Elem(), "")
	return d.errs.Err()
}

// syntaxError turns a yaml.v3 parse error ("yaml: line 3: ...") into an Error
// with the line it names.
//
// yaml.v3 reports some parser errors at the line before the problem
// (go-yaml/yaml#205): "did not find expected …" is moved one line on, and a
// tab in indentation is placed on the first following line that has one.
func syntaxError(file string, data []byte, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if i := strings.IndexByte(rest, ':'); i > 0 {
			if n, err := strconv.Atoi(rest[:i]); err == nil {
				line = n
				msg = strings.TrimSpace(rest[i+1:])
			}
		}
	}
	lines := strings.Split(string(data), "\n")
	switch {
	case strings.Contains(msg, "tab character"):
		for i := line - 1; i >= 0 && i < len(lines); i++ {
			indent := lines[i][:len(lines[i])-len(strings.TrimLeft(lines[i], " \t"))]
			if strings.Contains(indent, "\t") {
				line = i + 1
				break
			}
		}
	case strings.HasPrefix(msg, "did not find expected") && line < len(lines):
		line++
	}
	return &Error{Pos: Pos{file, line, 1}, Msg: "invalid YAML: " + msg}
}

type decoder struct {
	file      string
	errs      Errors
	lookupEnv func(string) (string, bool)
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

func (d *decoder) pos(n *yaml.Node) Pos { return Pos{d.file, n.Line, n.Column} }

func (d *decoder) fail(n *yaml.Node, format string, args ...any) {
	d.errs = append(d.errs, d.pos(n).Errorf(format, args...))
}

// where names the key path for messages, e.g. "rules[2].above".
func where(path string) string {
	if path == "" {
		return ""
	}
	return path + ": "
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) {
	n = resolveAlias(n)
	if isNull(n) {
		return
	}
	if v.CanAddr() {
		if u, ok := v.Addr().Interface().(Unmarshaler); ok {
			if err := u.UnmarshalYAMLNode(d.file, n); err != nil {
				d.addErr(n, path, err)
			}
			return
		}
	}
	if v.Type() == durationType {
		d.duration(n, v, path)
		return
	}
	if v.Kind() != reflect.Pointer && v.CanAddr() && v.Addr().Type().Implements(textType) && n.Kind == yaml.ScalarNode {
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Value)); err != nil {
			d.fail(n, "%s%v", where(path), err)
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.value(n, v.Elem(), path)
	case reflect.Struct:
		d.structure(n, v, path)
	case reflect.Slice:
		d.sequence(n, v, path)
	case reflect.Map:
		d.mapping(n, v, path)
	case reflect.String:
		if !d.scalar(n, path, "a string") {
			return
		}
		str, err := expandEnv(n.Value, d.lookupEnv)
		if err != nil {
			d.fail(n, "%s%v", where(path), err)
			return
		}
		v.SetString(str)
	case reflect.Bool:
		if !d.scalar(n, path, "true or false") {
			return
		}
		switch n.Value {
		case "true", "True", "TRUE":
			v.SetBool(true)
		case "false", "False", "FALSE":
			v.SetBool(false)
		default:
			d.fail(n, "%swant true or false, got %q", where(path), n.Value)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if !d.scalar(n, path, "a whole number") {
			return
		}
		i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, v.Type().Bits())
		if err != nil {
			d.fail(n, "%swant a whole number, got %q", where(path), n.Value)
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if !d.scalar(n, path, "a whole number ≥ 0") {
			return
		}
		i, err := strconv.ParseUint(strings.ReplaceAll(n.Value, "_", ""), 0, v.Type().Bits())
		if err != nil {
			d.fail(n, "%swant a whole number ≥ 0, got %q", where(path), n.Value)
			return
		}
		v.SetUint(i)
	case reflect.Float32, reflect.Float64:
		if !d.scalar(n, path, "a number") {
			return
		}
		f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.fail(n, "%swant a finite number, got %q", where(path), n.Value)
			return
		}
		v.SetFloat(f)
	case reflect.Interface:
		var x any
		if err := n.Decode(&x); err != nil {
			d.addErr(n, path, err)
			return
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
	default:
		d.fail(n, "%scannot decode into %s", where(path), v.Type())
	}
}

func (d *decoder) addErr(n *yaml.Node, path string, err error) {
	var e *Error
	var es Errors
	switch {
	case errors.As(err, &es):
		d.errs = append(d.errs, es...)
	case errors.As(err, &e):
		d.errs = append(d.errs, e)
	default:
		d.fail(n, "%s%v", where(path), err)
	}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a scalar"
	}
	return "something else"
}

func (d *decoder) scalar(n *yaml.Node, path, want string) bool {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, "%swant %s, got %s", where(path), want, kindName(n))
		return false
	}
	return true
}

func (d *decoder) duration(n *yaml.Node, v reflect.Value, path string) {
	if !d.scalar(n, path, "a duration such as 30s or 5m") {
		return
	}
	dur, err := time.ParseDuration(n.Value)
	if err != nil {
		d.fail(n, "%swant a duration such as 30s, 5m or 1h30m, got %q", where(path), n.Value)
		return
	}
	if dur < 0 {
		d.fail(n, "%sduration must not be negative, got %q", where(path), n.Value)
		return
	}
	v.SetInt(int64(dur))
}

func (d *decoder) sequence(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.fail(n, "%swant a list, got %s", where(path), kindName(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), 0, len(n.Content))
	for i, c := range n.Content {
		if isNull(resolveAlias(c)) {
			d.fail(c, "%s[%d]: empty list entry", path, i)
			continue
		}
		e := reflect.New(v.Type().Elem()).Elem()
		d.value(c, e, fmt.Sprintf("%s[%d]", path, i))
		s = reflect.Append(s, e)
	}
	v.Set(s)
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, "%swant a mapping, got %s", where(path), kindName(n))
		return
	}
	if v.Type().Key().Kind() != reflect.String {
		d.fail(n, "%scannot decode into %s", where(path), v.Type())
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := resolveAlias(n.Content[i]), n.Content[i+1]
		if seen[k.Value] {
			d.fail(k, "%sduplicate key %q", where(path), k.Value)
			continue
		}
		seen[k.Value] = true
		ev := reflect.New(v.Type().Elem()).Elem()
		d.value(val, ev, joinPath(path, k.Value))
		m.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), ev)
	}
	v.Set(m)
}

func joinPath(path, key string) string {
	if !plainKey(key) {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// plainKey reports whether key can stand in a dotted path as it is.
func plainKey(key string) bool {
	if key == "" {
		return false
	}
	for _, r := range key {
		if !(r == '_' || r == '-' || r == '%' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

type fieldInfo struct {
	index []int
}

// fieldsOf lists the YAML keys of a struct type, following ",inline".
func fieldsOf(t reflect.Type) (map[string]fieldInfo, []int, []int) {
	keys := map[string]fieldInfo{}
	var posIdx, fieldsIdx []int
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			idx := append(append([]int{}, prefix...), i)
			if f.Type == posType && posIdx == nil && len(prefix) == 0 {
				posIdx = idx
				continue
			}
			if f.Type == fieldsType && fieldsIdx == nil && len(prefix) == 0 {
				fieldsIdx = idx
				continue
			}
			if !f.IsExported() {
				continue
			}
			tag := f.Tag.Get("yaml")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if strings.Contains(opts, "inline") && f.Type.Kind() == reflect.Struct {
				walk(f.Type, idx)
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			keys[name] = fieldInfo{index: idx}
		}
	}
	walk(t, nil)
	return keys, posIdx, fieldsIdx
}

func (d *decoder) structure(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, "%swant a mapping, got %s", where(path), kindName(n))
		return
	}
	keys, posIdx, fieldsIdx := fieldsOf(v.Type())
	if posIdx != nil {
		v.FieldByIndex(posIdx).Set(reflect.ValueOf(d.pos(n)))
	}
	var fields Fields
	if fieldsIdx != nil {
		fields = Fields{}
		v.FieldByIndex(fieldsIdx).Set(reflect.ValueOf(fields))
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := resolveAlias(n.Content[i]), n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "<<" {
			d.fail(k, "%smerge keys (<<) are not supported; repeat the values", where(path))
			continue
		}
		if seen[k.Value] {
			d.fail(k, "%sduplicate key %q", where(path), k.Value)
			continue
		}
		seen[k.Value] = true
		fi, ok := keys[k.Value]
		if !ok {
			d.fail(k, "%sunknown field %q%s", where(path), k.Value, suggest(k.Value, keys))
			continue
		}
		if fields != nil {
			rv := resolveAlias(val)
			fields[k.Value] = d.pos(rv)
			if rv.Kind == yaml.SequenceNode {
				for j, item := range rv.Content {
					fields[k.Value+"["+strconv.Itoa(j)+"]"] = d.pos(item)
				}
			}
		}
		d.value(val, v.FieldByIndex(fi.index), joinPath(path, k.Value))
	}
}

// suggest proposes the closest known key for a misspelt one.
func suggest(key string, keys map[string]fieldInfo) string {
	best, bestD := "", 3
	for k := range keys {
		if dd := distance(key, k); dd < bestD || (dd == bestD && k < best && best != "") {
			best, bestD = k, dd
		}
	}
	if best == "" {
		names := make([]string, 0, len(keys))
		for k := range keys {
			names = append(names, k)
		}
		sort.Strings(names)
		return " (known fields: " + strings.Join(names, ", ") + ")"
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
