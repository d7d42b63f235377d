package builders

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

func TestStepConstructorsSetTheirAction(t *testing.T) {
	target := int32(0x1010)
	for _, tc := range []struct {
		got  *StepWrapper
		want diagv1.Step
	}{
		{EntityStatus("s"), diagv1.Step{Name: "s", EntityStatus: &diagv1.EntityStatusAction{}}},
		{AliveCheck("s"), diagv1.Step{Name: "s", AliveCheck: &diagv1.AliveCheckAction{}}},
		{PowerMode("s"), diagv1.Step{Name: "s", PowerMode: &diagv1.PowerModeAction{}}},
		{VehicleIdentification("s"), diagv1.Step{Name: "s", VehicleIdentification: &diagv1.VehicleIdentificationAction{}}},
		{VehicleIdentificationByVIN("s", "WAUZZZ8V5KA000001"), diagv1.Step{Name: "s", VehicleIdentification: &diagv1.VehicleIdentificationAction{VIN: "WAUZZZ8V5KA000001"}}},
		{VehicleIdentificationByEID("s", "00 1A 2B 3C 4D 5E"), diagv1.Step{Name: "s", VehicleIdentification: &diagv1.VehicleIdentificationAction{EID: "00 1A 2B 3C 4D 5E"}}},
		{RoutingActivation("s", 0xE0, "01 02 03 04"), diagv1.Step{Name: "s", RoutingActivation: &diagv1.RoutingActivationAction{Type: 0xE0, OEMData: "01 02 03 04"}}},
		{Diagnostic("s", "22 F1 90"), diagv1.Step{Name: "s", Diagnostic: &diagv1.DiagnosticAction{Request: "22 F1 90"}}},
		{DiagnosticTo("s", "3E 00", 0x1010), diagv1.Step{Name: "s", Diagnostic: &diagv1.DiagnosticAction{Request: "3E 00", TargetAddress: &target}}},
		{Reconnect("s", 0), diagv1.Step{Name: "s", Reconnect: &diagv1.ReconnectAction{}}},
		{Reconnect("s", time.Second), diagv1.Step{Name: "s", Reconnect: &diagv1.ReconnectAction{CloseDelay: &metav1.Duration{Duration: time.Second}}}},
		{Delay("s", 2*time.Second), diagv1.Step{Name: "s", Delay: &diagv1.DelayAction{Duration: metav1.Duration{Duration: 2 * time.Second}}}},
		{ReadDID("s", 0xF190), udsStep(diagv1.UDSAction{ReadDataByIdentifier: &diagv1.DIDRef{DID: 0xF190}})},
		{WriteDID("s", 0xF199, "01"), udsStep(diagv1.UDSAction{WriteDataByIdentifier: &diagv1.WriteDID{DID: 0xF199, Data: "01"}})},
		{SessionControl("s", "extended"), udsStep(diagv1.UDSAction{SessionControl: &diagv1.SessionControl{Session: "extended"}})},
		{ECUReset("s", diagv1.ECUResetKeyOffOn), udsStep(diagv1.UDSAction{ECUReset: &diagv1.ECUReset{Type: diagv1.ECUResetKeyOffOn}})},
		{TesterPresent("s"), udsStep(diagv1.UDSAction{TesterPresent: &diagv1.TesterPresent{}})},
		{ReadDTCs("s", 0x08), udsStep(diagv1.UDSAction{ReadDTCInformation: &diagv1.ReadDTCInformation{StatusMask: 0x08, SubFunction: 2}})},
		{CountDTCs("s", 0x08), udsStep(diagv1.UDSAction{ReadDTCInformation: &diagv1.ReadDTCInformation{StatusMask: 0x08, SubFunction: 1}})},
		{ClearDTCs("s", 0xFFFFFF), udsStep(diagv1.UDSAction{ClearDiagnosticInformation: &diagv1.ClearDiagnosticInformation{Group: 0xFFFFFF}})},
		{SecurityAccess("s", 3, "AA"), udsStep(diagv1.UDSAction{SecurityAccess: &diagv1.SecurityAccess{Level: 3, Key: "AA"}})},
		{RoutineControl("s", diagv1.RoutineStop, 0xFF00, ""), udsStep(diagv1.UDSAction{RoutineControl: &diagv1.RoutineControl{Type: diagv1.RoutineStop, ID: 0xFF00}})},
	} {
		if !reflect.DeepEqual(*tc.got.Obj(), tc.want) {
			t.Errorf("got %+v, want %+v", *tc.got.Obj(), tc.want)
		}
	}
}

