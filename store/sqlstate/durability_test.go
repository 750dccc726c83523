package sqlstate

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"yujing"
)

// durabilityEnv names the database the child process writes to.
const durabilityEnv = "YUJING_SQLITE_DURABILITY_DB"

// TestStateDurabilityChild is the child process of TestStateDurability: it
// creates and acknowledges alerts as fast as it can and prints each id the
// moment the call returns, until it is killed.
func TestStateDurabilityChild(t *testing.T) {
	path := os.Getenv(durabilityEnv)
	if path == "" {
		t.Skip("helper process of TestStateDurability")
	}
	s, err := OpenSQLite(t.Context(), path, Options{})
	if err != nil {
		fmt.Printf("error %v\n", err)
		os.Exit(2)
	}
	t0 := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; ; i++ {
		at := t0.Add(time.Duration(i) * time.Second)
		a := yujing.Alert{Rule: "gas-high", Sensor: fmt.Sprint("gas-", i), Level: yujing.Red,
			State: yujing.StateFiring, Value: float64(i), StartedAt: at, UpdatedAt: at}
		if err := s.CreateAlert(t.Context(), &a, &yujing.Transition{At: at, Event: yujing.EventRaised,
			ToLevel: yujing.Red, ToState: yujing.StateFiring, Actor: yujing.ActorSystem}); err != nil {
			fmt.Printf("error %v\n", err)
			os.Exit(2)
		}
		fmt.Printf("created %d\n", a.ID) // os.Stdout is unbuffered: one write(2)
		a.State, a.AckedAt, a.AckedBy = yujing.StateAcknowledged, &at, "duty"
		if err := s.UpdateAlert(t.Context(), a, &yujing.Transition{At: at, Event: yujing.EventAcknowledged,
			FromLevel: yujing.Red, ToLevel: yujing.Red, FromState: yujing.StateFiring,
			ToState: yujing.StateAcknowledged, Actor: "duty"}); err != nil {
			fmt.Printf("error %v\n", err)
			os.Exit(2)
		}
		fmt.Printf("acked %d\n", a.ID)
	}
}

// TestStateDurability SIGKILLs a process that is writing alerts, right
// after it reported a CreateAlert as returned, and checks that every alert
// and acknowledgement it reported is in the database and that the file is
// intact.
func TestStateDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	path := filepath.Join(t.TempDir(), "state.db")
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestStateDurabilityChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), durabilityEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	const killAfter = 25 // created alerts
	created := map[int64]bool{}
	acked := map[int64]bool{}
	killed := false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		kind, num, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if kind == "error" {
			t.Fatalf("child: %s", line)
		}
		id, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			continue // test framework output
		}
		switch kind {
		case "created":
			created[id] = true
		case "acked":
			acked[id] = true
		}
		if kind == "created" && len(created) == killAfter && !killed {
			// Right after CreateAlert returned, and before the child's
			// UpdateAlert can finish.
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child ended before it was killed: %v", err)
	}
	if err == nil {
		t.Fatal("child exited cleanly, want killed")
	}
	t.Logf("child: %v after %d created, %d acknowledged", err, len(created), len(acked))

	s, err := OpenSQLite(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var check string
	if err := s.db.r.QueryRowContext(t.Context(), "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q, %v", check, err)
	}
	for id := range created {
		a, hist, err := s.Alert(t.Context(), id)
		if err != nil {
			t.Errorf("created alert %d lost: %v", id, err)
			continue
		}
		if len(hist) == 0 || hist[0].Event != yujing.EventRaised {
			t.Errorf("alert %d: history %+v", id, hist)
		}
		if acked[id] && (a.State != yujing.StateAcknowledged || len(hist) != 2) {
			t.Errorf("acknowledgement of alert %d lost: state %s, %d transitions", id, a.State, len(hist))
		}
		// A transaction the kill interrupted is all or nothing.
		if (a.State == yujing.StateAcknowledged) != (len(hist) == 2) {
			t.Errorf("alert %d half updated: state %s, %d transitions", id, a.State, len(hist))
		}
	}
	// Nothing was made up either: at most one more alert than reported
	// (committed, then killed before it was printed).
	var n int
	if err := s.db.r.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM alerts").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n < len(created) || n > len(created)+1 {
		t.Errorf("%d alerts stored, %d reported", n, len(created))
	}
}
