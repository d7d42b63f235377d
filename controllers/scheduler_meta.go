package controllers

import (
	"context"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// syncJobMeta makes every job's metadata follow its status: the agent label (the agent watches
// only its own jobs), the finalizer (kept while a live agent may hold a connection for the job,
// removed by the controller when no live agent is left to do it) and the deadline start.
func (p *pass) syncJobMeta(ctx context.Context) {
	jobs := p.sortedJobs(func(j *diagv1.DiagnosticJob) bool {
		_, changed := metaAfter(j, p.desiredMeta(j))
		return changed && !isGone(j)
	})
	runParallel(p.r.opts.WriteParallelism, jobs, func(j *diagv1.DiagnosticJob) {
		_ = p.patchJobMeta(ctx, j, p.desiredMeta(j))
	})
}

// desiredMeta returns the change that brings a job's metadata in line with its status.
func (p *pass) desiredMeta(j *diagv1.DiagnosticJob) func(*diagv1.DiagnosticJob) {
	bound, final := j.Status.IsBound(), isFinal(j)
	live := j.Status.Agent != "" && p.fleet.live(j.Status.Agent)
	has := controllerutil.ContainsFinalizer(j, diagv1.JobFinalizer)
	wantFinalizer := live && (has || bound && !isDeleting(j))
	return func(u *diagv1.DiagnosticJob) {
		switch {
		case bound:
			setMapEntry(&u.Labels, diagv1.AgentLabel, j.Status.Agent)
		case !final:
			delete(u.Labels, diagv1.AgentLabel)
		}
		if wantFinalizer {
			controllerutil.AddFinalizer(u, diagv1.JobFinalizer)
		} else {
			controllerutil.RemoveFinalizer(u, diagv1.JobFinalizer)
		}
		_, marked := j.Annotations[diagv1.FirstScheduledAnnotation]
		switch {
		case bound && !marked:
			if start, ok := j.DeadlineStart(); ok {
				setMapEntry(&u.Annotations, diagv1.FirstScheduledAnnotation, start.UTC().Format(time.RFC3339))
			}
		case !bound && !final && j.Spec.Suspend:
			delete(u.Annotations, diagv1.FirstScheduledAnnotation)
		}
	}
}

// setMapEntry sets a label or annotation, allocating the map on first use.
func setMapEntry(m *map[string]string, key, value string) {
	if *m == nil {
		*m = map[string]string{}
	}
	(*m)[key] = value
}
