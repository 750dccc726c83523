// Command k8sschema turns the OpenAPI v2 document of the Kubernetes API
// (api/openapi-spec/swagger.json in the k8s.io/kubernetes module) into one
// JSON schema per kind, named as kubeconform looks them up
// (`{{ .ResourceKind }}{{ .KindSuffix }}.json`: deployment-apps-v1.json,
// service-v1.json, poddisruptionbudget-policy-v1.json):
//
//	k8sschema -out DIR swagger.json
//	kubeconform -strict -schema-location 'DIR/{{ .ResourceKind }}{{ .KindSuffix }}.json' FILE…
//
// scripts/test-deps.sh runs it; scripts/check-deploy.sh validates
// deploy/kubernetes with the result. The schemas are strict, like the
// "-strict" ones kubeconform fetches by default (made by openapi2jsonschema
// from the same document), which cannot be fetched here:
//   - an object schema with properties refuses any other property
//     (additionalProperties: false), so a misspelt field is an error;
//   - an int-or-string takes a string or an integer, a quantity a string or
//     a number, as the API server does.
//
// Each file holds the kind's schema and, under "definitions", every
// definition it refers to, so "#/definitions/…" references resolve inside
// the file.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	out := flag.String("out", "", "directory to write the schemas to")
	flag.Parse()
	if *out == "" || flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: k8sschema -out DIR swagger.json")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *out); err != nil {
		fmt.Fprintf(os.Stderr, "k8sschema: %v\n", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	doc, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	files, err := convert(doc)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for name, schema := range files {
		if err := os.WriteFile(filepath.Join(out, name), schema, 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("k8sschema: %d schemas in %s\n", len(files), out)
	return nil
}

const defPrefix = "#/definitions/"

// Definitions whose OpenAPI form is narrower than what the API server takes.
var replacedDefinitions = map[string]map[string]any{
	"io.k8s.apimachinery.pkg.api.resource.Quantity": {
		"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "number"}},
	},
}

// convert returns the schema files (name → JSON) for every kind that the
// OpenAPI document's definitions name in x-kubernetes-group-version-kind.
func convert(doc []byte) (map[string][]byte, error) {
	var spec struct {
		Definitions map[string]any `json:"definitions"`
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&spec); err != nil {
		return nil, err
	}
	if len(spec.Definitions) == 0 {
		return nil, errors.New("no definitions")
	}
	defs := make(map[string]map[string]any, len(spec.Definitions))
	for name, d := range spec.Definitions {
		m, ok := d.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("definitions.%s: not an object", name)
		}
		if r, ok := replacedDefinitions[name]; ok {
			m = r
		}
		s, err := strictSchema(m, "definitions."+name)
		if err != nil {
			return nil, err
		}
		defs[name] = s
	}

	files := make(map[string][]byte)
	from := make(map[string]string) // file name → definition, to report collisions
	names := make([]string, 0, len(defs))
	for name := range defs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		gvks, err := groupVersionKinds(spec.Definitions[name], name)
		if err != nil {
			return nil, err
		}
		if len(gvks) == 0 {
			continue
		}
		refs := map[string]bool{}
		if err := collectRefs(defs[name], defs, refs); err != nil {
			return nil, fmt.Errorf("definitions.%s: %w", name, err)
		}
		schema := make(map[string]any, len(defs[name])+1)
		for k, v := range defs[name] {
			schema[k] = v
		}
		if len(refs) > 0 {
			sub := make(map[string]any, len(refs))
			for r := range refs {
				sub[r] = defs[r]
			}
			schema["definitions"] = sub
		}
		b, err := json.Marshal(schema)
		if err != nil {
			return nil, err
		}
		for _, gvk := range gvks {
			file := fileName(gvk)
			if prev, ok := from[file]; ok && prev != name {
				return nil, fmt.Errorf("definitions %s and %s both map to %s", prev, name, file)
			}
			from[file] = name
			files[file] = b
		}
	}
	if len(files) == 0 {
		return nil, errors.New("no definition names a kind (x-kubernetes-group-version-kind)")
	}
	return files, nil
}

type gvk struct{ group, version, kind string }

