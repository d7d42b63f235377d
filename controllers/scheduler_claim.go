package controllers

import (
	"context"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// schedule starts queue heads: decideClaims picks, on the snapshot, the job each free ECU goes
// to, then the claims run in parallel (they touch different ECUs and jobs). Stale locks count
// as free: their ECUs change hands in one write, and those nobody takes are released
// afterwards.
func (p *pass) schedule(ctx context.Context) {
	x := p.sortedECUIndex()
	d := decideClaims(claimInput{now: p.now, waiting: p.queued(false), ecus: x.sorted, byName: x.byName, ready: p.readiness(ctx, x.sorted), stale: p.staleLocks()})
	if !d.wake.IsZero() {
		p.wakeAt(d.wake)
	}
	for _, c := range d.claims {
		p.adjustRunning(c.agent, +1) // counted before the writes, undone by a claim that fails
	}
	runParallel(p.r.opts.WriteParallelism, d.claims, func(c claim) { p.claim(ctx, c) })
	p.releaseStale(ctx)
}

// claim carries out a claim in the order of the claim protocol: first the ECU lock (with its
// resourceVersion as precondition), only then the job's binding. A bind that fails releases
// the lock again, so that no ECU stays locked for a job that does not know it.
func (p *pass) claim(ctx context.Context, c claim) {
	locked, ok := p.lock(ctx, c.ecu, c.job)
	if !ok {
		p.adjustRunning(c.agent, -1)
		return
	}
	attempt := c.job.Status.Attempts + 1
	bound, err := p.patchJobStatus(ctx, c.job, func(st *diagv1.DiagnosticJobStatus) {
		st.Phase, st.Reason, st.ECU, st.Agent = diagv1.JobScheduled, diagv1.ReasonScheduled, c.ecu.Name, c.agent
		st.Attempts = attempt
		st.QueuePosition = 0
		st.Message = fmt.Sprintf("Scheduled on ECU %s with agent %s (attempt %d)", c.ecu.Name, c.agent, attempt)
	})
	if err != nil {
		p.adjustRunning(c.agent, -1)
		p.release(ctx, locked.Name, c.job.Name, fmt.Sprintf("binding job %s failed: %v", c.job.Name, err))
		return
	}
	p.r.recorder.Eventf(bound, locked, "Normal", diagv1.ReasonScheduled, "Schedule",
		"Scheduled on ECU %s with agent %s (attempt %d)", c.ecu.Name, c.agent, attempt)
	if attempt == 1 {
		jobWaitMetric.Observe(p.now.Sub(c.job.CreationTimestamp.Time).Seconds())
	}
}

// lock writes ECU.status.activeJob = job with the ECU's resourceVersion as a precondition:
// the commit point of a claim. On an ECU whose lock is stale the same write is the release
// too, so that a busy ECU changes hands in one write. It fails (false) when anything changed
// the ECU since it was read; the ECU has then been re-read and the pass runs again.
func (p *pass) lock(ctx context.Context, e *diagv1.ECU, job *diagv1.DiagnosticJob) (*diagv1.ECU, bool) {
	if !p.free(e) {
		return nil, false
	}
	from := e.Status.ActiveJob
	locked, err := p.patchECUStatus(ctx, e, true, func(st *diagv1.ECUStatus) { st.ActiveJob = job.Name })
	if err != nil {
		return nil, false
	}
	if from != "" {
		ctrl.LoggerFrom(ctx).V(1).Info("Handed ECU over", "ecu", e.Name, "from", from, "to", job.Name, "why", p.staleLock(e.Name).why)
	}
	return locked, true
}

// free reports whether an ECU can be locked for another job (see lockFree), by the pass's
// current stale locks.
func (p *pass) free(e *diagv1.ECU) bool {
	return lockFree(e, p.staleLocks())
}
