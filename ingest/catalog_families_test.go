package ingest

import (
	"errors"
	"testing"

	"yujing"
)

// TestCatalogCheckFamilies: a sensor registered through the API may be of
// any family the configuration knows, the declared ones included, and of
// no other; a reload changes the families.
func TestCatalogCheckFamilies(t *testing.T) {
	sites := []yujing.Site{{ID: "home"}}
	reg, err := NewRegistry(sites, nil)
	if err != nil {
		t.Fatal(err)
	}
	fams := append(yujing.BuiltinFamilies(), yujing.FamilyInfo{ID: "smoke", Name: "智能烟感", NameEN: "smoke alarm"})
	c := NewCatalog(reg, nil, sites, nil, nil, []string{"json"}, fams)
	check := func(f yujing.Family) error {
		s := yujing.Sensor{ID: "S-1", Site: "home", Family: f}
		return c.Check(&s)
	}
	for _, tc := range []struct {
		family yujing.Family
		ok     bool
	}{{"smoke", true}, {yujing.FamilyGas, true}, {"forest", false}} {
		err := check(tc.family)
		var se *SensorError
		if tc.ok != (err == nil) || err != nil && (!errors.As(err, &se) || se.Field != "family") {
			t.Errorf("family %q: %v, want ok=%v or a family error", tc.family, err, tc.ok)
		}
	}
	if err := c.SetBase(sites, nil, nil, yujing.BuiltinFamilies()); err != nil {
		t.Fatal(err)
	}
	if err := check("smoke"); err == nil {
		t.Errorf("smoke accepted after a reload without it")
	}
}
