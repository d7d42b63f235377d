package controllers

import (
	"context"
	"fmt"
	"slices"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// agentView is one DiagnosticAgent as the scheduler sees it: alive or not, and how busy.
type agentView struct {
	obj    *diagv1.DiagnosticAgent
	health agentHealth
	// running counts the unfinished jobs bound to the agent in every namespace.
	running int32
}

// hasRoom reports whether the agent can take one more job after added more.
func (a *agentView) hasRoom(added int32) bool {
	return a.running+added < a.obj.Spec.MaxConcurrentJobs
}

// fleet is every DiagnosticAgent at one instant, by name.
type fleet struct {
	agents map[string]*agentView
	names  []string // sorted
}

// loadFleet reads every agent from the cache and its Lease from the lease cache.
func loadFleet(ctx context.Context, c client.Reader, leases client.Reader, leaseNamespace string, now time.Time) (*fleet, error) {
	var list diagv1.DiagnosticAgentList
	if err := c.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing DiagnosticAgents: %w", err)
	}
	f := &fleet{agents: make(map[string]*agentView, len(list.Items))}
	for i := range list.Items {
		a := &list.Items[i]
		h, err := agentLiveness(ctx, leases, leaseNamespace, a, now)
		if err != nil {
			return nil, err
		}
		f.agents[a.Name] = &agentView{obj: a, health: h}
		f.names = append(f.names, a.Name)
	}
	slices.Sort(f.names)
	return f, nil
}

// agentLiveness reads an agent's Lease and judges it; an agent being deleted is never live.
func agentLiveness(ctx context.Context, leases client.Reader, leaseNamespace string, a *diagv1.DiagnosticAgent, now time.Time) (agentHealth, error) {
	if a.DeletionTimestamp != nil {
		return agentHealth{reason: diagv1.ReasonLeaseExpired, message: "The agent is being deleted"}, nil
	}
	var lease coordinationv1.Lease
	err := leases.Get(ctx, client.ObjectKey{Namespace: leaseNamespace, Name: a.Name}, &lease)
	switch {
	case apierrors.IsNotFound(err):
		return leaseHealth(nil, now), nil
	case err != nil:
		return agentHealth{}, fmt.Errorf("reading Lease %s/%s of agent %s: %w", leaseNamespace, a.Name, a.Name, err)
	}
	return leaseHealth(&lease, now), nil
}

// lostMessage says why the named agent is not live, for the message of the attempt it ended.
func (f *fleet) lostMessage(agent string) string {
	if a, ok := f.agents[agent]; ok {
		return fmt.Sprintf("agent %s was lost: %s", agent, a.health.message)
	}
	return fmt.Sprintf("agent %s was lost: the DiagnosticAgent no longer exists", agent)
}

// live reports whether the named agent exists and its Lease is current.
func (f *fleet) live(name string) bool {
	a, ok := f.agents[name]
	return ok && a.health.live
}

// liveMatching returns the live agents a label selector picks (nil: every agent), by name.
func (f *fleet) liveMatching(selector *metav1.LabelSelector) ([]*agentView, error) {
	sel := labels.Everything()
	if selector != nil {
		var err error
		if sel, err = metav1.LabelSelectorAsSelector(selector); err != nil {
			return nil, fmt.Errorf("invalid agentSelector: %w", err)
		}
	}
	var out []*agentView
	for _, name := range f.names {
		a := f.agents[name]
		if a.health.live && sel.Matches(labels.Set(a.obj.Labels)) {
			out = append(out, a)
		}
	}
	return out, nil
}

// leastBusy picks the agent with the fewest running jobs that still has room (ties: by name),
// or nil when every agent is full.
func leastBusy(agents []*agentView) *agentView {
	return leastBusyAfter(agents, nil)
}

// leastBusyAfter is leastBusy once each agent has taken added[name] more jobs, so that a
// decision can count its own claims without changing the fleet.
func leastBusyAfter(agents []*agentView, added map[string]int32) *agentView {
	var best *agentView
	for _, a := range agents {
		n := a.running + added[a.obj.Name]
		if a.hasRoom(added[a.obj.Name]) && (best == nil || n < best.running+added[best.obj.Name]) {
			best = a
		}
	}
	return best
}
