// Package capwarn turns CAP 1.2 messages (package cap) into issued
// warnings (package alerting/issued): one warning per (message, area), its
// level from the colour the warning names (红色/橙色/黄色/蓝色预警) or,
// failing that, from the CAP severity, by the configuration's tables.
// Both ways in — the MQTT decoder "cap" and POST /api/v1/warnings/cap —
// end in Intake.Accept.
//
//   - Alert: a warning for every area code of the preferred info block
//     (zh-CN first), in force until its expires.
//   - Update: the warnings of the message it references change in place —
//     level, text, end — and areas it no longer names end (area_removed);
//     new areas are raised.
//   - Cancel: the warnings of the message it references end (cancelled).
//
// A message is applied once: its sender and identifier are recorded
// (store.IssuedMessage) after its warnings are raised, so a second
// delivery, also after a restart, changes nothing and calls nobody.
package capwarn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"yujing"
	"yujing/alerting/issued"
	"yujing/cap"
	"yujing/store"
)

// Source is the issued warnings' source for CAP.
const Source = "cap"

// Settings say how a CAP message becomes warnings (configuration "cap:").
type Settings struct {
	// Colours maps words of the event or headline to levels, tried
	// longest first: 红色 → red … The defaults are the four Chinese
	// colours and Red/Orange/Yellow/Blue.
	Colours map[string]yujing.Level
	// Severities maps CAP severity to a level when no colour is named:
	// default Extreme red, Severe orange, Moderate yellow, Minor blue.
	Severities map[string]yujing.Level
	// Geocodes are the valueNames whose values are administrative
	// division codes; empty: any geocode whose value is one.
	Geocodes []string
	// Statuses are the CAP statuses taken; default Actual only (Exercise,
	// Test, System and Draft messages are acknowledged and ignored).
	Statuses []string
	// Languages are the info languages preferred, in order; default zh.
	Languages []string
	// Family is the hazard family of the warnings ("" none).
	Family yujing.Family
	// CloseOnEnd closes a warning (核查销号) when it is cancelled or
	// expires, instead of leaving it resolved for an operator to close.
	CloseOnEnd bool
}

// DefaultColours and DefaultSeverities are the tables Settings default to.
func DefaultColours() map[string]yujing.Level {
	return map[string]yujing.Level{"红色": yujing.Red, "橙色": yujing.Orange, "黄色": yujing.Yellow, "蓝色": yujing.Blue,
		"Red": yujing.Red, "Orange": yujing.Orange, "Yellow": yujing.Yellow, "Blue": yujing.Blue}
}

// DefaultSeverities maps CAP severities to levels.
func DefaultSeverities() map[string]yujing.Level {
	return map[string]yujing.Level{"Extreme": yujing.Red, "Severe": yujing.Orange, "Moderate": yujing.Yellow, "Minor": yujing.Blue}
}

func (s *Settings) setDefaults() {
	if len(s.Colours) == 0 {
		s.Colours = DefaultColours()
	}
	if len(s.Severities) == 0 {
		s.Severities = DefaultSeverities()
	}
	if len(s.Statuses) == 0 {
		s.Statuses = []string{"Actual"}
	}
	if len(s.Languages) == 0 {
		s.Languages = []string{"zh"}
	}
}

// Warnings is the entry point (issued.Warnings).
type Warnings interface {
	Raise(ctx context.Context, w issued.Warning) (issued.Result, error)
	End(ctx context.Context, source, key string, e issued.End) (issued.Result, error)
	List(ctx context.Context, f store.IssuedFilter) ([]store.IssuedWarning, error)
}

// Messages records the messages applied (store/sqlstate.State).
type Messages interface {
	IssuedMessage(ctx context.Context, source, id string) (store.IssuedMessage, error)
	SaveIssuedMessage(ctx context.Context, m store.IssuedMessage) (bool, error)
}

// Intake applies CAP messages.
type Intake struct {
	mu    sync.Mutex // guards set
	set   Settings
	w     Warnings
	msgs  Messages
	log   *slog.Logger
	now   func() time.Time
	valid func(string) bool
}

// Options are the intake's collaborators.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time
	// ValidRegion tells an administrative division code (duty.ValidRegion).
	ValidRegion func(string) bool
}