func udsStep(a diagv1.UDSAction) diagv1.Step { return diagv1.Step{Name: "s", UDS: &a} }

func TestStepSettersFillTheExpectation(t *testing.T) {
	got := ReadDID("s", 1).Timeout(3 * time.Second).ContinueOnFailure().ExpectNegative().ExpectNRC(0x31).
		ExpectResponse("7F 22 31").ExpectResponsePrefix("7F").ExpectValue("v").Obj()
	positive, nrc, value := false, int32(0x31), "v"
	want := diagv1.Expectation{Positive: &positive, Response: "7F 22 31", ResponsePrefix: "7F", NRC: &nrc, Value: &value}
	if !reflect.DeepEqual(*got.Expect, want) {
		t.Errorf("expect = %+v, want %+v", *got.Expect, want)
	}
	if got.Timeout.Duration != 3*time.Second || !got.ContinueOnFailure {
		t.Errorf("timeout %v, continueOnFailure %v", got.Timeout, got.ContinueOnFailure)
	}
	if p := ReadDID("s", 1).ExpectPositive().Obj().Expect.Positive; p == nil || !*p {
		t.Errorf("ExpectPositive set positive to %v", p)
	}
}

func TestMakeJob(t *testing.T) {
	step := TesterPresent("tp")
	job := MakeJob("j", "ns").ECU("sim-0").ECUSelector(map[string]string{"rack": "a"}).Priority(5).Deadline(30).
		BackoffLimit(1).TTLSecondsAfterFinished(60).Suspend().Label("k", "v").Step(step).
		Steps(ReadDID("vin", 0xF190), Delay("d", time.Second)).
		Phase(diagv1.JobScheduled).BoundTo("sim-0", "agent-0").Attempts(2).Obj()
	step.Name = "changed-after-append"

	if job.Name != "j" || job.Namespace != "ns" || job.Labels["k"] != "v" {
		t.Errorf("metadata = %+v", job.ObjectMeta)
	}
	s := job.Spec
	if s.ECURef.Name != "sim-0" || s.ECUSelector.MatchLabels["rack"] != "a" || s.Priority != 5 ||
		*s.ActiveDeadlineSeconds != 30 || *s.BackoffLimit != 1 || *s.TTLSecondsAfterFinished != 60 || !s.Suspend {
		t.Errorf("spec = %+v", s)
	}
	var names []string
	for _, st := range s.Steps {
		names = append(names, st.Name)
	}
	if !reflect.DeepEqual(names, []string{"tp", "vin", "d"}) {
		t.Errorf("step names = %v: Step must append copies in order", names)
	}
	st := job.Status
	if st.Phase != diagv1.JobScheduled || st.ECU != "sim-0" || st.Agent != "agent-0" || st.Attempts != 2 {
		t.Errorf("status = %+v", st)
	}
}

