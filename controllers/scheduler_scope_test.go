package controllers

import (
	"context"
	"strings"
	"testing"
	"time"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
)

// TestQueuedSortsOncePerPassAndFollowsItsWrites checks that a pass's second queued() sees what
// the writes between the two asks changed: a job that stopped waiting, one that waits again
// after its lock was released, a new priority a re-read brought, a deleted job.
func TestQueuedSortsOncePerPassAndFollowsItsWrites(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	job := func(name string, created int) *builders.JobWrapper {
		return builders.MakeJob(name, "ns").ECU("e0").Phase(diagv1.JobQueued).Created(now.Add(time.Duration(created) * time.Second))
	}
	a, b, c, d := job("a", 1).Obj(), job("b", 2).Obj(), job("c", 3).Obj(), job("d", 4).Obj()
	done := job("done", 0).Phase(diagv1.JobSucceeded).Obj()
	p := &pass{r: &SchedulerReconciler{}, now: now, ecus: map[string]*diagv1.ECU{
		"e0": builders.MakeECU("e0", "ns").ActiveJob("c").Obj(), // c's bind is pending
	}, jobs: map[string]*diagv1.DiagnosticJob{"a": a, "b": b, "c": c, "d": d, "done": done}}

	if got, want := strings.Join(names(p.queued(false)), " "), "a b d"; got != want {
		t.Fatalf("first ask: %q, want %q", got, want)
	}
	// The writes of the scheduling phase: a is bound, c's lock is released and its re-read copy
	// has a higher priority, d is deleted.
	p.jobs["a"] = job("a", 1).Phase(diagv1.JobScheduled).BoundTo("e0", "agent").Obj()
	p.storeECU(builders.MakeECU("e0", "ns").Obj()) // as the release's write does
	p.jobs["c"] = job("c", 3).Priority(10).Obj()
	delete(p.jobs, "d")
	if got, want := strings.Join(names(p.queued(true)), " "), "c b"; got != want {
		t.Errorf("second ask: %q, want %q", got, want)
	}
	p.jobs["b"] = job("b", 2).Priority(20).Obj()
	if got, want := strings.Join(names(p.queued(true)), " "), "b c"; got != want {
		t.Errorf("after b's priority rose: %q, want %q", got, want)
	}
}

// TestReadinessFollowsThePassesWrites checks that a later phase's readiness sees the ECUs the
// pass wrote since the first ask, and keeps the verdicts of the others.
func TestReadinessFollowsThePassesWrites(t *testing.T) {
	agent := builders.MakeAgent("a").Label("rack", "r1").Obj()
	f := &fleet{agents: map[string]*agentView{"a": {obj: agent, health: agentHealth{live: true}}}, names: []string{"a"}}
	ecu := func(name, rack string) *diagv1.ECU {
		return builders.MakeECU(name, "ns").Probe(diagv1.ProbeNone).AgentSelector(map[string]string{"rack": rack}).Obj()
	}
	p := &pass{r: &SchedulerReconciler{}, fleet: f, ecus: map[string]*diagv1.ECU{"e0": ecu("e0", "r1"), "e1": ecu("e1", "r1")}, ecuOrder: &ecuOrder{names: []string{"e0", "e1"}}}

	first := p.readiness(context.Background(), p.sortedECUs())
	if !first["e0"].ready || !first["e1"].ready {
		t.Fatalf("first ask: e0 %+v, e1 %+v; want both Ready", first["e0"], first["e1"])
	}
	p.storeECU(ecu("e1", "r2")) // no agent serves rack r2
	second := p.readiness(context.Background(), p.sortedECUs())
	if !second["e0"].ready {
		t.Errorf("second ask: e0 %+v, want it still Ready", second["e0"])
	}
	if r := second["e1"]; r.ready || r.reason != diagv1.ReasonNoAgent {
		t.Errorf("second ask: e1 %+v, want reason %s after its write", r, diagv1.ReasonNoAgent)
	}
}

// TestECUOrderIsNewOnlyForANewSet checks that a pass reuses the last pass's ECU order only
// when the namespace still has exactly those ECUs, and that an order places every name.
func TestECUOrderIsNewOnlyForANewSet(t *testing.T) {
	r := &SchedulerReconciler{}
	set := func(names ...string) map[string]*diagv1.ECU {
		m := map[string]*diagv1.ECU{}
		for _, n := range names {
			m[n] = builders.MakeECU(n, "ns").Obj()
		}
		return m
	}
	first := r.ecuOrderOf("ns", set("c", "a", "b"))
	for _, st := range []struct {
		name  string
		ecus  map[string]*diagv1.ECU
		want  string
		reuse bool
	}{
		{"the same ECUs", set("b", "c", "a"), "a b c", true},
		{"one replaced by another", set("a", "b", "d"), "a b d", false},
		{"one more", set("a", "b", "d", "0"), "0 a b d", false},
		{"another namespace's are its own", nil, "", false},
	} {
		ns := "ns"
		if st.ecus == nil {
			ns = "other"
		}
		got := r.ecuOrderOf(ns, st.ecus)
		if strings.Join(got.names, " ") != st.want {
			t.Errorf("%s: %v, want %s", st.name, got.names, st.want)
		}
		for i, n := range got.names {
			if got.pos[n] != i || len(got.pos) != len(got.names) {
				t.Errorf("%s: %s at %d, placed at %d (%d places)", st.name, n, i, got.pos[n], len(got.pos))
			}
		}
		if reused := got == first; reused != st.reuse {
			t.Errorf("%s: reused the first order = %v, want %v", st.name, reused, st.reuse)
		}
	}
}

// TestSortedECUsAndLockHoldersFollowThePassesWrites checks that the answers a pass keeps for
// its phases are asked again after a write replaced an ECU.
func TestSortedECUsAndLockHoldersFollowThePassesWrites(t *testing.T) {
	e0 := builders.MakeECU("e0", "ns").Obj()
	p := &pass{r: &SchedulerReconciler{}, ecus: map[string]*diagv1.ECU{"e0": e0}, ecuOrder: &ecuOrder{names: []string{"e0"}}}
	if got := p.sortedECUs(); len(got) != 1 || got[0] != e0 {
		t.Fatalf("sortedECUs = %v, want e0", got)
	}
	if h := p.lockHolders(); len(h) != 0 {
		t.Fatalf("lockHolders = %v before any lock", h)
	}
	locked := e0.DeepCopy()
	locked.Status.ActiveJob = "j"
	p.storeECU(locked)
	if got := p.sortedECUs(); got[0] != locked {
		t.Errorf("sortedECUs after the write: %p, want the written copy %p", got[0], locked)
	}
	if h := p.lockHolders(); h["j"] != "e0" {
		t.Errorf("lockHolders after the write = %v, want j on e0", h)
	}
}
