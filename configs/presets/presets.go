// Package presets ships starting configurations for the sensor families
// yujing knows — gas, rainstorm, flood, hazardous-chemical tanks, dust — with
// real numbers from the standards that set them. Each file is a complete small
// configuration (`yujing check -config configs/presets/<name>.yaml` passes);
// README.md gives the source of every number and how each standard's levels
// map to yujing's four tiers.
package presets

import "embed"

// FS holds the preset files and their README.
//
//go:embed *.yaml README.md
var FS embed.FS
