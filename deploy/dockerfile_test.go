package deploy

import (
	"bufio"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// goVersion parses "1.27", "1.27.3" into comparable parts; ok false for
// anything else.
func goVersion(s string) (v [3]int, ok bool) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return v, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return v, false
		}
		v[i] = n
	}
	return v, true
}

// imageHasGo reports whether the golang image tagged tag ("1.27", "1.27.3",
// "1.27-bookworm") brings at least Go want (go.mod's go line): the image
// sets GOTOOLCHAIN=local, so its Go must be new enough itself. A tag without
// a patch level is the newest patch release of that minor version.
func imageHasGo(tag string, want [3]int) bool {
	version, _, _ := strings.Cut(tag, "-")
	have, ok := goVersion(version)
	if !ok {
		return false
	}
	patchless := strings.Count(version, ".") == 1
	for i := range 3 {
		if i == 2 && patchless {
			return true
		}
		if have[i] != want[i] {
			return have[i] > want[i]
		}
	}
	return true
}

func TestImageHasGo(t *testing.T) {
	want := [3]int{1, 27, 3}
	tests := []struct {
		tag string
		ok  bool
	}{
		{"1.26-bookworm", false},
		{"1.27-bookworm", true},
		{"1.27", true},
		{"1.27.2-bookworm", false},
		{"1.27.3-bookworm", true},
		{"1.27.10", true},
		{"1.28", true},
		{"2.0", true},
		{"bookworm", false},
		{"latest", false},
	}
	for _, tt := range tests {
		if got := imageHasGo(tt.tag, want); got != tt.ok {
			t.Errorf("imageHasGo(%q, 1.27.3) = %v, want %v", tt.tag, got, tt.ok)
		}
	}
}

// TestDockerfileGoMatchesGoMod checks that the Dockerfile builds with a Go
// at least as new as go.mod's go line: the golang images set
// GOTOOLCHAIN=local, so an older one refuses to build the module.
func TestDockerfileGoMatchesGoMod(t *testing.T) {
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod: no go line")
	}
	want, ok := goVersion(string(m[1]))
	if !ok {
		t.Fatalf("go.mod: go %s: not a version", m[1])
	}

	f, err := os.Open("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	from := regexp.MustCompile(`^FROM\s+(?:\S+/)?golang:(\S+)`)
	found := 0
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		m := from.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		found++
		if !imageHasGo(m[1], want) {
			t.Errorf("Dockerfile:%d: golang:%s is older than go.mod's go %d.%d.%d", line, m[1], want[0], want[1], want[2])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if found == 0 {
		t.Fatal("Dockerfile: no FROM golang:… stage")
	}
}
