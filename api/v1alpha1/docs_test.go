package v1alpha1_test

import (
	"os"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/ecufleet/ecufleet/config/crd"
)

// TestDocsNameEveryField keeps docs/api.md in step with the types: every field of every
// generated CRD must appear there as `path` (lists written as steps[]).
func TestDocsNameEveryField(t *testing.T) {
	doc, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	crds, err := crd.Load()
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, c := range crds {
		root := c.Spec.Versions[0].Schema.OpenAPIV3Schema
		for _, top := range []string{"spec", "status"} {
			schema, ok := root.Properties[top]
			if !ok {
				continue
			}
			for _, path := range fieldPaths(top, schema) {
				checked++
				if !strings.Contains(string(doc), "`"+path+"`") {
					t.Errorf("docs/api.md does not document %s field `%s`", c.Spec.Names.Kind, path)
				}
			}
		}
	}
	if checked < 100 {
		t.Fatalf("checked only %d fields: the CRD walk is broken", checked)
	}
}

// opaqueFields are standard Kubernetes types documented upstream, so only their own path is listed.
var opaqueFields = map[string]bool{"agentSelector": true, "ecuSelector": true, "conditions": true,
	"selector": true, "active": true}

// opaquePaths are documented in a section of their own: a schedule's job template is a
// DiagnosticJob spec, a health check's steps are a job's steps.
var opaquePaths = map[string]bool{"spec.jobTemplate.spec": true, "spec.healthCheck.steps": true}

// fieldPaths lists the dotted paths of every property under schema.
func fieldPaths(prefix string, schema apiextensionsv1.JSONSchemaProps) []string {
	if schema.Type == "array" && schema.Items != nil && schema.Items.Schema != nil {
		return fieldPaths(prefix+"[]", *schema.Items.Schema)
	}
	var out []string
	for name, prop := range schema.Properties {
		path := prefix + "." + name
		out = append(out, path)
		if !opaqueFields[name] && !opaquePaths[path] {
			out = append(out, fieldPaths(path, prop)...)
		}
	}
	return out
}
