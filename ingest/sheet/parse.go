package sheet

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
)

// column is a column a sensor sheet may have: its key and the other names
// it goes by in a header (compared after normHeader).
type column struct {
	key   string
	names []string
}

var columns = []column{
	{"id", []string{"编号", "传感器编号", "设备编号", "点位编号", "sensor", "sensor id"}},
	{"name", []string{"名称", "传感器名称", "设备名称", "点位名称"}},
	{"family", []string{"类型", "类别", "传感器类型", "type"}},
	{"site", []string{"站点/企业", "站点／企业", "站点", "企业", "所属企业", "所属站点", "site id"}},
	{"region", []string{"区划代码", "行政区划代码", "区划"}},
	{"industry", []string{"行业"}},
	{"metric", []string{"指标", "监测指标"}},
	{"unit", []string{"单位"}},
	{"location", []string{"位置", "安装位置"}},
	{"lat", []string{"纬度", "latitude"}},
	{"lon", []string{"经度", "longitude", "lng"}},
	{"interval", []string{"上报间隔", "上报周期"}},
	{"min", []string{"量程下限", "range min"}},
	{"max", []string{"量程上限", "range max"}},
	{"decoder", []string{"解码器"}},
	{"topic", []string{"主题"}},
	{"tags", []string{"标签"}},
}

// knownColumns lists the columns for error messages.
func knownColumns() string {
	var b strings.Builder
	for _, c := range columns {
		fmt.Fprintf(&b, "%s (%s), ", c.key, c.names[0])
	}
	b.WriteString("tag:NAME")
	return b.String()
}

// normHeader reduces a header cell to what is compared: no BOM, no '*'
// (required-column marks), no trailing "(unit)", lower case, no spaces,
// '_' or '-'.
func normHeader(h string) string {
	h = strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(h, "\ufeff", ""), "*", ""))
	for _, p := range [][2]string{{"(", ")"}, {"（", "）"}} {
		if strings.HasSuffix(h, p[1]) {
			if i := strings.LastIndex(h, p[0]); i > 0 {
				h = strings.TrimSpace(h[:i])
			}
		}
	}
	h = strings.ToLower(h)
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '_', '-', '\u3000':
			return -1
		}
		return r
	}, h)
}

// columnKey returns the key of a header cell: a columns key, or
// "tag:NAME"; "" when unknown.
func columnKey(header string) string {
	raw := strings.TrimSpace(strings.ReplaceAll(header, "\ufeff", ""))
	low := strings.ToLower(raw)
	for _, p := range []string{"tag:", "tag.", "标签:", "标签：", "标签."} {
		if strings.HasPrefix(low, p) {
			if name := strings.TrimSpace(raw[len(p):]); name != "" {
				return "tag:" + name
			}
			return ""
		}
	}
	n := normHeader(header)
	for _, c := range columns {
		if n == c.key {
			return c.key
		}
		for _, name := range c.names {
			if n == normHeader(name) {
				return c.key
			}
		}
	}
	return ""
}

// Sheet is a sensor spreadsheet read from CSV.
type Sheet struct {
	encoding string
	sep      rune
	headers  []string       // per column, as written
	keys     []string       // per column: its key, "" when blank, "!" when unknown
	col      map[string]int // key → column
	rows     []row
	problems []Problem
}

// row is one non-empty row: its line and its non-empty cells by key.
type row struct {
	line  int
	cells map[string]string
	rs    *rowSensor // what the cells set
}

// Problem is what is wrong at a place of the input: a line of a sheet
// (1 is the header) and a column (its number from 1 and its header as
// written; none when the problem is the row's), or an item of a JSON list
// (from 1) and a field. Line and Item are 0 for the input as a whole.
type Problem struct {
	Line    int    `json:"line,omitempty"`
	Col     int    `json:"col,omitempty"`
	Column  string `json:"column,omitempty"`
	Item    int    `json:"item,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`

	key string // the column's key in a sheet
}

