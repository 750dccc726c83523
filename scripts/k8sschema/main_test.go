package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// A small OpenAPI document in the shape of Kubernetes' swagger.json.
const testSpec = `{"definitions": {
  "io.k8s.api.apps.v1.Deployment": {
    "x-kubernetes-group-version-kind": [{"group": "apps", "kind": "Deployment", "version": "v1"}],
    "properties": {
      "apiVersion": {"type": "string"},
      "spec": {"$ref": "#/definitions/io.k8s.api.apps.v1.DeploymentSpec"}
    }
  },
  "io.k8s.api.apps.v1.DeploymentSpec": {
    "properties": {
      "replicas": {"type": "integer", "format": "int32"},
      "strategy": {"properties": {"maxUnavailable": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString"}}},
      "labels": {"type": "object", "additionalProperties": {"type": "string"}},
      "limits": {"type": "object", "additionalProperties": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.api.resource.Quantity"}},
      "schema": {"$ref": "#/definitions/io.k8s.apiextensions.JSONSchemaProps"}
    }
  },
  "io.k8s.apiextensions.JSONSchemaProps": {
    "properties": {
      "properties": {"type": "object", "additionalProperties": {"$ref": "#/definitions/io.k8s.apiextensions.JSONSchemaProps"}},
      "format": {"type": "string"}
    }
  },
  "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {"type": "string", "format": "int-or-string"},
  "io.k8s.apimachinery.pkg.api.resource.Quantity": {"type": "string"},
  "io.k8s.api.core.v1.Service": {
    "x-kubernetes-group-version-kind": [{"group": "", "kind": "Service", "version": "v1"}],
    "properties": {"spec": {"type": "object"}}
  },
  "io.k8s.api.networking.v1.Ingress": {
    "x-kubernetes-group-version-kind": [{"group": "networking.k8s.io", "kind": "Ingress", "version": "v1"}],
    "type": "object"
  },
  "io.k8s.api.core.v1.Unused": {"type": "string"}
}}`

func TestConvert(t *testing.T) {
	files, err := convert([]byte(testSpec))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range files {
		names = append(names, n)
	}
	for _, want := range []string{"deployment-apps-v1.json", "service-v1.json", "ingress-networking-v1.json"} {
		if _, ok := files[want]; !ok {
			t.Errorf("no %s among %v", want, names)
		}
	}
	if len(files) != 3 {
		t.Errorf("got files %v, want 3", names)
	}

	var dep map[string]any
	if err := json.Unmarshal(files["deployment-apps-v1.json"], &dep); err != nil {
		t.Fatal(err)
	}
	intOrString := map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}}
	quantity := map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "number"}}}
	defs := func(name string) any { return dep["definitions"].(map[string]any)[name] }
	spec := defs("io.k8s.api.apps.v1.DeploymentSpec").(map[string]any)
	props := spec["properties"].(map[string]any)
	jsp := defs("io.k8s.apiextensions.JSONSchemaProps").(map[string]any)
	tests := []struct {
		name      string
		got, want any
	}{
		{"root refuses unknown fields", dep["additionalProperties"], false},
		{"definition refuses unknown fields", spec["additionalProperties"], false},
		{"nested object refuses unknown fields", props["strategy"].(map[string]any)["additionalProperties"], false},
		{"a map keeps its value schema", props["labels"].(map[string]any)["additionalProperties"], map[string]any{"type": "string"}},
		{"int-or-string takes an integer", defs("io.k8s.apimachinery.pkg.util.intstr.IntOrString"), intOrString},
		{"quantity takes a number", defs("io.k8s.apimachinery.pkg.api.resource.Quantity"), quantity},
		{"a property named properties stays a property", reflect.TypeOf(jsp["properties"].(map[string]any)["properties"].(map[string]any)["additionalProperties"]).String(), "map[string]interface {}"},
		{"a property named format stays a property", jsp["properties"].(map[string]any)["format"], map[string]any{"type": "string"}},
		{"unreferenced definitions are left out", defs("io.k8s.api.core.v1.Unused"), nil},
		{"the kind's own schema is not a definition", defs("io.k8s.api.apps.v1.Deployment"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %#v, want %#v", tt.got, tt.want)
			}
		})
	}
}

func TestConvertErrors(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"not JSON", `{`, "unexpected EOF"},
		{"no definitions", `{"definitions": {}}`, "no definitions"},
		{"no kinds", `{"definitions": {"a": {"type": "string"}}}`, "no definition names a kind"},
		{"dangling ref", `{"definitions": {"a": {"x-kubernetes-group-version-kind": [{"group": "", "kind": "A", "version": "v1"}], "properties": {"b": {"$ref": "#/definitions/b"}}}}}`,
			`definitions.a: $ref "#/definitions/b": no such definition`},
		{"bad gvk", `{"definitions": {"a": {"x-kubernetes-group-version-kind": [{"group": "", "kind": "../A", "version": "v1"}]}}}`,
			"definitions.a.x-kubernetes-group-version-kind[0]: want group, version and kind"},
		{"two definitions, one file", `{"definitions": {
			"a": {"x-kubernetes-group-version-kind": [{"group": "x.io", "kind": "A", "version": "v1"}]},
			"b": {"x-kubernetes-group-version-kind": [{"group": "x.example.com", "kind": "A", "version": "v1"}]}}}`,
			"definitions a and b both map to a-x-v1.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := convert([]byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func FuzzConvert(f *testing.F) {
	f.Add([]byte(testSpec))
	f.Add([]byte(`{"definitions": {"a": {"properties": {"b": {"oneOf": [{"format": "int-or-string"}]}}}}}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		files, err := convert(doc)
		if err != nil {
			return
		}
		for name, b := range files {
			if !json.Valid(b) {
				t.Fatalf("%s: invalid JSON", name)
			}
		}
	})
}
