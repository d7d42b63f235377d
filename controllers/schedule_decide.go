package controllers

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// maxActiveRefs bounds status.active, as its schema does.
const maxActiveRefs = 256

// scheduleRun is one run of a schedule: its jobs and their tally.
type scheduleRun struct {
	id                         string
	tick                       time.Time
	jobs                       []*diagv1.DiagnosticJob
	succeeded, failed, running int32
	finishedAt                 time.Time // latest completionTime, once every job finished
}

func (r *scheduleRun) finished() bool { return r.running == 0 }

// groupRuns sorts a schedule's jobs into runs by their run label, oldest tick first.
func groupRuns(jobs []diagv1.DiagnosticJob) []*scheduleRun {
	byID := map[string]*scheduleRun{}
	var runs []*scheduleRun
	for i := range jobs {
		j := &jobs[i]
		id := j.Labels[diagv1.RunLabel]
		r := byID[id]
		if r == nil {
			r = &scheduleRun{id: id, tick: jobTick(j)}
			byID[id] = r
			runs = append(runs, r)
		}
		r.jobs = append(r.jobs, j)
		switch {
		case j.Status.Phase == diagv1.JobSucceeded:
			r.succeeded++
		case j.Status.IsFinal():
			r.failed++
		default:
			r.running++
		}
		if t, ok := j.Status.FinishTime(); ok && t.After(r.finishedAt) {
			r.finishedAt = t
		}
	}
	for _, r := range runs {
		if !r.finished() {
			r.finishedAt = time.Time{}
		}
	}
	slices.SortFunc(runs, func(a, b *scheduleRun) int {
		if c := a.tick.Compare(b.tick); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	return runs
}

// jobTick is the tick a job was created for: its annotation, else its creation time.
func jobTick(j *diagv1.DiagnosticJob) time.Time {
	if t, err := time.Parse(time.RFC3339, j.Annotations[diagv1.ScheduledTimeAnnotation]); err == nil {
		return t
	}
	return j.CreationTimestamp.Time
}

// scheduleDecision is what one reconcile of a schedule does.
type scheduleDecision struct {
	// tick is the tick handled now; zero when none is due.
	tick time.Time
	// create makes the tick's run (after deleting replace).
	create bool
	// skip is the reason the due tick gets no run (Suspended, MissedDeadline, Forbid).
	skip string
	// replace are the unfinished jobs of earlier runs, deleted first (concurrencyPolicy Replace).
	replace []*diagv1.DiagnosticJob
	// prune are the jobs of finished runs beyond the history limits.
	prune []*diagv1.DiagnosticJob
	// next is the first tick after now (zero: none), to requeue for.
	next time.Time
}

// decideSchedule decides, from the schedule, its runs and the time alone, which tick is due and
// what becomes of it, and which old runs go. A due tick is the most recent one since
// status.lastScheduleTime (else since creation): after downtime at most one catch-up run.
func decideSchedule(s *diagv1.DiagnosticSchedule, sched cron.Schedule, runs []*scheduleRun, now time.Time) scheduleDecision {
	d := scheduleDecision{next: sched.Next(now), prune: pruneRuns(&s.Spec, runs)}
	after := s.CreationTimestamp.Time
	if s.Status.LastScheduleTime != nil {
		after = s.Status.LastScheduleTime.Time
	}
	tick, due := mostRecentTick(sched, after, now)
	if !due {
		return d
	}
	d.tick = tick
	id := ScheduleRunID(s.Name, tick)
	var unfinished []*diagv1.DiagnosticJob
	for _, r := range runs {
		if r.id == id {
			continue // this tick's own run, partly created before a restart: complete it
		}
		for _, j := range r.jobs {
			if !j.Status.IsFinal() {
				unfinished = append(unfinished, j)
			}
		}
	}
	switch {
	case s.Spec.Suspend:
		d.skip = diagv1.ReasonSuspended
	case s.Spec.StartingDeadlineSeconds != nil && now.Sub(tick) > time.Duration(*s.Spec.StartingDeadlineSeconds)*time.Second:
		d.skip = diagv1.ReasonMissedDeadline
	case len(unfinished) == 0 || s.Spec.ConcurrencyPolicy == diagv1.ConcurrencyAllow:
		d.create = true
	case s.Spec.ConcurrencyPolicy == diagv1.ConcurrencyReplace:
		d.create, d.replace = true, unfinished
	default:
		d.skip = diagv1.ReasonForbid
	}
	return d
}

// pruneRuns returns the jobs of the finished runs beyond the history limits, oldest runs first
// to go; a limit left unset (an object the API server did not default) keeps 3 and 1.
func pruneRuns(spec *diagv1.DiagnosticScheduleSpec, runs []*scheduleRun) []*diagv1.DiagnosticJob {
	keepOK, keepFailed := int32(3), int32(1)
	if spec.SuccessfulRunsHistoryLimit != nil {
		keepOK = *spec.SuccessfulRunsHistoryLimit
	}
	if spec.FailedRunsHistoryLimit != nil {
		keepFailed = *spec.FailedRunsHistoryLimit
	}
	var prune []*diagv1.DiagnosticJob
	for i := len(runs) - 1; i >= 0; i-- {
		r := runs[i]
		if !r.finished() {
			continue
		}
		keep := &keepOK
		if r.failed > 0 {
			keep = &keepFailed
		}
		if *keep > 0 {
			*keep--
			continue
		}
		prune = append(prune, r.jobs...)
	}
	return prune
}

// scheduleStatus computes the status from the runs that remain, the tick handled and the
// parse result; prev supplies lastSuccessfulTime once its run left the history.
func scheduleStatus(prev diagv1.DiagnosticScheduleStatus, generation int64, runs []*scheduleRun, tick time.Time, parseErr error, now time.Time) diagv1.DiagnosticScheduleStatus {
	st := *prev.DeepCopy()
	if !tick.IsZero() {
		st.LastScheduleTime = &metav1.Time{Time: tick}
	}
	setCond := func(t string, status metav1.ConditionStatus, reason, msg string) {
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: t, Status: status, Reason: reason,
			Message: msg, ObservedGeneration: generation, LastTransitionTime: metav1.NewTime(now)})
	}
	if parseErr != nil {
		setCond(diagv1.ConditionValid, metav1.ConditionFalse, diagv1.ReasonInvalidSchedule, parseErr.Error()+"; no run is created until spec is fixed")
	} else {
		setCond(diagv1.ConditionValid, metav1.ConditionTrue, diagv1.ReasonScheduleValid, "The schedule and time zone parse")
	}
	st.Active = nil
	for _, r := range runs {
		for _, j := range r.jobs {
			if !j.Status.IsFinal() && len(st.Active) < maxActiveRefs {
				st.Active = append(st.Active, corev1.ObjectReference{APIVersion: diagv1.GroupVersion.String(),
					Kind: "DiagnosticJob", Namespace: j.Namespace, Name: j.Name, UID: j.UID})
			}
		}
		if r.finished() && r.failed == 0 && (st.LastSuccessfulTime == nil || r.finishedAt.After(st.LastSuccessfulTime.Time)) {
			st.LastSuccessfulTime = &metav1.Time{Time: r.finishedAt}
		}
	}
	if len(runs) == 0 {
		st.LastRun = nil
		meta.RemoveStatusCondition(&st.Conditions, diagv1.ConditionLastRunSucceeded)
		return st
	}
	last := runs[len(runs)-1]
	st.LastRun = &diagv1.ScheduleRun{ID: last.id, Time: metav1.Time{Time: last.tick}, Jobs: int32(len(last.jobs)),
		Succeeded: last.succeeded, Failed: last.failed, Running: last.running}
	switch {
	case last.running > 0:
		setCond(diagv1.ConditionLastRunSucceeded, metav1.ConditionUnknown, diagv1.ReasonRunning,
			fmt.Sprintf("Run %s: %d of %d jobs have not finished", last.id, last.running, len(last.jobs)))
	case last.failed > 0:
		setCond(diagv1.ConditionLastRunSucceeded, metav1.ConditionFalse, diagv1.ReasonJobsFailed,
			fmt.Sprintf("Run %s: %d of %d jobs failed: %s", last.id, last.failed, len(last.jobs), failedJobs(last)))
	default:
		setCond(diagv1.ConditionLastRunSucceeded, metav1.ConditionTrue, diagv1.ReasonSucceeded,
			fmt.Sprintf("Run %s: all %d jobs succeeded", last.id, len(last.jobs)))
	}
	return st
}

// failedJobs names the failed jobs of a run with their reasons, at most five.
func failedJobs(r *scheduleRun) string {
	var out []string
	for _, j := range r.jobs {
		if j.Status.IsFinal() && j.Status.Phase != diagv1.JobSucceeded {
			if len(out) == 5 {
				out = append(out, "...")
				break
			}
			out = append(out, j.Name+" ("+j.Status.Reason+")")
		}
	}
	return strings.Join(out, ", ")
}

// lastFinishedRun is the newest run whose jobs all finished, for the last-run-failed gauge.
func lastFinishedRun(runs []*scheduleRun) *scheduleRun {
	for i := len(runs) - 1; i >= 0; i-- {
		if runs[i].finished() {
			return runs[i]
		}
	}
	return nil
}
