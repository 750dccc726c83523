package cluster

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// testLease returns a lease taken (sent) now with ttl 3 s and margin 600 ms,
// so held for 2.4 s unless renewed, and the metrics it counts on.
func testLease(t *testing.T, ended func()) (*Lease, *metrics) {
	t.Helper()
	cfg, err := Config{TTL: 3 * time.Second, Margin: 600 * time.Millisecond}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	m, err := newMetrics(nil, func() float64 { return 0 }, func() float64 { return 0 })
	if err != nil {
		t.Fatal(err)
	}
	if ended == nil {
		ended = func() {}
	}
	return newLease("partition/3", 7, "node-a/0", kindPartition, time.Now(), cfg, m, ended), m
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// The node's own deadline: sent + ttl − margin, moved by each renewal to
// the time that renewal was sent plus ttl − margin; when it passes, Held is
// false and Lost is closed, with nobody asking (the node may be cut off from
// the database), and a late renewal answer does not bring the lease back.
func TestLeaseDeadline(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, l *Lease, m *metrics, ends *int)
	}{
		{"expires at sent + ttl − margin", func(t *testing.T, l *Lease, m *metrics, ends *int) {
			start := time.Now()
			if want := start.Add(2400 * time.Millisecond); !l.Deadline().Equal(want) {
				t.Fatalf("deadline %v after the take, want 2.4s", l.Deadline().Sub(start))
			}
			time.Sleep(2400*time.Millisecond - time.Nanosecond)
			synctest.Wait()
			if !l.Held() || closed(l.Lost()) {
				t.Fatal("not held just before the deadline")
			}
			time.Sleep(time.Nanosecond)
			synctest.Wait()
			if l.Held() || !closed(l.Lost()) || *ends != 1 {
				t.Fatalf("at the deadline: held %v, lost closed %v, node told %d times; want false, true, 1", l.Held(), closed(l.Lost()), *ends)
			}
			if got := testutil.ToFloat64(m.lost.WithLabelValues(kindPartition)); got != 1 {
				t.Fatalf("leases lost %v, want 1", got)
			}
		}},
		{"a renewal moves the deadline to its send time + ttl − margin", func(t *testing.T, l *Lease, m *metrics, ends *int) {
			start := time.Now()
			time.Sleep(time.Second)
			sent := time.Now()
			time.Sleep(200 * time.Millisecond) // the answer takes 200 ms
			if !l.extend(sent) {
				t.Fatal("extend of a held lease refused")
			}
			if got := l.Deadline().Sub(start); got != 3400*time.Millisecond {
				t.Fatalf("deadline %v after the take, want 1s + 2.4s", got)
			}
			time.Sleep(2100 * time.Millisecond) // 3.3 s: past the first deadline
			synctest.Wait()
			if !l.Held() || closed(l.Lost()) {
				t.Fatal("lost at the deadline before the renewal")
			}
			time.Sleep(200 * time.Millisecond)
			synctest.Wait()
			if l.Held() || !closed(l.Lost()) {
				t.Fatal("still held after the renewed deadline")
			}
		}},
		{"an older renewal never moves the deadline back", func(t *testing.T, l *Lease, m *metrics, ends *int) {
			first := l.Deadline()
			if !l.extend(time.Now().Add(-time.Second)) {
				t.Fatal("extend refused")
			}
			if !l.Deadline().Equal(first) {
				t.Fatalf("deadline moved by %v", l.Deadline().Sub(first))
			}
		}},
		{"a renewal answered after the deadline does not revive it", func(t *testing.T, l *Lease, m *metrics, ends *int) {
			sent := time.Now().Add(time.Second)
			time.Sleep(3 * time.Second)
			if l.extend(sent) {
				t.Fatal("a lease past its deadline was extended")
			}
			if l.Held() {
				t.Fatal("held after a late renewal")
			}
		}},
		{"a released lease is not counted as lost", func(t *testing.T, l *Lease, m *metrics, ends *int) {
			time.Sleep(time.Second)
			at := time.Now()
			if !l.end(endReleased) || l.end(endReleased) {
				t.Fatal("end: want true once, then false")
			}
			if l.Held() || !closed(l.Lost()) || !l.Deadline().Equal(at) || *ends != 1 {
				t.Fatalf("after release: held %v, lost %v, deadline %v after the release, told %d times", l.Held(), closed(l.Lost()), l.Deadline().Sub(at), *ends)
			}
			if l.extend(time.Now()) {
				t.Fatal("a released lease was extended")
			}
			time.Sleep(5 * time.Second)
			synctest.Wait()
			if *ends != 1 || testutil.ToFloat64(m.lost.WithLabelValues(kindPartition)) != 0 {
				t.Fatalf("told %d times, lost counter %v; want 1, 0", *ends, testutil.ToFloat64(m.lost.WithLabelValues(kindPartition)))
			}
		}},
		{"a lease not held is refused without asking the database", func(t *testing.T, l *Lease, m *metrics, ends *int) {
			time.Sleep(3 * time.Second)
			asked := false
			err := l.fenced(func(...any) error { asked = true; return nil })
			var fe *FencedError
			if !errors.Is(err, ErrFenced) || !errors.As(err, &fe) || fe.Why != whyNotHeld || fe.Lease != "partition/3" || fe.Fence != 7 || asked {
				t.Fatalf("fenced after the deadline: %v (asked the database: %v)", err, asked)
			}
			if got := testutil.ToFloat64(m.refused.WithLabelValues(kindPartition)); got != 1 {
				t.Fatalf("refusals %v, want 1", got)
			}
		}},
		{"a lease the database no longer has is refused and let go", func(t *testing.T, l *Lease, m *metrics, ends *int) {
			var args []any
			err := l.fenced(func(a ...any) error { args = a; return errNoRow })
			if !errors.Is(err, ErrFenced) || err.Error() != "cluster: lease partition/3 (fence 7): taken or expired" {
				t.Fatalf("fenced: %v", err)
			}
			if len(args) != 4 || args[0] != "partition/3" || args[1] != "node-a/0" || args[2] != int64(7) || args[3] != "600" {
				t.Fatalf("check arguments %v; want name, holder, fence, idle timeout in ms", args)
			}
			if l.Held() || !closed(l.Lost()) || *ends != 1 {
				t.Fatal("a refused lease is still held")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ends := 0
				l, m := testLease(t, func() { ends++ })
				tt.run(t, l, m, &ends)
				l.end(endReleased) // stop its timer
			})
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	tests := []struct {
		in      Config
		want    Config
		wantErr string
	}{
		{in: Config{}, want: Config{TTL: 10 * time.Second, Margin: 2 * time.Second, Partitions: 32}},
		{in: Config{TTL: 1500 * time.Millisecond, Partitions: 8}, want: Config{TTL: 1500 * time.Millisecond, Margin: 300 * time.Millisecond, Partitions: 8}},
		{in: Config{TTL: 100 * time.Millisecond}, wantErr: "cluster: ttl 100ms: below 300ms"},
		{in: Config{TTL: 3 * time.Second, Margin: 2 * time.Second}, wantErr: "cluster: margin 2s: want at least 1ms and less than ttl − ttl/3 (2s)"},
		{in: Config{Partitions: -1}, wantErr: "cluster: partitions -1: want 1 to 4096"},
		{in: Config{Partitions: 5000}, wantErr: "cluster: partitions 5000: want 1 to 4096"},
	}
	for _, tt := range tests {
		got, err := tt.in.withDefaults()
		switch {
		case tt.wantErr != "":
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("%+v: error %v, want %q", tt.in, err, tt.wantErr)
			}
		case err != nil || got != tt.want:
			t.Errorf("%+v: %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}
