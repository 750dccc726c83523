package web

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// outsideRE finds what would make the console load something from outside
// the binary: an absolute or protocol-relative URL, a CSS import, a web
// font, a socket to another host.
var outsideRE = regexp.MustCompile(`(?i)\b(?:https?|wss?|ftp)://|(?:src|href|action)\s*=\s*["']?//|url\(\s*["']?(?:[a-z]+:|//)|@import|@font-face|importScripts|new\s+WebSocket`)

// outside lists, as file:line: what, each reference outsideRE finds in src.
func outside(name, src string) []string {
	var out []string
	for i, line := range strings.Split(src, "\n") {
		for _, m := range outsideRE.FindAllString(line, -1) {
			out = append(out, fmt.Sprintf("%s:%d: %s", name, i+1, m))
		}
	}
	return out
}

func TestOutsideFindsOutsideReferences(t *testing.T) {
	for _, c := range []struct {
		src  string
		want bool
	}{
		{`<script src="https://cdn.example.com/x.js"></script>`, true},
		{`<link rel="stylesheet" href="//fonts.example.com/css">`, true},
		{`body { background: url("http://tiles.example.com/1.png"); }`, true},
		{`.x { background: url(//example.com/a.png) }`, true},
		{`@import "other.css";`, true},
		{`@font-face { font-family: X; src: local(X); }`, true},
		{`fetch("https://api.example.com/")`, true},
		{`var ws = new WebSocket("ws://example.com/")`, true},
		{`<script src="/pages/board.js"></script>`, false},
		{`fetch("/api/v1/meta")`, false},
		{`<a href="#/board">`, false},
		{`// a comment // with slashes`, false},
		{`.x { background: url("data:image/png;base64,AA") }`, true},
		{`var s = '<svg viewBox="0 0 10 10">'`, false},
	} {
		if got := len(outside("x", c.src)) > 0; got != c.want {
			t.Errorf("outside(%q) found %v, want %v", c.src, got, c.want)
		}
	}
}

// TestConsoleFiles checks the embedded console: nothing in it loads from
// outside the binary (a duty-room network has no internet), index.html
// loads every script and style sheet there is (a page file without its
// <script> line would silently be missing), and every file it names exists.
func TestConsoleFiles(t *testing.T) {
	var files []string
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		files = append(files, name)
		b, err := fs.ReadFile(static, p)
		if err != nil {
			return err
		}
		for _, o := range outside(name, string(b)) {
			t.Errorf("loads from outside the binary: %s", o)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	index, err := fs.ReadFile(static, "static/index.html")
	if err != nil {
		t.Fatal(err)
	}
	var loaded []string
	for _, m := range regexp.MustCompile(`<(?:script src|link rel="stylesheet" href)="/([^"]+)"`).FindAllStringSubmatch(string(index), -1) {
		if slices.Contains(loaded, m[1]) {
			t.Errorf("index.html loads %s twice", m[1])
		}
		loaded = append(loaded, m[1])
		if !slices.Contains(files, m[1]) {
			t.Errorf("index.html loads %s, which is not embedded", m[1])
		}
	}
	var pages int
	for _, f := range files {
		ext := path.Ext(f)
		if (ext == ".js" || ext == ".css") && !slices.Contains(loaded, f) {
			t.Errorf("%s is embedded but index.html does not load it: add its <script> or <link> line", f)
		}
		if strings.HasPrefix(f, "pages/") {
			pages++
		}
	}
	if pages < 5 || len(loaded) < 10 {
		t.Errorf("%d page files, %d files loaded by index.html (%v): is the layout what this test expects?", pages, len(loaded), loaded)
	}
}
