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
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/patch"
)

// labelsAnnotation lists the label keys the agent set from its flags, so that a restart with
// one --label fewer removes that label and leaves labels others set alone.
const labelsAnnotation = v1alpha1.GroupName + "/agent-labels"

// register makes sure the lease namespace exists and the agent's DiagnosticAgent carries the
// current labels, spec and version.
func (a *Agent) register(ctx context.Context) error {
	if err := a.ensureNamespace(ctx); err != nil {
		return err
	}
	agent := &v1alpha1.DiagnosticAgent{}
	err := a.reader.Get(ctx, types.NamespacedName{Name: a.opts.Name}, agent)
	if apierrors.IsNotFound(err) {
		agent = &v1alpha1.DiagnosticAgent{ObjectMeta: metav1.ObjectMeta{Name: a.opts.Name}}
		a.applyIdentity(agent)
		if err = a.client.Create(ctx, agent); apierrors.IsAlreadyExists(err) {
			err = a.reader.Get(ctx, types.NamespacedName{Name: a.opts.Name}, agent)
		} else if err == nil {
			a.log.Info("Created DiagnosticAgent", "labels", a.opts.Labels)
		}
	}
	if err != nil {
		return fmt.Errorf("register DiagnosticAgent %s: %w", a.opts.Name, err)
	}
	_, err = patch.Mutate(ctx, a.client, a.reader, agent, patch.Options{}, func(ag *v1alpha1.DiagnosticAgent) (bool, error) {
		return a.applyIdentity(ag), nil
	})
	if err != nil {
		return fmt.Errorf("update DiagnosticAgent %s: %w", a.opts.Name, err)
	}
	a.seedDiscovered(agent.Status.Discovered)
	return a.writeStatus(ctx, a.reader, agent) // the caches may not run yet: read the API server
}

// applyIdentity sets the labels and spec from the options; it reports whether anything changed.
func (a *Agent) applyIdentity(ag *v1alpha1.DiagnosticAgent) bool {
	before := ag.DeepCopy()
	if ag.Labels == nil {
		ag.Labels = map[string]string{}
	}
	for _, k := range strings.Split(ag.Annotations[labelsAnnotation], ",") {
		if _, keep := a.opts.Labels[k]; k != "" && !keep {
			delete(ag.Labels, k)
		}
	}
	maps.Copy(ag.Labels, a.opts.Labels)
	if ag.Annotations == nil {
		ag.Annotations = map[string]string{}
	}
	ag.Annotations[labelsAnnotation] = strings.Join(slices.Sorted(maps.Keys(a.opts.Labels)), ",")
	ag.Spec.NodeName = a.opts.NodeName
	ag.Spec.MaxConcurrentJobs = int32(a.opts.MaxConcurrentJobs)
	return !equality.Semantic.DeepEqual(before, ag)
}

// ensureNamespace creates the lease namespace when it is missing.
func (a *Agent) ensureNamespace(ctx context.Context) error {
	ns := &corev1.Namespace{}
	err := a.reader.Get(ctx, types.NamespacedName{Name: a.opts.LeaseNamespace}, ns)
	if apierrors.IsNotFound(err) {
		ns.Name = a.opts.LeaseNamespace
		if err = a.client.Create(ctx, ns); apierrors.IsAlreadyExists(err) {
			err = nil
		} else if err == nil {
			a.log.Info("Created the lease namespace", "namespace", a.opts.LeaseNamespace)
		}
	}
	if err != nil {
		return fmt.Errorf("lease namespace %s: %w (create it, or give the agent RBAC to create namespaces)", a.opts.LeaseNamespace, err)
	}
	return nil
}

// reconcileStatus keeps the agent's status current: version, running jobs, served ECUs and
// discovered entities. A deleted DiagnosticAgent is registered again, as a kubelet does with
// its Node.
func (a *Agent) reconcileStatus(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
	agent := &v1alpha1.DiagnosticAgent{}
	if err := a.client.Get(ctx, types.NamespacedName{Name: a.opts.Name}, agent); err != nil {
		if apierrors.IsNotFound(err) {
			return reconcile.Result{}, a.register(ctx)
		}
		return reconcile.Result{}, err
	}
	var res reconcile.Result
	if a.opts.DiscoverInterface != "" {
		res.RequeueAfter = a.opts.DiscoverInterval // ages entities out even when discovery stalls
	}
	return res, a.writeStatus(ctx, a.client, agent)
}

// writeStatus patches the agent-owned status fields when they changed.
func (a *Agent) writeStatus(ctx context.Context, r client.Reader, agent *v1alpha1.DiagnosticAgent) error {
	ecus, err := a.servedECUs(ctx, r)
	if err != nil {
		return err
	}
	running := int32(a.runningJobs())
	discovered := a.discovered()
	_, err = patch.Mutate(ctx, a.client, a.reader, agent, patch.Options{Status: true}, func(ag *v1alpha1.DiagnosticAgent) (bool, error) {
		want := ag.Status.DeepCopy()
		want.Version, want.RunningJobs, want.ECUs, want.Discovered = a.opts.Version, running, ecus, discovered
		if equality.Semantic.DeepEqual(&ag.Status, want) {
			return false, nil
		}
		ag.Status = *want
		return true, nil
	})
	return err
}

// servedECUs lists "namespace/name" of the ECUs whose status.agent is this agent, sorted.
func (a *Agent) servedECUs(ctx context.Context, r client.Reader) ([]string, error) {
	var list v1alpha1.ECUList
	if err := r.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("list ECUs: %w", err)
	}
	var out []string
	for _, e := range list.Items {
		if e.Status.Agent == a.opts.Name {
			out = append(out, e.Namespace+"/"+e.Name)
		}
	}
	slices.Sort(out)
	return out, nil
}
