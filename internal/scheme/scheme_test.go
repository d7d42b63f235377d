package scheme

import (
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

func TestNewKnowsBothGroups(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	for name, gvk := range map[string]struct{ group, kind string }{
		"job":       {diagv1.GroupVersion.Group, "DiagnosticJob"},
		"ecu":       {diagv1.GroupVersion.Group, "ECU"},
		"agent":     {diagv1.GroupVersion.Group, "DiagnosticAgent"},
		"lease":     {coordinationv1.GroupName, "Lease"},
		"namespace": {corev1.GroupName, "Namespace"},
	} {
		found := false
		for k := range s.AllKnownTypes() {
			if k.Group == gvk.group && k.Kind == gvk.kind {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: scheme lacks %s/%s", name, gvk.group, gvk.kind)
		}
	}
}
