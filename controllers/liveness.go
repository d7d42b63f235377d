package controllers

import (
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// agentHealth is an agent's liveness at one instant, derived from its heartbeat Lease; every
// controller computes it the same way so that they agree on which agents are alive.
type agentHealth struct {
	live    bool
	reason  string // diagv1.ReasonLeaseRenewed, ReasonLeaseExpired or ReasonNoLease
	message string
	// expiry is when a live agent's Lease runs out; zero for an agent that is not live.
	expiry time.Time
}

// leaseHealth judges a Lease: an agent is live while renewTime + leaseDurationSeconds is in the
// future. A nil lease means the agent never wrote one (or it was deleted).
func leaseHealth(lease *coordinationv1.Lease, now time.Time) agentHealth {
	if lease == nil {
		return agentHealth{reason: diagv1.ReasonNoLease, message: "The agent has no heartbeat Lease"}
	}
	if lease.Spec.RenewTime == nil || lease.Spec.LeaseDurationSeconds == nil {
		return agentHealth{reason: diagv1.ReasonLeaseExpired, message: "The agent's Lease has no renewTime or leaseDurationSeconds"}
	}
	expiry := lease.Spec.RenewTime.Add(time.Duration(*lease.Spec.LeaseDurationSeconds) * time.Second)
	if !now.Before(expiry) {
		return agentHealth{
			reason:  diagv1.ReasonLeaseExpired,
			message: fmt.Sprintf("Lease expired at %s (renewed %s, duration %ds)", expiry.UTC().Format(time.RFC3339), lease.Spec.RenewTime.UTC().Format(time.RFC3339), *lease.Spec.LeaseDurationSeconds),
		}
	}
	return agentHealth{
		live:    true,
		reason:  diagv1.ReasonLeaseRenewed,
		message: "The agent renews its Lease",
		expiry:  expiry,
	}
}

// leaseLivenessChanged tells whether a Lease update turns its agent from live to lost or back,
// so that watches ignore the routine renewals every ten seconds.
func leaseLivenessChanged(older, newer *coordinationv1.Lease, now time.Time) bool {
	return leaseHealth(older, now).live != leaseHealth(newer, now).live
}

// leaseWatch is the watch on the agents' heartbeat Leases that every reconciler keeps: the
// Lease cache's creations, deletions and liveness transitions (see leaseTransitions), handed to
// the reconciler's handler h, so that the three controllers react to the same Lease events.
func leaseWatch(leaseCache cache.Cache, clock Clock, h handler.TypedEventHandler[*coordinationv1.Lease, reconcile.Request]) source.Source {
	return source.Kind(leaseCache, &coordinationv1.Lease{}, h, leaseTransitions(clock))
}

// leaseTransitions passes Lease creations, deletions and the updates that turn an agent from
// live to lost or back; routine renewals are ignored.
func leaseTransitions(clock Clock) predicate.TypedPredicate[*coordinationv1.Lease] {
	return predicate.TypedFuncs[*coordinationv1.Lease]{UpdateFunc: func(e event.TypedUpdateEvent[*coordinationv1.Lease]) bool {
		return leaseLivenessChanged(e.ObjectOld, e.ObjectNew, clock.Now())
	}}
}
