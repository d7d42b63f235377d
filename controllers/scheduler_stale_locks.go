package controllers

import (
	"context"
	"fmt"
	"maps"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// staleLock is a lock whose holder no longer needs its ECU; the pass hands the ECU over to its
// next queue head in one write, or releases it when no job takes it.
type staleLock struct {
	holder string
	why    string
}

// staleLocks returns a copy of the stale locks, by ECU name.
func (p *pass) staleLocks() map[string]staleLock {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.stale)
}

// releaseLater marks an ECU's lock stale: schedule hands the ECU over or releases it.
func (p *pass) releaseLater(ecuName, holder, why string) {
	if ecuName == "" || holder == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stale == nil {
		p.stale = map[string]staleLock{}
	}
	p.stale[ecuName] = staleLock{holder: holder, why: why}
}

// staleLock returns the stale lock of an ECU (zero if it has none).
func (p *pass) staleLock(ecuName string) staleLock {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stale[ecuName]
}

// staleECUs returns the names of the ECUs with a stale lock.
func (p *pass) staleECUs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Collect(maps.Keys(p.stale))
}

// releaseStale releases the stale locks that schedule did not hand over.
func (p *pass) releaseStale(ctx context.Context) {
	runParallel(p.r.opts.WriteParallelism, p.staleECUs(), func(name string) {
		s := p.staleLock(name)
		p.release(ctx, name, s.holder, s.why)
	})
}

// release clears ECU.status.activeJob if it still names holder, with the resourceVersion
// precondition; after a conflict it re-reads the ECU and tries again.
func (p *pass) release(ctx context.Context, ecuName, holder, why string) {
	for range 3 {
		e := p.ecu(ecuName)
		if e == nil || holder == "" || e.Status.ActiveJob != holder {
			return
		}
		_, err := p.patchECUStatus(ctx, e, true, func(st *diagv1.ECUStatus) { st.ActiveJob = "" })
		if err == nil {
			ctrl.LoggerFrom(ctx).V(1).Info("Released ECU", "ecu", ecuName, "job", holder, "why", why)
			return
		}
		if !apierrors.IsConflict(err) {
			return
		}
	}
}

// findStaleLocks marks stale every lock whose holder has finished, vanished, or does not point
// back at the ECU (a bind that never happened, e.g. the controller stopped between the two
// writes). Attempts ended in this pass were marked by endAttempts already.
func (p *pass) findStaleLocks(ctx context.Context) {
	var locked []*diagv1.ECU
	for _, e := range p.sortedECUs() {
		if e.Status.ActiveJob != "" && p.staleLock(e.Name).holder == "" {
			locked = append(locked, e)
		}
	}
	runParallel(p.r.opts.WriteParallelism, locked, func(e *diagv1.ECU) { p.checkLock(ctx, e) })
}

func (p *pass) checkLock(ctx context.Context, e *diagv1.ECU) {
	holder := e.Status.ActiveJob
	j := p.job(holder)
	if j == nil || !isGone(j) && !isFinal(j) && j.Status.ECU != e.Name {
		// The cache may lag behind a job's creation or bind; only the API server knows whether
		// the job exists and points back, so ask it before releasing. (Finished and deleted are
		// final states: the cache cannot show them too early.)
		if err := p.reread(ctx, &diagv1.DiagnosticJob{ObjectMeta: metav1.ObjectMeta{Namespace: p.ns, Name: holder}}); err != nil {
			return
		}
		j = p.job(holder)
	}
	switch {
	case j == nil || isGone(j):
		p.releaseLater(e.Name, holder, fmt.Sprintf("job %s was deleted", holder))
	case isFinal(j) && p.mayStillTalk(j):
		// The lock stays until the agent has closed its connection: one tester per ECU.
	case isFinal(j):
		p.releaseLater(e.Name, holder, fmt.Sprintf("job %s finished (%s)", holder, j.Status.Reason))
	case j.Status.ECU == e.Name:
		// The holder is bound to the ECU: the lock stays until the attempt ends.
	case j.Status.ECU != "":
		// Bound elsewhere: a bind to this ECU can no longer succeed (it would carry an older
		// resourceVersion of the job).
		p.releaseLater(e.Name, holder, fmt.Sprintf("job %s is bound to ECU %s", holder, j.Status.ECU))
	default:
		p.releaseUnbound(ctx, e, j)
	}
}

// mayStillTalk reports whether a finished job's agent may still be connected to the ECU: the
// controller ended the attempt at its deadline (the backstop for an agent that did not) and
// the agent is live and has not yet removed the finalizer, which it does once its connection
// is closed. Every other final phase is written by the agent after it closed the connection,
// or follows a lost agent, which nobody can wait for.
func (p *pass) mayStillTalk(j *diagv1.DiagnosticJob) bool {
	return j.Status.Reason == diagv1.ReasonDeadlineExceeded && controllerutil.ContainsFinalizer(j, diagv1.JobFinalizer) &&
		p.fleet.live(j.Status.Agent)
}

// releaseUnbound releases a lock whose holder never got bound (a controller stopped between
// the two writes). It first writes the job, with its resourceVersion as a precondition, so
// that a bind still in flight from another controller instance (a leader hand-over) fails
// instead of binding the job to an ECU that is no longer locked for it; if the bind won, the
// write conflicts, and the next pass sees the job bound and keeps the lock.
func (p *pass) releaseUnbound(ctx context.Context, e *diagv1.ECU, j *diagv1.DiagnosticJob) {
	_, err := p.patchJobStatus(ctx, j, func(st *diagv1.DiagnosticJobStatus) {
		st.Message = fmt.Sprintf("ECU %s was locked for this job (ECU resourceVersion %s) but the job was never bound to it; the lock is released",
			e.Name, e.ResourceVersion)
	})
	if err != nil {
		return
	}
	p.releaseLater(e.Name, j.Name, fmt.Sprintf("job %s was never bound to this ECU", j.Name))
}
