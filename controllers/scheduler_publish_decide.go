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
	// byName is each ECU's place in ecus, when the caller has it (nil: worked out here).
	byName map[string]int
	// ready is each ECU's readiness with its live agents and their running counts.
	ready map[string]ecuReadiness
	// remembered is what the last decision found for each job at its inputs (see
	// rememberedWait); nil: nothing.
	remembered map[string]rememberedWait
	// blank is an empty map for the decision's current to fill (nil: a new one).
	blank map[string]rememberedWait
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
	// current is what this decision found for each job whose inputs may be remembered, for the
	// next pass.
	current map[string]rememberedWait
	// derived counts the jobs whose status was derived and compared (the others were
	// remembered as current at the same inputs).
	derived int
}

// rememberedWait is what a decision found for a job at its inputs: its status is current
// (mutate nil), or it needs the position-only write mutate, which waits for its batch.
type rememberedWait struct {
	inputs waitInputs
	mutate func(*diagv1.DiagnosticJobStatus)
	pos    int32
}

// decideQueues derives the status of every waiting job from its queues and compares it with
// the current one. A job whose inputs are those the last decision saw is not derived again: its
// status is a function of those inputs alone, so it is still current, or still needs the same
// position-only write (those wait for their batch, so a long queue that moved keeps many
// pending for a while). With 5,000 jobs queued behind cordoned ECUs, deriving and comparing
// every status on every pass was over a third of the controller's CPU and the most of a pass
// (issue 14). It reads in and writes nothing.
func decideQueues(in queueInput) queueDecision {
	x := indexOf(in.ecus, in.byName)
	cands := make([][]*diagv1.ECU, len(in.waiting)) // a suspended job's stay empty: it is in no queue
	whys, messages := make([]string, len(in.waiting)), make([]string, len(in.waiting))
	for i, j := range in.waiting {
		if !j.Spec.Suspend {
			cands[i], whys[i], messages[i] = x.candidates(j)
		}
	}
	q := buildQueues(in.waiting, cands)
	d := queueDecision{queues: q, current: orEmpty(in.blank, len(in.waiting))}
	gates := map[string]ecuGate{}
	for i, j := range in.waiting {
		cands, why, message := cands[i], whys[i], messages[i]
		key, keep := inputsOf(j, cands, q, in.ready, gates)
		if r, ok := in.remembered[j.Name]; keep && ok && r.inputs == key {
			d.current[j.Name] = r
			if r.mutate != nil {
				d.positions = append(d.positions, statusWrite{job: j, mutate: r.mutate, pos: r.pos})
			}
			continue
		}
		d.derived++
		mutate := waitingStatus(j, cands, why, message, q, in.ready)
		st, changed := statusAfter(j, mutate, in.now)
		switch {
		case !changed:
			if keep {
				d.current[j.Name] = rememberedWait{inputs: key}
			}
		case st.Phase != j.Status.Phase || st.Reason != j.Status.Reason:
			d.transitions = append(d.transitions, statusWrite{job: j, mutate: mutate})
		default:
			d.positions = append(d.positions, statusWrite{job: j, mutate: mutate, pos: st.QueuePosition})
			if keep {
				d.current[j.Name] = rememberedWait{inputs: key, mutate: mutate, pos: st.QueuePosition}
			}
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
// many ECUs it may use, its position and queue, and what blocker reads of that ECU: the
// ECU's gate and whether its health admits the job.
type waitInputs struct {
	resourceVersion string
	candidates      int
	ecu             string
	pos, queueLen   int32
	gate            ecuGate
	admits          bool
}

// ecuGate is what blocker reads of an ECU and its readiness, the same for every job.
type ecuGate struct {
	cordoned, ready, full       bool
	reason, message, healthNote string
}

// inputsOf returns the inputs of a waiting job's status given its candidate ECUs, and whether
// they may be remembered: not for a job that may use several ECUs (every one of them would
// count, so it is derived on every pass) nor for one without a resourceVersion. gates holds
// the ECU gates worked out so far in this decision (a gate scans the ECU's agents).
func inputsOf(j *diagv1.DiagnosticJob, cands []*diagv1.ECU, q ecuQueues, ready map[string]ecuReadiness, gates map[string]ecuGate) (waitInputs, bool) {
	in := waitInputs{resourceVersion: j.ResourceVersion, candidates: len(cands)}
	if len(cands) > 1 || j.ResourceVersion == "" {
		return in, false
	}
	if len(cands) == 1 {
		e := cands[0]
		r := ready[e.Name]
		in.ecu, in.pos, in.queueLen = e.Name, q.pos[e.Name][j.Name], int32(len(q.jobs[e.Name]))
		g, ok := gates[e.Name]
		if !ok {
			g = ecuGate{
				cordoned: e.Spec.Unschedulable, ready: r.ready, full: leastBusy(r.agents) == nil,
				reason: r.reason, message: r.message, healthNote: r.healthNote,
			}
			gates[e.Name] = g
		}
		in.gate, in.admits = g, r.admits(j, e)
	}
	return in, true
}
