// Package yamlconf decodes YAML configuration strictly and keeps the place
// of every value, so that each problem can be reported as
// "file:line:col: what is wrong", all problems at once.
//
// It walks the yaml.v3 node tree with reflection: unknown keys, duplicate
// keys, wrong scalar types and NaN are errors with their position. A struct
// field of type Pos receives the position of the struct's own YAML node, and a
// field of type Fields receives the position of each key's value, so later
// semantic checks can point at the exact line too. A field of type Extra
// takes the keys the struct does not name, for the caller to decode later
// with the same Decoder (a channel's type block, known from a registry).
//
// String values may take ${VAR} from the environment. The Decoder keeps
// what each expanded value was written as, so that errors quote the file,
// never a secret the environment held (Redact).
package yamlconf

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"reflect"
	"slices"
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
	extraType    = reflect.TypeFor[Extra]()
	durationType = reflect.TypeFor[time.Duration]()
	unmType      = reflect.TypeFor[Unmarshaler]()
	textType     = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// Decode decodes the single YAML document in data into v, a pointer to a
// struct. An empty document leaves v untouched. The error, if any, is Errors.
func Decode(file string, data []byte, v any) error {
	return DecodeEnv(file, data, v, os.LookupEnv)
}

// DecodeEnv is Decode with the environment looked up through lookup.
func DecodeEnv(file string, data []byte, v any, lookup func(string) (string, bool)) error {
	d := NewDecoder(file, lookup)
	d.Decode(data, v)
	if err := d.Errors(); err != nil {
		return d.Redact(err)
	}
	return nil
}

// Decoder decodes one configuration file: its document, then any part of
// it the caller decodes later (Extra), collecting every error, the places
// that did not decode and every ${VAR} it expanded.
type Decoder struct {
	file      string
	lookupEnv func(string) (string, bool)
	errs      Errors
	// failed holds the places of values that did not decode, and of the
	// mappings one of whose keys did not (see Failed).
	failed map[Pos]bool
	// structs are the structs being decoded, outermost first; item tells
	// those that are a list's items (a site, a rule, a channel).
	structs []frame
	item    bool // the next struct is a list item
	// expanded are the string values ${VAR} changed; vars the environment
	// variables that gave a value, by name.
	expanded []expansion
	vars     map[string]string
	// types caches fieldsOf: a list of a million sensors is one type.
	types map[reflect.Type]typeFields
}

type typeFields struct {
	keys map[string]fieldInfo
	idx  special
}

type frame struct {
	at   Pos
	item bool
}

// NewDecoder returns a decoder for file that resolves ${VAR} through
// lookup (os.LookupEnv if nil).
func NewDecoder(file string, lookup func(string) (string, bool)) *Decoder {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	return &Decoder{file: file, lookupEnv: lookup, failed: map[Pos]bool{}, vars: map[string]string{}}
}

// Decode decodes the single YAML document in data into v, a pointer to a
// struct, keeping every error (Errors). It reports false when data is not
// one YAML document, so that nothing could be decoded; an empty document
// leaves v untouched.
func (d *Decoder) Decode(data []byte, v any) bool {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		d.errs = append(d.errs, &Error{Pos: Pos{d.file, 1, 1}, Msg: fmt.Sprintf("yamlconf: Decode needs a non-nil pointer, got %T", v)})
		return false
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return true
		}
		d.errs = append(d.errs, syntaxError(d.file, data, err))
		return false
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		d.errs = append(d.errs, &Error{Pos: Pos{d.file, extra.Line, extra.Column}, Msg: "only one YAML document is allowed in a configuration file"})
		return false
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	d.value(root, rv.Elem(), "")
	return true
}

// Errors returns every error found so far, in file order, or nil.
func (d *Decoder) Errors() error { return slices.Clone(d.errs).Err() }

// Failed reports whether p is the place of a value that did not decode, or
// of a mapping one of whose keys or values did not. A later check's error
// at such a place follows from the decoding error (a required field that
// had the wrong type), so a caller reporting both may leave it out.
func (d *Decoder) Failed(p Pos) bool { return d.failed[p] }

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

func (d *Decoder) pos(n *yaml.Node) Pos { return Pos{d.file, n.Line, n.Column} }

func (d *Decoder) fail(n *yaml.Node, format string, args ...any) {
	d.errs = append(d.errs, d.pos(n).Errorf(format, args...))
	d.markFailed(n)
}