// New builds the intake.
func New(set Settings, w Warnings, msgs Messages, opts Options) (*Intake, error) {
	if w == nil || msgs == nil {
		return nil, errors.New("capwarn: warnings and messages are required")
	}
	set.setDefaults()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ValidRegion == nil {
		opts.ValidRegion = func(c string) bool {
			if len(c) != 6 && len(c) != 9 && len(c) != 12 {
				return false
			}
			return strings.Trim(c, "0123456789") == ""
		}
	}
	return &Intake{set: set, w: w, msgs: msgs, log: opts.Logger, now: opts.Now, valid: opts.ValidRegion}, nil
}

// SetSettings replaces the settings (a reload): messages applied from now
// on use them; warnings already in force keep their level until a message
// changes them.
func (in *Intake) SetSettings(set Settings) {
	set.setDefaults()
	in.mu.Lock()
	in.set = set
	in.mu.Unlock()
}

func (in *Intake) settings() Settings {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.set
}

// Result is what one message did.
type Result struct {
	Message  string          `json:"message"` // sender,identifier
	MsgType  string          `json:"msg_type"`
	Ignored  string          `json:"ignored,omitempty"` // why nothing was done: duplicate, status Exercise, …
	Warnings []WarningResult `json:"warnings"`
}

// WarningResult is one area's warning after the message.
type WarningResult struct {
	Area    string         `json:"area"`
	AlertID int64          `json:"alert_id"`
	Level   yujing.Level   `json:"level"`
	Outcome issued.Outcome `json:"outcome"`
}

// AlertIDs lists the yujing alert ids of the result, in area order (an
// area whose warning was not raised, being past its end, has none).
func (r Result) AlertIDs() []int64 {
	out := make([]int64, 0, len(r.Warnings))
	for _, w := range r.Warnings {
		if w.AlertID != 0 {
			out = append(out, w.AlertID)
		}
	}
	return out
}

// ErrBadDocument wraps every refusal of a document; the *cap.Error in it
// names the element.
var ErrBadDocument = errors.New("bad CAP document")

// Accept parses and applies one CAP document. A document that is not CAP
// 1.2, or lacks what the mapping needs (an area code, a level), is an
// error wrapping ErrBadDocument that names the element; nothing is
// applied then.
func (in *Intake) Accept(ctx context.Context, doc []byte) (Result, error) {
	a, err := cap.Parse(doc)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %w", ErrBadDocument, err)
	}
	return in.Apply(ctx, a)
}

// area is one area code of a message with its description.
type area struct{ code, desc string }