// Format writes the problem as `FILE:LINE: column "x": message` (a sheet)
// or `FILE: item N: field: message` (a JSON list).
func (p Problem) Format(file string) string {
	var b strings.Builder
	b.WriteString(file)
	switch {
	case p.Line > 0:
		fmt.Fprintf(&b, ":%d: ", p.Line)
	case p.Item > 0:
		fmt.Fprintf(&b, ": item %d: ", p.Item)
	default:
		b.WriteString(": ")
	}
	switch {
	case p.Column != "":
		fmt.Fprintf(&b, "column %q: ", p.Column)
	case p.Field != "":
		b.WriteString(p.Field + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// fail records a problem at line in the column of key ("" for the row).
func (sh *Sheet) fail(line int, key, format string, args ...any) {
	p := Problem{Line: line, Message: fmt.Sprintf(format, args...), key: key}
	if key != "" {
		if i, ok := sh.col[key]; ok {
			p.Col, p.Column = i+1, sh.headers[i]
		} else {
			p.Field = key
		}
	}
	sh.problems = append(sh.problems, p)
}

// failAt records a problem at a line and column given by number.
func (sh *Sheet) failAt(line, col int, format string, args ...any) {
	p := Problem{Line: line, Col: col, Message: fmt.Sprintf(format, args...)}
	if col > 0 && col <= len(sh.headers) {
		p.Column = sh.headers[col-1]
	}
	sh.problems = append(sh.problems, p)
}

// Problems returns what Parse found wrong, by line.
func (sh *Sheet) Problems() []Problem { return sortProblems(sh.problems) }

// Rows is the number of non-empty rows under the header.
func (sh *Sheet) Rows() int { return len(sh.rows) }

// Describe is "UTF-8, comma-separated" and the like.
func (sh *Sheet) Describe() string {
	sep := map[rune]string{',': "comma", ';': "semicolon", '\t': "tab"}[sh.sep]
	return sh.encoding + ", " + sep + "-separated"
}

// decodeText returns the text of a CSV file and its encoding: UTF-8 (with
// or without BOM), UTF-16 with BOM, else GB18030 (a superset of GBK).
func decodeText(data []byte) (text, encoding string, err error) {
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		if !utf8.Valid(data[3:]) {
			line := badUTF8Line(data)
			return "", "UTF-8 with BOM", &decodeError{line: line, msg: fmt.Sprintf("starts as UTF-8 but line %d is not valid UTF-8", line)}
		}
		return string(data[3:]), "UTF-8 with BOM", nil
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}), bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		enc, name := unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM), "UTF-16LE"
		if data[0] == 0xFE {
			enc, name = unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM), "UTF-16BE"
		}
		b, err := enc.NewDecoder().Bytes(data)
		if err != nil || bytes.ContainsRune(b, utf8.RuneError) {
			return "", name, fmt.Errorf("starts as %s but is not valid %s", name, name)
		}
		return string(b), name, nil
	case utf8.Valid(data):
		return string(data), "UTF-8", nil
	}
	b, err := simplifiedchinese.GB18030.NewDecoder().Bytes(data)
	if err != nil || bytes.ContainsRune(b, utf8.RuneError) {
		return "", "unknown encoding", errors.New("neither UTF-8 nor GB18030/GBK text; save the sheet as \"CSV UTF-8\" or \"CSV (逗号分隔)\"")
	}
	return string(b), "GB18030", nil
}

// decodeError is text that is not in the encoding it starts in, at a line.
type decodeError struct {
	line int
	msg  string
}

func (e *decodeError) Error() string { return e.msg }

// badUTF8Line is the line of the first byte that is not valid UTF-8.
func badUTF8Line(data []byte) int {
	line := 1
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 {
			return line
		}
		if r == '\n' {
			line++
		}
		i += n
	}
	return line
}

// sniffSeparator picks the separator the first line uses most, outside
// quotes: comma, semicolon or tab (comma when none).
func sniffSeparator(text string) rune {
	inQuote := false
	counts := map[rune]int{}
	for _, r := range text {
		if r == '"' {
			inQuote = !inQuote
		} else if !inQuote {
			if r == '\n' {
				break
			}
			counts[r]++
		}
	}
	best := ','
	for _, r := range []rune{';', '\t'} {
		if counts[r] > counts[best] {
			best = r
		}
	}
	return best
}

// Parse reads a sensor sheet. What is wrong is in Problems; the rows are
// checked against the sensors in force by Import.
func Parse(data []byte) *Sheet {
	sh := &Sheet{col: map[string]int{}, sep: ','}
	text, enc, err := decodeText(data)
	sh.encoding = enc
	if err != nil {
		line := 1
		var de *decodeError
		if errors.As(err, &de) {
			line = de.line
		}
		sh.fail(line, "", "%v", err)
		return sh
	}
	sh.sep = sniffSeparator(strings.TrimLeft(text, "\r\n"))
	r := csv.NewReader(strings.NewReader(text))
	r.Comma = sh.sep
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	header := true
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				sh.fail(pe.Line, "", "%v", pe.Err)
			} else {
				sh.fail(1, "", "%v", err)
			}
			break
		}
		line, _ := r.FieldPos(0)
		if header {
			if allEmpty(rec) {
				continue
			}
			header = false
			sh.readHeader(line, rec)
			continue
		}
		sh.readRow(line, rec)
	}
	if header {
		sh.fail(1, "", "no header row; the first row names the columns: %s", knownColumns())
	}
	sh.readCells()
	return sh
}

func allEmpty(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

func (sh *Sheet) readHeader(line int, rec []string) {
	for i, h := range rec {
		h = strings.TrimSpace(strings.ReplaceAll(h, "\ufeff", ""))
		sh.headers = append(sh.headers, h)
		if h == "" {
			sh.keys = append(sh.keys, "")
			continue
		}
		k := columnKey(h)
		switch {
		case k == "":
			sh.failAt(line, i+1, "unknown column; the known ones are %s", knownColumns())
			k = "!"
		case hasKey(sh.col, k):
			sh.failAt(line, i+1, "the same column as %q (column %d)", sh.headers[sh.col[k]], sh.col[k]+1)
			k = "!"
		default:
			sh.col[k] = i
		}
		sh.keys = append(sh.keys, k)
	}
	if !hasKey(sh.col, "id") {
		sh.fail(line, "", "no id (编号) column: every sensor needs its id")
	}
}

func hasKey(m map[string]int, k string) bool { _, ok := m[k]; return ok }

func (sh *Sheet) readRow(line int, rec []string) {
	if !hasKey(sh.col, "id") {
		return // reported once at the header
	}
	rw := row{line: line, cells: map[string]string{}}
	for i, v := range rec {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		switch {
		case i >= len(sh.keys):
			sh.failAt(line, i+1, "cell %d (%q) is beyond the header's %d columns", i+1, v, len(sh.keys))
		case sh.keys[i] == "":
			sh.failAt(line, i+1, "cell %d (%q) is in a column without a header", i+1, v)
		case sh.keys[i] == "!":
			// an unknown column, reported at the header
		default:
			rw.cells[sh.keys[i]] = v
		}
	}
	if len(rw.cells) > 0 {
		sh.rows = append(sh.rows, rw)
	}
}
