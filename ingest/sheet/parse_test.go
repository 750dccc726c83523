package sheet

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"yujing"
)

func TestParseInterval(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"10s", 10 * time.Second, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"30", 30 * time.Second, ""},
		{"30秒", 30 * time.Second, ""},
		{"5分钟", 5 * time.Minute, ""},
		{"5 分", 5 * time.Minute, ""},
		{"1小时", time.Hour, ""},
		{"0.5", 500 * time.Millisecond, ""},
		{"0", 0, "must be more than zero"},
		{"-5s", 0, "must be more than zero"},
		{"every minute", 0, "is not a duration"},
		{"5 minutes", 0, "is not a duration"},
		{"1e300", 0, "is not a duration"},
		{"分钟", 0, "is not a duration"},
	} {
		got, err := parseInterval(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("parseInterval(%q) = %v, %v; want error %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("parseInterval(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func TestParseFamily(t *testing.T) {
	for in, want := range map[string]yujing.Family{"gas": yujing.FamilyGas, " Flood ": yujing.FamilyFlood, "燃气": yujing.FamilyGas,
		"重大危险源": yujing.FamilyHazard, "电气火灾": yujing.FamilyElectrical} {
		if got, err := ParseFamily(nil, in); err != nil || got != want {
			t.Errorf("ParseFamily(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseFamily(nil, "smoke"); err == nil || err.Error() != `unknown family "smoke" (want gas 燃气, hazard 危化, dust 粉尘, weather 气象, flood 防汛, power 电力, electrical 电气火灾)` {
		t.Errorf("ParseFamily(smoke): %v", err)
	}
}

// TestParseEncodings: the same sheet saved by Excel as CSV UTF-8 (BOM),
// CSV (逗号分隔) on Chinese Windows (GBK), Unicode text (UTF-16, tabs) and
// with semicolons reads the same.
func TestParseEncodings(t *testing.T) {
	text := "编号,名称,类型,站点\r\nGT-1,罐区探测器,燃气,demo-plant\r\n"
	gbk, err := simplifiedchinese.GBK.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	tabs := strings.ReplaceAll(text, ",", "\t")
	var utf16 []byte
	utf16 = append(utf16, 0xFF, 0xFE)
	for _, r := range tabs {
		utf16 = append(utf16, byte(r), byte(r>>8))
	}
	for _, c := range []struct {
		name, enc string
		data      []byte
	}{
		{"utf-8", "UTF-8, comma-separated", []byte(text)},
		{"bom", "UTF-8 with BOM, comma-separated", append([]byte("\xEF\xBB\xBF"), text...)},
		{"gbk", "GB18030, comma-separated", []byte(gbk)},
		{"utf-16", "UTF-16LE, tab-separated", utf16},
		{"semicolons", "UTF-8, semicolon-separated", []byte(strings.ReplaceAll(text, ",", ";"))},
	} {
		sh := Parse(c.data)
		if len(sh.problems) > 0 || sh.Describe() != c.enc {
			t.Errorf("%s: %s, problems %v", c.name, sh.Describe(), sh.Problems())
			continue
		}
		if len(sh.rows) != 1 {
			t.Fatalf("%s: %d rows", c.name, len(sh.rows))
		}
		rs := sh.rows[0].rs
		if rs.s.Name != "罐区探测器" || rs.s.Family != yujing.FamilyGas || rs.s.Site != "demo-plant" || rs.line != 2 {
			t.Errorf("%s: row %+v", c.name, rs)
		}
	}
	for _, c := range []struct {
		data []byte
		want string
	}{
		{[]byte{0x81, 0x20, 0xFF, 0xFF}, "f.csv:1: neither UTF-8 nor GB18030"},
		{[]byte("\ufeffid,name\nGT-1,\x9e\n"), "f.csv:2: starts as UTF-8 but line 2 is not valid UTF-8"},
		{[]byte("\xff\xfei\x00d\x00\n\x00\x00\xd8"), "f.csv:1: starts as UTF-16LE but is not valid UTF-16LE"},
		{[]byte("\n\n"), "f.csv:1: no header row; the first row names the columns: id (编号), name (名称)"},
		{[]byte("名称\nx\n"), "f.csv:1: no id (编号) column: every sensor needs its id"},
		{[]byte("id,名称,Name\nx,y\n"), `f.csv:1: column "Name": the same column as "名称" (column 2)`},
		{[]byte("id,,name\nx,y,z,w\n"), `f.csv:2: cell 2 ("y") is in a column without a header`},
	} {
		sh := Parse(c.data)
		if ps := sh.Problems(); len(ps) == 0 || !strings.Contains(ps[0].Format("f.csv"), c.want) {
			t.Errorf("%q: %v, want %q", c.data, ps, c.want)
		}
	}
}

// TestProblemFormat: a sheet's problems name the line and the column as
// the header writes it; a JSON list's the item and the field.
func TestProblemFormat(t *testing.T) {
	for _, c := range []struct {
		p    Problem
		want string
	}{
		{Problem{Line: 3, Col: 3, Column: "类型", Message: "bad"}, `s.csv:3: column "类型": bad`},
		{Problem{Line: 3, Field: "site", Message: "bad"}, `s.csv:3: site: bad`},
		{Problem{Line: 14, Col: 13, Message: "beyond"}, `s.csv:14: beyond`},
		{Problem{Item: 2, Field: "topic", Message: "taken"}, `s.csv: item 2: topic: taken`},
		{Problem{Message: "not a list"}, `s.csv: not a list`},
	} {
		if got := c.p.Format("s.csv"); got != c.want {
			t.Errorf("%+v: %s, want %s", c.p, got, c.want)
		}
	}
}

// FuzzParse feeds the sheet reader garbage, and imports what it reads
// (a dry run) into a catalogue: it never panics, every problem names a
// line of the file, every row has a step, and a row that is planned (not
// invalid) has a valid id, valid text and a range that is not inverted.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.[ct]sv")
	files = append(files, "../../configs/sensors-example.csv")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("id\n\"GT-1\n"))
	f.Add([]byte("\ufeff编号,名称 \n0,\x9e"))             // a BOM, then bytes that are not UTF-8
	f.Add([]byte("\xff\xfei\x00d\x00\n\x00\x00\xd8")) // UTF-16 with a lone surrogate
	f.Add([]byte("id,tags\nA,\"k=v;x\"\n"))
	f.Add([]byte("id,site,family,min,max\nA,s,gas,5,\nB,s,gas,,1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sh := Parse(data)
		lines := bytes.Count(data, []byte("\n")) + 1
		res, err := sh.Import(t.Context(), fuzzCatalog(t), true)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range res.Problems {
			if p.Line < 0 || p.Line > lines {
				t.Fatalf("problem at line %d of a %d-line file: %s", p.Line, lines, p.Message)
			}
		}
		if len(res.Steps) != len(sh.rows) || res.Applied {
			t.Fatalf("%d steps for %d rows, applied %v", len(res.Steps), len(sh.rows), res.Applied)
		}
		for _, s := range res.Steps {
			if s.Action == Invalid {
				continue
			}
			m := s.sensor
			if s.Line < 2 || !validID(s.ID) || !utf8.ValidString(m.Name) {
				t.Fatalf("planned step %+v", s)
			}
			if m.Min != nil && m.Max != nil && *m.Min >= *m.Max {
				t.Fatalf("planned an inverted range: %+v", s)
			}
		}
	})
}

// TestParseFamilyConfigured: a sheet's family column takes the families the
// configuration declares, by id or Chinese name, besides the built-in ones
// and their aliases.
func TestParseFamilyConfigured(t *testing.T) {
	fams := append(yujing.BuiltinFamilies(), yujing.FamilyInfo{ID: "smoke", Name: "智能烟感", NameEN: "smoke alarm"})
	for _, c := range []struct {
		fams yujing.Families
		in   string
		want yujing.Family
		err  string
	}{
		{fams, "smoke", "smoke", ""},
		{fams, "SMOKE", "smoke", ""},
		{fams, "智能烟感", "smoke", ""},
		{fams, "可燃气体", yujing.FamilyGas, ""},
		{nil, "smoke", "", `unknown family "smoke"`},
		{fams, "tailings", "", "want gas 燃气, hazard 危化, dust 粉尘, weather 气象, flood 防汛, power 电力, electrical 电气火灾, smoke 智能烟感"},
	} {
		got, err := ParseFamily(c.fams, c.in)
		if got != c.want || (err == nil) != (c.err == "") || err != nil && !strings.Contains(err.Error(), c.err) {
			t.Errorf("ParseFamily(%d families, %q) = %q, %v; want %q, %q", len(c.fams), c.in, got, err, c.want, c.err)
		}
	}
}
