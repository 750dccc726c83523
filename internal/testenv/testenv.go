package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RequireExternalEnv names the environment variable that turns a missing
// external binary into a test failure instead of a skip.
const RequireExternalEnv = "YUJING_REQUIRE_EXTERNAL"

// ToolsEnv names the environment variable holding the directory that
// scripts/test-deps.sh installs influxd into.
const ToolsEnv = "YUJING_TOOLS"

// How long a server may take to start (answer) and to stop before the
// test fails or the server is killed. They bound failures only: a server
// that is ready sooner is used at once. influxd starting again with data
// took over 30 s at a load average of 25-36 on 2 cores (TestNoLossKilled).
const (
	brokerStartTimeout = 10 * time.Second
	influxStartTimeout = 2 * time.Minute
	stopTimeout        = 15 * time.Second
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	return freePorts(t, 1)[0]
}

// freePorts returns n distinct free loopback ports. It holds every listener
// open until all are chosen so the kernel cannot hand out one port twice.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("testenv: find a free port: %v", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// missing skips or fails the test when an external binary is not installed.
func missing(t testing.TB, what string, searched []string) {
	t.Helper()
	msg := fmt.Sprintf("testenv: %s not found (looked in %v); run `make test` or scripts/test-deps.sh to install it", what, searched)
	if os.Getenv(RequireExternalEnv) == "1" {
		t.Fatalf("%s (%s=1)", msg, RequireExternalEnv)
	}
	t.Skip(msg)
}

// findBinary returns the first executable among candidates (absolute paths,
// or names looked up in PATH).
func findBinary(candidates ...string) (string, bool) {
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if !filepath.IsAbs(c) {
			if p, err := exec.LookPath(c); err == nil {
				return p, true
			}
			continue
		}
		if fi, err := os.Stat(c); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return c, true
		}
	}
	return "", false
}

// syncBuffer collects a child's output; the child writes from os/exec's
// copying goroutines while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// process is one external server run as a child of the test binary. It can
// be stopped and started again any number of times.
type process struct {
	t      testing.TB
	name   string
	bin    string
	args   []string
	env    []string // added to this process's environment
	output *syncBuffer
	// cred, when set, runs the process as that user (PostgreSQL refuses
	// to run as root).
	cred *syscall.Credential
	// group puts the process in a process group of its own, so that kill
	// reaches the children it forks (PostgreSQL's backends) too.
	group bool
	// stopSignal asks the process to shut down; 0 is SIGTERM.
	stopSignal syscall.Signal

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	mark int           // length of output when cmd started
}

func newProcess(t testing.TB, name, bin string, args ...string) *process {
	p := &process{t: t, name: name, bin: bin, args: args, output: &syncBuffer{}}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("testenv: %s output:\n%s", name, p.output.String())
		}
	})
	t.Cleanup(p.stop)
	return p
}

// start runs the binary and waits until ready succeeds, failing the test if
// the process exits first or the timeout passes. The process's output is
// logged when the test fails.
func (p *process) start(timeout time.Duration, ready func(ctx context.Context) error) {
	p.t.Helper()
	if err := p.launch(timeout, ready); err != nil {
		p.t.Fatalf("testenv: %v", err)
	}
}

// errPortTaken: the process could not listen on a port chosen for it,
// because something else took the port after freePorts let it go.
var errPortTaken = errors.New("port taken")

// portAttempts is how many sets of ports a server gets before the test
// fails: freePorts can only say a port was free a moment ago.
const portAttempts = 3

// launch is start, returning what went wrong; an error wrapping
// errPortTaken means the process exited saying its address was in use.
func (p *process) launch(timeout time.Duration, ready func(ctx context.Context) error) error {
	p.mu.Lock()
	if p.cmd != nil {
		p.mu.Unlock()
		return fmt.Errorf("%s is already running", p.name)
	}
	cmd := exec.Command(p.bin, p.args...)
	if len(p.env) > 0 {
		cmd.Env = append(os.Environ(), p.env...)
	}
	cmd.Stdout = p.output
	cmd.Stderr = p.output
	// Kill the server if the test binary dies without running its cleanups.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Credential: p.cred, Setpgid: p.group}
	fmt.Fprintf(p.output, "--- %s: %s %v\n", time.Now().Format(time.RFC3339Nano), p.bin, p.args)
	p.mark = p.output.Len()
	if err := cmd.Start(); err != nil {
		p.mu.Unlock()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	done := make(chan struct{})
	go func() {
		err := cmd.Wait()
		fmt.Fprintf(p.output, "--- %s: %s exited: %v\n", time.Now().Format(time.RFC3339Nano), p.name, err)
		close(done)
	}()
	p.cmd, p.done = cmd, done
	p.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	began := time.Now()
	var lastErr error
	for {
		attempt, cancelAttempt := context.WithTimeout(ctx, time.Second)
		lastErr = ready(attempt)
		cancelAttempt()
		if lastErr == nil {
			p.t.Logf("testenv: %s ready in %v", p.name, time.Since(began).Round(time.Millisecond))
			return nil
		}
		select {
		case <-done:
			p.stop()
			if strings.Contains(strings.ToLower(p.sinceStart()), "address already in use") {
				return fmt.Errorf("%s exited: %w (%v)", p.name, errPortTaken, lastErr)
			}
			return fmt.Errorf("%s exited before it was ready (%v)", p.name, lastErr)
		case <-ctx.Done():
			p.stop()
			return fmt.Errorf("%s not ready after %v: %v", p.name, timeout, lastErr)
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// sinceStart returns what the process printed since it was last started.
func (p *process) sinceStart() string {
	p.mu.Lock()
	mark := p.mark
	p.mu.Unlock()
	out := p.output.String()
	if mark > len(out) {
		return ""
	}
	return out[mark:]
}

// stop ends the process gracefully (SIGTERM or stopSignal, so servers save
// their state), killing it if it does not exit in time. Stopping a stopped
// process is a no-op.
func (p *process) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	cmd, done := p.cmd, p.done
	p.cmd, p.done = nil, nil
	sig := p.stopSignal
	if sig == 0 {
		sig = syscall.SIGTERM
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(stopTimeout):
		p.t.Logf("testenv: %s ignored %v for %v; killing it", p.name, sig, stopTimeout)
		p.sigkill(cmd, done)
	}
}

// kill ends the process at once with SIGKILL, as a crash would: it saves
// nothing. With group, every process of its group is killed, and kill
// returns once all of them are gone. Killing a stopped process is a no-op.
func (p *process) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	cmd, done := p.cmd, p.done
	p.cmd, p.done = nil, nil
	p.sigkill(cmd, done)
}

func (p *process) sigkill(cmd *exec.Cmd, done chan struct{}) {
	pid := cmd.Process.Pid
	if !p.group {
		_ = cmd.Process.Kill()
		<-done
		return
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	<-done
	// The group's other members were children of the process just reaped;
	// they are gone, or zombies for init to reap, within moments.
	deadline := time.Now().Add(stopTimeout)
	for groupAlive(pid) {
		if time.Now().After(deadline) {
			p.t.Errorf("testenv: processes of %s's group %d still alive %v after SIGKILL", p.name, pid, stopTimeout)
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// groupAlive reports whether a process of group pgid is alive: in
// /proc, with that group and not a zombie.
func groupAlive(pgid int) bool {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		raw, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(raw)
		// Fields after the command: state ppid pgrp …
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		if g, err := strconv.Atoi(f[2]); err == nil && g == pgid {
			return true
		}
	}
	return false
}

// dialReady reports whether a TCP connection to addr succeeds.
func dialReady(addr string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
}
