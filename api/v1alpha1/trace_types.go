package v1alpha1

// TraceMode says when the agent keeps a job's DoIP conversation as a pcapng.
// +kubebuilder:validation:Enum=Never;OnFailure;Always
type TraceMode string

const (
	// TraceNever records nothing.
	TraceNever TraceMode = "Never"
	// TraceOnFailure keeps the trace of a job that did not succeed.
	TraceOnFailure TraceMode = "OnFailure"
	// TraceAlways keeps every job's trace.
	TraceAlways TraceMode = "Always"
)

// TraceStatus says where a job's trace is and whether it is whole.
type TraceStatus struct {
	// configMap is the ConfigMap holding trace.pcapng.gz, in the job's namespace, owned by the job.
	ConfigMap string `json:"configMap"`
	// frames is the number of DoIP frames the job sent and received, stored or not.
	Frames int64 `json:"frames"`
	// bytes is the size of the stored, compressed trace.
	Bytes int64 `json:"bytes"`
	// truncated is true when the 900 KiB bound was reached and later frames were only counted.
	// +optional
	Truncated bool `json:"truncated,omitempty"`
}
