package controllers

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// blocker says why job cannot start on an ECU even when it is free: a one-word reason when
// the ECU is closed to it (cordoned, not Ready, unhealthy), or only a note when its agents are
// full.
func blocker(j *diagv1.DiagnosticJob, e *diagv1.ECU, r ecuReadiness) (reason, note string) {
	switch {
	case e.Spec.Unschedulable:
		return diagv1.ReasonEcuCordoned, fmt.Sprintf("ECU %s is cordoned (spec.unschedulable)", e.Name)
	case !r.ready && r.reason == diagv1.ReasonNoAgent:
		return diagv1.ReasonNoAgent, fmt.Sprintf("ECU %s has no agent: %s", e.Name, r.message)
	case !r.ready:
		return diagv1.ReasonEcuNotReady, fmt.Sprintf("ECU %s is not Ready (%s): %s", e.Name, r.reason, r.message)
	case !r.admits(j, e):
		return diagv1.ReasonEcuUnhealthy, fmt.Sprintf("ECU %s is not Healthy: %s", e.Name, r.healthNote)
	case leastBusy(r.agents) == nil:
		return "", fmt.Sprintf("every agent serving ECU %s runs its maxConcurrentJobs", e.Name)
	}
	return "", ""
}

// publishQueues writes what waiting jobs and ECUs show about the queues: phase, reason and
// position of each waiting job, queuedJobs of each ECU, and the queue-depth and oldest-wait
// metrics. decideQueues says what changed. Phase and reason changes are written at once.
// Position-only changes and queuedJobs are written in batches (flushBatch), nearest the head
// first, at most every QueueStatusInterval and never taking more than a quarter of the time:
// every start shifts every job behind it, and rewriting a long queue each time would cost more
// writes than the scheduling itself; and a pass that wrote the queuedJobs of 500 ECUs at once,
// after 5,000 jobs queued, kept a job created meanwhile waiting for it (issue 14).
func (p *pass) publishQueues(ctx context.Context) {
	x := p.sortedECUIndex()
	ecus := x.sorted
	d := decideQueues(queueInput{
		now: p.now, waiting: p.queued(true), ecus: ecus, byName: x.byName, ready: p.readiness(ctx, ecus), remembered: p.r.published.of(p.ns),
		blank: p.r.published.blank(p.ns),
	})
	p.r.published.set(p.ns, d.current)
	p.r.publishDepths(p.ns, ecus, d.queues, p.now)

	runParallel(p.r.opts.WriteParallelism, d.transitions, func(w statusWrite) {
		if updated, err := p.patchJobStatus(ctx, w.job, w.mutate); err == nil && isNews(w.job, updated) {
			good := updated.Status.Reason == diagv1.ReasonQueued || updated.Status.Reason == diagv1.ReasonSuspended
			p.r.recorder.Eventf(updated, nil, eventType(good), updated.Status.Reason, "Queue", "%s", updated.Status.Message)
		}
	})
	cosmetic := d.positions
	if len(cosmetic) == 0 && len(d.ecus) == 0 {
		return
	}
	if !p.r.queueFlushDue(p.ns, p.now) {
		p.wakeAt(p.r.queueFlushAt(p.ns))
		return
	}
	positions, counts, rest := flushBatch(cosmetic, rotateAfter(d.ecus, p.r.queuedAfter(p.ns)), 2*p.r.opts.WriteParallelism)
	start := time.Now()
	runParallel(p.r.opts.WriteParallelism, positions, func(w statusWrite) { _, _ = p.patchJobStatus(ctx, w.job, w.mutate) })
	runParallel(p.r.opts.WriteParallelism, counts, func(e *diagv1.ECU) {
		n := int32(len(d.queues.jobs[e.Name]))
		_, _ = p.patchECUStatus(ctx, e, false, func(st *diagv1.ECUStatus) { st.QueuedJobs = n })
	})
	p.r.queueFlushed(p.ns, p.now, time.Since(start), counts)
	if rest {
		p.wakeAt(p.r.queueFlushAt(p.ns))
	}
}

// flushBatch picks one flush's writes: at most batch of them in all, the positions nearest the
// head first, then the ECUs' queuedJobs, and rest when some are left for the next flush. The
// positions take half the batch when both are waiting, so neither starves the other.
func flushBatch(positions []statusWrite, ecus []*diagv1.ECU, batch int) ([]statusWrite, []*diagv1.ECU, bool) {
	np := min(len(positions), batch)
	if len(ecus) > 0 && np > batch/2 {
		np = min(np, max(batch/2, batch-len(ecus)))
	}
	ne := min(len(ecus), batch-np)
	return positions[:np], ecus[:ne], np < len(positions) || ne < len(ecus)
}

// rotateAfter is ecus (sorted by name) from the first name after after on, wrapping around:
// successive flushes take turns through a namespace's ECUs, where starting at the first name
// every time would leave the last ones stale for as long as the first ones keep changing.
func rotateAfter(ecus []*diagv1.ECU, after string) []*diagv1.ECU {
	i := sort.Search(len(ecus), func(i int) bool { return ecus[i].Name > after })
	if i == 0 || i == len(ecus) {
		return ecus
	}
	return append(slices.Clone(ecus[i:]), ecus[:i]...)
}

// isNews reports whether a waiting job's new status deserves an Event: every change of a status
// does, and a new job's first status when something blocks it or it is suspended. Like a Pod
// entering the scheduling queue, a new job that simply waits its turn shows that in its status
// (phase Queued and its position), not in an Event: that Event was one of ten API writes per
// job.
func isNews(before, after *diagv1.DiagnosticJob) bool {
	return before.Status.Phase != "" || after.Status.Reason != diagv1.ReasonQueued
}

