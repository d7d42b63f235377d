package deploytest

import (
	"context"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// applyOrder is the order `kubectl apply -k` needs: namespaces and CRDs before what lives in
// them, roles before their bindings, the policy before its binding.
var applyOrder = []string{"Namespace", "CustomResourceDefinition", "ServiceAccount", "ClusterRole", "Role",
	"ClusterRoleBinding", "RoleBinding", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
	"Service", "Deployment", "DaemonSet"}

// Apply server-side-applies rendered objects in dependency order, as an operator's
// `kubectl apply -k` installs them; applying the same objects again changes nothing, so test
// suites may share them.
func Apply(ctx context.Context, c client.Client, objs []*unstructured.Unstructured) error {
	for _, o := range objs {
		if !slices.Contains(applyOrder, o.GetKind()) {
			return fmt.Errorf("%s: kind %s has no place in the apply order: add it to applyOrder in test/deploy/deploytest", ID(o), o.GetKind())
		}
	}
	sorted := slices.Clone(objs)
	slices.SortStableFunc(sorted, func(a, b *unstructured.Unstructured) int {
		return slices.Index(applyOrder, a.GetKind()) - slices.Index(applyOrder, b.GetKind())
	})
	for _, o := range sorted {
		err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(o.DeepCopy()),
			client.FieldOwner("ecufleet-deploy-test"), client.ForceOwnership)
		if err != nil {
			return fmt.Errorf("applying %s: %w", ID(o), err)
		}
	}
	return nil
}