func TestMakeECU(t *testing.T) {
	ecu := MakeECU("e", "ns").Address("10.0.0.2").Port(13401).LogicalAddress(0x1010).ProtocolVersion(3).
		TesterAddress(0x0E80).AutoReconnect().RoutingActivation(0xE0, "00 00 00 00").TLS(3497, "certs").
		AgentSelector(map[string]string{"lab": "a"}).Unschedulable().ProbeTiming(10, 1, 5).Probe(diagv1.ProbeAliveCheck).
		Label("rack", "a").ServedBy("agent-0").ActiveJob("j").
		Condition(diagv1.ConditionReady, metav1.ConditionFalse, diagv1.ReasonProbing).
		Condition(diagv1.ConditionReady, metav1.ConditionTrue, diagv1.ReasonReachable).Obj()
	want := diagv1.ECUSpec{
		Address: "10.0.0.2", LogicalAddress: 0x1010, Port: 13401, ProtocolVersion: 3, TesterAddress: 0x0E80,
		AutoReconnect:     true,
		RoutingActivation: &diagv1.RoutingActivationSpec{Type: 0xE0, OEMData: "00 00 00 00"},
		TLS:               &diagv1.ECUTLS{Port: 3497, SecretRef: &corev1.LocalObjectReference{Name: "certs"}},
		AgentSelector:     &metav1.LabelSelector{MatchLabels: map[string]string{"lab": "a"}},
		Probe:             &diagv1.ProbeSpec{Method: diagv1.ProbeAliveCheck, PeriodSeconds: 10, TimeoutSeconds: 1, FailureThreshold: 5},
		Unschedulable:     true,
	}
	if !reflect.DeepEqual(ecu.Spec, want) {
		t.Errorf("spec = %+v, want %+v", ecu.Spec, want)
	}
	if ecu.Labels["rack"] != "a" || ecu.Status.Agent != "agent-0" || ecu.Status.ActiveJob != "j" {
		t.Errorf("labels %v, status %+v", ecu.Labels, ecu.Status)
	}
	if len(ecu.Status.Conditions) != 1 || ecu.Status.Conditions[0].Status != metav1.ConditionTrue {
		t.Errorf("conditions = %+v: a condition of the same type must be replaced", ecu.Status.Conditions)
	}
	if d := MakeECU("d", "ns").NoRoutingActivation().TLS(0, "").Obj(); !d.Spec.RoutingActivation.Disabled || d.Spec.TLS.SecretRef != nil {
		t.Errorf("NoRoutingActivation/TLS without secret: %+v", d.Spec)
	}
}

func TestMakeAgent(t *testing.T) {
	a := MakeAgent("dev-agent-0").Label("lab", "a").NodeName("node-a").MaxConcurrentJobs(2).RunningJobs(1).
		Condition(diagv1.ConditionReady, metav1.ConditionTrue, diagv1.ReasonLeaseRenewed).Obj()
	if a.Name != "dev-agent-0" || a.Namespace != "" || a.Labels["lab"] != "a" {
		t.Errorf("metadata = %+v", a.ObjectMeta)
	}
	if a.Spec != (diagv1.DiagnosticAgentSpec{NodeName: "node-a", MaxConcurrentJobs: 2}) || a.Status.RunningJobs != 1 {
		t.Errorf("spec %+v, status %+v", a.Spec, a.Status)
	}
	if len(a.Status.Conditions) != 1 || a.Status.Conditions[0].Reason != diagv1.ReasonLeaseRenewed {
		t.Errorf("conditions = %+v", a.Status.Conditions)
	}
}

// TestTaggedJob: the step names are TaggedSteps, the write carries the tag's bytes and the
// read-back expects the tag, so the e2e and soak checks that index steps by name hold.
func TestTaggedJob(t *testing.T) {
	j := TaggedJob("j", "ns", "ecu-1", "ECUFLEETE2E000001", "JOB0000042", time.Second).Obj()
	var names []string
	for _, s := range j.Spec.Steps {
		names = append(names, s.Name)
	}
	if !reflect.DeepEqual(names, TaggedSteps) {
		t.Fatalf("steps %v, want %v", names, TaggedSteps)
	}
	if j.Spec.ECURef.Name != "ecu-1" {
		t.Errorf("ecuRef %v", j.Spec.ECURef)
	}
	if w := j.Spec.Steps[1].UDS.WriteDataByIdentifier; w.DID != TaggedDID || w.Data != "4A 4F 42 30 30 30 30 30 34 32" {
		t.Errorf("write %+v", w)
	}
	if e := j.Spec.Steps[3].Expect; e == nil || e.Value == nil || *e.Value != "JOB0000042" {
		t.Errorf("read-back expectation %+v", e)
	}
}
