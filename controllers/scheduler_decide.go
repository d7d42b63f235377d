package controllers

import (
	"time"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// claim is one decision of a pass: start job on ecu with agent.
type claim struct {
	job   *diagv1.DiagnosticJob
	ecu   *diagv1.ECU
	agent string
}

// claimInput is everything the scheduler's choice depends on, read from the pass's snapshot, so
// that the choice itself is a pure function a table test can drive without an API server.
type claimInput struct {
	now time.Time
	// waiting are the jobs that want an ECU, in queue order (see queueOrder).
	waiting []*diagv1.DiagnosticJob
	// ecus are the namespace's ECUs, by name.
	ecus []*diagv1.ECU
	// byName is each ECU's place in ecus, when the caller has it (nil: worked out here).
	byName map[string]int
	// ready is each ECU's readiness with its live agents and their running counts.
	ready map[string]ecuReadiness
	// stale are the locks whose holder no longer needs its ECU, by ECU name.
	stale map[string]staleLock
}

// claimDecision is what a pass will write to start jobs, and when it must look again.
type claimDecision struct {
	claims []claim
	// wake is the earliest backoff end of a job that could not claim yet; zero: none.
	wake time.Time
}

// decideClaims walks the waiting jobs in queue order and gives each the first ECU it may use
// (by name) that is free (or held by a stale lock), schedulable, Ready, healthy (unless the job
// is that ECU's health job) and served by an agent with room, taking the agent with the fewest running jobs (ties: by name), so that every free
// ECU goes to the best job waiting for it. A job in its EcuUnreachable backoff is skipped and
// its backoff end becomes the wake time. It reads in and writes nothing.
func decideClaims(in claimInput) claimDecision {
	var d claimDecision
	x := indexOf(in.ecus, in.byName)
	taken := map[string]bool{}
	added := map[string]int32{} // running jobs each agent gains by this decision
	for _, j := range in.waiting {
		if t, ok := retryNotBefore(j); ok && in.now.Before(t) {
			if d.wake.IsZero() || t.Before(d.wake) {
				d.wake = t
			}
			continue
		}
		cands, _, _ := x.candidates(j)
		for _, e := range cands {
			r := in.ready[e.Name]
			if taken[e.Name] || !lockFree(e, in.stale) || e.Spec.Unschedulable || !r.ready || !r.admits(j, e) {
				continue
			}
			a := leastBusyAfter(r.agents, added)
			if a == nil {
				continue
			}
			added[a.obj.Name]++
			taken[e.Name] = true
			d.claims = append(d.claims, claim{job: j, ecu: e, agent: a.obj.Name})
			break
		}
	}
	return d
}

// lockFree reports whether an ECU can be locked for another job: unlocked, or locked by a
// holder that no longer needs it.
func lockFree(e *diagv1.ECU, stale map[string]staleLock) bool {
	return e.Status.ActiveJob == "" || stale[e.Name].holder == e.Status.ActiveJob
}

// admits reports whether a job may start on an ECU as far as its health goes: any job while it
// is healthy, only its own health job while it is not.
func (r ecuReadiness) admits(j *diagv1.DiagnosticJob, e *diagv1.ECU) bool {
	return !r.unhealthy || isHealthJobOf(j, e.Name)
}
