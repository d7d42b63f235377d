package controllers

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// finishJobs derives the conditions of finished jobs that lack them (an agent that wrote only
// the phase) and deletes finished jobs whose ttlSecondsAfterFinished has passed. A job whose
// conditions are written now has its TTL looked at in the pass its update triggers.
func (p *pass) finishJobs(ctx context.Context) {
	keep := func(*diagv1.DiagnosticJobStatus) {}
	var derive, expired []*diagv1.DiagnosticJob
	for _, j := range p.sortedJobs(func(j *diagv1.DiagnosticJob) bool { return isFinal(j) && !isDeleting(j) }) {
		if !p.r.settled.is(j) {
			if _, changed := statusAfter(j, keep, p.now); changed {
				derive = append(derive, j)
				continue
			}
			p.r.settled.mark(j)
		}
		if due, ok := ttlExpiry(j); ok {
			if p.now.Before(due) {
				p.wakeAt(due)
				p.r.finished.expireAt(client.ObjectKeyFromObject(j), due)
			} else {
				expired = append(expired, j)
			}
		}
	}
	runParallel(p.r.opts.WriteParallelism, derive, func(j *diagv1.DiagnosticJob) { _, _ = p.patchJobStatus(ctx, j, keep) })
	runParallel(p.r.opts.WriteParallelism, expired, func(j *diagv1.DiagnosticJob) {
		err := p.r.client.Delete(ctx, j, client.Preconditions{UID: &j.UID})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			p.r.finished.expireAt(client.ObjectKeyFromObject(j), p.now) // the retry reads it again
			p.fail(fmt.Errorf("deleting DiagnosticJob %s/%s after its ttlSecondsAfterFinished: %w", j.Namespace, j.Name, err))
		}
	})
}

// ttlExpiry is when a finished job's ttlSecondsAfterFinished runs out, if it has one.
func ttlExpiry(j *diagv1.DiagnosticJob) (time.Time, bool) {
	finished, ok := j.Status.FinishTime()
	if j.Spec.TTLSecondsAfterFinished == nil || !ok {
		return time.Time{}, false
	}
	return finished.Add(time.Duration(*j.Spec.TTLSecondsAfterFinished) * time.Second), true
}
