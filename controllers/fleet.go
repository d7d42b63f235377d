package controllers

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
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

	mu sync.Mutex
	// matching holds liveMatching's answers by selector: a rack's ECUs share a few selectors,
	// and a pass over 10,000 ECUs must not match each against every agent.
	matching map[string][]*agentView
	keys     *selectorKeys // the scheduler's memo of selector keys; nil: none
}

// loadFleet reads every agent from the cache and the Leases from the lease cache, in one list
// each: a Get per agent copied its Lease, and with 100 agents on every pass that was a twentieth
// of what the controller allocated (issue 14).
func loadFleet(ctx context.Context, c client.Reader, leases client.Reader, leaseNamespace string, now time.Time) (*fleet, error) {
	var list diagv1.DiagnosticAgentList
	if err := c.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing DiagnosticAgents: %w", err)
	}
	var leaseList coordinationv1.LeaseList
	if err := leases.List(ctx, &leaseList, client.InNamespace(leaseNamespace), client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing the agents' Leases in %s: %w", leaseNamespace, err)
	}
	byName := make(map[string]*coordinationv1.Lease, len(leaseList.Items))
	for i := range leaseList.Items {
		byName[leaseList.Items[i].Name] = &leaseList.Items[i]
	}
	f := &fleet{agents: make(map[string]*agentView, len(list.Items))}
	for i := range list.Items {
		a := &list.Items[i]
		f.agents[a.Name] = &agentView{obj: a, health: judgeAgent(a, byName[a.Name], now)}
		f.names = append(f.names, a.Name)
	}
	slices.Sort(f.names)
	return f, nil
}

// agentLiveness reads an agent's Lease and judges it (judgeAgent).
func agentLiveness(ctx context.Context, leases client.Reader, leaseNamespace string, a *diagv1.DiagnosticAgent, now time.Time) (agentHealth, error) {
	if a.DeletionTimestamp != nil {
		return judgeAgent(a, nil, now), nil
	}
	var lease coordinationv1.Lease
	err := leases.Get(ctx, client.ObjectKey{Namespace: leaseNamespace, Name: a.Name}, &lease)
	switch {
	case apierrors.IsNotFound(err):
		return judgeAgent(a, nil, now), nil
	case err != nil:
		return agentHealth{}, fmt.Errorf("reading Lease %s/%s of agent %s: %w", leaseNamespace, a.Name, a.Name, err)
	}
	return judgeAgent(a, &lease, now), nil
}

// judgeAgent judges an agent by its Lease (nil: none); an agent being deleted is never live.
func judgeAgent(a *diagv1.DiagnosticAgent, lease *coordinationv1.Lease, now time.Time) agentHealth {
	if a.DeletionTimestamp != nil {
		return agentHealth{reason: diagv1.ReasonLeaseExpired, message: "The agent is being deleted"}
	}
	return leaseHealth(lease, now)
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
// The slice is shared by every caller with the same selector: read it, never change it.
func (f *fleet) liveMatching(selector *metav1.LabelSelector) ([]*agentView, error) {
	key := f.keys.of(selector)
	f.mu.Lock()
	out, ok := f.matching[key]
	f.mu.Unlock()
	if ok {
		return out, nil
	}
	sel := labels.Everything()
	if selector != nil {
		var err error
		if sel, err = metav1.LabelSelectorAsSelector(selector); err != nil {
			return nil, fmt.Errorf("invalid agentSelector: %w", err)
		}
	}
	for _, name := range f.names {
		a := f.agents[name]
		if a.health.live && sel.Matches(labels.Set(a.obj.Labels)) {
			out = append(out, a)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.matching == nil {
		f.matching = map[string][]*agentView{}
	}
	f.matching[key] = out
	return out, nil
}

// selectorKey writes a label selector out in one canonical form, without the validation that
// parsing does (the parse on a cache miss still refuses an invalid selector). Every string is
// length-prefixed, so no two selectors share a key; no fmt, since a pass asks it of every ECU.
func selectorKey(s *metav1.LabelSelector) string {
	if s == nil {
		return ""
	}
	b := append(make([]byte, 0, 64), 'L')
	for _, k := range slices.Sorted(maps.Keys(s.MatchLabels)) {
		b = appendField(appendField(b, k), s.MatchLabels[k])
	}
	if len(s.MatchExpressions) > 0 {
		exprs := make([]string, 0, len(s.MatchExpressions))
		for _, e := range s.MatchExpressions {
			eb := appendField(appendField(nil, e.Key), string(e.Operator))
			for _, v := range slices.Sorted(slices.Values(e.Values)) {
				eb = appendField(eb, v)
			}
			exprs = append(exprs, string(eb))
		}
		slices.Sort(exprs)
		b = append(b, 'E')
		for _, e := range exprs {
			b = appendField(b, e)
		}
	}
	return string(b)
}

// appendField appends v with its length in front, so that fields never run into each other.
func appendField(b []byte, v string) []byte {
	b = strconv.AppendInt(b, int64(len(v)), 10)
	return append(append(b, ':'), v...)
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

// fleetSnapshot lends one loaded fleet to the reconciles of the next moment, so that rolling
// up 10,000 ECUs does not read every agent and Lease 10,000 times. An agent or Lease event
// drops it (the reconciles that event queues must see the change); routine Lease renewals,
// which the watches ignore, are at most fleetSnapshotAge old in it.
type fleetSnapshot struct {
	mu sync.Mutex
	f  *fleet
	at time.Time
}

// fleetSnapshotAge bounds how old a lent fleet may be.
const fleetSnapshotAge = time.Second

// get returns the snapshot while it is young enough, else loads a new one.
func (s *fleetSnapshot) get(now time.Time, load func() (*fleet, error)) (*fleet, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f != nil && now.Sub(s.at) < fleetSnapshotAge && !now.Before(s.at) {
		return s.f, nil
	}
	f, err := load()
	if err != nil {
		return nil, err
	}
	s.f, s.at = f, now
	return f, nil
}

// drop forgets the snapshot, after an agent or Lease event.
func (s *fleetSnapshot) drop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.f = nil
}
