// Package deploytest holds what the deploy tests share: it renders ecufleet's kustomize
// directories under config/ the way `kubectl kustomize` does for the fields they use, applies
// the result, and issues the token a DaemonSet pod on a node carries, so that the tests need
// neither kubectl, nor the kustomize module, nor a kubelet.
package deploytest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Namespaced lists the namespaced kinds config/ ships, so tests can check that each lives in
// ecufleet-system and that nothing cluster-scoped carries a namespace.
var Namespaced = []string{"ServiceAccount", "Role", "RoleBinding", "Service", "Deployment", "DaemonSet"}

// Kustomization is the part of kustomize's Kustomization that ecufleet's config uses. The
// strict decode makes any other field (namespace, patches, images...) fail the render instead
// of being silently ignored, so this resolver cannot drift from `kubectl kustomize` unnoticed.
type Kustomization struct {
	APIVersion string   `json:"apiVersion,omitempty"`
	Kind       string   `json:"kind,omitempty"`
	Resources  []string `json:"resources"`
}

// ConfigDir finds config/ of the ecufleet checkout the tests run in, whatever their depth.
func ConfigDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "config"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: run the deploy tests inside the ecufleet checkout")
		}
		dir = parent
	}
}

// Render builds the objects of the kustomization in dir: each resource is a file in or below
// dir, or a directory holding its own kustomization.yaml. Like kustomize it refuses files
// outside dir and duplicate objects.
func Render(dir string) ([]*unstructured.Unstructured, error) {
	objs, err := renderDir(dir, nil)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, o := range objs {
		id := ID(o)
		if seen[id] {
			return nil, fmt.Errorf("%s: %s is defined twice", dir, id)
		}
		seen[id] = true
	}
	return objs, nil
}

func renderDir(dir string, parents []string) ([]*unstructured.Unstructured, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if slices.Contains(parents, abs) {
		return nil, fmt.Errorf("%s: kustomization cycle through %s", dir, strings.Join(parents, " -> "))
	}
	path := filepath.Join(dir, "kustomization.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s is a resource directory without a kustomization: %w", dir, err)
	}
	var k Kustomization
	if err := yaml.UnmarshalStrict(data, &k); err != nil {
		return nil, fmt.Errorf("%s: %w (the deploy tests' resolver knows only apiVersion, kind and resources: extend test/deploy/deploytest with the new field)", path, err)
	}
	var objs []*unstructured.Unstructured
	for _, res := range k.Resources {
		target := filepath.Join(dir, res)
		st, err := os.Stat(target)
		if err != nil {
			return nil, fmt.Errorf("%s: resource %q: %w", path, res, err)
		}
		if st.IsDir() {
			sub, err := renderDir(target, append(parents, abs))
			if err != nil {
				return nil, err
			}
			objs = append(objs, sub...)
			continue
		}
		// kustomize's default load restrictor: a file resource must lie in or below the
		// kustomization's directory; files elsewhere need a kustomization of their own.
		if rel, err := filepath.Rel(dir, target); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return nil, fmt.Errorf("%s: file resource %q is not in or below %s, which kustomize refuses: reference a directory with its own kustomization.yaml", path, res, dir)
		}
		docs, err := ReadObjects(target)
		if err != nil {
			return nil, err
		}
		objs = append(objs, docs...)
	}
	return objs, nil
}

// ReadObjects decodes every YAML document of a manifest file, skipping empty ones; each must
// name its apiVersion, kind and metadata.name.
func ReadObjects(path string) ([]*unstructured.Unstructured, error) {
	docs, err := Documents(path)
	if err != nil {
		return nil, err
	}
	objs := make([]*unstructured.Unstructured, 0, len(docs))
	for i, doc := range docs {
		o := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &o.Object); err != nil {
			return nil, fmt.Errorf("%s document %d: %w", path, i+1, err)
		}
		if o.Object == nil {
			continue
		}
		if o.GetAPIVersion() == "" || o.GetKind() == "" || o.GetName() == "" {
			return nil, fmt.Errorf("%s document %d: not a Kubernetes object (apiVersion %q, kind %q, metadata.name %q)",
				path, i+1, o.GetAPIVersion(), o.GetKind(), o.GetName())
		}
		objs = append(objs, o)
	}
	return objs, nil
}

// Documents splits a YAML file at its "---" separators, for checks that look at every
// document, Kubernetes object or not.
func Documents(path string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		docs = append(docs, doc)
	}
}

// ID names an object in messages the way kustomize reports duplicates: kind, namespace, name.
func ID(o *unstructured.Unstructured) string {
	if o.GetNamespace() == "" {
		return o.GetKind() + " " + o.GetName()
	}
	return o.GetKind() + " " + o.GetNamespace() + "/" + o.GetName()
}

// Find picks one rendered object by kind and name (nil when absent), so tests can inspect it.
func Find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}
