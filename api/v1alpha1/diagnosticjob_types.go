package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DiagnosticJobSpec is what to run and on which ECU; it names the ECU by name or by labels.
type DiagnosticJobSpec struct {
	// ecuRef names the ECU to run on, in the job's namespace.
	// +optional
	ECURef *ECUReference `json:"ecuRef,omitempty"`

	// ecuSelector lets the job run on the first free ECU of the namespace with matching labels.
	// +optional
	ECUSelector *metav1.LabelSelector `json:"ecuSelector,omitempty"`

	// priority orders the ECU queues: higher first, then older first.
	// +kubebuilder:default=0
	// +optional
	Priority int32 `json:"priority,omitempty"`

	// activeDeadlineSeconds bounds the job from its first scheduling to its end.
	// +kubebuilder:default=600
	// +kubebuilder:validation:Minimum=1
	// +optional
	ActiveDeadlineSeconds *int64 `json:"activeDeadlineSeconds,omitempty"`

	// backoffLimit is how many times an attempt is retried after an infrastructure fault (agent
	// lost or restarted, ECU unreachable); a failed expectation is never retried.
	// +kubebuilder:default=0
	// +kubebuilder:validation:Minimum=0
	// +optional
	BackoffLimit *int32 `json:"backoffLimit,omitempty"`

	// ttlSecondsAfterFinished deletes the job this long after it finished; unset: kept.
	// +kubebuilder:validation:Minimum=0
	// +optional
	TTLSecondsAfterFinished *int32 `json:"ttlSecondsAfterFinished,omitempty"`

	// queueTimeoutSeconds ends the job Failed with reason QueueTimeout when it is still not
	// Scheduled this long after its creation, so a CI pipeline does not wait for a busy rack forever.
	// +kubebuilder:validation:Minimum=1
	// +optional
	QueueTimeoutSeconds *int64 `json:"queueTimeoutSeconds,omitempty"`

	// trace is when the agent keeps the job's DoIP conversation as a pcapng in the ConfigMap
	// <job>-trace: Never, OnFailure (the default) or Always.
	// +kubebuilder:default=OnFailure
	// +optional
	Trace TraceMode `json:"trace,omitempty"`

	// suspend keeps the job out of the queues; setting it on a running job cancels the attempt.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// steps run in order over one DoIP connection.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=256
	Steps []Step `json:"steps"`
}

// ECUReference names an ECU in the job's namespace.
type ECUReference struct {
	// name of the ECU.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	Name string `json:"name"`
}

// JobPhase is where a DiagnosticJob is in its life, for the PHASE column and for clients waiting on it.
// +kubebuilder:validation:Enum=Pending;Queued;Scheduled;Running;Succeeded;Failed;Cancelled
type JobPhase string

const (
	// JobPending: accepted, not yet in a queue (new, or suspended).
	JobPending JobPhase = "Pending"
	// JobQueued: waiting in the queue of one or more ECUs.
	JobQueued JobPhase = "Queued"
	// JobScheduled: holds an ECU and an agent; the agent has not started it yet.
	JobScheduled JobPhase = "Scheduled"
	// JobRunning: the agent runs the steps.
	JobRunning JobPhase = "Running"
	// JobSucceeded: every step passed (terminal).
	JobSucceeded JobPhase = "Succeeded"
	// JobFailed: a step failed, or retries or the deadline ran out (terminal).
	JobFailed JobPhase = "Failed"
	// JobCancelled: stopped on request before it finished (terminal).
	JobCancelled JobPhase = "Cancelled"
)

// StepPhase is where one step is, so that a reader sees how far a job got.
// +kubebuilder:validation:Enum=Pending;Running;Passed;Failed;Skipped
type StepPhase string

const (
	// StepPending: not started.
	StepPending StepPhase = "Pending"
	// StepRunning: request sent, answer awaited.
	StepRunning StepPhase = "Running"
	// StepPassed: the answer met the expectation.
	StepPassed StepPhase = "Passed"
	// StepFailed: the answer did not meet the expectation, or none came.
	StepFailed StepPhase = "Failed"
	// StepSkipped: not run because an earlier step failed.
	StepSkipped StepPhase = "Skipped"
)

// StepStatus is the outcome of one step as the agent saw it on the wire.
type StepStatus struct {
	// name is the step's name in spec.steps.
	Name string `json:"name"`
	// phase of the step.
	// +optional
	Phase StepPhase `json:"phase,omitempty"`
	// request is the bytes sent, in hex ("22 F1 90").
	// +optional
	Request string `json:"request,omitempty"`
	// response is the bytes received, in hex; cut at 4 KiB and marked "... (cut, N bytes)".
	// +optional
	Response string `json:"response,omitempty"`
	// nrc is the negative response code with its name, e.g. "0x31 requestOutOfRange".
	// +optional
	NRC string `json:"nrc,omitempty"`
	// value is the decoded answer: VIN, ASCII DID text, DTC list.
	// +optional
	Value string `json:"value,omitempty"`
	// durationMillis is how long the step took.
	// +optional
	DurationMillis int64 `json:"durationMillis,omitempty"`
	// message explains a failure or a skip.
	// +optional
	Message string `json:"message,omitempty"`
	// transfer is a download step's progress, written at most every 2 seconds and at the end.
	// +optional
	Transfer *TransferStatus `json:"transfer,omitempty"`
}

