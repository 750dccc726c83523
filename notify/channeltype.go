package notify

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"

	"yujing"
	"yujing/message"
)

// Deps are what a channel is built with besides its own configuration.
type Deps struct {
	// Client makes the channel's HTTP requests; nil: the channel's own,
	// which does not follow redirects.
	Client *http.Client
	// Renderer writes the text of the channels that compose their own
	// messages (IM robots, e-mail); nil: the built-in templates.
	Renderer *message.Renderer
	// Logger is where the log channel writes.
	Logger *slog.Logger
}

// Receipts is how a channel's provider reports back: Parse turns the body
// of one callback into receipts, and Ack is the body the provider expects
// in answer ("" for {"ok":true}).
type Receipts struct {
	Parse func(body []byte) ([]yujing.Receipt, error)
	Ack   string
}

// Type is one type of channel: the key of its block in a channel's
// configuration (dingtalk: {...}), the configuration that block decodes
// into, the constructor, and the parser of the provider's callbacks when
// it has one. Each channel package makes its own (its Type function) and
// notify/all lists them.
type Type struct {
	name      string
	newConfig func() any
	build     func(name string, cfg any, d Deps) (Channel, error)
	receipts  func(Channel) (Receipts, bool)
}

// NewType makes the channel type name whose block decodes into a C (strict
// YAML, by C's yaml tags), built by build with the channel's name. receipts,
// if not nil, gives a built channel's callback parser.
func NewType[C any, T Channel](name string, build func(name string, c C, d Deps) (T, error), receipts func(T) Receipts) *Type {
	t := &Type{
		name:      name,
		newConfig: func() any { return new(C) },
		build: func(chName string, cfg any, d Deps) (Channel, error) {
			c, ok := cfg.(*C)
			if !ok {
				return nil, fmt.Errorf("channel type %s: configuration is %T, want %T", name, cfg, c)
			}
			ch, err := build(chName, *c, d)
			if err != nil {
				return nil, err // not ch: a nil *T in a Channel is not nil
			}
			return ch, nil
		},
	}
	if receipts != nil {
		t.receipts = func(ch Channel) (Receipts, bool) {
			c, ok := ch.(T)
			if !ok {
				return Receipts{}, false
			}
			return receipts(c), true
		}
	}
	return t
}

// Name is the key of the type's block in a channel's configuration.
func (t *Type) Name() string { return t.name }

// NewConfig returns a pointer to a zero configuration of the type, for a
// decoder to fill.
func (t *Type) NewConfig() any { return t.newConfig() }

// New builds a channel called name from cfg, a value NewConfig returned,
// decoded.
func (t *Type) New(name string, cfg any, d Deps) (Channel, error) { return t.build(name, cfg, d) }

// Validate reports every problem New would refuse cfg for: it is New, with
// the channel thrown away. The error, when the constructor joined several
// (errors.Join), unwraps to each of them.
func (t *Type) Validate(name string, cfg any, d Deps) error {
	_, err := t.build(name, cfg, d)
	return err
}

// Receipts returns the callback parser of ch, a channel of this type, and
// whether its provider reports back at all.
func (t *Type) Receipts(ch Channel) (Receipts, bool) {
	if t.receipts == nil {
		return Receipts{}, false
	}
	return t.receipts(ch)
}

// Types holds channel types by name, in the order they were registered,
// and refuses duplicates.
type Types struct {
	byName map[string]*Type
	names  []string
}

// NewTypes returns an empty registry.
func NewTypes() *Types { return &Types{byName: map[string]*Type{}} }

// Register adds t; a second type of the same name, or one without a name,
// is an error.
func (r *Types) Register(t *Type) error {
	switch {
	case t == nil || t.name == "":
		return errors.New("notify: a channel type needs a name")
	case r.byName[t.name] != nil:
		return fmt.Errorf("notify: channel type %q registered twice", t.name)
	}
	r.byName[t.name] = t
	r.names = append(r.names, t.name)
	return nil
}

// Lookup returns the type called name.
func (r *Types) Lookup(name string) (*Type, bool) {
	t, ok := r.byName[name]
	return t, ok
}

// Names lists the types' names in the order they were registered.
func (r *Types) Names() []string { return slices.Clone(r.names) }