func groupVersionKinds(def any, name string) ([]gvk, error) {
	list, _ := def.(map[string]any)["x-kubernetes-group-version-kind"].([]any)
	var out []gvk
	for i, x := range list {
		m, ok := x.(map[string]any)
		g, gok := m["group"].(string)
		v, vok := m["version"].(string)
		k, kok := m["kind"].(string)
		if !ok || !gok || !vok || !kok || v == "" || k == "" || strings.ContainsAny(k+v+g, `/\`) {
			return nil, fmt.Errorf("definitions.%s.x-kubernetes-group-version-kind[%d]: want group, version and kind", name, i)
		}
		out = append(out, gvk{g, v, k})
	}
	return out, nil
}

// fileName is kubeconform's `{{ .ResourceKind }}{{ .KindSuffix }}.json`:
// apps/v1 Deployment → deployment-apps-v1.json, v1 Service → service-v1.json,
// networking.k8s.io/v1 Ingress → ingress-networking-v1.json.
func fileName(g gvk) string {
	suffix := "-" + strings.ToLower(g.version)
	if g.group != "" {
		suffix = "-" + strings.ToLower(strings.Split(g.group, ".")[0]) + suffix
	}
	return strings.ToLower(g.kind) + suffix + ".json"
}

// strictSchema returns a copy of the schema s in which every object schema
// with properties refuses other properties and every int-or-string takes an
// integer too. It follows the keywords that hold schemas, so that a property
// named "properties" or "format" is left alone.
func strictSchema(s map[string]any, at string) (map[string]any, error) {
	if s["format"] == "int-or-string" {
		return map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}}, nil
	}
	out := make(map[string]any, len(s)+1)
	for k, v := range s {
		out[k] = v
	}
	if props, ok := s["properties"]; ok {
		pm, ok := props.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s.properties: not an object", at)
		}
		np := make(map[string]any, len(pm))
		for name, p := range pm {
			ps, ok := p.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s.properties.%s: not an object", at, name)
			}
			c, err := strictSchema(ps, at+".properties."+name)
			if err != nil {
				return nil, err
			}
			np[name] = c
		}
		out["properties"] = np
		if _, ok := s["additionalProperties"]; !ok {
			out["additionalProperties"] = false
		}
	}
	for _, key := range []string{"items", "additionalProperties", "not"} {
		if sub, ok := s[key].(map[string]any); ok {
			c, err := strictSchema(sub, at+"."+key)
			if err != nil {
				return nil, err
			}
			out[key] = c
		}
	}
	for _, key := range []string{"allOf", "anyOf", "oneOf"} {
		v, ok := s[key]
		if !ok {
			continue
		}
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("%s.%s: not a list", at, key)
		}
		nl := make([]any, len(list))
		for i, x := range list {
			xs, ok := x.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s.%s[%d]: not an object", at, key, i)
			}
			c, err := strictSchema(xs, fmt.Sprintf("%s.%s[%d]", at, key, i))
			if err != nil {
				return nil, err
			}
			nl[i] = c
		}
		out[key] = nl
	}
	return out, nil
}

// collectRefs adds to seen every definition that s refers to, directly or
// through other definitions.
func collectRefs(s any, defs map[string]map[string]any, seen map[string]bool) error {
	switch v := s.(type) {
	case map[string]any:
		if ref, ok := v["$ref"].(string); ok {
			name, ok := strings.CutPrefix(ref, defPrefix)
			if !ok {
				return fmt.Errorf("$ref %q: only %s… is supported", ref, defPrefix)
			}
			d, ok := defs[name]
			if !ok {
				return fmt.Errorf("$ref %q: no such definition", ref)
			}
			if !seen[name] {
				seen[name] = true
				if err := collectRefs(d, defs, seen); err != nil {
					return err
				}
			}
		}
		for k, x := range v {
			if k == "$ref" {
				continue
			}
			if err := collectRefs(x, defs, seen); err != nil {
				return err
			}
		}
	case []any:
		for _, x := range v {
			if err := collectRefs(x, defs, seen); err != nil {
				return err
			}
		}
	}
	return nil
}
