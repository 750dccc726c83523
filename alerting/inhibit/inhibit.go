package inhibit

import (
	"iter"
	"strings"

	"yujing"
)

// Rule hides alerts matching Target from calls while an active alert
// matching Source exists with the same values of the Equal labels: e.g. a
// red at a site hides that site's lower warnings (Equal: site), an offline
// gateway hides its sensors' offline warnings (Equal: "sensor=tag:gateway",
// the source's sensor is the target sensor's gateway tag). Labels: site,
// sensor, family, rule, level, and tag:<name> (the sensor's tag).
type Rule struct {
	Source, Target yujing.Matchers
	Equal          []string
}

// Catalog knows the sensors, for their tags.
type Catalog interface {
	ByID(id string) (*yujing.Sensor, bool)
}

// Inhibitor applies inhibition rules. It holds no alerts: the caller hands
// it the active ones, under whatever lock guards them. Safe for concurrent
// use.
type Inhibitor struct {
	rules []Rule
	cat   Catalog
}

// New returns an inhibitor of rules; cat gives the sensors' tags.
func New(rules []Rule, cat Catalog) *Inhibitor {
	return &Inhibitor{rules: rules, cat: cat}
}

// Inhibited returns the id of an alert among active that inhibits a: one
// that matches a rule's Source while a matches its Target, with the rule's
// Equal labels equal. a itself and resolved alerts inhibit nothing.
func (in *Inhibitor) Inhibited(a *yujing.Alert, active iter.Seq[*yujing.Alert]) (int64, bool) {
	for i := range in.rules {
		r := &in.rules[i]
		if !r.Target.Match(a) {
			continue
		}
		for b := range active {
			if b.ID == a.ID || b.State == yujing.StateResolved || !r.Source.Match(b) {
				continue
			}
			if in.equal(r, b, a) {
				return b.ID, true
			}
		}
	}
	return 0, false
}

// equal reports whether source and target agree on every Equal label of r.
func (in *Inhibitor) equal(r *Rule, source, target *yujing.Alert) bool {
	for _, eq := range r.Equal {
		src, dst, ok := strings.Cut(eq, "=")
		if !ok {
			dst = src
		}
		if v := Label(source, src, in.cat); v == "" || v != Label(target, dst, in.cat) {
			return false
		}
	}
	return true
}

// Label is the value of an alert's label name: site, sensor, family, rule,
// level, or tag:<name> (cat gives the sensor's tags); "" for a label it
// does not have.
func Label(a *yujing.Alert, name string, cat Catalog) string {
	switch name {
	case "site":
		return a.Site
	case "sensor":
		return a.Sensor
	case "family":
		return string(a.Family)
	case "rule":
		return a.Rule
	case "level":
		return a.Level.String()
	}
	if tag, ok := strings.CutPrefix(name, "tag:"); ok {
		if s, ok := cat.ByID(a.Sensor); ok {
			return s.Tags[tag]
		}
	}
	return ""
}
