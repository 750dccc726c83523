package yujing

import "strings"

// RegionSitePrefix begins the Site of an alert that is about an
// administrative area rather than one site: a warning another system
// issued for a county or a township (alerting/issued), "region:320115".
// It is the form the directory's responsibility entries of a region take
// (duty.Responsibility.Key).
const RegionSitePrefix = "region:"

// IssuedRulePrefix begins the Rule of an alert that carries a warning
// another system issued (alerting/issued): "issued:cap". Such an alert
// has no sensor reading: its Message is the warning's headline, a
// newline, and its text.
const IssuedRulePrefix = "issued:"

// RegionSite is the Site of an alert about the administrative area with
// division code code (GB/T 2260): "region:" + code.
func RegionSite(code string) string { return RegionSitePrefix + code }

// SiteRegion returns the division code of an alert Site made by
// RegionSite; ok is false for an ordinary site.
func SiteRegion(site string) (code string, ok bool) {
	return strings.CutPrefix(site, RegionSitePrefix)
}
