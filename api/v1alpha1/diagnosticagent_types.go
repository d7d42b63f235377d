package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DiagnosticAgentSpec is what an agent declares about itself when it starts.
type DiagnosticAgentSpec struct {
	// nodeName is the Kubernetes node (or host) the agent runs on.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	NodeName string `json:"nodeName,omitempty"`

	// maxConcurrentJobs is how many jobs the agent runs at once.
	// +kubebuilder:default=4
	// +kubebuilder:validation:Minimum=1
	// +optional
	MaxConcurrentJobs int32 `json:"maxConcurrentJobs,omitempty"`
}

// DiscoveredEntity is an entity that answered discovery, so a lab can find ECUs before writing ECU objects.
type DiscoveredEntity struct {
	// address is the IP address the answer came from.
	Address string `json:"address"`
	// logicalAddress is the entity's DoIP logical address.
	LogicalAddress int32 `json:"logicalAddress"`
	// vin is the VIN the entity announced.
	// +optional
	VIN string `json:"vin,omitempty"`
	// eid is the entity identification, as "00:1A:2B:3C:4D:5E".
	// +optional
	EID string `json:"eid,omitempty"`
	// gid is the group identification, as "00:1A:2B:3C:4D:5E".
	// +optional
	GID string `json:"gid,omitempty"`
	// lastSeen is when the entity last answered.
	// +optional
	LastSeen metav1.Time `json:"lastSeen,omitempty"`
}

// DiagnosticAgentStatus is what the agent and the controller report about an agent.
type DiagnosticAgentStatus struct {
	// conditions: Ready, written by the controller from the agent's Lease.
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`

	// version is the agent's build version (agent).
	// +optional
	Version string `json:"version,omitempty"`

	// runningJobs is the number of jobs the agent runs now (agent).
	// +optional
	RunningJobs int32 `json:"runningJobs"`

	// ecus are the ECUs ("namespace/name") the agent serves (agent).
	// +optional
	ECUs []string `json:"ecus,omitempty"`

	// discovered are the DoIP entities found by broadcast discovery (agent).
	// +optional
	Discovered []DiscoveredEntity `json:"discovered,omitempty"`
}

// DiagnosticAgent is a self-registered node agent, so the controller knows where jobs can run (heartbeat: a Lease of the same name).
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=dagent,categories=ecufleet
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Node",type=string,JSONPath=`.spec.nodeName`
// +kubebuilder:printcolumn:name="Running",type=integer,JSONPath=`.status.runningJobs`
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.status.version`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type DiagnosticAgent struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is what the agent declares.
	// +optional
	Spec DiagnosticAgentSpec `json:"spec,omitempty"`
	// status is what the agent and the controller report.
	// +optional
	Status DiagnosticAgentStatus `json:"status,omitempty"`
}

// DiagnosticAgentList is a page of DiagnosticAgents, as list calls return them.
// +kubebuilder:object:root=true
type DiagnosticAgentList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the agents.
	Items []DiagnosticAgent `json:"items"`
}

func init() {
	SchemeBuilder.Register(&DiagnosticAgent{}, &DiagnosticAgentList{})
}
