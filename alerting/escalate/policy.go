package escalate

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"yujing"
)

// Target names who a step calls: exactly one of its fields is set.
type Target struct {
	Person string // a person of the directory, by id
	Roster string // "org/role": whoever holds the role on the org's roster at the time
	Tier   int    // tier k of the alert's site's responsibility chain
	Role   string // the holders of a role in the site's chain (e.g. supervisor_in_chief)
}

func (t Target) String() string {
	switch {
	case t.Person != "":
		return "person " + t.Person
	case t.Roster != "":
		return "roster " + t.Roster
	case t.Tier > 0:
		return fmt.Sprintf("tier %d of the site's chain", t.Tier)
	case t.Role != "":
		return "role " + t.Role + " of the site's chain"
	}
	return "nobody"
}

// Step is one stage of a policy.
type Step struct {
	Targets []Target
	// Ladder are the channels each target is called on, in order of
	// preference: the first at once; the next when a send fails for good,
	// or, when LadderWait is set, LadderWait after the previous one if
	// nobody has answered by then (e.g. dingtalk → sms → voice).
	Ladder     []string
	LadderWait time.Duration
	// Deadline is how long the step waits for an answer before the next
	// step is called.
	Deadline time.Duration
	// Reminders calls the targets again this many times, RemindEvery
	// apart, within the deadline, on the ladder's channel reached by then.
	Reminders   int
	RemindEvery time.Duration
}

// Policy is an escalation policy: the steps run for alerts of its levels
// (and, when set, of its families and regions).
type Policy struct {
	Name     string
	Levels   []yujing.Level
	Families []yujing.Family
	Regions  []string // administrative division codes; a site's region must lie in one
	Steps    []Step
	// Repeat runs the steps again from the first this many times when the
	// last step's deadline passes unanswered; then the chain has reached
	// the top (exhausted).
	Repeat int
	// DoubleReport (双报告) calls these targets too, alongside the first
	// step of the first round, on their own ladder: e.g. the enterprise's
	// staff while the regulator chain is called. Their answers count like
	// any other.
	DoubleReport *Step
	// ContinueAfterResolve keeps calling when the condition clears before
	// anyone answered; by default a resolved alert stops its escalation
	// (the alert itself stays open until closed).
	ContinueAfterResolve bool
}

// matches reports whether the policy applies to an alert at level l of a
// site in region (given covers, which tells whether a region code lies in
// another).
func (p *Policy) matches(l yujing.Level, f yujing.Family, region string, covers func(parent, code string) bool) bool {
	if len(p.Levels) > 0 && !slices.Contains(p.Levels, l) {
		return false
	}
	if len(p.Families) > 0 && !slices.Contains(p.Families, f) {
		return false
	}
	if len(p.Regions) > 0 && !slices.ContainsFunc(p.Regions, func(r string) bool { return covers(r, region) }) {
		return false
	}
	return true
}

// Check reports what is wrong with a policy, for configuration errors.
func (p *Policy) Check() []string {
	var errs []string
	if len(p.Steps) == 0 {
		errs = append(errs, "a policy needs at least one step")
	}
	if p.Repeat < 0 {
		errs = append(errs, "repeat must not be negative")
	}
	for i := range p.Steps {
		for _, e := range p.Steps[i].check() {
			errs = append(errs, fmt.Sprintf("steps[%d]: %s", i, e))
		}
	}
	if p.DoubleReport != nil {
		if len(p.DoubleReport.Targets) == 0 || len(p.DoubleReport.Ladder) == 0 {
			errs = append(errs, "double_report needs targets and a ladder")
		}
	}
	return errs
}

func (s *Step) check() []string {
	var errs []string
	if len(s.Targets) == 0 {
		errs = append(errs, "a step needs at least one target")
	}
	if len(s.Ladder) == 0 {
		errs = append(errs, "a step needs at least one channel in its ladder")
	}
	if s.Deadline <= 0 {
		errs = append(errs, "a step needs a deadline above 0")
	}
	if s.LadderWait < 0 || s.RemindEvery < 0 || s.Reminders < 0 {
		errs = append(errs, "ladder_wait, remind_every and reminders must not be negative")
	}
	if s.Reminders > 0 && s.RemindEvery <= 0 {
		errs = append(errs, "reminders need remind_every")
	}
	if s.Reminders > 0 && time.Duration(s.Reminders)*s.RemindEvery >= s.Deadline {
		errs = append(errs, fmt.Sprintf("%d reminders %s apart do not fit before the deadline %s", s.Reminders, s.RemindEvery, s.Deadline))
	}
	return errs
}

// Settings are call-and-answer's configuration.
type Settings struct {
	// Routes are the plain notifications (configuration "notify:"): each a
	// policy of one step that expects no answer (see Route).
	Routes   []Route
	Policies []Policy
	// BaseURL is where answer links point (e.g. https://yujing.example.gov.cn);
	// a link is BaseURL + "/answer/" + token.
	BaseURL string
	// LinkTTL is how long an answer link works; default 24h.
	LinkTTL time.Duration
	// Keywords are the SMS reply texts that count as an answer (compared
	// case-insensitively after trimming); default 收到, 1, ok, received, 到.
	Keywords []string
	// Keys are the keys pressed in a voice call that count as an answer;
	// default 1.
	Keys []string
}

// DefaultKeywords and DefaultKeys answer when Settings leave them empty.
var (
	DefaultKeywords = []string{"收到", "1", "ok", "received", "到", "已收到"}
	DefaultKeys     = []string{"1"}
)

// DefaultLinkTTL is how long an answer link works by default.
const DefaultLinkTTL = 24 * time.Hour

// check reports the first problem of the routes and policies.
func (s *Settings) check() error {
	for i := range s.Routes {
		if errs := s.Routes[i].Check(); len(errs) > 0 {
			return fmt.Errorf("escalate: route %d: %s", i, errs[0])
		}
	}
	for i := range s.Policies {
		if errs := s.Policies[i].Check(); len(errs) > 0 {
			return fmt.Errorf("escalate: policy %q: %s", s.Policies[i].Name, errs[0])
		}
	}
	return nil
}

func (s *Settings) setDefaults() {
	if s.LinkTTL <= 0 {
		s.LinkTTL = DefaultLinkTTL
	}
	if len(s.Keywords) == 0 {
		s.Keywords = DefaultKeywords
	}
	if len(s.Keys) == 0 {
		s.Keys = DefaultKeys
	}
	s.BaseURL = strings.TrimRight(s.BaseURL, "/")
}

func (s *Settings) policy(name string) *Policy {
	for i := range s.Policies {
		if s.Policies[i].Name == name {
			return &s.Policies[i]
		}
	}
	return nil
}

// isAnswer reports whether an SMS reply or a key press answers a call.
func (s *Settings) isAnswer(text, key string) bool {
	if key != "" {
		return slices.Contains(s.Keys, strings.TrimSpace(key))
	}
	t := strings.ToLower(strings.TrimSpace(text))
	t = strings.Trim(t, "。.!！ ")
	return slices.ContainsFunc(s.Keywords, func(k string) bool { return strings.EqualFold(k, t) })
}

// SetSettings replaces the routes, policies and settings (a reload).
// Running escalations continue under the new version of their policy; one
// whose policy is gone stops. The next Step visits every one (its next
// moment may have changed with its policy).
func (e *Engine) SetSettings(set Settings) error {
	if err := set.check(); err != nil {
		return err
	}
	set.setDefaults()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.set = set
	for id, r := range e.active {
		r.policy = e.set.policy(r.esc.Policy)
		e.changedLocked(id)
	}
	e.signal()
	return nil
}
