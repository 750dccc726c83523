// Package table writes plain-text tables whose columns line up in a
// terminal, also when cells hold Chinese: East Asian wide and full-width
// characters count as two cells, as a terminal shows them (text/tabwriter
// counts them as one and misaligns every column after a Chinese name).
package table

import (
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/width"
)

// Table collects rows and writes them aligned on Flush: columns two spaces
// apart, no trailing spaces.
type Table struct {
	w    io.Writer
	rows [][]string
}

// New starts a table on w; the header, when given, is its first row.
func New(w io.Writer, header ...string) *Table {
	t := &Table{w: w}
	if len(header) > 0 {
		t.rows = append(t.rows, header)
	}
	return t
}

// Row adds a row. Rows may have different numbers of cells.
func (t *Table) Row(cells ...string) { t.rows = append(t.rows, cells) }

// Flush writes the rows collected so far and forgets them.
func (t *Table) Flush() error {
	var widths []int
	for _, r := range t.rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], Width(c))
		}
	}
	var b strings.Builder
	for _, r := range t.rows {
		var line strings.Builder
		for i, c := range r {
			line.WriteString(c)
			if i < len(r)-1 {
				line.WriteString(strings.Repeat(" ", widths[i]-Width(c)+2))
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
	}
	t.rows = nil
	_, err := fmt.Fprint(t.w, b.String())
	return err
}

// Width is how many terminal cells s takes.
func Width(s string) int {
	n := 0
	for _, r := range s {
		switch width.LookupRune(r).Kind() {
		case width.EastAsianWide, width.EastAsianFullwidth:
			n += 2
		default:
			n++
		}
	}
	return n
}
