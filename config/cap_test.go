package config

import (
	"strings"
	"testing"

	"yujing"
)

// The cap section: defaults (nothing set: capwarn's own tables) and each
// setting read.
func TestCAPSettings(t *testing.T) {
	cfg, err := Parse("x.yaml", []byte(ingestBase), Options{LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CAP.Colours != nil || cfg.CAP.Severities != nil || cfg.CAP.CloseOnEnd {
		t.Errorf("no cap section: %+v, want the zero settings (capwarn's defaults)", cfg.CAP)
	}
	cfg, err = Parse("x.yaml", []byte(ingestBase+`cap:
  colours: {红色: red, 橙色: orange, Ⅰ级: red}
  severities: {Extreme: red, Severe: red, Moderate: orange, Minor: yellow}
  geocodes: [GB/T 2260]
  statuses: [Actual, Exercise]
  languages: [zh-CN, en]
  family: weather
  close_on_end: true
`), Options{LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.CAP
	if c.Colours["Ⅰ级"] != yujing.Red || c.Colours["橙色"] != yujing.Orange || len(c.Colours) != 3 ||
		c.Severities["Severe"] != yujing.Red || c.Severities["Minor"] != yujing.Yellow ||
		strings.Join(c.Geocodes, ",") != "GB/T 2260" || strings.Join(c.Statuses, ",") != "Actual,Exercise" ||
		strings.Join(c.Languages, ",") != "zh-CN,en" || c.Family != yujing.FamilyWeather || !c.CloseOnEnd {
		t.Errorf("cap settings %+v", c)
	}
}

// Each mistake in the cap section is reported at its field.
func TestCAPSettingsErrors(t *testing.T) {
	for _, c := range []struct{ name, yaml, want string }{
		{"not a level", "cap:\n  colours: {紫色: purple}\n",
			`x.yaml:3:12: cap.colours["紫色"]: unknown level "purple" (want blue, yellow, orange or red)`},
		{"not a severity", "cap:\n  severities: {Severe: red, Serious: orange}\n",
			`x.yaml:3:15: cap.severities: "Serious" is not a CAP severity (want one of [Extreme Severe Moderate Minor])`},
		{"not a status", "cap:\n  statuses: [Actual, Real]\n",
			`x.yaml:3:22: cap.statuses[1]: "Real" is not a CAP status (want one of [Actual Exercise System Test Draft])`},
		{"unknown family", "cap:\n  family: rain\n",
			`x.yaml:3:11: cap.family: "rain" is not a family (want one of [gas hazard dust weather flood power electrical])`},
		{"misspelt", "cap:\n  close_on_cancel: true\n",
			`x.yaml:3:3: cap: unknown field "close_on_cancel" (known fields: close_on_end, colours, family, geocodes, languages, severities, statuses)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(ingestBase+c.yaml), Options{LookupEnv: noEnv})
			if err == nil || strings.TrimSpace(err.Error()) != c.want {
				t.Errorf("error:\n%v\nwant:\n%s", err, c.want)
			}
		})
	}
}
