package v1alpha1

// Names shared by controller, agents and users, so a label, finalizer or reason is never spelled two ways.
const (
	// GroupName is the API group of every ecufleet resource.
	GroupName = "diag.ecufleet.io"

	// AgentLabel on a job names its bound agent, so each agent watches only its own jobs by label.
	AgentLabel = GroupName + "/agent"

	// RunLabel on every job of one run (an `ecufleet run` or a schedule's tick) names the run, so its jobs are watched, listed and cleaned up together.
	RunLabel = GroupName + "/run"

	// ScheduleLabel on a job names the DiagnosticSchedule that created it, so a schedule finds its runs by label.
	ScheduleLabel = GroupName + "/schedule"

	// ScheduledTimeAnnotation on a schedule's job holds the tick it was created for (RFC 3339), so runs are ordered by tick, not by creation.
	ScheduledTimeAnnotation = GroupName + "/scheduled-time"

	// JobFinalizer keeps a bound job until its agent closed the ECU connection, so no session is left open.
	JobFinalizer = GroupName + "/agent-cleanup"

	// FirstScheduledAnnotation on a job holds its first scheduling time (RFC 3339), written by the
	// controller, so that controller and agent count activeDeadlineSeconds from the same instant
	// across retries.
	FirstScheduledAnnotation = GroupName + "/first-scheduled"

	// HealthCheckLabel on a job names the ECU whose spec.healthCheck it runs, so the queue puts it
	// first and the controller finds an ECU's checks by label.
	HealthCheckLabel = GroupName + "/health-check"

	// DefaultLeaseNamespace holds the agents' heartbeat Leases and the leader election Lease
	// unless --lease-namespace says otherwise, so that agent and controller meet by default.
	DefaultLeaseNamespace = "ecufleet-system"
)

// Condition types.
const (
	// ConditionReachable on an ECU is the prober's verdict, apart from Ready so the controller can add agent availability.
	ConditionReachable = "Reachable"

	// ConditionReady says jobs can start on an ECU, or that a DiagnosticAgent's Lease is current.
	ConditionReady = "Ready"

	// ConditionHealthy on an ECU with spec.healthCheck is the verdict of its last health checks.
	ConditionHealthy = "Healthy"

	// ConditionScheduled on a DiagnosticJob says it holds an ECU and an agent for this attempt.
	ConditionScheduled = "Scheduled"

	// ConditionComplete on a DiagnosticJob says it ended successfully, for `kubectl wait`.
	ConditionComplete = "Complete"

	// ConditionFailed on a DiagnosticJob says it ended without success, for `kubectl wait`.
	ConditionFailed = "Failed"

	// ConditionValid on a DiagnosticSchedule says its schedule and time zone parse, so a bad one shows in kubectl.
	ConditionValid = "Valid"

	// ConditionLastRunSucceeded on a DiagnosticSchedule is the last run's result, for the LAST RESULT column.
	ConditionLastRunSucceeded = "LastRunSucceeded"
)

