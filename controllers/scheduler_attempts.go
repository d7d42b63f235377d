package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// endAttempts ends the attempts that cannot go on: past the deadline, failed retryably, on a
// lost agent, or suspended (once the agent has cancelled). It decides for every job first and
// then writes, in parallel, for those that need it, by name. Only those are sorted: sorting
// every open job was a twentieth of a pass with 5,000 of them.
func (p *pass) endAttempts(ctx context.Context) {
	type end struct {
		job *diagv1.DiagnosticJob
		attemptEnding
	}
	var ends []end
	for _, j := range p.jobsWhere(func(j *diagv1.DiagnosticJob) bool { return !isFinal(j) && !isDeleting(j) }) {
		e := attemptEnd(j, p.now, p.fleet)
		if !e.wake.IsZero() {
			p.wakeAt(e.wake)
		}
		if e.kind != endNone {
			ends = append(ends, end{j, e})
		}
	}
	slices.SortFunc(ends, func(a, b end) int { return strings.Compare(a.job.Name, b.job.Name) })
	runParallel(p.r.opts.WriteParallelism, ends, func(e end) {
		switch e.kind {
		case endDeadline:
			p.failDeadline(ctx, e.job)
		case endRetry:
			p.retryOrFail(ctx, e.job, e.reason, e.cause)
		case endSuspend:
			p.suspendAttempt(ctx, e.job)
		case endQueueTimeout:
			p.failQueueTimeout(ctx, e.job)
		}
	})
}

// endKind is the write that ends an attempt.
type endKind int

const (
	endNone         endKind = iota // the attempt goes on
	endDeadline                    // failDeadline: activeDeadlineSeconds passed
	endRetry                       // retryOrFail with reason and cause: queued again or BackoffLimitExceeded
	endSuspend                     // suspendAttempt: back to Pending until spec.suspend is cleared
	endQueueTimeout                // failQueueTimeout: never Scheduled within queueTimeoutSeconds
)

// attemptEnding is the decision of attemptEnd: what ends the attempt and why, and when to look
// again, so that the decision is a value a table test can check without an API server.
type attemptEnding struct {
	kind   endKind
	reason string // endRetry: the failure reason the retry is counted for
	cause  string // endRetry: what happened, for the message and the Event
	// wake is when the job's deadline or its agent's Lease runs out; zero: no timer needed.
	wake time.Time
}

// attemptEnd decides whether a job's attempt ends now, and how, from the job, the time and the
// fleet alone.
func attemptEnd(j *diagv1.DiagnosticJob, now time.Time, f *fleet) attemptEnding {
	var out attemptEnding
	agentLive := f.live(j.Status.Agent)
	if due, ok := j.Deadline(); ok {
		if j.Status.Phase == diagv1.JobRunning && agentLive {
			// The agent enforces the same deadline and closes its connection before it
			// reports; the controller is the backstop for an agent that does not.
			due = due.Add(deadlineGrace)
		}
		if !now.Before(due) {
			out.kind = endDeadline
			return out
		}
		out.wake = due
	}
	switch {
	case awaitsRetryDecision(j):
		out.kind, out.reason = endRetry, j.Status.Reason
		out.cause = fmt.Sprintf("agent %s reported: %s", j.Status.Agent, j.Status.Message)
		return out
	case !j.Status.IsBound():
		expired, due := queueTimeout(j, now)
		switch {
		case expired:
			out.kind = endQueueTimeout
		case !due.IsZero() && (out.wake.IsZero() || due.Before(out.wake)):
			out.wake = due
		}
		return out
	case j.Status.Reason == diagv1.ReasonSuspended || j.Spec.Suspend && suspendDone(j, agentLive):
		// Reason Suspended on a bound job is the agent's acknowledgement of a cancel, which
		// ends the attempt even if spec.suspend was cleared meanwhile.
		out.kind = endSuspend
		return out
	case !agentLive:
		out.kind, out.reason, out.cause = endRetry, diagv1.ReasonAgentLost, f.lostMessage(j.Status.Agent)
		return out
	}
	if expiry := f.agents[j.Status.Agent].health.expiry; out.wake.IsZero() || expiry.Before(out.wake) {
		out.wake = expiry
	}
	return out
}

// deadlineGrace is how long after activeDeadlineSeconds the controller lets a live agent end
// a running attempt itself.
const deadlineGrace = 2 * time.Second

// suspendDone reports whether the attempt of a suspended job can end without an agent still
// talking to the ECU: the agent has not started it (Scheduled: it refuses to start a suspended
// job), it has removed the finalizer, or it is lost.
func suspendDone(j *diagv1.DiagnosticJob, agentLive bool) bool {
	return !agentLive || j.Status.Phase == diagv1.JobScheduled || !controllerutil.ContainsFinalizer(j, diagv1.JobFinalizer)
}