// DiagnosticJobStatus is the job's progress: scheduling fields by the controller, run fields by the agent (docs/api.md).
// +kubebuilder:validation:XValidation:rule="(has(self.attempts) ? self.attempts : 0) >= (has(oldSelf.attempts) ? oldSelf.attempts : 0)",message="status.attempts never decreases",fieldPath=".attempts"
type DiagnosticJobStatus struct {
	// phase of the job.
	// +optional
	Phase JobPhase `json:"phase,omitempty"`

	// conditions Scheduled, Complete and Failed, derived from phase and reason by the controller.
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`

	// observedGeneration is the spec generation the controller last acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// ecu is the ECU bound for the current attempt.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ECU string `json:"ecu,omitempty"`

	// agent is the DiagnosticAgent bound for the current attempt: it may be set when empty and
	// cleared, never changed from one agent to another.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="size(oldSelf) == 0 || size(self) == 0 || self == oldSelf",message="status.agent is write-once per attempt: clear it before binding the job to another agent"
	// +optional
	Agent string `json:"agent,omitempty"`

	// queuePosition is the 1-based place in the queue while Queued (the best over its ECUs).
	// +kubebuilder:validation:Minimum=0
	// +optional
	QueuePosition int32 `json:"queuePosition,omitempty"`

	// attempts counts the attempts started; it never decreases.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Attempts int32 `json:"attempts,omitempty"`

	// reason is the one-word reason of the last transition, e.g. AgentLost.
	// +optional
	Reason string `json:"reason,omitempty"`

	// startTime is when the agent started the current attempt.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`

	// completionTime is when the job finished.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`

	// message is a human-readable account of the phase.
	// +optional
	Message string `json:"message,omitempty"`

	// progress is "passed/total" steps, for the STEPS column.
	// +optional
	Progress string `json:"progress,omitempty"`

	// trace is where the job's pcapng trace is, once the agent stored it.
	// +optional
	Trace *TraceStatus `json:"trace,omitempty"`

	// steps are the results of the steps, in spec order.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=256
	// +optional
	Steps []StepStatus `json:"steps,omitempty"`
}

// DiagnosticJob is DoIP/UDS steps queued for one ECU, so many pipelines share a rack without double-booking an ECU.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=dj,categories=ecufleet
// +kubebuilder:printcolumn:name="ECU",type=string,JSONPath=`.status.ecu`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Queue",type=integer,JSONPath=`.status.queuePosition`
// +kubebuilder:printcolumn:name="Agent",type=string,JSONPath=`.status.agent`
// +kubebuilder:printcolumn:name="Steps",type=string,JSONPath=`.status.progress`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.reason`,priority=1
// +kubebuilder:printcolumn:name="Priority",type=integer,JSONPath=`.spec.priority`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type DiagnosticJob struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is what to run and where. Its rules sit here, not on DiagnosticJobSpec, because a
	// DiagnosticSchedule's jobTemplate.spec is one too and stays editable (and may leave the
	// target to forEachECU).
	// +kubebuilder:validation:XValidation:rule="has(self.ecuRef) != has(self.ecuSelector)",message="exactly one of ecuRef or ecuSelector must be set"
	// +kubebuilder:validation:XValidation:rule="has(self.ecuRef) == has(oldSelf.ecuRef) && has(self.ecuSelector) == has(oldSelf.ecuSelector)",message="spec.ecuRef and spec.ecuSelector are immutable: create a new DiagnosticJob (recurring work belongs in a DiagnosticSchedule)"
	// +kubebuilder:validation:XValidation:rule="!has(self.ecuRef) || !has(oldSelf.ecuRef) || self.ecuRef == oldSelf.ecuRef",message="spec.ecuRef is immutable: create a new DiagnosticJob (recurring work belongs in a DiagnosticSchedule)",fieldPath=".ecuRef"
	// +kubebuilder:validation:XValidation:rule="!has(self.ecuSelector) || !has(oldSelf.ecuSelector) || self.ecuSelector == oldSelf.ecuSelector",message="spec.ecuSelector is immutable: create a new DiagnosticJob (recurring work belongs in a DiagnosticSchedule)",fieldPath=".ecuSelector"
	// +kubebuilder:validation:XValidation:rule="self.steps == oldSelf.steps",message="spec.steps is immutable: create a new DiagnosticJob (recurring work belongs in a DiagnosticSchedule)",fieldPath=".steps"
	Spec DiagnosticJobSpec `json:"spec"`
	// status is how far it got.
	// +optional
	Status DiagnosticJobStatus `json:"status,omitempty"`
}

// DiagnosticJobList is a page of DiagnosticJobs, as list calls return them.
// +kubebuilder:object:root=true
type DiagnosticJobList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the jobs.
	Items []DiagnosticJob `json:"items"`
}

func init() {
	SchemeBuilder.Register(&DiagnosticJob{}, &DiagnosticJobList{})
}
