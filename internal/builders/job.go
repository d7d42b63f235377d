package builders

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// JobWrapper builds a DiagnosticJob.
type JobWrapper struct{ diagv1.DiagnosticJob }

// MakeJob returns a job without ECU or steps, valid once ECU (or ECUSelector) and a Step are set.
func MakeJob(name, namespace string) *JobWrapper {
	return &JobWrapper{diagv1.DiagnosticJob{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}}}
}

// Obj returns the DiagnosticJob.
func (w *JobWrapper) Obj() *diagv1.DiagnosticJob { return &w.DiagnosticJob }

// Label sets a label.
func (w *JobWrapper) Label(key, value string) *JobWrapper {
	setLabel(&w.ObjectMeta, key, value)
	return w
}

// ECU sets spec.ecuRef.
func (w *JobWrapper) ECU(name string) *JobWrapper {
	w.Spec.ECURef = &diagv1.ECUReference{Name: name}
	return w
}

// ECUSelector sets spec.ecuSelector to match these labels.
func (w *JobWrapper) ECUSelector(labels map[string]string) *JobWrapper {
	w.Spec.ECUSelector = matchLabels(labels)
	return w
}

// Created sets metadata.creationTimestamp, as the API server does: queue order breaks a priority
// tie by it.
func (w *JobWrapper) Created(t time.Time) *JobWrapper {
	w.CreationTimestamp = metav1.NewTime(t)
	return w
}

// Priority sets spec.priority.
func (w *JobWrapper) Priority(p int32) *JobWrapper {
	w.Spec.Priority = p
	return w
}

// Deadline sets spec.activeDeadlineSeconds.
func (w *JobWrapper) Deadline(seconds int64) *JobWrapper {
	w.Spec.ActiveDeadlineSeconds = &seconds
	return w
}

// QueueTimeout sets spec.queueTimeoutSeconds.
func (w *JobWrapper) QueueTimeout(seconds int64) *JobWrapper {
	w.Spec.QueueTimeoutSeconds = &seconds
	return w
}

// BackoffLimit sets spec.backoffLimit.
func (w *JobWrapper) BackoffLimit(n int32) *JobWrapper {
	w.Spec.BackoffLimit = &n
	return w
}

// TTLSecondsAfterFinished sets spec.ttlSecondsAfterFinished.
func (w *JobWrapper) TTLSecondsAfterFinished(seconds int32) *JobWrapper {
	w.Spec.TTLSecondsAfterFinished = &seconds
	return w
}

// Trace sets when the agent keeps the job's pcapng trace.
func (w *JobWrapper) Trace(mode diagv1.TraceMode) *JobWrapper {
	w.Spec.Trace = mode
	return w
}

// Suspend sets spec.suspend.
func (w *JobWrapper) Suspend() *JobWrapper {
	w.Spec.Suspend = true
	return w
}

// Step appends a copy of one step.
func (w *JobWrapper) Step(s *StepWrapper) *JobWrapper {
	w.Spec.Steps = append(w.Spec.Steps, *s.Step.DeepCopy())
	return w
}

// Steps appends copies of several steps.
func (w *JobWrapper) Steps(steps ...*StepWrapper) *JobWrapper {
	for _, s := range steps {
		w.Step(s)
	}
	return w
}

// Phase sets status.phase.
func (w *JobWrapper) Phase(p diagv1.JobPhase) *JobWrapper {
	w.Status.Phase = p
	return w
}

// BoundTo sets status.ecu and status.agent, as the controller does when it schedules the job.
func (w *JobWrapper) BoundTo(ecu, agent string) *JobWrapper {
	w.Status.ECU, w.Status.Agent = ecu, agent
	return w
}

// Attempts sets status.attempts.
func (w *JobWrapper) Attempts(n int32) *JobWrapper {
	w.Status.Attempts = n
	return w
}
