package builders

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// AgentWrapper builds a DiagnosticAgent.
type AgentWrapper struct{ diagv1.DiagnosticAgent }

// MakeAgent returns a DiagnosticAgent (cluster-scoped) with the API defaults left to the server.
func MakeAgent(name string) *AgentWrapper {
	return &AgentWrapper{diagv1.DiagnosticAgent{ObjectMeta: metav1.ObjectMeta{Name: name}}}
}

// Obj returns the DiagnosticAgent.
func (w *AgentWrapper) Obj() *diagv1.DiagnosticAgent { return &w.DiagnosticAgent }

// Label sets a label, e.g. for ECU agentSelectors.
func (w *AgentWrapper) Label(key, value string) *AgentWrapper {
	setLabel(&w.ObjectMeta, key, value)
	return w
}

// NodeName sets spec.nodeName.
func (w *AgentWrapper) NodeName(node string) *AgentWrapper {
	w.Spec.NodeName = node
	return w
}

// MaxConcurrentJobs sets spec.maxConcurrentJobs.
func (w *AgentWrapper) MaxConcurrentJobs(n int32) *AgentWrapper {
	w.Spec.MaxConcurrentJobs = n
	return w
}

// Condition sets a status condition, replacing one of the same type.
func (w *AgentWrapper) Condition(condType string, status metav1.ConditionStatus, reason string) *AgentWrapper {
	meta.SetStatusCondition(&w.Status.Conditions, condition(condType, status, reason))
	return w
}

// RunningJobs sets status.runningJobs.
func (w *AgentWrapper) RunningJobs(n int32) *AgentWrapper {
	w.Status.RunningJobs = n
	return w
}
