package controllers

import (
	"cmp"
	"slices"
	"time"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// queueInput is everything the published queue state depends on, read from the pass's
// snapshot, so that deciding what to write is a pure function a table test can drive.
type queueInput struct {
	now time.Time
	// waiting are the jobs that wait for an ECU, suspended ones included, in queue order.
	waiting []*diagv1.DiagnosticJob
	// ecus are the namespace's ECUs, by name.
	ecus []*diagv1.ECU
	// ready is each ECU's readiness with its live agents and their running counts.
	ready map[string]ecuReadiness
	// remembered are the inputs at which an earlier pass found each job's status current
	// (see waitInputs); nil: none.
	remembered map[string]waitInputs
}

// statusWrite is a waiting job's new status: mutate applied to its current one.
type statusWrite struct {
	job    *diagv1.DiagnosticJob
	mutate func(*diagv1.DiagnosticJobStatus)
	pos    int32
}

// queueDecision is what a pass writes about its queues.
type queueDecision struct {
	queues ecuQueues
	// transitions change a waiting job's phase or reason: written at once.
	transitions []statusWrite
	// positions change only a position or a message: written in batches, nearest the head first
	// (they are in that order).
	positions []statusWrite
	// ecus are the ECUs whose status.queuedJobs is not their queue's length.
	ecus []*diagv1.ECU
	// current are the inputs of every job whose status is current, for the next pass.
	current map[string]waitInputs
	// derived counts the jobs whose status was derived and compared (the others were
	// remembered as current at the same inputs).
	derived int
}

// decideQueues derives the status of every waiting job from its queues and compares it with
// the current one. A job whose inputs are those at which an earlier pass found its status
// current is skipped: its status is a function of those inputs alone, so it is current still.
// With 5,000 jobs queued behind cordoned ECUs, deriving and comparing every status on every
// pass was over a third of the controller's CPU and the most of a pass (issue 14). It reads in
// and writes nothing.
func decideQueues(in queueInput) queueDecision {
	q := buildQueues(slices.DeleteFunc(slices.Clone(in.waiting), func(j *diagv1.DiagnosticJob) bool { return j.Spec.Suspend }), in.ecus)
	d := queueDecision{queues: q, current: make(map[string]waitInputs, len(in.waiting))}
	for _, j := range in.waiting {
		var cands []*diagv1.ECU
		var why, message string
		if !j.Spec.Suspend {
			cands, why, message = candidateECUs(j, in.ecus)
		}
		key, keep := inputsOf(j, cands, q, in.ready)
		if keep && in.remembered[j.Name] == key {
			d.current[j.Name] = key
			continue
		}
		d.derived++
		mutate := waitingStatus(j, cands, why, message, q, in.ready)
		st, changed := statusAfter(j, mutate, in.now)
		switch {
		case !changed:
			if keep {
				d.current[j.Name] = key
			}
		case st.Phase != j.Status.Phase || st.Reason != j.Status.Reason:
			d.transitions = append(d.transitions, statusWrite{job: j, mutate: mutate})
		default:
			d.positions = append(d.positions, statusWrite{job: j, mutate: mutate, pos: st.QueuePosition})
		}
	}
	slices.SortStableFunc(d.positions, func(a, b statusWrite) int { return cmp.Compare(a.pos, b.pos) })
	for _, e := range in.ecus {
		if int32(len(q.jobs[e.Name])) != e.Status.QueuedJobs {
			d.ecus = append(d.ecus, e)
		}
	}
	return d
}

// waitInputs is what a waiting job's status is derived from (waitingStatus), in a form that
// compares with ==: the job itself (its resourceVersion covers spec, labels and status), how
// many ECUs it may use, its position and queue, and what blocker reads of that ECU.
type waitInputs struct {
	resourceVersion string
	candidates      int
	ecu             string
	pos, queueLen   int32
	gate            ecuGate
}

// ecuGate is what blocker reads of an ECU and its readiness for one job.
type ecuGate struct {
	cordoned, ready, admits, full bool
	reason, message, healthNote   string
}

// inputsOf returns the inputs of a waiting job's status given its candidate ECUs, and whether
// they may be remembered: not for a job that may use several ECUs (every one of them would
// count, so it is derived on every pass) nor for one without a resourceVersion.
func inputsOf(j *diagv1.DiagnosticJob, cands []*diagv1.ECU, q ecuQueues, ready map[string]ecuReadiness) (waitInputs, bool) {
	in := waitInputs{resourceVersion: j.ResourceVersion, candidates: len(cands)}
	if len(cands) > 1 || j.ResourceVersion == "" {
		return in, false
	}
	if len(cands) == 1 {
		e := cands[0]
		r := ready[e.Name]
		in.ecu, in.pos, in.queueLen = e.Name, q.pos[e.Name][j.Name], int32(len(q.jobs[e.Name]))
		in.gate = ecuGate{
			cordoned: e.Spec.Unschedulable, ready: r.ready, admits: r.admits(j, e), full: leastBusy(r.agents) == nil,
			reason: r.reason, message: r.message, healthNote: r.healthNote,
		}
	}
	return in, true
}
