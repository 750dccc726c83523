package config

import (
	"bytes"
	"fmt"
	"testing"
)

// BenchmarkParseSensors is the configuration parse and check of a file
// with n sensors (one flow mapping a line, as a generated file has them)
// and a site per 100 sensors:
//
//	go test -run '^$' -bench ParseSensors -benchtime 1x -benchmem ./config/
func BenchmarkParseSensors(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("sensors=%d", n), func(b *testing.B) {
			data := sensorsFile(n)
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				cfg, err := Parse("big.yaml", data, Options{Decoders: []string{"json"}, LookupEnv: noEnv})
				if err != nil {
					b.Fatal(err)
				}
				if len(cfg.Sensors) != n {
					b.Fatalf("%d sensors", len(cfg.Sensors))
				}
			}
		})
	}
}

func sensorsFile(n int) []byte {
	var w bytes.Buffer
	w.WriteString("rules:\n  - {name: gas, match: {family: gas}, above: {yellow: 25, red: 50}}\nsites:\n")
	for j := range (n + 99) / 100 {
		fmt.Fprintf(&w, "  - {id: S%05d, name: 企业%d, region: \"3205%02d\", industry: 危险化学品}\n", j, j, j%100)
	}
	w.WriteString("sensors:\n")
	for i := range n {
		fmt.Fprintf(&w, "  - {id: G%07d, name: 可燃气体探测器%d号, site: S%05d, family: gas, metric: lel, unit: \"%%LEL\"}\n", i, i%100+1, i/100)
	}
	return w.Bytes()
}
