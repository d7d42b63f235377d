package deploytest

import (
	"path/filepath"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Names config/ gives the agent's identity, which the tests act as.
const (
	// SystemNamespace is where config/default installs ecufleet.
	SystemNamespace = "ecufleet-system"
	// AgentAccount is the node agent's ServiceAccount.
	AgentAccount = "ecufleet-agent"
	// AgentUser is the user name the API server gives AgentAccount's tokens.
	AgentUser = "system:serviceaccount:" + SystemNamespace + ":" + AgentAccount
	// PolicyName names the admission policy and its binding, as refusals quote them.
	PolicyName = "ecufleet-agent-node-scope"
)

// AgentAccess reads what decides the agent's access: the namespace, config/rbac/agent and
// config/policy, without the rest of config/default (which needs generated files).
func AgentAccess() ([]*unstructured.Unstructured, error) {
	dir, err := ConfigDir()
	if err != nil {
		return nil, err
	}
	objs, err := ReadObjects(filepath.Join(dir, "default", "namespace.yaml"))
	if err != nil {
		return nil, err
	}
	for _, sub := range []string{"rbac/agent", "policy"} {
		more, err := Render(filepath.Join(dir, sub))
		if err != nil {
			return nil, err
		}
		objs = append(objs, more...)
	}
	return objs, nil
}
