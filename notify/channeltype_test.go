package notify

import (
	"context"
	"errors"
	"strings"
	"testing"

	"yujing"
)

type fakeConfig struct {
	Name string `yaml:"name"`
	URL  string `yaml:"url"`
}

type fakeChannel struct{ name string }

func (f *fakeChannel) Name() string                            { return f.name }
func (f *fakeChannel) Send(context.Context, yujing.Call) error { return nil }

func (f *fakeChannel) parse([]byte) ([]yujing.Receipt, error) {
	return []yujing.Receipt{{Channel: f.name}}, nil
}

func newFake(c fakeConfig) (*fakeChannel, error) {
	if c.URL == "" {
		return nil, errors.Join(errors.New("url is empty"), errors.New("timeout is negative"))
	}
	return &fakeChannel{name: c.Name}, nil
}

func fakeType(name string, receipts bool) *Type {
	build := func(n string, c fakeConfig, _ Deps) (*fakeChannel, error) { c.Name = n; return newFake(c) }
	if !receipts {
		return NewType(name, build, nil)
	}
	return NewType(name, build, func(ch *fakeChannel) Receipts { return Receipts{Parse: ch.parse, Ack: "ok"} })
}

// TestType: a type decodes into a fresh configuration of its own, builds
// with the channel's name, returns a nil Channel (not a nil pointer in one)
// with the constructor's error, validates exactly as it builds, and gives
// a receipt parser only for its own channels.
func TestType(t *testing.T) {
	typ := fakeType("fake", true)
	a, b := typ.NewConfig(), typ.NewConfig()
	if a == b {
		t.Fatal("NewConfig shares one configuration")
	}
	cfg := a.(*fakeConfig)
	ch, err := typ.New("hook-1", cfg, Deps{})
	if ch != nil || err == nil || !strings.Contains(err.Error(), "url is empty") {
		t.Fatalf("New of a bad configuration: %#v, %v", ch, err)
	}
	if verr := typ.Validate("hook-1", cfg, Deps{}); verr == nil || verr.Error() != err.Error() {
		t.Errorf("Validate = %v, want New's error %v", verr, err)
	}
	cfg.URL = "https://example.cn"
	ch, err = typ.New("hook-1", cfg, Deps{})
	if err != nil || ch.Name() != "hook-1" {
		t.Fatalf("New: %v, %v", ch, err)
	}
	if err := typ.Validate("hook-1", cfg, Deps{}); err != nil {
		t.Errorf("Validate of a good configuration: %v", err)
	}
	if _, err := typ.New("x", &struct{}{}, Deps{}); err == nil {
		t.Error("New takes a configuration of another type")
	}
	r, ok := typ.Receipts(ch)
	if rs, _ := r.Parse(nil); !ok || r.Ack != "ok" || len(rs) != 1 || rs[0].Channel != "hook-1" {
		t.Errorf("Receipts(own channel) = %+v, %v", r, ok)
	}
	if _, ok := typ.Receipts(&otherChannel{}); ok {
		t.Error("Receipts of another type's channel")
	}
	if _, ok := fakeType("plain", false).Receipts(ch); ok {
		t.Error("Receipts of a type without a parser")
	}
}

type otherChannel struct{ fakeChannel }

// TestTypes: the registry keeps the order of registration and refuses a
// second type of one name, and a type without a name.
func TestTypes(t *testing.T) {
	r := NewTypes()
	for _, name := range []string{"b", "a"} {
		if err := r.Register(fakeType(name, false)); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Register(fakeType("a", true)); err == nil || !strings.Contains(err.Error(), `"a" registered twice`) {
		t.Errorf("duplicate: %v", err)
	}
	if err := r.Register(fakeType("", false)); err == nil {
		t.Error("a type without a name was registered")
	}
	if err := r.Register(nil); err == nil {
		t.Error("nil was registered")
	}
	if got := strings.Join(r.Names(), " "); got != "b a" {
		t.Errorf("Names() = %q, want b a", got)
	}
	if typ, ok := r.Lookup("a"); !ok || typ.Name() != "a" {
		t.Errorf("Lookup(a) = %v, %v", typ, ok)
	}
	if _, ok := r.Lookup("c"); ok {
		t.Error("Lookup(c) found something")
	}
}
