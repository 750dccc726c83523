package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"yujing"
)

var shanghai = time.FixedZone("CST", 8*3600)

func openTestReadings(t *testing.T, retention time.Duration, opts ...ReadingsOption) *Readings {
	t.Helper()
	r, err := OpenReadings(t.Context(), filepath.Join(t.TempDir(), "readings.db"), retention, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	})
	return r
}

func countRows(t *testing.T, p *pools, table string) int {
	t.Helper()
	var n int
	if err := p.r.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func reading(sensor, metric string, at time.Time, v float64) yujing.Reading {
	return yujing.Reading{Sensor: sensor, Site: "site-1", Family: yujing.FamilyGas, Metric: metric, Unit: "%LEL", Value: v, Time: at}
}

// utc returns rs with every time in UTC, as the store returns them.
func utc(rs ...yujing.Reading) []yujing.Reading {
	out := make([]yujing.Reading, len(rs))
	for i, r := range rs {
		r.Time = r.Time.UTC()
		out[i] = r
	}
	return out
}

func TestReadingsWriteQuery(t *testing.T) {
	r := openTestReadings(t, 0)
	t0 := time.Date(2025, 7, 1, 8, 0, 0, 123456789, shanghai)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	g1 := []yujing.Reading{
		reading("gas-1", "lel", at(0), 1.5),
		reading("gas-1", "lel", at(1), 2.5),
		reading("gas-1", "lel", at(2), 3.5),
		reading("gas-1", "lel", at(3), math.Inf(1)),
	}
	other := []yujing.Reading{
		reading("gas-1", "ppm", at(1), 10),
		reading("gas-2", "lel", at(1), 20),
		{Sensor: "rain-1", Metric: "mm", Value: -0.25, Time: at(1)}, // empty site, family and unit
	}
	// Written out of order and in two batches.
	if err := r.Write(t.Context(), []yujing.Reading{g1[2], other[0], g1[0]}); err != nil {
		t.Fatal(err)
	}
	if err := r.Write(t.Context(), []yujing.Reading{other[1], g1[3], g1[1], other[2]}); err != nil {
		t.Fatal(err)
	}
	if err := r.Write(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name           string
		sensor, metric string
		from, to       time.Time
		want           []yujing.Reading
	}{
		{"all", "gas-1", "lel", at(0), at(4), utc(g1...)},
		{"from inclusive to exclusive", "gas-1", "lel", at(1), at(3), utc(g1[1:3]...)},
		{"bounds in another zone", "gas-1", "lel", at(1).UTC(), at(2).In(time.FixedZone("X", -5*3600)), utc(g1[1])},
		{"open ends", "gas-1", "lel", time.Time{}, time.Time{}, utc(g1...)},
		{"open start", "gas-1", "lel", time.Time{}, at(1), utc(g1[0])},
		{"nanosecond before", "gas-1", "lel", at(0), at(0).Add(time.Nanosecond), utc(g1[0])},
		{"empty range", "gas-1", "lel", at(2), at(2), nil},
		{"other metric", "gas-1", "ppm", at(0), at(4), utc(other[0])},
		{"other sensor", "gas-2", "lel", at(0), at(4), utc(other[1])},
		{"empty strings", "rain-1", "mm", at(0), at(4), utc(other[2])},
		{"unknown sensor", "nope", "lel", at(0), at(4), nil},
		{"far bounds", "gas-1", "lel", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), utc(g1...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Query(t.Context(), tt.sensor, tt.metric, tt.from, tt.to)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestReadingsDuplicatesIdempotent(t *testing.T) {
	r := openTestReadings(t, 0)
	t0 := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	batch := []yujing.Reading{
		reading("gas-1", "lel", t0, 1),
		reading("gas-1", "lel", t0.Add(time.Second), 2),
		reading("gas-1", "lel", t0.Add(time.Second), 2), // duplicate inside the batch
	}
	for range 3 {
		if err := r.Write(t.Context(), batch); err != nil {
			t.Fatal(err)
		}
	}
	if n := countRows(t, r.db, "readings"); n != 2 {
		t.Fatalf("%d rows after replays, want 2", n)
	}
	// A corrected value for the same instant replaces the old one.
	if err := r.Write(t.Context(), []yujing.Reading{reading("gas-1", "lel", t0, 9)}); err != nil {
		t.Fatal(err)
	}
	got, err := r.Query(t.Context(), "gas-1", "lel", t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Value != 9 || got[1].Value != 2 {
		t.Fatalf("got %+v", got)
	}
}

func TestReadingsWriteInvalid(t *testing.T) {
	r := openTestReadings(t, 0)
	t0 := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	good := reading("gas-1", "lel", t0, 1)
	tests := []struct {
		name string
		bad  yujing.Reading
	}{
		{"NaN", reading("gas-1", "lel", t0.Add(time.Second), math.NaN())},
		{"empty sensor", reading("", "lel", t0, 1)},
		{"empty metric", reading("gas-1", "", t0, 1)},
		{"zero time", reading("gas-1", "lel", time.Time{}, 1)},
		{"year 2300", reading("gas-1", "lel", time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC), 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := r.Write(t.Context(), []yujing.Reading{good, tt.bad})
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
			if n := countRows(t, r.db, "readings"); n != 0 {
				t.Fatalf("%d rows written by a failed batch", n)
			}
		})
	}
}

func TestReadingsLast(t *testing.T) {
	r := openTestReadings(t, 0)
	t0 := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	var rs []yujing.Reading
	for i := range 50 {
		at := t0.Add(time.Duration(i) * time.Second)
		rs = append(rs,
			reading("tank-1", "level", at, float64(i)),
			reading("tank-1", "pressure", at.Add(-time.Hour), float64(100+i)),
			reading("tank-2", "level", at.Add(time.Hour), float64(200+i)),
		)
	}
	// The newest temperature is written first.
	rs = append([]yujing.Reading{reading("tank-1", "temperature", t0.Add(time.Minute), 30)}, rs...)
	rs = append(rs, reading("tank-1", "temperature", t0, 20))
	if err := r.Write(t.Context(), rs); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		sensor string
		want   []yujing.Reading
	}{
		{"tank-1", []yujing.Reading{
			reading("tank-1", "level", t0.Add(49*time.Second), 49),
			reading("tank-1", "pressure", t0.Add(49*time.Second-time.Hour), 149),
			reading("tank-1", "temperature", t0.Add(time.Minute), 30),
		}},
		{"tank-2", []yujing.Reading{reading("tank-2", "level", t0.Add(49*time.Second+time.Hour), 249)}},
		{"tank-3", nil},
		{"", nil},
	}
	for _, tt := range tests {
		t.Run(tt.sensor, func(t *testing.T) {
			got, err := r.Last(t.Context(), tt.sensor)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestReadingsPrune(t *testing.T) {
	now := time.Date(2025, 7, 2, 0, 0, 0, 0, time.UTC)
	// More series than one prune transaction visits.
	const series = pruneBatch*2 + 7
	var rs []yujing.Reading
	for i := range series {
		s := fmt.Sprintf("s%04d", i)
		rs = append(rs,
			reading(s, "v", now.Add(-48*time.Hour), 1),
			reading(s, "v", now.Add(-24*time.Hour-time.Nanosecond), 2),
			reading(s, "v", now.Add(-24*time.Hour), 3), // exactly at the cutoff: kept
			reading(s, "v", now.Add(-time.Hour), 4),
		)
	}
	tests := []struct {
		name      string
		retention time.Duration
		deleted   int64
	}{
		{"keep forever", 0, 0},
		{"one day", 24 * time.Hour, 2 * series},
		{"longer than history", 100 * 24 * time.Hour, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := openTestReadings(t, tt.retention)
			if err := r.Write(t.Context(), rs); err != nil {
				t.Fatal(err)
			}
			n, err := r.Prune(t.Context(), now)
			if err != nil {
				t.Fatal(err)
			}
			if n != tt.deleted {
				t.Errorf("deleted %d, want %d", n, tt.deleted)
			}
			if got := countRows(t, r.db, "readings"); got != len(rs)-int(tt.deleted) {
				t.Errorf("%d rows left, want %d", got, len(rs)-int(tt.deleted))
			}
			if tt.retention != 0 {
				var oldest int64
				if err := r.db.r.QueryRowContext(t.Context(), "SELECT MIN(ts) FROM readings").Scan(&oldest); err != nil {
					t.Fatal(err)
				}
				if cutoff := now.Add(-tt.retention); time.Unix(0, oldest).Before(cutoff) {
					t.Errorf("oldest reading %s is before the cutoff %s", time.Unix(0, oldest).UTC(), cutoff)
				}
			}
			// Pruning again finds nothing.
			if n, err := r.Prune(t.Context(), now); err != nil || n != 0 {
				t.Errorf("second prune: %d, %v", n, err)
			}
		})
	}
}

func TestReadingsRunRetention(t *testing.T) {
	var logs syncBuffer
	r := openTestReadings(t, time.Hour, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err := r.RunRetention(t.Context(), 0); err == nil {
		t.Error("RunRetention accepted a zero interval")
	}
	now := time.Now()
	if err := r.Write(t.Context(), []yujing.Reading{
		reading("gas-1", "lel", now.Add(-2*time.Hour), 1),
		reading("gas-1", "lel", now.Add(time.Hour), 2),
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- r.RunRetention(ctx, 10*time.Millisecond) }()
	deadline := time.Now().Add(10 * time.Second)
	for countRows(t, r.db, "readings") != 1 {
		if time.Now().After(deadline) {
			t.Fatal("RunRetention did not prune")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("RunRetention returned %v", err)
	}
	if l := logs.String(); !strings.Contains(l, "msg=\"readings pruned\"") || !strings.Contains(l, "deleted=1") {
		t.Errorf("log:\n%s", l)
	}

	// With retention 0 it only waits for the context.
	keep := openTestReadings(t, 0)
	ctx, cancel = context.WithCancel(t.Context())
	go func() { done <- keep.RunRetention(ctx, time.Millisecond) }()
	select {
	case err := <-done:
		t.Fatalf("RunRetention with retention 0 returned early: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestReadingsConcurrentWrite(t *testing.T) {
	r := openTestReadings(t, 0)
	const writers, batches, per = 6, 20, 25
	t0 := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	ctx, stop := context.WithCancel(t.Context())
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for ctx.Err() == nil {
				if _, err := r.Query(ctx, "w0", "v", t0, t0.Add(time.Hour)); err != nil && ctx.Err() == nil {
					t.Error(err)
					return
				}
				if _, err := r.Last(ctx, "w1"); err != nil && ctx.Err() == nil {
					t.Error(err)
					return
				}
			}
		})
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				rs := make([]yujing.Reading, per)
				for i := range rs {
					rs[i] = reading(fmt.Sprintf("w%d", w), "v", t0.Add(time.Duration(b*per+i)*time.Millisecond), float64(i))
				}
				if err := r.Write(t.Context(), rs); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	stop()
	readers.Wait()
	if n := countRows(t, r.db, "readings"); n != writers*batches*per {
		t.Fatalf("%d rows, want %d", n, writers*batches*per)
	}
	got, err := r.Query(t.Context(), "w3", "v", t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != batches*per {
		t.Fatalf("w3 has %d readings, want %d", len(got), batches*per)
	}
}

func TestReadingsReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.db")
	t0 := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		r, err := OpenReadings(t.Context(), path, 0)
		if err != nil {
			t.Fatal(err)
		}
		if n := countRows(t, r.db, "schema_migrations"); n != len(readingsMigrations) {
			t.Errorf("open %d: %d migrations recorded, want %d", i, n, len(readingsMigrations))
		}
		if n := countRows(t, r.db, "readings"); n != i {
			t.Errorf("open %d: %d readings, want %d", i, n, i)
		}
		if err := r.Write(t.Context(), []yujing.Reading{reading("gas-1", "lel", t0.Add(time.Duration(i)*time.Second), 1)}); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	}
}

func TestReadingsClosed(t *testing.T) {
	r, err := OpenReadings(t.Context(), filepath.Join(t.TempDir(), "r.db"), 0)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	err = r.Write(t.Context(), []yujing.Reading{reading("a", "b", time.Now(), 1)})
	if err == nil {
		t.Fatal("Write after Close succeeded")
	}
	t.Log(err)
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		open func() error
	}{
		{"empty path", func() error { _, err := OpenState(t.Context(), ""); return err }},
		{"missing directory", func() error {
			_, err := OpenReadings(t.Context(), filepath.Join(dir, "no", "such", "dir", "r.db"), 0)
			return err
		}},
		{"negative retention", func() error { _, err := OpenReadings(t.Context(), filepath.Join(dir, "r.db"), -time.Hour); return err }},
		{"a directory", func() error { _, err := OpenState(t.Context(), dir); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.open()
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
		})
	}
	// A context that is already cancelled fails the open.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := OpenState(ctx, filepath.Join(dir, "s.db")); !errors.Is(err, context.Canceled) {
		t.Errorf("open with a cancelled context: %v", err)
	}
}

func TestOddFileNames(t *testing.T) {
	for _, name := range []string{"a?b.db", "c#d.db", "e%20f.db", "预警 数据.db"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), name)
			r, err := OpenReadings(t.Context(), path, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if r.Path() != path {
				t.Errorf("Path() = %q", r.Path())
			}
			if err := r.Write(t.Context(), []yujing.Reading{reading("a", "b", time.Now(), 1)}); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("the database is not at its path: %v", err)
			}
		})
	}
}

func TestReadingsPragmas(t *testing.T) {
	r := openTestReadings(t, 0)
	for _, tt := range []struct {
		db           *sql.DB
		name, pragma string
		want         string
	}{
		{r.db.w, "writer", "journal_mode", "wal"},
		{r.db.w, "writer", "synchronous", "1"},
		{r.db.w, "writer", "foreign_keys", "1"},
		{r.db.r, "reader", "query_only", "1"},
	} {
		var got string
		if err := tt.db.QueryRow("PRAGMA " + tt.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if !strings.EqualFold(got, tt.want) {
			t.Errorf("%s: %s = %s, want %s", tt.name, tt.pragma, got, tt.want)
		}
	}
}
