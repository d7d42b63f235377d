package argocd_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// patchFile is the argocd-cm patch that installs the health checks.
const patchFile = "argocd-cm-patch.yaml"

// healthKey is the argocd-cm key Argo CD reads a kind's health script from.
func healthKey(kind string) string { return "resource.customizations.health." + group + "_" + kind }

// renderPatch writes the argocd-cm patch from the scripts: one literal block per kind, so that
// the scripts read in the ConfigMap as they do in their files.
func renderPatch(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(`# Generated from diag.ecufleet.io/<Kind>/health.lua by "go test ./config/argocd -update":
# edit the scripts, not this file. Install with "kubectl -n argocd patch configmap argocd-cm
# --patch-file argocd-cm-patch.yaml" or the kustomize component next to it (docs/gitops.md).
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cm
  labels:
    app.kubernetes.io/name: argocd-cm
    app.kubernetes.io/part-of: argocd
data:
`)
	for _, kind := range kinds {
		script, err := os.ReadFile(filepath.Join(group, kind, "health.lua"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(string(script), "\n") || strings.HasSuffix(string(script), "\n\n") {
			t.Fatalf("%s/%s/health.lua must end in exactly one newline, as a YAML literal block keeps it", group, kind)
		}
		b.WriteString("  " + healthKey(kind) + ": |\n")
		for _, line := range strings.SplitAfter(string(script), "\n") {
			if line == "" {
				continue
			}
			if line != "\n" {
				b.WriteString("    ")
			}
			b.WriteString(line)
		}
	}
	return b.String()
}

// TestConfigMapPatchHoldsTheScripts fails when argocd-cm-patch.yaml drifts from the health.lua
// files: byte for byte against the rendering, and key for key once parsed as Argo CD reads it.
func TestConfigMapPatchHoldsTheScripts(t *testing.T) {
	want := renderPatch(t)
	if *update {
		if err := os.WriteFile(patchFile, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(patchFile)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s differs from the health.lua files: run go test ./config/argocd -update and commit the result", patchFile)
	}
	var cm corev1.ConfigMap
	if err := yaml.UnmarshalStrict(got, &cm); err != nil {
		t.Fatalf("%s: %v", patchFile, err)
	}
	if cm.Name != "argocd-cm" || cm.Kind != "ConfigMap" {
		t.Errorf("%s patches %s %s, want ConfigMap argocd-cm", patchFile, cm.Kind, cm.Name)
	}
	if len(cm.Data) != len(kinds) {
		t.Errorf("%s has %d keys, want one per kind %v", patchFile, len(cm.Data), kinds)
	}
	for _, kind := range kinds {
		script, err := os.ReadFile(filepath.Join(group, kind, "health.lua"))
		if err != nil {
			t.Fatal(err)
		}
		if cm.Data[healthKey(kind)] != string(script) {
			t.Errorf("%s: key %s does not hold %s/%s/health.lua exactly", patchFile, healthKey(kind), group, kind)
		}
	}
}

// TestKustomizationPatchesArgocdCM checks that the kustomize component applies the patch.
func TestKustomizationPatchesArgocdCM(t *testing.T) {
	data, err := os.ReadFile("kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Patches    []struct {
			Path string `json:"path"`
		} `json:"patches"`
	}
	if err := yaml.UnmarshalStrict(data, &k); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	if k.Kind != "Component" || len(k.Patches) != 1 || k.Patches[0].Path != patchFile {
		t.Errorf("kustomization.yaml: kind %q, patches %+v: want a Component that patches %s", k.Kind, k.Patches, patchFile)
	}
}
