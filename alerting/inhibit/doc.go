// Package inhibit holds back the calls about alerts that another active
// alert makes redundant, as Alertmanager's inhibit/ does: a red warning at
// a site hides the same site's lower warnings, an offline gateway hides its
// sensors' offline warnings. The inhibited alerts are recorded as always;
// only their calls are held back.
//
// A Rule names the Source alerts that inhibit, the Target alerts they
// inhibit, and the labels both must share (Equal). A label is one of site,
// sensor, family, rule, level, or tag:<name>, a tag of the alert's sensor;
// "sensor=tag:gateway" compares the source's sensor with the target
// sensor's gateway tag. A label with no value is never equal.
package inhibit
