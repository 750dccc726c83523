package yamlconf

import (
	"reflect"
	"slices"

	"gopkg.in/yaml.v3"
)

// Extra, as the type of a struct field, takes the keys of the struct's
// mapping that no other field names, undecoded and in file order, instead
// of reporting them as unknown fields. The caller decodes each with
// Decoder.DecodeExtra once it knows what the key means, or reports it with
// Decoder.Unknown.
type Extra []ExtraKey

// ExtraKey is one key an Extra field took.
type ExtraKey struct {
	Key        string
	KeyPos     Pos    // the key's place
	Pos        Pos    // its value's place
	path       string // of the value
	node       *yaml.Node
	parent     Pos // the struct's place, a list item's
	parentPath string
	known      []string // the struct's own keys
}

// Unknown reports x as a key that means nothing, worded as an unknown field
// of its struct, with a suggestion from the struct's keys and more.
func (d *Decoder) Unknown(x ExtraKey, more ...string) {
	keys := append(slices.Clone(x.known), more...)
	d.errs = append(d.errs, x.KeyPos.Errorf("%sunknown field %q%s", where(x.parentPath), x.Key, suggest(x.Key, keys)))
	d.failed[x.KeyPos] = true
	d.failed[x.parent] = true
}

// DecodeExtra decodes the value of x, a key an Extra field took, into v (a
// pointer), and returns the place of each of the value's keys, as a
// Fields field would hold them. Its errors join the decoder's.
func (d *Decoder) DecodeExtra(x ExtraKey, v any) Fields {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || x.node == nil {
		d.errs = append(d.errs, x.Pos.Errorf("%scannot decode into %T", where(x.path), v))
		return Fields{}
	}
	old := d.structs
	// As if inside the document (never marked failed) and its list item.
	d.structs = append(slices.Clip(d.structs), frame{}, frame{x.parent, true})
	defer func() { d.structs = old }()
	d.value(x.node, rv.Elem(), x.path)
	fields := Fields{}
	if n := resolveAlias(x.node); n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			d.keyFields(fields, resolveAlias(n.Content[i]).Value, n.Content[i+1])
		}
	}
	return fields
}
