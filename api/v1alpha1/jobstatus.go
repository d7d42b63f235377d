package v1alpha1

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// IsFinal reports whether the job has ended for good. A Failed phase with a retryable reason is
// not final until the controller has decided between retry and failure.
func (s *DiagnosticJobStatus) IsFinal() bool {
	switch s.Phase {
	case JobSucceeded, JobCancelled:
		return true
	case JobFailed:
		return !IsRetryableReason(s.Reason)
	}
	return false
}

// SetConditions derives the Scheduled, Complete and Failed conditions from phase and reason.
// Whoever writes the phase (the controller or the agent) calls it in the same write, so that
// the conditions never disagree with the phase and never cost a write of their own.
func (s *DiagnosticJobStatus) SetConditions(generation int64, now time.Time) {
	reason := s.Reason
	if reason == "" {
		reason = string(s.Phase)
		if reason == "" {
			reason = ReasonQueued
		}
	}
	set := func(t string, status metav1.ConditionStatus, r, msg string) {
		meta.SetStatusCondition(&s.Conditions, metav1.Condition{
			Type: t, Status: status, Reason: r, Message: msg,
			ObservedGeneration: generation, LastTransitionTime: metav1.NewTime(now),
		})
	}
	switch {
	case s.Phase == JobScheduled || s.Phase == JobRunning:
		// A fixed message: the agent rewrites status.message while it runs, and the condition
		// must not change (and cost a write) each time it does.
		set(ConditionScheduled, metav1.ConditionTrue, ReasonScheduled, "Bound to ECU "+s.ECU+" and agent "+s.Agent)
		s.removeFinalConditions()
	case s.Phase == JobSucceeded:
		set(ConditionScheduled, metav1.ConditionFalse, reason, "The job finished")
		set(ConditionComplete, metav1.ConditionTrue, reason, s.Message)
		meta.RemoveStatusCondition(&s.Conditions, ConditionFailed)
	case s.IsFinal():
		set(ConditionScheduled, metav1.ConditionFalse, reason, "The job finished")
		set(ConditionFailed, metav1.ConditionTrue, reason, s.Message)
		meta.RemoveStatusCondition(&s.Conditions, ConditionComplete)
	default:
		set(ConditionScheduled, metav1.ConditionFalse, reason, s.Message)
		s.removeFinalConditions()
	}
}

// removeFinalConditions drops Complete and Failed from a job that runs again.
func (s *DiagnosticJobStatus) removeFinalConditions() {
	meta.RemoveStatusCondition(&s.Conditions, ConditionComplete)
	meta.RemoveStatusCondition(&s.Conditions, ConditionFailed)
}