// markFailed records that n did not decode, nor the structs it is in, up to
// the list item they belong to (a rule whose above.red is a word has no
// thresholds to check), but not the document.
func (d *Decoder) markFailed(n *yaml.Node) {
	d.failed[d.pos(n)] = true
	for i := len(d.structs) - 1; i >= 1; i-- {
		d.failed[d.structs[i].at] = true
		if d.structs[i].item {
			break
		}
	}
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

func (d *Decoder) value(n *yaml.Node, v reflect.Value, path string) {
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
		d.pointer(n, v, path)
	case reflect.Struct:
		d.structure(n, v, path)
	case reflect.Slice:
		d.sequence(n, v, path)
	case reflect.Map:
		d.mapping(n, v, path)
	case reflect.String:
		d.str(n, v, path)
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

// pointer decodes n into the value v points to, making one if v is nil.
func (d *Decoder) pointer(n *yaml.Node, v reflect.Value, path string) {
	if !v.IsNil() {
		d.value(n, v.Elem(), path)
		return
	}
	// A pointer to a value that did not decode stays nil (unset), so
	// later checks do not take it for a zero written in the file; a
	// pointer to a struct, list or map keeps what did decode.
	p, before := reflect.New(v.Type().Elem()), len(d.errs)
	d.value(n, p.Elem(), path)
	switch p.Elem().Kind() {
	case reflect.Struct, reflect.Slice, reflect.Map:
	default:
		if len(d.errs) > before {
			return
		}
	}
	v.Set(p)
}

// str decodes a string, expanding the environment variables it names and
// noting each expansion.
func (d *Decoder) str(n *yaml.Node, v reflect.Value, path string) {
	if !d.scalar(n, path, "a string") {
		return
	}
	var vars []string
	str, err := expandEnv(n.Value, func(name string) (string, bool) {
		val, ok := d.lookupEnv(name)
		if ok && val != "" {
			d.vars[name] = val
			vars = append(vars, name)
		}
		return val, ok
	})
	if err != nil {
		d.fail(n, "%s%v", where(path), err)
		return
	}
	if str != n.Value {
		d.expanded = append(d.expanded, expansion{at: d.pos(n), raw: n.Value, value: str, vars: vars})
	}
	v.SetString(str)
}

func (d *Decoder) addErr(n *yaml.Node, path string, err error) {
	var e *Error
	var es Errors
	d.markFailed(n)
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

func (d *Decoder) scalar(n *yaml.Node, path, want string) bool {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, "%swant %s, got %s", where(path), want, kindName(n))
		return false
	}
	return true
}

func (d *Decoder) duration(n *yaml.Node, v reflect.Value, path string) {
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

func (d *Decoder) sequence(n *yaml.Node, v reflect.Value, path string) {
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
		d.item = true
		d.value(c, e, fmt.Sprintf("%s[%d]", path, i))
		d.item = false
		s = reflect.Append(s, e)
	}
	v.Set(s)
}

func (d *Decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
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

// special are the indexes of a struct's Pos, Fields and Extra fields.
type special struct{ pos, fields, extra []int }

// fieldsOf lists the YAML keys of a struct type, following ",inline".
func fieldsOf(t reflect.Type) (map[string]fieldInfo, special) {
	keys := map[string]fieldInfo{}
	var posIdx, fieldsIdx, extraIdx []int
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
			if f.Type == extraType && extraIdx == nil && len(prefix) == 0 {
				extraIdx = idx
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
	return keys, special{pos: posIdx, fields: fieldsIdx, extra: extraIdx}
}

func (d *Decoder) structure(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, "%swant a mapping, got %s", where(path), kindName(n))
		return
	}
	d.structs = append(d.structs, frame{d.pos(n), d.item})
	d.item = false
	defer func() { d.structs = d.structs[:len(d.structs)-1] }()
	tf, ok := d.types[v.Type()]
	if !ok {
		tf.keys, tf.idx = fieldsOf(v.Type())
		if d.types == nil {
			d.types = map[reflect.Type]typeFields{}
		}
		d.types[v.Type()] = tf
	}
	keys, idx := tf.keys, tf.idx
	if idx.pos != nil {
		v.FieldByIndex(idx.pos).Set(reflect.ValueOf(d.pos(n)))
	}
	var fields Fields
	if idx.fields != nil {
		fields = Fields{}
		v.FieldByIndex(idx.fields).Set(reflect.ValueOf(fields))
	}
	var extra Extra
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
		if fields != nil {
			d.keyFields(fields, k.Value, val)
		}
		fi, ok := keys[k.Value]
		switch {
		case ok:
			d.value(val, v.FieldByIndex(fi.index), joinPath(path, k.Value))
		case idx.extra != nil:
			extra = append(extra, ExtraKey{Key: k.Value, KeyPos: d.pos(k), Pos: d.pos(resolveAlias(val)),
				path: joinPath(path, k.Value), node: val, parent: d.pos(n), parentPath: path, known: slices.Sorted(maps.Keys(keys))})
		default:
			d.fail(k, "%sunknown field %q%s", where(path), k.Value, suggest(k.Value, slices.Collect(maps.Keys(keys))))
		}
	}
	if idx.extra != nil {
		v.FieldByIndex(idx.extra).Set(reflect.ValueOf(extra))
	}
}

// keyFields records the place of key's value in fields, and of each item
// when it is a list (key[0], key[1], …).
func (d *Decoder) keyFields(fields Fields, key string, val *yaml.Node) {
	rv := resolveAlias(val)
	fields[key] = d.pos(rv)
	if rv.Kind == yaml.SequenceNode {
		for j, item := range rv.Content {
			fields[key+"["+strconv.Itoa(j)+"]"] = d.pos(item)
		}
	}
}

// suggest proposes the closest known key for a misspelt one.
func suggest(key string, keys []string) string {
	best, bestD := "", 3
	for _, k := range keys {
		if dd := distance(key, k); dd < bestD || (dd == bestD && k < best && best != "") {
			best, bestD = k, dd
		}
	}
	if best == "" {
		names := slices.Clone(keys)
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
