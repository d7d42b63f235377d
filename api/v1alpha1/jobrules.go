package v1alpha1

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The rules of a job's life that the controller and the agent must read the same way: whether
// it holds an ECU, when its deadline counts from and runs out, when it finished, how often it
// may be retried.

// IsBound reports whether the status claims an ECU or an agent for the current attempt, so
// that the scheduler counts it against its agent and leaves it out of the queues.
func (s *DiagnosticJobStatus) IsBound() bool {
	return !s.IsFinal() && (s.ECU != "" || s.Agent != "")
}

// ScheduledAt is when the current attempt was scheduled (the Scheduled condition turning
// True), while the job holds its ECU; false when it does not.
func (s *DiagnosticJobStatus) ScheduledAt() (time.Time, bool) {
	c := meta.FindStatusCondition(s.Conditions, ConditionScheduled)
	if c == nil || c.Status != metav1.ConditionTrue {
		return time.Time{}, false
	}
	return c.LastTransitionTime.Time, true
}

// FinishTime is when a final job ended: completionTime, else the time its Complete or Failed
// condition turned True, so that ttlSecondsAfterFinished also counts for a job whose writer set
// only the conditions.
func (s *DiagnosticJobStatus) FinishTime() (time.Time, bool) {
	if s.CompletionTime != nil {
		return s.CompletionTime.Time, true
	}
	for _, t := range []string{ConditionComplete, ConditionFailed} {
		if c := meta.FindStatusCondition(s.Conditions, t); c != nil && c.Status == metav1.ConditionTrue {
			return c.LastTransitionTime.Time, true
		}
	}
	return time.Time{}, false
}

// DeadlineStart is the instant activeDeadlineSeconds counts from, the first scheduling: the
// FirstScheduledAnnotation, or, until the controller has written it right after the bind, the
// current Scheduled condition of a bound job. False when neither is known (a job never
// scheduled, or between attempts before the annotation exists); the caller decides what that
// means (the controller: no deadline yet; the agent, which runs the attempt: now).
func (j *DiagnosticJob) DeadlineStart() (time.Time, bool) {
	if v, ok := j.Annotations[FirstScheduledAnnotation]; ok {
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t, true
		}
	}
	if j.Status.IsBound() {
		return j.Status.ScheduledAt()
	}
	return time.Time{}, false
}

// ActiveDeadline is spec.activeDeadlineSeconds as a duration; false when it is unset (the API
// server defaults it, so only an object stored before that default has none).
func (j *DiagnosticJob) ActiveDeadline() (time.Duration, bool) {
	if j.Spec.ActiveDeadlineSeconds == nil {
		return 0, false
	}
	return time.Duration(*j.Spec.ActiveDeadlineSeconds) * time.Second, true
}

// Deadline is when the job runs out of activeDeadlineSeconds, counted from DeadlineStart;
// false when it has no deadline or no start yet.
func (j *DiagnosticJob) Deadline() (time.Time, bool) {
	d, ok := j.ActiveDeadline()
	if !ok {
		return time.Time{}, false
	}
	start, ok := j.DeadlineStart()
	if !ok {
		return time.Time{}, false
	}
	return start.Add(d), true
}

// BackoffLimit is spec.backoffLimit with its API default (0: no retry), so that an object
// stored before the default existed is read the same way.
func (j *DiagnosticJob) BackoffLimit() int32 {
	if j.Spec.BackoffLimit == nil {
		return 0
	}
	return *j.Spec.BackoffLimit
}