// Apply applies a parsed message.
func (in *Intake) Apply(ctx context.Context, a *cap.Alert) (Result, error) {
	res := Result{Message: a.ID(), MsgType: a.MsgType, Warnings: []WarningResult{}}
	set := in.settings()
	if !slices.Contains(set.Statuses, a.Status) {
		res.Ignored = "status " + a.Status
		return res, nil
	}
	if a.MsgType == "Ack" || a.MsgType == "Error" {
		res.Ignored = "msgType " + a.MsgType
		return res, nil
	}
	if prev, err := in.msgs.IssuedMessage(ctx, Source, a.ID()); err == nil {
		res.Ignored = "duplicate"
		return in.current(ctx, res, prev.Root)
	} else if !errors.Is(err, store.ErrNotFound) {
		return res, fmt.Errorf("capwarn: message %s: %w", a.ID(), err)
	}
	root := a.ID()
	if a.MsgType != "Alert" {
		found := false
		for _, r := range a.References {
			if m, err := in.msgs.IssuedMessage(ctx, Source, r.ID()); err == nil {
				root, found = m.Root, true
				break
			}
		}
		if !found && a.MsgType == "Cancel" {
			res.Ignored = "cancel of a message never received"
			return res, in.remember(ctx, a, root)
		}
	}
	if a.MsgType == "Cancel" {
		if err := in.endAll(ctx, &set, root, nil, issued.ReasonCancelled, cancelNote(a)); err != nil {
			return res, err
		}
		if err := in.remember(ctx, a, root); err != nil {
			return res, err
		}
		return in.current(ctx, res, root)
	}
	info := a.Preferred(set.Languages...)
	if info == nil {
		return res, fmt.Errorf("%w: %w", ErrBadDocument, &cap.Error{Path: "alert/info", Msg: "required: an " + a.MsgType + " needs an info block"})
	}
	level, err := set.level(a, info)
	if err != nil {
		return res, err
	}
	areas, err := in.areas(&set, a, info)
	if err != nil {
		return res, err
	}
	starts := a.Sent
	if !info.Effective.IsZero() {
		starts = info.Effective
	}
	keep := map[string]bool{}
	for _, ar := range areas {
		key := root + "#" + ar.code
		keep[key] = true
		w := issued.Warning{Source: Source, Key: key, Level: level, Region: ar.code, Family: set.Family,
			Title: title(info, ar), Summary: summary(info), StartsAt: starts, EndsAt: info.Expires,
			Actor: "cap:" + a.Sender, Note: fmt.Sprintf("CAP %s %s（%s）", a.MsgType, a.Identifier, a.Sent.Format(time.RFC3339)),
			Labels: labels(a, info, ar)}
		if !w.EndsAt.IsZero() && !w.EndsAt.After(w.StartsAt) {
			w.EndsAt = time.Time{} // checked by cap.Parse against sent; effective may be later
		}
		r, err := in.w.Raise(ctx, w)
		if err != nil {
			return res, fmt.Errorf("capwarn: message %s area %s: %w", a.ID(), ar.code, err)
		}
		res.Warnings = append(res.Warnings, WarningResult{Area: ar.code, AlertID: r.Warning.AlertID, Level: r.Warning.Level, Outcome: r.Outcome})
	}
	if a.MsgType == "Update" {
		if err := in.endAll(ctx, &set, root, keep, issued.ReasonAreaRemoved, fmt.Sprintf("更新预警 %s 不再包含本区域", a.Identifier)); err != nil {
			return res, err
		}
	}
	if err := in.remember(ctx, a, root); err != nil {
		return res, err
	}
	in.log.Info("CAP message applied", "message", a.ID(), "msg_type", a.MsgType, "level", level.String(), "areas", len(areas))
	return res, nil
}

func cancelNote(a *cap.Alert) string {
	if a.Note != "" {
		return "发布单位解除预警：" + a.Note
	}
	return "发布单位解除预警（CAP Cancel " + a.Identifier + "）"
}

func (in *Intake) remember(ctx context.Context, a *cap.Alert, root string) error {
	_, err := in.msgs.SaveIssuedMessage(ctx, store.IssuedMessage{Source: Source, ID: a.ID(), Root: root, Kind: a.MsgType,
		Sent: a.Sent, ReceivedAt: in.now()})
	if err != nil {
		return fmt.Errorf("capwarn: message %s applied but not recorded: %w", a.ID(), err)
	}
	return nil
}

// endAll ends the warnings of root in force, except those in keep.
func (in *Intake) endAll(ctx context.Context, set *Settings, root string, keep map[string]bool, reason, note string) error {
	ws, err := in.w.List(ctx, store.IssuedFilter{Source: Source, InForce: true})
	if err != nil {
		return fmt.Errorf("capwarn: warnings of %s: %w", root, err)
	}
	for _, w := range ws {
		if !strings.HasPrefix(w.Key, root+"#") || keep[w.Key] {
			continue
		}
		if _, err := in.w.End(ctx, Source, w.Key, issued.End{Reason: reason, Note: note, Close: set.CloseOnEnd}); err != nil {
			return fmt.Errorf("capwarn: end %s: %w", w.Key, err)
		}
	}
	return nil
}

// current fills res with root's warnings as they stand.
func (in *Intake) current(ctx context.Context, res Result, root string) (Result, error) {
	ws, err := in.w.List(ctx, store.IssuedFilter{Source: Source})
	if err != nil {
		return res, fmt.Errorf("capwarn: warnings of %s: %w", root, err)
	}
	for _, w := range ws {
		if strings.HasPrefix(w.Key, root+"#") {
			o := issued.Unchanged
			if w.EndedAt != nil {
				o = issued.Ended
			}
			res.Warnings = append(res.Warnings, WarningResult{Area: w.Region, AlertID: w.AlertID, Level: w.Level, Outcome: o})
		}
	}
	return res, nil
}

