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
// and a tank overpressure (line protocol) against configs/demo.yaml, and a
// recorded rainstorm (10-minute rainfall) against the rainstorm preset's
// scheduled rules, and compares stdout and stderr with the golden files.
func TestReplayGolden(t *testing.T) {
	for _, c := range []struct{ name, config string }{
		{"storm.csv", "../../configs/demo.yaml"},
		{"tank.lp", "../../configs/demo.yaml"},
		{"rainstorm.csv", "../../configs/presets/rainstorm.yaml"},
	} {
		name := c.name
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			in := filepath.Join("testdata", "replay", name)
			code := run(context.Background(), []string{"replay", "-config", c.config, in}, &stdout, &stderr)
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

// TestReplayRainstormScheduled: the recorded storm raises the rainstorm
// preset's one warning for the gauge and upgrades it blue → yellow →
// orange → red at the CMA criteria (50 mm in 12 h, in 6 h, in 3 h, 100 mm
// in 3 h), then takes it back down; the light-rain gauge raises nothing. A
// recording shorter than a rule's window does not judge it.
func TestReplayRainstormScheduled(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"replay", "-config", "../../configs/presets/rainstorm.yaml", "testdata/replay/rainstorm.csv"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	var got []string
	for _, l := range strings.Split(stdout.String(), "\n") {
		if f := strings.Fields(l); len(f) == 7 && f[2] == "rainstorm" {
			if f[3] != "RG-001" {
				t.Errorf("a rainstorm warning for %s: %s", f[3], l)
			}
			got = append(got, f[1][:5]+" "+f[4]+" "+f[5]+" "+f[6])
		}
	}
	want := []string{"00:55 raised blue 51", "01:35 upgraded yellow 51", "02:35 upgraded orange 52", "03:55 upgraded red 105",
		"04:35 downgraded orange 95", "06:15 downgraded yellow 115", "09:15 downgraded blue 136", "15:15 resolved blue 40"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rainstorm events:\n%s\nwant:\n%s\nall output:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), stdout.String())
	}

	// Six hours of it: the 12 h rule cannot be judged, the 1 h ones can.
	data, err := os.ReadFile("testdata/replay/rainstorm.csv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	short := filepath.Join(t.TempDir(), "short.csv")
	os.WriteFile(short, []byte(strings.Join(lines[:4+2*37], "\n")+"\n"), 0o644)
	stdout.Reset()
	stderr.Reset()
	if code := run(t.Context(), []string{"replay", "-config", "../../configs/presets/rainstorm.yaml", short}, &stdout, &stderr); code != 0 {
		t.Fatalf("short: exit %d\n%s", code, stderr.String())
	}
	for _, want := range []string{"scheduled rule rainstorm not evaluated: its 12h window is longer than the recording (6h0m0s)",
		"scheduled rule short-duration-heavy-rain (*/5 * * * *) evaluated at its ticks from 2025-07-20 13:00"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("short: missing %q in\n%s", want, stderr.String())
		}
	}
}
