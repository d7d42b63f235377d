package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ECUSpec says how an agent reaches one ECU over DoIP and which agents may serve it.
type ECUSpec struct {
	// address is the IP address or host name of the ECU, or of the DoIP gateway in front of it.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?|[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(%[-A-Za-z0-9_.]+)?)$')",message="address must be a host name, an IPv4 address or an IPv6 address (fe80::1%eth0), without port: set spec.port"
	Address string `json:"address"`

	// logicalAddress is the ECU's DoIP logical address (target of diagnostic messages).
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	LogicalAddress int32 `json:"logicalAddress"`

	// port is the DoIP TCP and UDP port.
	// +kubebuilder:default=13400
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	Port int32 `json:"port,omitempty"`

	// protocolVersion is the DoIP header version: 1 (ISO 13400-2:2010), 2 (:2012), 3 (:2019), 4 (:2019/Amd1).
	// +kubebuilder:default=2
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=4
	// +optional
	ProtocolVersion int32 `json:"protocolVersion,omitempty"`

	// testerAddress is the logical address the agent uses as tester (source address), 0x0E00 by default.
	// +kubebuilder:default=3584
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=65535
	// +optional
	TesterAddress int32 `json:"testerAddress,omitempty"`

	// autoReconnect makes the agent re-dial (and re-activate routing) before the next step when the
	// ECU dropped the connection, e.g. after an ECU reset.
	// +optional
	AutoReconnect bool `json:"autoReconnect,omitempty"`

	// routingActivation tunes the routing activation the agent sends first on every connection.
	// +optional
	RoutingActivation *RoutingActivationSpec `json:"routingActivation,omitempty"`

	// tls makes the agent use DoIP over TLS (ISO 13400-2:2019).
	// +optional
	TLS *ECUTLS `json:"tls,omitempty"`

	// agentSelector picks the DiagnosticAgents cabled to this ECU's network; unset means any agent.
	// +optional
	AgentSelector *metav1.LabelSelector `json:"agentSelector,omitempty"`

	// probe says how the serving agent checks that the ECU answers.
	// +kubebuilder:default={}
	// +optional
	Probe *ProbeSpec `json:"probe,omitempty"`

	// unschedulable cordons the ECU: a running job finishes, no new job starts.
	// +optional
	Unschedulable bool `json:"unschedulable,omitempty"`

	// healthCheck makes the controller run these steps on the ECU every periodSeconds, ahead of
	// every user job, and keep user jobs off the ECU while the check fails.
	// +optional
	HealthCheck *HealthCheckSpec `json:"healthCheck,omitempty"`
}

// HealthCheckSpec is a recurring check an ECU must pass to take user jobs, as a lab's daily
// health job takes a failing device offline before it fails a pipeline.
type HealthCheckSpec struct {
	// steps run in order over one DoIP connection, as a DiagnosticJob's steps do.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=256
	Steps []Step `json:"steps"`

	// periodSeconds is the time from the end of one check to the start of the next.
	// +kubebuilder:default=3600
	// +kubebuilder:validation:Minimum=10
	// +optional
	PeriodSeconds int32 `json:"periodSeconds,omitempty"`

	// failureThreshold is how many checks in a row must fail before the ECU is Healthy=False.
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +optional
	FailureThreshold int32 `json:"failureThreshold,omitempty"`
}

// RoutingActivationSpec carries the routing activation request parameters some gateways require.
type RoutingActivationSpec struct {
	// type is the activation type: 0 default, 1 WWH-OBD, 0xE0 central security, 0xE1-0xFF OEM-specific.
	// +kubebuilder:default=0
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=255
	// +optional
	Type int32 `json:"type,omitempty"`

	// oemData is the optional OEM-specific field of the request: exactly 4 bytes.
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule=`self.matches(r'^\s*([0-9A-Fa-f]{2}\s*){4}$')`,message="oemData must be exactly 4 bytes, e.g. \"00 00 00 00\""
	// +optional
	OEMData HexBytes `json:"oemData,omitempty"`

	// disabled skips routing activation, for entities that route without it.
	// +optional
	Disabled bool `json:"disabled,omitempty"`
}

// ECUTLS points the agent at the TLS port and at the credentials a secured ECU demands.
// +kubebuilder:validation:XValidation:rule="!has(self.secretRef) || size(self.secretRef.name) > 0",message="tls.secretRef.name must name a Secret in the ECU's namespace"
type ECUTLS struct {
	// port is the DoIP TLS port.
	// +kubebuilder:default=3496
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	Port int32 `json:"port,omitempty"`

	// secretRef names a Secret in the ECU's namespace with ca.crt and, for mutual TLS, tls.crt and tls.key.
	// +optional
	SecretRef *corev1.LocalObjectReference `json:"secretRef,omitempty"`
}

// ProbeMethod chooses the DoIP request that checks an ECU, since entities differ in what they answer.
// +kubebuilder:validation:Enum=AliveCheck;EntityStatus;VehicleIdentification;None
type ProbeMethod string

const (
	// ProbeAliveCheck probes with a TCP connection, routing activation and an alive check.
	ProbeAliveCheck ProbeMethod = "AliveCheck"
	// ProbeEntityStatus probes with UDP entity status and diagnostic power mode requests.
	ProbeEntityStatus ProbeMethod = "EntityStatus"
	// ProbeVehicleIdentification probes with a UDP vehicle identification request.
	ProbeVehicleIdentification ProbeMethod = "VehicleIdentification"
	// ProbeNone disables probing for ECUs that must see no extra traffic; Ready then needs no Reachable.
	ProbeNone ProbeMethod = "None"
)

