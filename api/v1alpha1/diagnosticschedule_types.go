package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DiagnosticScheduleSpec is when to create runs of DiagnosticJobs and what they hold, in the
// shape of a batch/v1 CronJob, so recurring lab work is declared in Git like any manifest.
// +kubebuilder:validation:XValidation:rule="has(self.forEachECU) || has(self.jobTemplate.spec.ecuRef) != has(self.jobTemplate.spec.ecuSelector)",message="exactly one of ecuRef or ecuSelector must be set in jobTemplate.spec, unless forEachECU picks the ECUs",fieldPath=".jobTemplate.spec"
// +kubebuilder:validation:XValidation:rule="!has(self.forEachECU) || !has(self.jobTemplate.spec.ecuRef)",message="forEachECU sets each job's ecuRef: leave jobTemplate.spec.ecuRef out (a jobTemplate.spec.ecuSelector narrows forEachECU.selector)",fieldPath=".jobTemplate.spec.ecuRef"
type DiagnosticScheduleSpec struct {
	// schedule is a 5-field cron expression ("0 2 * * *"), one of @yearly, @annually,
	// @monthly, @weekly, @daily, @midnight, @hourly, or "@every <Go duration>" ("@every 30m").
	// The API server checks its shape; the controller parses it and reports a bad one in the
	// Valid condition with the parser's message.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:XValidation:rule="self.matches('^[0-9A-Za-z*?/,-]+( +[0-9A-Za-z*?/,-]+){4}$') || self.matches('^@(yearly|annually|monthly|weekly|daily|midnight|hourly)$') || self.matches('^@every ([0-9]+(\\\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$')",message="schedule must be 5 cron fields (minute hour day-of-month month day-of-week), an @ form (@hourly, @daily, @weekly, @monthly, @yearly) or \"@every <duration>\" with a Go duration such as 90s or 1h30m"
	Schedule string `json:"schedule"`

	// timeZone is the IANA zone the cron fields are read in ("Europe/Berlin"); unset: UTC.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$`
	// +optional
	TimeZone *string `json:"timeZone,omitempty"`

	// suspend skips every tick (counted as skipped, reason Suspended) and leaves running jobs alone.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// concurrencyPolicy is what a tick does while an earlier run has unfinished jobs: Forbid
	// skips the tick, Allow creates the run anyway, Replace deletes the unfinished jobs first.
	// +kubebuilder:default=Forbid
	// +optional
	ConcurrencyPolicy ConcurrencyPolicy `json:"concurrencyPolicy,omitempty"`

	// startingDeadlineSeconds skips a tick (reason MissedDeadline) that the controller could not
	// act on within this many seconds, e.g. after downtime; unset: a missed tick runs however late.
	// Either way at most one missed tick, the most recent, runs.
	// +kubebuilder:validation:Minimum=1
	// +optional
	StartingDeadlineSeconds *int64 `json:"startingDeadlineSeconds,omitempty"`

	// successfulRunsHistoryLimit is how many finished runs without a failed job keep their jobs.
	// +kubebuilder:default=3
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	SuccessfulRunsHistoryLimit *int32 `json:"successfulRunsHistoryLimit,omitempty"`

	// failedRunsHistoryLimit is how many finished runs with a failed job keep their jobs.
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	FailedRunsHistoryLimit *int32 `json:"failedRunsHistoryLimit,omitempty"`

	// forEachECU makes each run one job per ECU of the namespace matching its selector, with
	// ecuRef set to that ECU; unset: each run is one job targeted by the template.
	// +optional
	ForEachECU *ForEachECU `json:"forEachECU,omitempty"`

	// jobTemplate is the DiagnosticJob every run creates.
	JobTemplate DiagnosticJobTemplate `json:"jobTemplate"`
}

// ConcurrencyPolicy says what a tick does while an earlier run is unfinished, as a CronJob's does.
// +kubebuilder:validation:Enum=Forbid;Allow;Replace
type ConcurrencyPolicy string

