package controllers

import (
	"time"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// queueTimeout decides spec.queueTimeoutSeconds for a job at now: expired when the job was
// never Scheduled (no first-scheduling annotation, not bound) and has waited that long since
// its creation; else wakeAt is when it would expire (zero when no timeout applies: unset, the
// job already ended, is being deleted, or was Scheduled once — a retried job has had its turn).
// It is pure so the scheduler can call it for every queued job in a pass without a read.
func queueTimeout(j *diagv1.DiagnosticJob, now time.Time) (expired bool, wakeAt time.Time) {
	if j.Spec.QueueTimeoutSeconds == nil || *j.Spec.QueueTimeoutSeconds < 1 {
		return false, time.Time{}
	}
	if isFinal(j) || isDeleting(j) || j.Status.IsBound() || j.CreationTimestamp.IsZero() {
		return false, time.Time{}
	}
	if _, ok := j.Annotations[diagv1.FirstScheduledAnnotation]; ok {
		return false, time.Time{}
	}
	due := j.CreationTimestamp.Add(time.Duration(*j.Spec.QueueTimeoutSeconds) * time.Second)
	if !now.Before(due) {
		return true, time.Time{}
	}
	return false, due
}
