package controllers

import (
	"context"
	"fmt"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// +kubebuilder:rbac:groups=diag.ecufleet.io,resources=diagnosticagents,verbs=get;list;watch
// +kubebuilder:rbac:groups=diag.ecufleet.io,resources=diagnosticagents/status,verbs=patch
// +kubebuilder:rbac:groups=coordination.k8s.io,namespace=ecufleet-system,resources=leases,verbs=get;list;watch

// AgentReconciler publishes each DiagnosticAgent's Ready condition from its heartbeat Lease and
// wakes up when the Lease would expire, so that a lost agent shows within moments of expiry.
type AgentReconciler struct {
	client   client.Client
	leases   client.Reader
	recorder events.EventRecorder
	opts     Options
	ready    *readyCount // ecufleet_agents_ready
}

// Reconcile sets one agent's Ready condition (LeaseRenewed, LeaseExpired, NoLease).
func (r *AgentReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	var agent diagv1.DiagnosticAgent
	if err := r.client.Get(ctx, req.NamespacedName, &agent); err != nil {
		if apierrors.IsNotFound(err) {
			r.ready.set(req.NamespacedName, false, true)
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, err
	}
	if agent.DeletionTimestamp != nil {
		r.ready.set(req.NamespacedName, false, true)
		return reconcile.Result{}, nil
	}
	now := r.opts.Clock.Now()
	h, err := agentLiveness(ctx, r.leases, r.opts.LeaseNamespace, &agent, now)
	if err != nil {
		return reconcile.Result{}, err
	}
	updated := agent.DeepCopy()
	meta.SetStatusCondition(&updated.Status.Conditions, readyCondition(h.live, h.reason, h.message, agent.Generation, now))
	if err := patchRollUp(ctx, r.client, r.recorder, &agent, updated, agent.Status.Conditions, updated.Status.Conditions); err != nil {
		return reconcile.Result{}, fmt.Errorf("writing the Ready condition of DiagnosticAgent %s: %w", agent.Name, err)
	}
	r.ready.set(req.NamespacedName, h.live, false)
	if !h.live {
		return reconcile.Result{}, nil
	}
	return reconcile.Result{RequeueAfter: max(h.expiry.Sub(now), minWake) + expiryMargin}, nil
}

// setup registers the agent controller: every agent, and the agent named like a Lease that
// appears, disappears, expires or comes back.
func (r *AgentReconciler) setup(mgr ctrl.Manager, leaseCache cache.Cache) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("diagnosticagent-liveness").
		For(&diagv1.DiagnosticAgent{}).
		WatchesRawSource(leaseWatch(leaseCache, r.opts.Clock, handler.TypedEnqueueRequestsFromMapFunc(func(_ context.Context, l *coordinationv1.Lease) []reconcile.Request {
			return []reconcile.Request{{NamespacedName: client.ObjectKey{Name: l.Name}}}
		}))).
		Complete(r)
}
