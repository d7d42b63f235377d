package controllers

import (
	"maps"
	"slices"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// passMaps are the maps a pass fills, by ECU or job name, kept for the namespace's next pass to
// clear and fill again: a pass over 10,000 ECUs and 5,000 waiting jobs built each anew, and
// allocating them was a fifth of what the controller allocated, and of its garbage collection,
// on every pass (issue 14). Passes of a namespace never overlap (the scheduler has one worker)
// and nothing keeps a pass's maps after it ends.
type passMaps struct {
	ecus  map[string]*diagv1.ECU
	jobs  map[string]*diagv1.DiagnosticJob
	ready map[string]ecuReadiness
}

// takeMaps hands a pass of namespace the maps of its last pass, emptied (or none yet).
func (r *SchedulerReconciler) takeMaps(ns string) passMaps {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.maps[ns]
	delete(r.maps, ns)
	clear(m.ecus)
	clear(m.jobs)
	clear(m.ready)
	return m
}

// keepMaps keeps a finished pass's maps for the namespace's next pass.
func (r *SchedulerReconciler) keepMaps(p *pass) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.maps == nil {
		r.maps = map[string]passMaps{}
	}
	m := passMaps{ecus: p.ecus, jobs: p.jobs, ready: p.ready}
	if m.ready == nil { // no phase asked for readiness: the spare one is still empty
		m.ready = p.spare.ready
	}
	r.maps[p.ns] = m
}

// orEmpty is m, or a new map with room for n entries when there is none.
func orEmpty[V any](m map[string]V, n int) map[string]V {
	if m == nil {
		return make(map[string]V, n)
	}
	return m
}

// ecuOrder is a namespace's ECU names, sorted, with each name's place in them: what the pass
// reads its ECUs in, and the index of every candidate lookup (see ecuIndex). Passes share it
// while the namespace has the same ECUs, as it nearly always has: sorting 10,000 names and
// mapping them on every pass cost more than checking them. Never change one.
type ecuOrder struct {
	names []string
	pos   map[string]int
}

// ecuOrderOf returns the order of a namespace's ECUs: the last pass's when they are the same
// ECUs.
func (r *SchedulerReconciler) ecuOrderOf(ns string, ecus map[string]*diagv1.ECU) *ecuOrder {
	r.mu.Lock()
	defer r.mu.Unlock()
	last := r.ecuOrders[ns]
	if last != nil && len(last.names) == len(ecus) && !slices.ContainsFunc(last.names, func(n string) bool { return ecus[n] == nil }) {
		return last // as many names, all of them present: the same set
	}
	o := &ecuOrder{names: slices.Sorted(maps.Keys(ecus)), pos: make(map[string]int, len(ecus))}
	for i, n := range o.names {
		o.pos[n] = i
	}
	if r.ecuOrders == nil {
		r.ecuOrders = map[string]*ecuOrder{}
	}
	r.ecuOrders[ns] = o
	return o
}
