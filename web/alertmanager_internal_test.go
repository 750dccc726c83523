package web

import (
	"fmt"
	"testing"
)

func TestParseMatchers(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string // the matchers as parsed, or the error
	}{
		{`alertname="HighLoad"`, `[{alertname = HighLoad}]`},
		{`{alertname="High,Load", severity=~"crit.*"}`, `[{alertname = High,Load} {severity =~ crit.*}]`},
		{`site!=plant-a`, `[{site != plant-a}]`},
		{`job!~"node|db"`, `[{job !~ node|db}]`},
		{`a="x\"y"`, `[{a = x"y}]`},
		{`{}`, `[]`},
		{`alertname`, `error: "alertname" is not a matcher (name="value", !=, =~ or !~)`},
		{`{a="b"`, `error: a { without its }`},
		{`a=~"("`, "error: \"a=~\\\"(\\\"\": error parsing regexp: missing closing ): `^(?:()$`"},
	} {
		ms, err := parseMatchers(c.in)
		got := ""
		if err != nil {
			got = "error: " + err.Error()
		} else {
			got = "["
			for i, m := range ms {
				if i > 0 {
					got += " "
				}
				got += fmt.Sprintf("{%s %s %s}", m.name, m.op, m.value)
			}
			got += "]"
		}
		if got != c.want {
			t.Errorf("parseMatchers(%q) = %s\nwant %s", c.in, got, c.want)
		}
	}
}

// FuzzParseMatchers: no panic, and a matcher parsed is usable.
func FuzzParseMatchers(f *testing.F) {
	for _, s := range []string{`alertname="X"`, `{a=~"b.*", c!="d,e"}`, `x!~y`, `{`, `"`, `a="\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ms, err := parseMatchers(s)
		if err != nil {
			return
		}
		for _, m := range ms {
			if m.name == "" || (m.op == "=~" || m.op == "!~") && m.re == nil {
				t.Fatalf("parseMatchers(%q) gave %+v", s, m)
			}
			_ = m.matches("value")
		}
	})
}