// level is the colour the event names, else the headline; where a text
// names several (将暴雨橙色预警升级为红色) the last one named is the new
// level. Failing both, the severity's.
func (set *Settings) level(a *cap.Alert, info *cap.Info) (yujing.Level, error) {
	for _, text := range []string{info.Event, info.Headline} {
		at, best := -1, ""
		for w := range set.Colours {
			i := strings.LastIndex(text, w)
			if i < 0 {
				continue
			}
			if end, bestEnd := i+len(w), at+len(best); at < 0 || end > bestEnd || (end == bestEnd && len(w) > len(best)) {
				at, best = i, w
			}
		}
		if at >= 0 {
			return set.Colours[best], nil
		}
	}
	if l, ok := set.Severities[info.Severity]; ok {
		return l, nil
	}
	i := infoIndex(a, info)
	return yujing.LevelNone, fmt.Errorf("%w: %w", ErrBadDocument, &cap.Error{Path: fmt.Sprintf("alert/info[%d]/severity", i),
		Msg: fmt.Sprintf("no warning colour in event %q or headline, and severity %q has no level", info.Event, info.Severity)})
}

// areas are the division codes of info's areas, each once, in order.
func (in *Intake) areas(set *Settings, a *cap.Alert, info *cap.Info) ([]area, error) {
	var out []area
	idx := infoIndex(a, info)
	for j, ar := range info.Areas {
		n := 0
		for _, g := range ar.Geocodes {
			if len(set.Geocodes) > 0 && !slices.Contains(set.Geocodes, g.Name) {
				continue
			}
			if !in.valid(g.Value) {
				continue
			}
			n++
			if !slices.ContainsFunc(out, func(x area) bool { return x.code == g.Value }) {
				out = append(out, area{g.Value, ar.Desc})
			}
		}
		if n == 0 {
			what := "any valueName"
			if len(set.Geocodes) > 0 {
				what = "valueName " + strings.Join(set.Geocodes, " or ")
			}
			return nil, fmt.Errorf("%w: %w", ErrBadDocument, &cap.Error{Path: fmt.Sprintf("alert/info[%d]/area[%d]/geocode", idx, j+1),
				Msg: fmt.Sprintf("area %q has no administrative division code (a geocode of %s whose value has 6, 9 or 12 digits)", ar.Desc, what)})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %w", ErrBadDocument, &cap.Error{Path: fmt.Sprintf("alert/info[%d]/area", idx),
			Msg: "required: a warning needs the areas it is for"})
	}
	return out, nil
}

// title is the warning's headline, with the area when the headline does
// not name it.
func title(info *cap.Info, ar area) string {
	h := info.Headline
	if h == "" {
		h = info.SenderName + "发布" + info.Event
	}
	if ar.desc != "" && !strings.Contains(h, ar.desc) {
		h += "（" + ar.desc + "）"
	}
	return h
}

// summary is the description, then the instruction (防御指南), as one
// text: the description ends with a full stop before the instruction.
func summary(info *cap.Info) string {
	s := strings.TrimSpace(info.Description)
	if in := strings.TrimSpace(info.Instruction); in != "" {
		if s != "" && !strings.HasSuffix(s, "。") && !strings.HasSuffix(s, "！") && !strings.HasSuffix(s, ".") {
			s += "。"
		}
		s += "防御指南：" + in
	}
	return s
}

func labels(a *cap.Alert, info *cap.Info, ar area) map[string]string {
	l := map[string]string{"sender": a.Sender, "identifier": a.Identifier, "event": info.Event, "severity": info.Severity,
		"urgency": info.Urgency, "certainty": info.Certainty, "area": ar.desc, "msg_type": a.MsgType}
	if info.SenderName != "" {
		l["sender_name"] = info.SenderName
	}
	return l
}

// infoIndex is the 1-based place of info among a's blocks.
func infoIndex(a *cap.Alert, info *cap.Info) int {
	for k := range a.Infos {
		if &a.Infos[k] == info {
			return k + 1
		}
	}
	return 0
}
