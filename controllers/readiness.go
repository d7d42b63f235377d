package controllers

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// ecuReadiness is an ECU's Ready verdict and the live agents that can reach it; the ECU
// controller publishes it and the scheduler recomputes it, so neither waits for the other.
type ecuReadiness struct {
	ready   bool
	reason  string // diagv1.ReasonReachable, ReasonUnreachable, ReasonNoAgent or ReasonProbing
	message string
	agents  []*agentView // live agents matching spec.agentSelector, by name
	// unhealthy: the ECU's health check keeps user jobs off it (Healthy=False), for the reason
	// in healthNote; its own health job still runs, so it is apart from ready.
	unhealthy  bool
	healthNote string
}

// assessECU combines the prober's Reachable condition with agent availability, and notes the
// health check's verdict: an ECU is ready for its health job when a live matching agent exists
// and the ECU answered its probe (or is never probed), and for user jobs when it is also not
// unhealthy.
func assessECU(ecu *diagv1.ECU, f *fleet) ecuReadiness {
	r := assessReach(ecu, f)
	r.unhealthy, r.healthNote = unhealthy(ecu)
	return r
}

// assessReach is the Ready verdict from the prober and the agents alone.
func assessReach(ecu *diagv1.ECU, f *fleet) ecuReadiness {
	agents, err := f.liveMatching(ecu.Spec.AgentSelector)
	if err != nil {
		return ecuReadiness{reason: diagv1.ReasonNoAgent, message: err.Error()}
	}
	if len(agents) == 0 {
		return ecuReadiness{reason: diagv1.ReasonNoAgent, message: "No Ready DiagnosticAgent matches spec.agentSelector"}
	}
	r := ecuReadiness{agents: agents}
	if ecu.Spec.Probe != nil && ecu.Spec.Probe.Method == diagv1.ProbeNone {
		r.ready, r.reason, r.message = true, diagv1.ReasonReachable, "Not probed (probe method None); served by a Ready agent"
		return r
	}
	cond := meta.FindStatusCondition(ecu.Status.Conditions, diagv1.ConditionReachable)
	switch {
	case cond == nil || cond.Status == metav1.ConditionUnknown:
		r.reason, r.message = diagv1.ReasonProbing, "Waiting for the agent's first probe"
	case cond.Status == metav1.ConditionFalse:
		r.reason, r.message = diagv1.ReasonUnreachable, fmt.Sprintf("Probe failed: %s", cond.Message)
	default:
		r.ready, r.reason, r.message = true, diagv1.ReasonReachable, "Reachable and served by a Ready agent"
	}
	return r
}

// servingAgent keeps the ECU's current agent while it stays live and matching, else takes the
// first by name, so that probing does not hop between agents.
func servingAgent(current string, agents []*agentView) string {
	for _, a := range agents {
		if a.obj.Name == current {
			return current
		}
	}
	if len(agents) == 0 {
		return ""
	}
	return agents[0].obj.Name
}
