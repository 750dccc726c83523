// Package configs ships yujing's example configurations. The demo
// configuration is embedded in the binary and used by `yujing serve` when no
// -config is given.
package configs

import _ "embed"

// Demo is configs/demo.yaml.
//
//go:embed demo.yaml
var Demo []byte

// DemoName is the name errors in Demo are reported under.
const DemoName = "configs/demo.yaml"
