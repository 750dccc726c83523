package spool

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// crashEnv names the spool directory the child process appends to.
const crashEnv = "YUJING_SPOOL_CRASH_DIR"

// TestCrashChild is the child process of TestCrashMidAppend: four
// goroutines append batches as fast as they can, and each prints a batch's
// id the moment its Append returns, until the process is killed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("helper process of TestCrashMidAppend")
	}
	s, err := Open(dir, Options{SegmentBytes: 64 << 10})
	if err != nil {
		fmt.Printf("error %v\n", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	next := 0
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				mu.Lock()
				id := next
				next++
				mu.Unlock()
				if err := s.Append(t.Context(), batch(id, 1+id%40)); err != nil {
					fmt.Printf("error %v\n", err)
					os.Exit(2)
				}
				fmt.Printf("ok %d\n", id) // os.Stdout is unbuffered: one write(2)
			}
		})
	}
	wg.Wait()
}

// TestCrashMidAppend SIGKILLs a process that is appending, and checks that
// the spool it leaves opens cleanly and holds every batch whose Append had
// returned, intact and once.
func TestCrashMidAppend(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	dir := t.TempDir()
	for round := range 3 {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+dir)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAfter := 300 + 200*round // returned Appends
		acked := map[int]bool{}
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			if rest, ok := strings.CutPrefix(line, "ok "); ok {
				id, err := strconv.Atoi(rest)
				if err != nil {
					t.Fatalf("child printed %q", line)
				}
				acked[id] = true
				if len(acked) == killAfter {
					_ = cmd.Process.Signal(syscall.SIGKILL)
				}
				continue
			}
			if strings.HasPrefix(line, "error") || strings.HasPrefix(line, "---") || strings.HasPrefix(line, "FAIL") {
				t.Fatalf("child: %s", line)
			}
		}
		_ = cmd.Wait()
		if len(acked) < killAfter {
			t.Fatalf("child stopped after %d appends", len(acked))
		}

		s, err := Open(dir, Options{})
		if err != nil {
			t.Fatalf("Open after SIGKILL: %v", err)
		}
		r := s.Recovery()
		seen := map[int]bool{}
		for !s.Empty() {
			b, err := s.Read(1000)
			if err != nil {
				t.Fatalf("Read after SIGKILL: %v", err)
			}
			for i := 0; i < len(b.Readings); {
				id := batchID(b.Readings[i])
				n := 1 + id%40
				if seen[id] {
					t.Fatalf("batch %d replayed twice", id)
				}
				seen[id] = true
				sameReadings(t, b.Readings[i:i+n], batch(id, n))
				i += n
			}
			if err := s.Commit(b); err != nil {
				t.Fatal(err)
			}
		}
		for id := range acked {
			if !seen[id] {
				t.Fatalf("batch %d was reported durable but is not in the spool", id)
			}
		}
		t.Logf("round %d: %d appends returned before SIGKILL, %d batches in the spool, %d torn bytes cut",
			round, len(acked), len(seen), r.TornBytes)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