// ProbeSpec sets how often and how patiently the serving agent probes an ECU.
// +kubebuilder:validation:XValidation:rule="!has(self.timeoutSeconds) || !has(self.periodSeconds) || self.timeoutSeconds <= self.periodSeconds",message="probe.timeoutSeconds must not exceed probe.periodSeconds"
type ProbeSpec struct {
	// method is the DoIP request used to probe.
	// +kubebuilder:default=EntityStatus
	// +optional
	Method ProbeMethod `json:"method,omitempty"`

	// periodSeconds is the time between two probes.
	// +kubebuilder:default=30
	// +kubebuilder:validation:Minimum=1
	// +optional
	PeriodSeconds int32 `json:"periodSeconds,omitempty"`

	// timeoutSeconds is how long one probe waits for an answer.
	// +kubebuilder:default=2
	// +kubebuilder:validation:Minimum=1
	// +optional
	TimeoutSeconds int32 `json:"timeoutSeconds,omitempty"`

	// failureThreshold is how many consecutive failed probes mark the ECU unreachable.
	// +kubebuilder:default=3
	// +kubebuilder:validation:Minimum=1
	// +optional
	FailureThreshold int32 `json:"failureThreshold,omitempty"`
}

// EntityInfo is the DoIP entity status answer, shown so that a lab sees socket use at a glance.
type EntityInfo struct {
	// nodeType is Gateway or Node.
	// +optional
	NodeType string `json:"nodeType,omitempty"`
	// maxSockets is the number of TCP sockets the entity accepts at once.
	// +optional
	MaxSockets int32 `json:"maxSockets,omitempty"`
	// openSockets is the number of TCP sockets open on the entity.
	// +optional
	OpenSockets int32 `json:"openSockets,omitempty"`
	// maxDataSize is the largest diagnostic message the entity accepts, in bytes.
	// +optional
	MaxDataSize int64 `json:"maxDataSize,omitempty"`
}

// ECUStatus is what the controller and the serving agent last observed of an ECU.
type ECUStatus struct {
	// conditions: Reachable (written by the serving agent's prober), Healthy (written by the
	// controller's health checker, only with spec.healthCheck) and Ready (written by the
	// controller's roll-up; False while Healthy is False).
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`

	// observedGeneration is the spec generation the controller last acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// logicalAddressHex is spec.logicalAddress as "0x00E0", for the LOGICAL column (controller).
	// +optional
	LogicalAddressHex string `json:"logicalAddressHex,omitempty"`

	// agent is the DiagnosticAgent that serves and probes this ECU (controller).
	// +optional
	Agent string `json:"agent,omitempty"`

	// activeJob is the lock: the DiagnosticJob in this namespace holding the ECU; written only by
	// the controller, with a resourceVersion precondition.
	// +optional
	ActiveJob string `json:"activeJob,omitempty"`

	// queuedJobs is the number of jobs waiting for this ECU (controller).
	// +optional
	QueuedJobs int32 `json:"queuedJobs"`

	// vin is the vehicle identification number the ECU reported (agent).
	// +optional
	VIN string `json:"vin,omitempty"`

	// eid is the entity identification the ECU reported, as "00:1A:2B:3C:4D:5E" (agent).
	// +optional
	EID string `json:"eid,omitempty"`

	// gid is the group identification the ECU reported, as "00:1A:2B:3C:4D:5E" (agent).
	// +optional
	GID string `json:"gid,omitempty"`

	// entity is the last entity status answer (agent).
	// +optional
	Entity *EntityInfo `json:"entity,omitempty"`

	// powerMode is the last diagnostic power mode answer: NotReady, Ready or NotSupported (agent).
	// +optional
	PowerMode string `json:"powerMode,omitempty"`

	// lastProbeTime is when the serving agent last probed the ECU (agent).
	// +optional
	LastProbeTime *metav1.Time `json:"lastProbeTime,omitempty"`
}

// ECU is one DoIP-reachable control unit of a rack, so jobs can name it and the controller can lock it for one job.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=ecu,categories=ecufleet
// +kubebuilder:printcolumn:name="Address",type=string,JSONPath=`.spec.address`
// +kubebuilder:printcolumn:name="Logical",type=string,JSONPath=`.status.logicalAddressHex`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Healthy",type=string,JSONPath=`.status.conditions[?(@.type=="Healthy")].status`
// +kubebuilder:printcolumn:name="Agent",type=string,JSONPath=`.status.agent`
// +kubebuilder:printcolumn:name="Active Job",type=string,JSONPath=`.status.activeJob`
// +kubebuilder:printcolumn:name="Queued",type=integer,JSONPath=`.status.queuedJobs`
// +kubebuilder:printcolumn:name="VIN",type=string,JSONPath=`.status.vin`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ECU struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is how to reach the ECU.
	Spec ECUSpec `json:"spec"`
	// status is what was last observed of the ECU.
	// +optional
	Status ECUStatus `json:"status,omitempty"`
}

// ECUList is a page of ECUs, as list calls return them.
// +kubebuilder:object:root=true
type ECUList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the ECUs.
	Items []ECU `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ECU{}, &ECUList{})
}