// One-word reasons of DiagnosticJob transitions, written to status.reason and to the conditions.
const (
	// ReasonQueued: the job waits in the queue of one or more ECUs.
	ReasonQueued = "Queued"
	// ReasonScheduled: the job holds an ECU and an agent.
	ReasonScheduled = "Scheduled"
	// ReasonSucceeded: every step passed.
	ReasonSucceeded = "Succeeded"
	// ReasonStepFailed: a step failed its expectation; never retried.
	ReasonStepFailed = "StepFailed"
	// ReasonAgentLost: the bound agent's Lease expired during the attempt; retryable.
	ReasonAgentLost = "AgentLost"
	// ReasonAgentRestarted: the bound agent restarted during the attempt; retryable.
	ReasonAgentRestarted = "AgentRestarted"
	// ReasonEcuUnreachable: the agent could not connect to or activate routing on the ECU; retryable.
	ReasonEcuUnreachable = "EcuUnreachable"
	// ReasonConnectionLost: the connection dropped during a request (after the ECU acknowledged
	// it, which is never sent twice, or before, without autoReconnect); retryable, from the first step.
	ReasonConnectionLost = "ConnectionLost"
	// ReasonDeadlineExceeded: activeDeadlineSeconds passed before the job finished.
	ReasonDeadlineExceeded = "DeadlineExceeded"
	// ReasonQueueTimeout: spec.queueTimeoutSeconds passed before the job was first Scheduled.
	ReasonQueueTimeout = "QueueTimeout"
	// ReasonSuspended: spec.suspend is set, so the job does not run.
	ReasonSuspended = "Suspended"
	// ReasonCancelled: the job was stopped on request before it finished.
	ReasonCancelled = "Cancelled"
	// ReasonBackoffLimitExceeded: a retryable failure happened more often than backoffLimit allows.
	ReasonBackoffLimitExceeded = "BackoffLimitExceeded"
	// ReasonNoMatchingEcu: no ECU in the namespace matches spec.ecuSelector.
	ReasonNoMatchingEcu = "NoMatchingEcu"
	// ReasonEcuNotFound: the ECU named by spec.ecuRef does not exist.
	ReasonEcuNotFound = "EcuNotFound"
	// ReasonEcuCordoned: the ECU is unschedulable, so no new job starts on it.
	ReasonEcuCordoned = "EcuCordoned"
	// ReasonEcuNotReady: the ECU is not Ready (unreachable or unserved).
	ReasonEcuNotReady = "EcuNotReady"
	// ReasonImageInvalid: a download step's image failed its digest or did not parse, so nothing
	// was sent to the ECU; never retried.
	ReasonImageInvalid = "ImageInvalid"
	// ReasonImageUnavailable: a download step's image could not be fetched (registry or server
	// down, ConfigMap missing); retryable, since nothing reached the ECU.
	ReasonImageUnavailable = "ImageUnavailable"
	// ReasonNoAgent: no Ready agent matching the ECU's agentSelector has room for the job.
	ReasonNoAgent = "NoAgent"
	// ReasonEcuUnhealthy: the ECU failed its health check (Healthy=False), so only its health job starts.
	ReasonEcuUnhealthy = "EcuUnhealthy"
)

// One-word reasons of the ECU and DiagnosticAgent conditions.
const (
	// ReasonReachable: the ECU Ready condition follows a successful probe.
	ReasonReachable = "Reachable"
	// ReasonUnreachable: the ECU Ready condition follows failed probes.
	ReasonUnreachable = "Unreachable"
	// ReasonProbing: no probe verdict yet, so the ECU is not Ready.
	ReasonProbing = "Probing"
	// ReasonProbeSucceeded: the agent's last probe of the ECU got an answer.
	ReasonProbeSucceeded = "ProbeSucceeded"
	// ReasonProbeFailed: failureThreshold consecutive probes of the ECU got no answer.
	ReasonProbeFailed = "ProbeFailed"
	// ReasonHealthCheckPassed: the ECU's last health check passed.
	ReasonHealthCheckPassed = "HealthCheckPassed"
	// ReasonHealthCheckFailed: failureThreshold health checks of the ECU failed in a row.
	ReasonHealthCheckFailed = "HealthCheckFailed"
	// ReasonHealthCheckPending: no health check of the ECU has finished yet.
	ReasonHealthCheckPending = "HealthCheckPending"
	// ReasonLeaseRenewed: the agent's Lease is current.
	ReasonLeaseRenewed = "LeaseRenewed"
	// ReasonLeaseExpired: the agent's Lease was not renewed within its duration.
	ReasonLeaseExpired = "LeaseExpired"
	// ReasonNoLease: the agent has no Lease at all.
	ReasonNoLease = "NoLease"
)

// One-word reasons of the DiagnosticSchedule conditions and of its skipped ticks.
const (
	// ReasonScheduleValid: the schedule and time zone parse.
	ReasonScheduleValid = "ScheduleValid"
	// ReasonInvalidSchedule: the schedule or time zone does not parse; the message is the parser's.
	ReasonInvalidSchedule = "InvalidSchedule"
	// ReasonRunning: the last run has unfinished jobs.
	ReasonRunning = "Running"
	// ReasonJobsFailed: a job of the last run Failed or was Cancelled.
	ReasonJobsFailed = "JobsFailed"
	// ReasonForbid: a tick was skipped because an earlier run is unfinished (concurrencyPolicy Forbid).
	ReasonForbid = "Forbid"
	// ReasonMissedDeadline: a tick was skipped because startingDeadlineSeconds passed before it could run.
	ReasonMissedDeadline = "MissedDeadline"
)

// IsRetryableReason tells whether an attempt that ended with reason may be retried under
// spec.backoffLimit: infrastructure faults only, never a failed expectation.
func IsRetryableReason(reason string) bool {
	switch reason {
	case ReasonAgentLost, ReasonAgentRestarted, ReasonEcuUnreachable, ReasonImageUnavailable, ReasonConnectionLost:
		return true
	}
	return false
}
