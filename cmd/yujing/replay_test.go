package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateReplay = flag.Bool("update-replay", false, "rewrite testdata/replay/*.golden")

// TestReplayGolden replays the recorded storm (rain gauge and gas ramp, CSV)
// and a tank overpressure (line protocol) against configs/demo.yaml and
// compares stdout and stderr with the golden files.
func TestReplayGolden(t *testing.T) {
	for _, name := range []string{"storm.csv", "tank.lp"} {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			in := filepath.Join("testdata", "replay", name)
			code := run(context.Background(), []string{"replay", "-config", "../../configs/demo.yaml", in}, &stdout, &stderr)
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, stderr.String())
			}
			got := stdout.String() + "--- stderr\n" + stderr.String()
			golden := in + ".golden"
			if *updateReplay {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestReplayGolden -update-replay and review)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s:\n got:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

func TestReplayDataDirAndSpeed(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "r.csv")
	os.WriteFile(csv, []byte("time,sensor,metric,value\n"+
		"2026-07-01T00:00:00Z,GT-101,lel,2\n"+
		"2026-07-01T00:00:01Z,GT-101,lel,30\n"+
		"2026-07-01T00:00:02Z,GT-101,lel,31\n"+
		"1782864003000,GT-101,,55\n"), 0o644)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"replay", "-speed", "10", "-data", dir, csv}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"raised     yellow 30", "upgraded   red    55", "firing at the end: 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "replay-state.db")); err != nil {
		t.Errorf("state database not kept in -data: %v", err)
	}
}

func TestReplayUsageErrors(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"replay"}, &stdout, &stderr); code != 2 {
		t.Errorf("no file: exit %d, want 2", code)
	}
	if code := run(context.Background(), []string{"replay", "-speed", "fast", "x.csv"}, &stdout, &stderr); code != 2 {
		t.Errorf("bad speed: exit %d, want 2", code)
	}
	if code := run(context.Background(), []string{"replay", "testdata/replay/missing.csv"}, &stdout, &stderr); code != 1 {
		t.Errorf("missing file: exit %d, want 1", code)
	}
}
