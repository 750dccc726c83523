package provider

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"yujing/message"
)

// ParseBeijing reads a provider's "2017-01-01 00:00:00", Beijing time.
// Empty is the zero time.
func ParseBeijing(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation(time.DateTime, s, message.Beijing)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q is not yyyy-mm-dd hh:mm:ss", s)
	}
	return t, nil
}

// Positional returns the values of vars in the order of names: the
// parameter set of a template whose variables are numbered.
func Positional(vars map[string]string, names []string) []string {
	set := make([]string, len(names))
	for i, n := range names {
		set[i] = vars[n]
	}
	return set
}

// CheckParamNames reports each of names that is not a template variable,
// as an error of the configuration key template_params.
func CheckParamNames(names []string) []error {
	known := message.TemplateParamNames()
	var errs []error
	for i, n := range names {
		if !slices.Contains(known, n) {
			errs = append(errs, fmt.Errorf("template_params[%d] %q is not one of %s", i, n, strings.Join(known, ", ")))
		}
	}
	return errs
}
