package builders

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// ECUWrapper builds an ECU.
type ECUWrapper struct{ diagv1.ECU }

// MakeECU returns a valid ECU at 127.0.0.1, logical address 0x00E0, so a test sets only what it is about.
func MakeECU(name, namespace string) *ECUWrapper {
	return &ECUWrapper{diagv1.ECU{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: diagv1.ECUSpec{
			Address:        "127.0.0.1",
			LogicalAddress: 0x00E0,
		},
	}}
}

// Obj returns the ECU.
func (w *ECUWrapper) Obj() *diagv1.ECU { return &w.ECU }

// Label sets a label, e.g. for job ecuSelectors.
func (w *ECUWrapper) Label(key, value string) *ECUWrapper {
	setLabel(&w.ObjectMeta, key, value)
	return w
}

// Address sets spec.address.
func (w *ECUWrapper) Address(address string) *ECUWrapper {
	w.Spec.Address = address
	return w
}

// Port sets spec.port.
func (w *ECUWrapper) Port(port int32) *ECUWrapper {
	w.Spec.Port = port
	return w
}

// LogicalAddress sets spec.logicalAddress.
func (w *ECUWrapper) LogicalAddress(address int32) *ECUWrapper {
	w.Spec.LogicalAddress = address
	return w
}

// ProtocolVersion sets spec.protocolVersion.
func (w *ECUWrapper) ProtocolVersion(version int32) *ECUWrapper {
	w.Spec.ProtocolVersion = version
	return w
}

// TesterAddress sets spec.testerAddress.
func (w *ECUWrapper) TesterAddress(address int32) *ECUWrapper {
	w.Spec.TesterAddress = address
	return w
}

// AutoReconnect sets spec.autoReconnect.
func (w *ECUWrapper) AutoReconnect() *ECUWrapper {
	w.Spec.AutoReconnect = true
	return w
}

// RoutingActivation sets the activation type and OEM data ("" for none).
func (w *ECUWrapper) RoutingActivation(activationType int32, oemData diagv1.HexBytes) *ECUWrapper {
	w.Spec.RoutingActivation = &diagv1.RoutingActivationSpec{Type: activationType, OEMData: oemData}
	return w
}

// NoRoutingActivation sets spec.routingActivation.disabled.
func (w *ECUWrapper) NoRoutingActivation() *ECUWrapper {
	w.Spec.RoutingActivation = &diagv1.RoutingActivationSpec{Disabled: true}
	return w
}

// TLS sets spec.tls with a port (0: default) and a Secret name ("" for none).
func (w *ECUWrapper) TLS(port int32, secretName string) *ECUWrapper {
	w.Spec.TLS = &diagv1.ECUTLS{Port: port}
	if secretName != "" {
		w.Spec.TLS.SecretRef = &corev1.LocalObjectReference{Name: secretName}
	}
	return w
}

// AgentSelector restricts the agents that may serve the ECU to those with these labels.
func (w *ECUWrapper) AgentSelector(labels map[string]string) *ECUWrapper {
	w.Spec.AgentSelector = matchLabels(labels)
	return w
}

// Unschedulable cordons the ECU.
func (w *ECUWrapper) Unschedulable() *ECUWrapper {
	w.Spec.Unschedulable = true
	return w
}

// Probe sets the probe method, keeping any timing already set.
func (w *ECUWrapper) Probe(method diagv1.ProbeMethod) *ECUWrapper {
	w.probe().Method = method
	return w
}

// ProbeTiming sets the probe period, timeout and failure threshold (0: default).
func (w *ECUWrapper) ProbeTiming(periodSeconds, timeoutSeconds, failureThreshold int32) *ECUWrapper {
	p := w.probe()
	p.PeriodSeconds, p.TimeoutSeconds, p.FailureThreshold = periodSeconds, timeoutSeconds, failureThreshold
	return w
}

func (w *ECUWrapper) probe() *diagv1.ProbeSpec {
	if w.Spec.Probe == nil {
		w.Spec.Probe = &diagv1.ProbeSpec{}
	}
	return w.Spec.Probe
}

// Condition sets a status condition, replacing one of the same type.
func (w *ECUWrapper) Condition(condType string, status metav1.ConditionStatus, reason string) *ECUWrapper {
	meta.SetStatusCondition(&w.Status.Conditions, condition(condType, status, reason))
	return w
}

// ActiveJob sets status.activeJob (the lock).
func (w *ECUWrapper) ActiveJob(job string) *ECUWrapper {
	w.Status.ActiveJob = job
	return w
}

// ServedBy sets status.agent.
func (w *ECUWrapper) ServedBy(agent string) *ECUWrapper {
	w.Status.Agent = agent
	return w
}

// HealthCheck sets spec.healthCheck with a period and failure threshold (0: default) and steps.
func (w *ECUWrapper) HealthCheck(periodSeconds, failureThreshold int32, steps ...*StepWrapper) *ECUWrapper {
	hc := &diagv1.HealthCheckSpec{PeriodSeconds: periodSeconds, FailureThreshold: failureThreshold}
	for _, s := range steps {
		hc.Steps = append(hc.Steps, *s.Step.DeepCopy())
	}
	w.Spec.HealthCheck = hc
	return w
}
