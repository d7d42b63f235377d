package controllers

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// isFinal reports whether a job has ended for good (see DiagnosticJobStatus.IsFinal).
func isFinal(j *diagv1.DiagnosticJob) bool {
	return j.Status.IsFinal()
}

// awaitsRetryDecision reports an attempt the agent ended with a retryable failure.
func awaitsRetryDecision(j *diagv1.DiagnosticJob) bool {
	return j.Status.Phase == diagv1.JobFailed && diagv1.IsRetryableReason(j.Status.Reason)
}

// isDeleting reports whether the job has been deleted and waits only for finalizers.
func isDeleting(j *diagv1.DiagnosticJob) bool {
	return j.DeletionTimestamp != nil
}

// isGone reports whether a deleted job no longer needs anything from ecufleet: the API server
// removes it as soon as its other finalizers (if any) are gone.
func isGone(j *diagv1.DiagnosticJob) bool {
	return isDeleting(j) && !controllerutil.ContainsFinalizer(j, diagv1.JobFinalizer)
}

// isWaiting reports whether the job wants an ECU now: unfinished, unbound, not deleted.
func isWaiting(j *diagv1.DiagnosticJob) bool {
	return !isFinal(j) && !j.Status.IsBound() && !isDeleting(j)
}

// The backoff after an EcuUnreachable attempt: the ECU did not answer, so trying again at once
// would only use up backoffLimit before the prober marks the ECU not Ready.
const (
	unreachableBackoffBase = 5 * time.Second
	unreachableBackoffMax  = 2 * time.Minute
)

// unreachableBackoff is the wait after the given number of attempts: 5 s doubled per further
// attempt, at most 2 min, like a Job's backoff after pod failures.
func unreachableBackoff(attempts int32) time.Duration {
	return min(unreachableBackoffBase<<min(max(attempts-1, 0), 6), unreachableBackoffMax)
}

// retryNotBefore is when a job queued again after an EcuUnreachable attempt may claim an ECU,
// counted from the requeue (the Scheduled condition turning False). A lost or restarted agent
// says nothing about the ECU, so those retries go at once.
func retryNotBefore(j *diagv1.DiagnosticJob) (time.Time, bool) {
	if j.Status.Phase != diagv1.JobQueued || j.Status.Reason != diagv1.ReasonEcuUnreachable {
		return time.Time{}, false
	}
	c := meta.FindStatusCondition(j.Status.Conditions, diagv1.ConditionScheduled)
	if c == nil || c.Status != metav1.ConditionFalse {
		return time.Time{}, false
	}
	return c.LastTransitionTime.Add(unreachableBackoff(j.Status.Attempts)), true
}