// failDeadline ends a job that ran out of time. The agent, which watches the job, cancels what
// may still run; findStaleLocks frees the ECU once the agent has closed its connection.
func (p *pass) failDeadline(ctx context.Context, j *diagv1.DiagnosticJob) {
	limit := *j.Spec.ActiveDeadlineSeconds
	updated, err := p.patchJobStatus(ctx, j, func(st *diagv1.DiagnosticJobStatus) {
		st.Phase, st.Reason = diagv1.JobFailed, diagv1.ReasonDeadlineExceeded
		st.Message = fmt.Sprintf("activeDeadlineSeconds (%d s) passed since the first scheduling", limit)
		st.QueuePosition = 0
		if st.CompletionTime == nil {
			st.CompletionTime = timeOf(p.now)
		}
	})
	if err != nil {
		return
	}
	p.r.recorder.Eventf(updated, nil, "Warning", diagv1.ReasonDeadlineExceeded, "Fail",
		"activeDeadlineSeconds (%d s) passed since the first scheduling", limit)
	if j.Status.IsBound() {
		p.adjustRunning(j.Status.Agent, -1)
	}
}

// failQueueTimeout ends a job that waited longer than spec.queueTimeoutSeconds for its first
// scheduling, so that a CI pipeline learns at once that its ECU never became free.
func (p *pass) failQueueTimeout(ctx context.Context, j *diagv1.DiagnosticJob) {
	limit := *j.Spec.QueueTimeoutSeconds
	msg := fmt.Sprintf("not Scheduled within queueTimeoutSeconds (%d s) of its creation; last: %s", limit, j.Status.Message)
	updated, err := p.patchJobStatus(ctx, j, func(st *diagv1.DiagnosticJobStatus) {
		st.Phase, st.Reason, st.Message = diagv1.JobFailed, diagv1.ReasonQueueTimeout, msg
		st.QueuePosition = 0
		if st.CompletionTime == nil {
			st.CompletionTime = timeOf(p.now)
		}
	})
	if err != nil {
		return
	}
	p.r.recorder.Eventf(updated, nil, "Warning", diagv1.ReasonQueueTimeout, "Fail", "%s", msg)
}

// retryOrFail ends an attempt that failed for an infrastructure reason: the job is queued
// again while attempts <= backoffLimit, else it fails with BackoffLimitExceeded. The job is
// written first, then its ECU marked for release, so that a job never claims an ECU it does
// not hold.
func (p *pass) retryOrFail(ctx context.Context, j *diagv1.DiagnosticJob, reason, cause string) {
	attempts, limit := j.Status.Attempts, j.BackoffLimit()
	retry := attempts <= limit
	updated, err := p.patchJobStatus(ctx, j, func(st *diagv1.DiagnosticJobStatus) {
		if retry {
			st.Phase, st.Reason, st.ECU, st.Agent = diagv1.JobQueued, reason, "", ""
			st.Message = fmt.Sprintf("Attempt %d failed (%s: %s); queued again (backoffLimit %d)", attempts, reason, cause, limit)
			if reason == diagv1.ReasonEcuUnreachable {
				// As retryNotBefore will compute it from the condition this write sets (whole seconds).
				wait := unreachableBackoff(attempts)
				st.Message += fmt.Sprintf(", not before %s (%s backoff)", p.now.Truncate(time.Second).Add(wait).UTC().Format(time.RFC3339), wait)
			}
			return
		}
		st.Phase, st.Reason = diagv1.JobFailed, diagv1.ReasonBackoffLimitExceeded
		st.Message = fmt.Sprintf("Attempt %d failed (%s: %s); backoffLimit %d reached", attempts, reason, cause, limit)
		if st.CompletionTime == nil {
			st.CompletionTime = timeOf(p.now)
		}
	})
	if err != nil {
		return
	}
	p.adjustRunning(j.Status.Agent, -1)
	p.r.recorder.Eventf(updated, nil, "Warning", reason, "EndAttempt", "Attempt %d failed: %s", attempts, cause)
	if retry {
		p.r.recorder.Eventf(updated, nil, "Normal", eventRequeued, "Requeue", "Queued again after attempt %d (backoffLimit %d)", attempts, limit)
	} else {
		p.r.recorder.Eventf(updated, nil, "Warning", diagv1.ReasonBackoffLimitExceeded, "Fail", "backoffLimit %d reached after %d attempts", limit, attempts)
	}
	p.releaseLater(j.Status.ECU, j.Name, fmt.Sprintf("attempt %d of job %s ended (%s)", attempts, j.Name, reason))
}

// suspendAttempt ends the attempt of a suspended job once its agent has cancelled it (or is
// lost): the job goes back to Pending and resumes when spec.suspend is cleared.
func (p *pass) suspendAttempt(ctx context.Context, j *diagv1.DiagnosticJob) {
	updated, err := p.patchJobStatus(ctx, j, func(st *diagv1.DiagnosticJobStatus) {
		st.Phase, st.Reason, st.ECU, st.Agent = diagv1.JobPending, diagv1.ReasonSuspended, "", ""
		st.Message = fmt.Sprintf("Suspended: attempt %d was cancelled; the job is queued again when spec.suspend is cleared", j.Status.Attempts)
		st.QueuePosition = 0
	})
	if err != nil {
		return
	}
	p.adjustRunning(j.Status.Agent, -1)
	p.r.recorder.Eventf(updated, nil, "Normal", diagv1.ReasonSuspended, "Suspend", "Attempt %d cancelled on ECU %s", j.Status.Attempts, j.Status.ECU)
	p.releaseLater(j.Status.ECU, j.Name, fmt.Sprintf("job %s was suspended", j.Name))
}

// eventRequeued is the Event reason of a job queued again after a failed attempt.
const eventRequeued = "Requeued"
