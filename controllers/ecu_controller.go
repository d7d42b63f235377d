package controllers

import (
	"context"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// +kubebuilder:rbac:groups=diag.ecufleet.io,resources=ecus,verbs=get;list;watch
// +kubebuilder:rbac:groups=diag.ecufleet.io,resources=ecus/status,verbs=patch
// +kubebuilder:rbac:groups=diag.ecufleet.io,resources=diagnosticagents,verbs=get;list;watch
// +kubebuilder:rbac:groups=coordination.k8s.io,namespace=ecufleet-system,resources=leases,verbs=get;list;watch

// ECUReconciler rolls an ECU's status up for `kubectl get ecu`: the Ready condition (reachable,
// served by a live agent and, with spec.healthCheck, not Healthy=False), the agent that serves it, the hex logical address and the
// observed generation. It never touches the lock (activeJob) nor queuedJobs: the scheduler
// owns those.
type ECUReconciler struct {
	client   client.Client
	leases   client.Reader
	recorder events.EventRecorder
	opts     Options
	ready    *readyCount // ecufleet_ecus_ready
	fleet    fleetSnapshot
}

// Reconcile computes one ECU's roll-up and patches it when it changed. The patch carries the
// ECU's resourceVersion, because conditions is a list shared with the agent's prober: a stale
// copy must never overwrite a newer Reachable.
func (r *ECUReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	var ecu diagv1.ECU
	if err := r.client.Get(ctx, req.NamespacedName, &ecu); err != nil {
		if apierrors.IsNotFound(err) {
			r.ready.set(req.NamespacedName, false, true)
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, err
	}
	now := r.opts.Clock.Now()
	f, err := r.fleet.get(now, func() (*fleet, error) {
		return loadFleet(ctx, r.client, r.leases, r.opts.LeaseNamespace, now)
	})
	if err != nil {
		return reconcile.Result{}, err
	}
	rd := assessECU(&ecu, f)
	if rd.ready && rd.unhealthy { // the Healthy condition's writer is HealthReconciler
		rd.ready, rd.reason, rd.message = false, diagv1.ReasonHealthCheckFailed, "Not Healthy: "+rd.healthNote
	}
	updated := ecu.DeepCopy()
	st := &updated.Status
	st.LogicalAddressHex = fmt.Sprintf("0x%04X", ecu.Spec.LogicalAddress)
	st.Agent = servingAgent(st.Agent, rd.agents)
	st.ObservedGeneration = ecu.Generation
	meta.SetStatusCondition(&st.Conditions, readyCondition(rd.ready, rd.reason, rd.message, ecu.Generation, now))
	if err := patchRollUp(ctx, r.client, r.recorder, &ecu, updated, ecu.Status.Conditions, updated.Status.Conditions); err != nil {
		return reconcile.Result{}, fmt.Errorf("writing the status of ECU %s: %w", req, err)
	}
	r.ready.set(req.NamespacedName, rd.ready, false)
	return reconcile.Result{RequeueAfter: untilFirstExpiry(rd.agents, now)}, nil
}

// untilFirstExpiry is how long until the first of the agents' Leases runs out (0: none), so
// that an ECU stops being Ready within moments of losing its agent.
func untilFirstExpiry(agents []*agentView, now time.Time) time.Duration {
	var first time.Time
	for _, a := range agents {
		if first.IsZero() || a.health.expiry.Before(first) {
			first = a.health.expiry
		}
	}
	if first.IsZero() {
		return 0
	}
	return max(first.Sub(now), minWake) + expiryMargin
}

// expiryMargin lands a timer just after a Lease expiry rather than on it.
const expiryMargin = 50 * time.Millisecond

// setup registers the ECU controller: every ECU, again on every agent or Lease change.
func (r *ECUReconciler) setup(mgr ctrl.Manager, leaseCache cache.Cache) error {
	// One fan-out for both watches: a restart's burst of agent and Lease events lists the
	// ECUs a few times, not 200. The snapshot is dropped at every event, before any request
	// goes out: the reconciles must see the change.
	allECUs := &fanOut{atEvent: r.fleet.drop, list: func(ctx context.Context) []reconcile.Request {
		var list diagv1.ECUList
		if err := r.client.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "Listing ECUs after an agent change")
			return nil
		}
		out := make([]reconcile.Request, 0, len(list.Items))
		for i := range list.Items {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
		return out
	}}
	return ctrl.NewControllerManagedBy(mgr).
		Named("ecu-rollup").
		For(&diagv1.ECU{}).
		// ECUs roll up independently; one at a time, 10,000 of them take minutes of round trips.
		WithOptions(controller.Options{MaxConcurrentReconciles: 4}).
		Watches(&diagv1.DiagnosticAgent{}, fanOutOn[client.Object](allECUs), builder.WithPredicates(agentChanged())).
		WatchesRawSource(leaseWatch(leaseCache, r.opts.Clock, fanOutOn[*coordinationv1.Lease](allECUs))).
		Complete(r)
}
