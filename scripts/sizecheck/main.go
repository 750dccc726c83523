// Command sizecheck lists the Go files and functions of the module that are
// too long to read: a non-test, non-generated file over 800 lines, or a
// function (declaration or package-level function literal) over 120 lines,
// its doc comment aside. It exits 1 when it finds any that is not exempt, or
// when an exemption is no longer needed. `make test` runs it.
//
//	go run ./scripts/sizecheck [dir]   (default: the current directory)
//
// Exemptions are listed below, each with its reason, and printed on every
// run: nothing is exempt silently.
package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Limits.
const (
	maxFileLines = 800
	maxFuncLines = 120
)

// exempt names what may exceed a limit for now, and why: a file by its
// slash-separated path from the module root, a function as path:Name (a
// method as path:Type.Name). A file or function that owes its exemption to
// work under way elsewhere is listed here until that work lands; an entry
// that no longer exceeds fails the check, so that the list stays true.
var exempt = map[string]string{}

// finding is one thing over a limit.
type finding struct {
	key   string // the exemption key: path, or path:Func
	lines int
	limit int
}

func (f finding) String() string {
	what := "file"
	if strings.Contains(f.key, ":") {
		what = "function"
	}
	return fmt.Sprintf("%s %s: %d lines (limit %d)", what, f.key, f.lines, f.limit)
}

func main() {
	root := "."
	if len(os.Args) > 1 {
		root = os.Args[1]
	}
	os.Exit(run(root, exempt, os.Stdout))
}

// run checks the tree under root and writes what it found to out; it
// returns the exit code.
func run(root string, exempt map[string]string, out io.Writer) int {
	found, err := scan(root)
	if err != nil {
		fmt.Fprintf(out, "sizecheck: %v\n", err)
		return 2
	}
	code := 0
	seen := map[string]bool{}
	for _, f := range found {
		seen[f.key] = true
		if why, ok := exempt[f.key]; ok {
			fmt.Fprintf(out, "sizecheck: exempt: %s — %s\n", f, why)
			continue
		}
		fmt.Fprintf(out, "sizecheck: too long: %s\n", f)
		code = 1
	}
	keys := make([]string, 0, len(exempt))
	for k := range exempt {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !seen[k] {
			fmt.Fprintf(out, "sizecheck: stale exemption %s: within the limits now (or gone); remove it from scripts/sizecheck\n", k)
			code = 1
		}
	}
	return code
}

// scan parses every non-test Go file under root that is not generated and
// not under testdata, vendor or a directory whose name starts with . or _.
func scan(root string) ([]finding, error) {
	var found []finding
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		fs, err := checkFile(fset, path, filepath.ToSlash(rel))
		found = append(found, fs...)
		return err
	})
	return found, err
}

// checkFile reports a file's length and its functions' over the limits.
func checkFile(fset *token.FileSet, path, rel string) ([]finding, error) {
	f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	if ast.IsGenerated(f) {
		return nil, nil
	}
	var found []finding
	tf := fset.File(f.Pos())
	if n := tf.LineCount(); n > maxFileLines {
		found = append(found, finding{key: rel, lines: n, limit: maxFileLines})
	}
	span := func(from, to token.Pos) int { return fset.Position(to).Line - fset.Position(from).Line + 1 }
	for _, decl := range f.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			if n := span(d.Pos(), d.End()); n > maxFuncLines {
				found = append(found, finding{key: rel + ":" + funcName(d), lines: n, limit: maxFuncLines})
			}
		case *ast.GenDecl:
			// Package-level function literals: var handler = func() { ... }.
			for _, spec := range d.Specs {
				vs, ok := spec.(*ast.ValueSpec)
				if !ok {
					continue
				}
				for i, v := range vs.Values {
					fl, ok := v.(*ast.FuncLit)
					if !ok || i >= len(vs.Names) {
						continue
					}
					if n := span(fl.Pos(), fl.End()); n > maxFuncLines {
						found = append(found, finding{key: rel + ":" + vs.Names[i].Name, lines: n, limit: maxFuncLines})
					}
				}
			}
		}
	}
	return found, nil
}

// funcName is Name, or Type.Name for a method.
func funcName(d *ast.FuncDecl) string {
	if d.Recv == nil || len(d.Recv.List) == 0 {
		return d.Name.Name
	}
	t := d.Recv.List[0].Type
	for {
		switch x := t.(type) {
		case *ast.StarExpr:
			t = x.X
			continue
		case *ast.IndexExpr: // generic receiver T[P]
			t = x.X
			continue
		case *ast.IndexListExpr:
			t = x.X
			continue
		case *ast.Ident:
			return x.Name + "." + d.Name.Name
		}
		return d.Name.Name
	}
}
