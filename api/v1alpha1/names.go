package v1alpha1

// Names shared by controller, agents and users, so a label, finalizer or reason is never spelled two ways.
const (
	// GroupName is the API group of every ecufleet resource.
	GroupName = "diag.ecufleet.io"

	// AgentLabel on a job names its bound agent, so each agent watches only its own jobs by label.
	AgentLabel = GroupName + "/agent"

	// JobFinalizer keeps a bound job until its agent closed the ECU connection, so no session is left open.
	JobFinalizer = GroupName + "/agent-cleanup"

	// FirstScheduledAnnotation on a job holds its first scheduling time (RFC 3339), written by the
	// controller, so that controller and agent count activeDeadlineSeconds from the same instant
	// across retries.
	FirstScheduledAnnotation = GroupName + "/first-scheduled"

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

	// ConditionScheduled on a DiagnosticJob says it holds an ECU and an agent for this attempt.
	ConditionScheduled = "Scheduled"

	// ConditionComplete on a DiagnosticJob says it ended successfully, for `kubectl wait`.
	ConditionComplete = "Complete"

	// ConditionFailed on a DiagnosticJob says it ended without success, for `kubectl wait`.
	ConditionFailed = "Failed"
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
	ReasonConnectionLost = "ConnectionLost" // the connection dropped after the ECU acknowledged a request, which is never sent twice; retryable
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
	// ReasonNoAgent: no Ready agent matching the ECU's agentSelector has room for the job.
	ReasonNoAgent = "NoAgent"
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
	// ReasonLeaseRenewed: the agent's Lease is current.
	ReasonLeaseRenewed = "LeaseRenewed"
	// ReasonLeaseExpired: the agent's Lease was not renewed within its duration.
	ReasonLeaseExpired = "LeaseExpired"
	// ReasonNoLease: the agent has no Lease at all.
	ReasonNoLease = "NoLease"
)

// IsRetryableReason tells whether an attempt that ended with reason may be retried under
// spec.backoffLimit: infrastructure faults only, never a failed expectation.
func IsRetryableReason(reason string) bool {
	switch reason {
	case ReasonAgentLost, ReasonAgentRestarted, ReasonEcuUnreachable, ReasonConnectionLost:
		return true
	}
	return false
}
