package spool

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"yujing"
)

// TestSummarizeDeadLetters: per reason, the readings and batches kept, the
// first and last refusal, the store's latest answer, the most refused
// replays and the first ten sensors; most readings first, ties by reason.
func TestSummarizeDeadLetters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "deadletter")
	if s, err := SummarizeDeadLetters(dir); err != nil || len(s) != 0 {
		t.Fatalf("no directory: %v, %v", s, err)
	}
	d := openDead(t, dir, Options{})
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	readings := func(n int, prefix string) []yujing.Reading {
		var rs []yujing.Reading
		for i := range n {
			rs = append(rs, yujing.Reading{Sensor: fmt.Sprintf("%s%02d", prefix, i), Site: "plant", Family: "gas", Metric: "lel", Value: 1, Time: at})
		}
		return rs
	}
	addOK(t, d, DeadLetter{At: at.Add(2 * time.Minute), Reason: "max_values_per_tag", Err: "second", Attempts: 1, Readings: readings(8, "g")})
	addOK(t, d, DeadLetter{At: at, Reason: "max_values_per_tag", Err: "first", Attempts: 3, Readings: readings(6, "h")})
	addOK(t, d, DeadLetter{At: at.Add(time.Minute), Reason: "field_type_conflict", Err: "conflict", Readings: readings(2, "c")})
	addOK(t, d, DeadLetter{At: at.Add(time.Minute), Reason: "bad_value", Err: "bad", Readings: readings(2, "b")})
	sums, err := SummarizeDeadLetters(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(sums)
	want := fmt.Sprint([]ReasonSummary{
		{Reason: "max_values_per_tag", Readings: 14, Batches: 2, First: at, Last: at.Add(2 * time.Minute), Attempts: 3, Answer: "second",
			Sensors: []string{"g00", "g01", "g02", "g03", "g04", "g05", "g06", "g07", "h00", "h01"}},
		{Reason: "bad_value", Readings: 2, Batches: 1, First: at.Add(time.Minute), Last: at.Add(time.Minute), Answer: "bad", Sensors: []string{"b00", "b01"}},
		{Reason: "field_type_conflict", Readings: 2, Batches: 1, First: at.Add(time.Minute), Last: at.Add(time.Minute), Answer: "conflict", Sensors: []string{"c00", "c01"}},
	})
	if got != want {
		t.Errorf("summary:\n%s\nwant\n%s", got, want)
	}
}