// waitingStatus is the status of a waiting job: Pending when suspended; else Queued with its
// best position among cands (the ECUs it may use; when there are none, why and message say why)
// and, when every one of them is closed to it, the reason why.
func waitingStatus(j *diagv1.DiagnosticJob, cands []*diagv1.ECU, why, message string, q ecuQueues, ready map[string]ecuReadiness) func(*diagv1.DiagnosticJobStatus) {
	set := func(phase diagv1.JobPhase, reason, message string, pos int32) func(*diagv1.DiagnosticJobStatus) {
		return func(st *diagv1.DiagnosticJobStatus) {
			st.Phase, st.Reason, st.Message, st.QueuePosition = phase, reason, message, pos
			st.ECU, st.Agent = "", ""
		}
	}
	if j.Spec.Suspend {
		return set(diagv1.JobPending, diagv1.ReasonSuspended, "Suspended (spec.suspend): the job waits outside the queues until it is cleared", 0)
	}
	if len(cands) == 0 {
		return set(diagv1.JobQueued, why, message, 0)
	}
	pos, best := q.bestPosition(j, cands)
	open := slices.ContainsFunc(cands, func(e *diagv1.ECU) bool {
		r, _ := blocker(j, e, ready[e.Name])
		return r == ""
	})
	bestReason, note := blocker(j, best, ready[best.Name])
	reason := diagv1.ReasonQueued
	if !open {
		reason = bestReason
	}
	message = fmt.Sprintf("Position %d of %d in the queue of ECU %s", pos, len(q.jobs[best.Name]), best.Name)
	if len(cands) > 1 {
		message += fmt.Sprintf(" (the nearest of %d matching ECUs)", len(cands))
	}
	if reason == diagv1.ReasonQueued && j.Status.Phase == diagv1.JobQueued && diagv1.IsRetryableReason(j.Status.Reason) {
		reason = j.Status.Reason
		retry := ""
		if t, ok := retryNotBefore(j); ok {
			retry = ", not before " + t.UTC().Format(time.RFC3339)
		}
		message = fmt.Sprintf("Retrying after attempt %d failed (%s)%s. %s", j.Status.Attempts, reason, retry, message)
	}
	if note != "" {
		message += "; " + note
	}
	return set(diagv1.JobQueued, reason, message, pos)
}

// queueFlushDue reports whether queue positions of a namespace may be rewritten now.
func (r *SchedulerReconciler) queueFlushDue(ns string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !now.Before(r.nextQueueFlush[ns])
}

// queueFlushAt is when queue positions of a namespace may next be rewritten.
func (r *SchedulerReconciler) queueFlushAt(ns string) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.nextQueueFlush[ns]
}

// queueFlushed notes a batch of position rewrites that took took: the next waits
// QueueStatusInterval or three times took, whichever is longer, so that positions use at most
// a quarter of the write time however long the queues. The next batch's ECUs start after the
// last of counts, the ECUs this one wrote (see rotateAfter).
func (r *SchedulerReconciler) queueFlushed(ns string, now time.Time, took time.Duration, counts []*diagv1.ECU) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.nextQueueFlush == nil {
		r.nextQueueFlush, r.queuedCursor = map[string]time.Time{}, map[string]string{}
	}
	r.nextQueueFlush[ns] = now.Add(took).Add(max(r.opts.QueueStatusInterval, 3*took))
	if len(counts) > 0 {
		r.queuedCursor[ns] = counts[len(counts)-1].Name
	}
}

// queuedAfter is the last ECU whose queuedJobs a flush of the namespace wrote.
func (r *SchedulerReconciler) queuedAfter(ns string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.queuedCursor[ns]
}

// oldestWait is how long the oldest job of a queue has existed (0: empty): the queue is in
// priority order, so the oldest may stand anywhere in it.
func oldestWait(queue []*diagv1.DiagnosticJob, now time.Time) time.Duration {
	var oldest time.Time
	for _, j := range queue {
		if t := j.CreationTimestamp.Time; oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	if oldest.IsZero() {
		return 0
	}
	return max(now.Sub(oldest), 0)
}

// publishDepths sets the queue-depth and oldest-wait series of the namespace's ECUs and drops
// those of ECUs that no longer exist. The series of an ECU whose queue was empty at the last
// pass and still is are left as they are: setting 20,000 series on every pass of a fleet of
// 10,000 ECUs cost more than the few queues that changed.
func (r *SchedulerReconciler) publishDepths(ns string, ecus []*diagv1.ECU, q ecuQueues, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.depthSeries == nil {
		r.depthSeries = map[string]map[string]bool{}
	}
	busy := r.depthSeries[ns] // ECU name -> its queue was not empty at the last pass
	if busy == nil {
		busy = make(map[string]bool, len(ecus))
		r.depthSeries[ns] = busy
	}
	for _, e := range ecus {
		queue := q.jobs[e.Name]
		if was, ok := busy[e.Name]; ok && !was && len(queue) == 0 {
			continue
		}
		busy[e.Name] = len(queue) > 0
		queueDepthMetric.WithLabelValues(ns, e.Name).Set(float64(len(queue)))
		queueOldestWaitMetric.WithLabelValues(ns, e.Name).Set(oldestWait(queue, now).Seconds())
	}
	if len(busy) == len(ecus) {
		return // busy holds every ECU of ecus (names are unique), so none has gone
	}
	present := make(map[string]bool, len(ecus))
	for _, e := range ecus {
		present[e.Name] = true
	}
	for name := range busy {
		if !present[name] {
			queueDepthMetric.DeleteLabelValues(ns, name)
			queueOldestWaitMetric.DeleteLabelValues(ns, name)
			delete(busy, name)
		}
	}
}
