package builders

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// ScheduleWrapper builds a DiagnosticSchedule.
type ScheduleWrapper struct{ diagv1.DiagnosticSchedule }

// MakeSchedule returns a schedule with a cron expression and no template, valid once Template
// is given a job with a step and an ECU (with ForEachECU: an ecuSelector, {} for every ECU).
func MakeSchedule(name, namespace, schedule string) *ScheduleWrapper {
	return &ScheduleWrapper{diagv1.DiagnosticSchedule{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec:       diagv1.DiagnosticScheduleSpec{Schedule: schedule},
	}}
}

// Obj returns the DiagnosticSchedule.
func (w *ScheduleWrapper) Obj() *diagv1.DiagnosticSchedule { return &w.DiagnosticSchedule }

// Template sets jobTemplate.spec to a copy of the job's spec, and its labels and annotations.
func (w *ScheduleWrapper) Template(job *JobWrapper) *ScheduleWrapper {
	j := job.Obj().DeepCopy()
	w.Spec.JobTemplate = diagv1.DiagnosticJobTemplate{
		Metadata: diagv1.JobTemplateMetadata{Labels: j.Labels, Annotations: j.Annotations},
		Spec:     j.Spec,
	}
	return w
}

// ForEachECU sets forEachECU.selector to match these labels (nil: every ECU).
func (w *ScheduleWrapper) ForEachECU(labels map[string]string) *ScheduleWrapper {
	w.Spec.ForEachECU = &diagv1.ForEachECU{Selector: *matchLabels(labels)}
	return w
}

// TimeZone sets spec.timeZone.
func (w *ScheduleWrapper) TimeZone(zone string) *ScheduleWrapper {
	w.Spec.TimeZone = &zone
	return w
}

// Suspend sets spec.suspend.
func (w *ScheduleWrapper) Suspend() *ScheduleWrapper {
	w.Spec.Suspend = true
	return w
}

// Concurrency sets spec.concurrencyPolicy.
func (w *ScheduleWrapper) Concurrency(p diagv1.ConcurrencyPolicy) *ScheduleWrapper {
	w.Spec.ConcurrencyPolicy = p
	return w
}

// StartingDeadline sets spec.startingDeadlineSeconds.
func (w *ScheduleWrapper) StartingDeadline(seconds int64) *ScheduleWrapper {
	w.Spec.StartingDeadlineSeconds = &seconds
	return w
}

// History sets spec.successfulRunsHistoryLimit and spec.failedRunsHistoryLimit.
func (w *ScheduleWrapper) History(successful, failed int32) *ScheduleWrapper {
	w.Spec.SuccessfulRunsHistoryLimit, w.Spec.FailedRunsHistoryLimit = &successful, &failed
	return w
}
