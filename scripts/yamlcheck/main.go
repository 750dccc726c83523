// Command yamlcheck parses every YAML file named on the command line (all
// documents of multi-document files) and reports the first error of each.
// scripts/check-deploy.sh uses it when PyYAML is not available.
//
// yamlcheck -configmap-key KEY FILE prints data.KEY of the first ConfigMap in
// FILE instead (to check an embedded yujing.yaml with `yujing check`).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"gopkg.in/yaml.v3"
)

func main() {
	if len(os.Args) == 4 && os.Args[1] == "-configmap-key" {
		if err := configMapKey(os.Args[3], os.Args[2]); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", os.Args[3], err)
			os.Exit(1)
		}
		return
	}
	failed := false
	for _, path := range os.Args[1:] {
		if err := check(path); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

func check(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	for n := 1; ; n++ {
		var doc yaml.Node
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("document %d: %w", n, err)
		}
	}
}

func configMapKey(path, key string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	for {
		var doc struct {
			Kind string            `yaml:"kind"`
			Data map[string]string `yaml:"data"`
		}
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			return fmt.Errorf("no ConfigMap with data.%s", key)
		} else if err != nil {
			return err
		}
		if v, ok := doc.Data[key]; ok && doc.Kind == "ConfigMap" {
			_, err := io.WriteString(os.Stdout, v)
			return err
		}
	}
}