const (
	// ConcurrencyForbid skips the tick while an earlier run has unfinished jobs.
	ConcurrencyForbid ConcurrencyPolicy = "Forbid"
	// ConcurrencyAllow creates the run whatever earlier runs do.
	ConcurrencyAllow ConcurrencyPolicy = "Allow"
	// ConcurrencyReplace deletes the unfinished jobs of earlier runs, then creates the run.
	ConcurrencyReplace ConcurrencyPolicy = "Replace"
)

// ForEachECU fans a run out over ECUs, so one schedule reads a whole rack.
type ForEachECU struct {
	// selector picks the ECUs of the schedule's namespace; {} picks all of them.
	Selector metav1.LabelSelector `json:"selector"`
}

// DiagnosticJobTemplate is the job a run creates: metadata copied onto it, and its spec.
type DiagnosticJobTemplate struct {
	// metadata holds the labels and annotations copied onto every job.
	// +optional
	Metadata JobTemplateMetadata `json:"metadata,omitempty"`

	// spec is the job's spec; with forEachECU its ecuRef is set per ECU and its ecuSelector dropped.
	Spec DiagnosticJobSpec `json:"spec"`
}

// JobTemplateMetadata is the part of a job's metadata a schedule may set; names are derived.
type JobTemplateMetadata struct {
	// labels copied onto every job; the schedule and run labels are added after them.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`

	// annotations copied onto every job.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// ScheduleRun sums up one run: the jobs of one tick, or of one `ecufleet run --from schedule/NAME`.
type ScheduleRun struct {
	// id is the run's diag.ecufleet.io/run label value.
	ID string `json:"id"`
	// time is the tick the run was created for.
	Time metav1.Time `json:"time"`
	// jobs is how many jobs the run has.
	Jobs int32 `json:"jobs"`
	// succeeded is how many of them Succeeded.
	Succeeded int32 `json:"succeeded"`
	// failed is how many of them Failed or were Cancelled.
	Failed int32 `json:"failed"`
	// running is how many of them have not finished.
	Running int32 `json:"running"`
}

// DiagnosticScheduleStatus is what the schedule did last, written by the controller alone.
type DiagnosticScheduleStatus struct {
	// lastScheduleTime is the last tick the controller handled, by a run or by a skip.
	// +optional
	LastScheduleTime *metav1.Time `json:"lastScheduleTime,omitempty"`

	// lastSuccessfulTime is when the last run whose every job Succeeded finished.
	// +optional
	LastSuccessfulTime *metav1.Time `json:"lastSuccessfulTime,omitempty"`

	// active are the unfinished jobs of the schedule's runs (at most 256 listed).
	// +kubebuilder:validation:MaxItems=256
	// +listType=atomic
	// +optional
	Active []corev1.ObjectReference `json:"active,omitempty"`

	// lastRun sums up the most recent run.
	// +optional
	LastRun *ScheduleRun `json:"lastRun,omitempty"`

	// conditions Valid (the schedule and time zone parse) and LastRunSucceeded.
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`
}

// DiagnosticSchedule creates DiagnosticJobs on a cron schedule, optionally one per matching ECU,
// so recurring lab work ("read every ECU's DTCs each night") is declared once in Git.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=dsched,categories=ecufleet
// +kubebuilder:printcolumn:name="Schedule",type=string,JSONPath=`.spec.schedule`
// +kubebuilder:printcolumn:name="Suspend",type=boolean,JSONPath=`.spec.suspend`
// +kubebuilder:printcolumn:name="Active",type=integer,JSONPath=`.status.lastRun.running`
// +kubebuilder:printcolumn:name="Last Run",type=date,JSONPath=`.status.lastRun.time`
// +kubebuilder:printcolumn:name="Last Result",type=string,JSONPath=`.status.conditions[?(@.type=="LastRunSucceeded")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type DiagnosticSchedule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is when and what to run.
	Spec DiagnosticScheduleSpec `json:"spec"`
	// status is what was run.
	// +optional
	Status DiagnosticScheduleStatus `json:"status,omitempty"`
}

// DiagnosticScheduleList is a page of DiagnosticSchedules, as list calls return them.
// +kubebuilder:object:root=true
type DiagnosticScheduleList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the schedules.
	Items []DiagnosticSchedule `json:"items"`
}

func init() {
	SchemeBuilder.Register(&DiagnosticSchedule{}, &DiagnosticScheduleList{})
}
