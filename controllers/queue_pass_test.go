package controllers

import (
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
	p := &pass{now: now, ecus: map[string]*diagv1.ECU{
		"e0": builders.MakeECU("e0", "ns").ActiveJob("c").Obj(), // c's bind is pending
	}, jobs: map[string]*diagv1.DiagnosticJob{"a": a, "b": b, "c": c, "d": d, "done": done}}

	if got, want := strings.Join(names(p.queued(false)), " "), "a b d"; got != want {
		t.Fatalf("first ask: %q, want %q", got, want)
	}
	// The writes of the scheduling phase: a is bound, c's lock is released and its re-read copy
	// has a higher priority, d is deleted.
	p.jobs["a"] = job("a", 1).Phase(diagv1.JobScheduled).BoundTo("e0", "agent").Obj()
	p.ecus["e0"] = builders.MakeECU("e0", "ns").Obj()
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
