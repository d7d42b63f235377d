package agent

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/patch"
)

// labelsAnnotation lists the label keys the agent set from its flags, so that a restart with
// one --label fewer removes that label and leaves labels others set alone.
const labelsAnnotation = v1alpha1.GroupName + "/agent-labels"

// register makes sure the lease namespace exists and the agent's DiagnosticAgent carries the
// current labels, spec and version.
func (rp *reporter) register(ctx context.Context) error {
	if err := rp.ensureNamespace(ctx); err != nil {
		return err
	}
	agent := &v1alpha1.DiagnosticAgent{}
	err := rp.reader.Get(ctx, types.NamespacedName{Name: rp.opts.Name}, agent)
	if apierrors.IsNotFound(err) {
		agent = &v1alpha1.DiagnosticAgent{ObjectMeta: metav1.ObjectMeta{Name: rp.opts.Name}}
		rp.applyIdentity(agent)
		if err = rp.client.Create(ctx, agent); apierrors.IsAlreadyExists(err) {
			err = rp.reader.Get(ctx, types.NamespacedName{Name: rp.opts.Name}, agent)
		} else if err == nil {
			rp.log.Info("Created DiagnosticAgent", "labels", rp.opts.Labels)
		}
	}
	if err != nil {
		return fmt.Errorf("register DiagnosticAgent %s: %w", rp.opts.Name, err)
	}
	_, err = patch.Mutate(ctx, rp.client, rp.reader, agent, patch.Options{}, func(ag *v1alpha1.DiagnosticAgent) (bool, error) {
		return rp.applyIdentity(ag), nil
	})
	if err != nil {
		return fmt.Errorf("update DiagnosticAgent %s: %w", rp.opts.Name, err)
	}
	rp.seedDiscovered(agent.Status.Discovered)
	return rp.writeStatus(ctx, rp.reader, agent) // the caches may not run yet: read the API server
}

// applyIdentity sets the labels and spec from the options; it reports whether anything changed.
func (rp *reporter) applyIdentity(ag *v1alpha1.DiagnosticAgent) bool {
	before := ag.DeepCopy()
	if ag.Labels == nil {
		ag.Labels = map[string]string{}
	}
	for _, k := range strings.Split(ag.Annotations[labelsAnnotation], ",") {
		if _, keep := rp.opts.Labels[k]; k != "" && !keep {
			delete(ag.Labels, k)
		}
	}
	maps.Copy(ag.Labels, rp.opts.Labels)
	if ag.Annotations == nil {
		ag.Annotations = map[string]string{}
	}
	ag.Annotations[labelsAnnotation] = strings.Join(slices.Sorted(maps.Keys(rp.opts.Labels)), ",")
	ag.Spec.NodeName = rp.opts.NodeName
	ag.Spec.MaxConcurrentJobs = int32(rp.opts.MaxConcurrentJobs)
	return !equality.Semantic.DeepEqual(before, ag)
}

// ensureNamespace creates the lease namespace when it is missing.
func (rp *reporter) ensureNamespace(ctx context.Context) error {
	ns := &corev1.Namespace{}
	err := rp.reader.Get(ctx, types.NamespacedName{Name: rp.opts.LeaseNamespace}, ns)
	if apierrors.IsNotFound(err) {
		ns.Name = rp.opts.LeaseNamespace
		if err = rp.client.Create(ctx, ns); apierrors.IsAlreadyExists(err) {
			err = nil
		} else if err == nil {
			rp.log.Info("Created the lease namespace", "namespace", rp.opts.LeaseNamespace)
		}
	}
	if err != nil {
		return fmt.Errorf("lease namespace %s: %w (create it, or give the agent RBAC to create namespaces)", rp.opts.LeaseNamespace, err)
	}
	return nil
}
