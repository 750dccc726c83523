package alerting

import (
	"math"
	"strings"
	"testing"

	"yujing"
)

func tiersOf(vals map[yujing.Level]float64) Tiers {
	var t Tiers
	for l, v := range vals {
		t.Value[l], t.Set[l] = v, true
	}
	return t
}

func TestEvaluateSequences(t *testing.T) {
	gas := &Rule{Name: "gas", Above: tiersOf(map[yujing.Level]float64{yujing.Blue: 10, yujing.Yellow: 25, yujing.Orange: 40, yujing.Red: 50}), Hysteresis: 2}
	low := &Rule{Name: "low", Below: tiersOf(map[yujing.Level]float64{yujing.Yellow: 1.0, yujing.Red: 0.5}), Hysteresis: 0.1}
	band := &Rule{Name: "band", Above: tiersOf(map[yujing.Level]float64{yujing.Orange: 9}), Below: tiersOf(map[yujing.Level]float64{yujing.Yellow: 1})}
	B, Y, O, R, N := yujing.Blue, yujing.Yellow, yujing.Orange, yujing.Red, yujing.LevelNone
	cases := []struct {
		name   string
		rule   *Rule
		values []float64
		want   []yujing.Level
	}{
		{"rises through every tier", gas, []float64{5, 10, 24.9, 25, 40, 50, 70}, []yujing.Level{N, B, B, Y, O, R, R}},
		{"jumps straight to red", gas, []float64{1, 55}, []yujing.Level{N, R}},
		{"hysteresis holds a hovering value", gas, []float64{25, 24, 23.5, 25.5, 23.1, 23}, []yujing.Level{Y, Y, Y, Y, Y, B}},
		{"falls back through tiers", gas, []float64{60, 49, 47.9, 30, 9, 8}, []yujing.Level{R, R, O, Y, B, N}},
		{"clears only past hysteresis", gas, []float64{10, 8.5, 8}, []yujing.Level{B, B, N}},
		{"below thresholds", low, []float64{2, 1.0, 0.9, 1.05, 1.1, 0.5, 0.55, 0.6}, []yujing.Level{N, Y, Y, Y, N, R, R, Y}},
		{"outside a band", band, []float64{5, 9, 5, 1, 5}, []yujing.Level{N, O, N, Y, N}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cur := N
			for i, v := range c.values {
				cur, _ = c.rule.Evaluate(v, cur)
				if cur != c.want[i] {
					t.Fatalf("step %d value %g: level %s, want %s", i, v, cur, c.want[i])
				}
			}
		})
	}
}

func TestValidate(t *testing.T) {
	bad := []*Rule{
		{Name: "none"},
		{Name: "inverted", Above: tiersOf(map[yujing.Level]float64{yujing.Blue: 30, yujing.Red: 20})},
		{Name: "equal", Above: tiersOf(map[yujing.Level]float64{yujing.Blue: 30, yujing.Yellow: 30})},
		{Name: "below inverted", Below: tiersOf(map[yujing.Level]float64{yujing.Blue: 1, yujing.Red: 2})},
		{Name: "neg", Above: tiersOf(map[yujing.Level]float64{yujing.Red: 2}), Hysteresis: -1},
	}
	for _, r := range bad {
		if err := r.Validate(); err == nil {
			t.Errorf("rule %q validated", r.Name)
		}
	}
}

func BenchmarkEvaluate(b *testing.B) {
	r := &Rule{Name: "gas", Above: tiersOf(map[yujing.Level]float64{yujing.Blue: 10, yujing.Yellow: 25, yujing.Orange: 40, yujing.Red: 50}), Hysteresis: 2}
	b.ReportAllocs()
	cur := yujing.LevelNone
	v := 0.0
	for b.Loop() {
		v += 0.7
		if v > 60 {
			v = 0
		}
		cur, _ = r.Evaluate(v, cur)
	}
}

func TestClearThresholds(t *testing.T) {
	// Raise red at 50 %LEL, clear red only below 40; orange at 40, clear
	// orange below 35; blue with the default hysteresis of 2.
	r := &Rule{Name: "gas", Above: tiersOf(map[yujing.Level]float64{yujing.Blue: 10, yujing.Orange: 40, yujing.Red: 50}), Hysteresis: 2,
		Clear: tiersOf(map[yujing.Level]float64{yujing.Orange: 35, yujing.Red: 40})}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	B, O, R, N := yujing.Blue, yujing.Orange, yujing.Red, yujing.LevelNone
	cur := N
	for i, step := range []struct {
		v    float64
		want yujing.Level
	}{{55, R}, {45, R}, {40, R}, {39.9, O}, {36, O}, {34, B}, {8.5, B}, {8, N}} {
		cur, _ = r.Evaluate(step.v, cur)
		if cur != step.want {
			t.Fatalf("step %d value %g: %s, want %s", i, step.v, cur, step.want)
		}
	}
	bad := &Rule{Name: "x", Above: tiersOf(map[yujing.Level]float64{yujing.Red: 50}), Clear: tiersOf(map[yujing.Level]float64{yujing.Red: 55, yujing.Blue: 1})}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "must not be above its threshold") || !strings.Contains(err.Error(), "no threshold") {
		t.Errorf("bad clear values: %v", err)
	}
}

// TestTangentAngle: the improved tangent angle is 45° at the uniform
// stage's rate, and the stage boundaries 80° and 85° fall at 5.67 and
// 11.43 times it (tan 80°, tan 85°); a slope that stops or moves back has
// no positive angle.
func TestTangentAngle(t *testing.T) {
	for _, c := range []struct{ rate, uniform, want float64 }{
		{2, 2, 45},
		{0.5, 0.5, 45},
		{2 * 5.6713, 2, 80},
		{2 * 11.4301, 2, 85},
		{1, 2, 26.565},
		{0, 2, 0},
		{-1, 2, -26.565},
	} {
		if got := TangentAngle(c.rate, c.uniform); math.Abs(got-c.want) > 0.001 {
			t.Errorf("TangentAngle(%g, %g) = %.4f°, want %g°", c.rate, c.uniform, got, c.want)
		}
	}
}
