package v1alpha1_test

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
)

var _ = Describe("Defaults", func() {
	var ns string
	BeforeEach(func(ctx SpecContext) { ns = newNamespace(ctx) })

	It("fills an ECU's port, protocol version, tester address and probe", func(ctx SpecContext) {
		ecu := builders.MakeECU("minimal", ns).Obj()
		Expect(k8s.Create(ctx, ecu)).To(Succeed())
		Expect(ecu.Spec.Port).To(BeEquivalentTo(13400))
		Expect(ecu.Spec.ProtocolVersion).To(BeEquivalentTo(2))
		Expect(ecu.Spec.TesterAddress).To(BeEquivalentTo(0x0E00))
		Expect(ecu.Spec.Probe).To(Equal(&diagv1.ProbeSpec{
			Method: diagv1.ProbeEntityStatus, PeriodSeconds: 30, TimeoutSeconds: 2, FailureThreshold: 3,
		}))
		Expect(ecu.Spec.RoutingActivation).To(BeNil())
		Expect(ecu.Spec.TLS).To(BeNil())
	})

	It("fills the TLS port and keeps explicit values", func(ctx SpecContext) {
		ecu := builders.MakeECU("tls", ns).TLS(0, "ecu-certs").Port(13401).Probe(diagv1.ProbeNone).
			ProbeTiming(5, 0, 0).RoutingActivation(0xE0, "01 02 03 04").Obj()
		Expect(k8s.Create(ctx, ecu)).To(Succeed())
		Expect(ecu.Spec.TLS.Port).To(BeEquivalentTo(3496))
		Expect(ecu.Spec.TLS.SecretRef.Name).To(Equal("ecu-certs"))
		Expect(ecu.Spec.Port).To(BeEquivalentTo(13401))
		Expect(*ecu.Spec.Probe).To(Equal(diagv1.ProbeSpec{
			Method: diagv1.ProbeNone, PeriodSeconds: 5, TimeoutSeconds: 2, FailureThreshold: 3,
		}))
		Expect(ecu.Spec.RoutingActivation).To(Equal(&diagv1.RoutingActivationSpec{Type: 0xE0, OEMData: "01 02 03 04"}))
	})

	It("fills a job's deadline, backoff limit and priority", func(ctx SpecContext) {
		job := validJob(ns).Obj()
		Expect(k8s.Create(ctx, job)).To(Succeed())
		Expect(job.Spec.ActiveDeadlineSeconds).To(HaveValue(BeEquivalentTo(600)))
		Expect(job.Spec.BackoffLimit).To(HaveValue(BeEquivalentTo(0)))
		Expect(job.Spec.Priority).To(BeEquivalentTo(0))
		Expect(job.Spec.TTLSecondsAfterFinished).To(BeNil())
	})

	It("fills the defaults of UDS parameters left out", func(ctx SpecContext) {
		job := raw(builders.MakeJob("uds-defaults", ns).ECU("sim-0").Steps(
			builders.ECUReset("reset", ""),
			builders.ReadDTCs("dtcs", 0x2F),
			builders.ClearDTCs("clear", 1),
		).Obj(), func(o map[string]any) {
			field(o, "spec", "steps", 1, "uds")["readDTCInformation"] = map[string]any{}
			field(o, "spec", "steps", 2, "uds")["clearDiagnosticInformation"] = map[string]any{}
		})
		Expect(k8s.Create(ctx, job)).To(Succeed())
		got := &diagv1.DiagnosticJob{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(job), got)).To(Succeed())
		Expect(got.Spec.Steps[0].UDS.ECUReset.Type).To(Equal(diagv1.ECUResetHard))
		Expect(*got.Spec.Steps[1].UDS.ReadDTCInformation).To(Equal(diagv1.ReadDTCInformation{StatusMask: 0xFF, SubFunction: 2}))
		Expect(got.Spec.Steps[2].UDS.ClearDiagnosticInformation.Group).To(BeEquivalentTo(0xFFFFFF))
	})

	It("keeps a zero DTC status mask and group through a Go update", func(ctx SpecContext) {
		job := builders.MakeJob("zeros", ns).ECU("sim-0").Steps(
			builders.ReadDTCs("dtcs", 0),
			builders.ClearDTCs("clear", 0),
		).Obj()
		Expect(k8s.Create(ctx, job)).To(Succeed())
		job.Labels = map[string]string{"updated": "yes"}
		Expect(k8s.Update(ctx, job)).To(Succeed())

		got := &diagv1.DiagnosticJob{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(job), got)).To(Succeed())
		Expect(got.Labels).To(HaveKeyWithValue("updated", "yes"))
		Expect(got.Spec.Steps[0].UDS.ReadDTCInformation.StatusMask).To(BeZero())
		Expect(got.Spec.Steps[1].UDS.ClearDiagnosticInformation.Group).To(BeZero())
	})

	It("fills an agent's maxConcurrentJobs", func(ctx SpecContext) {
		agent := builders.MakeAgent("defaults-" + ns).NodeName("rack-a").Obj()
		Expect(k8s.Create(ctx, agent)).To(Succeed())
		Expect(agent.Spec.MaxConcurrentJobs).To(BeEquivalentTo(4))
	})
})

var _ = Describe("Objects made by the builders", func() {
	It("are accepted for every kind of step and read back unchanged", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		Expect(k8s.Create(ctx, builders.MakeECU("sim-0", ns).Label("rack", "a").AgentSelector(map[string]string{"lab": "x"}).
			Unschedulable().AutoReconnect().Obj())).To(Succeed())
		Expect(k8s.Create(ctx, builders.MakeECU("no-activation", ns).NoRoutingActivation().Obj())).To(Succeed())
		for i, address := range []string{"localhost", "ecu-7.rack-a.lab", "fd00::10", "fe80::1%eth0", "::1"} {
			Expect(k8s.Create(ctx, builders.MakeECU(fmt.Sprintf("address-%d", i), ns).Address(address).Obj())).To(Succeed(), address)
		}

		job := builders.MakeJob("every-step", ns).ECU("sim-0").Priority(5).BackoffLimit(2).Deadline(30).
			TTLSecondsAfterFinished(60).Trace(diagv1.TraceAlways).Suspend().Label("suite", "api").Steps(
			builders.EntityStatus("entity-status"),
			builders.AliveCheck("alive-check"),
			builders.PowerMode("power-mode").ExpectValue("Ready"),
			builders.VehicleIdentification("identify"),
			builders.VehicleIdentificationByVIN("identify-vin", "WAUZZZ8V5KA000001"),
			builders.VehicleIdentificationByEID("identify-eid", "00 1a 2b 3c 4d 5e"),
			builders.RoutingActivation("activate", 0xE0, "00 00 00 00"),
			builders.Diagnostic("raw", "22F190").ExpectResponsePrefix("62 F1 90"),
			builders.DiagnosticTo("raw-gateway", "3E 00", 0x1010).ExpectResponse("7E 00"),
			builders.ReadDID("vin", 0xF190).ExpectValue("WAUZZZ8V5KA000001").Timeout(1500*time.Millisecond),
			builders.WriteDID("write", 0xF199, "20 26 01 01"),
			builders.SessionControl("extended", "extended"),
			builders.SessionControl("session-hex", "0x7F"),
			builders.SessionControl("session-dec", "96"),
			builders.ECUReset("reset", diagv1.ECUResetSoft),
			builders.TesterPresent("tester-present").Timeout(250*time.Microsecond),
			builders.ReadDTCs("dtcs", 0x09),
			builders.CountDTCs("dtc-count", 0xFF),
			builders.ClearDTCs("clear", 0xFFFFFF),
			builders.SecurityAccess("seed", 0x01, ""),
			builders.SecurityAccess("unlock", 0x7F, "DE AD BE EF"),
			builders.RoutineControl("check", diagv1.RoutineStart, 0x0203, "01"),
			builders.RoutineControl("results", diagv1.RoutineResults, 0x0203, ""),
			builders.ReadDID("missing", 0x1234).ExpectNegative().ExpectNRC(0x31).ContinueOnFailure(),
			builders.Reconnect("reconnect", 2*time.Hour+3*time.Minute),
			builders.Reconnect("reconnect-now", 0),
			builders.Delay("boot", 500*time.Millisecond),
			builders.CommunicationControl("comm-off", "disableRxAndTx", 3),
			builders.ControlDTCSetting("dtc-off", diagv1.DTCSettingOff),
			builders.Download("flash").FromOCI("registry.lab/ecu/app:1.2", "regcred").Format(diagv1.ImageFormatIHex).
				AddressAndLengthFormat(0x24).MaxBlockLength(0xFFA).AsStep(),
			builders.Download("flash-bin").FromConfigMap("app", "app.bin").Bin(0x8000).AsStep(),
		).Obj()
		sent := job.DeepCopy()
		Expect(k8s.Create(ctx, job)).To(Succeed())

		got := &diagv1.DiagnosticJob{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(job), got)).To(Succeed())
		Expect(got.Spec).To(Equal(sent.Spec), "the builders' steps must survive the API server unchanged")
		Expect(got.Spec.Steps[9].Timeout).To(Equal(&metav1.Duration{Duration: 1500 * time.Millisecond}))

		Expect(k8s.Create(ctx, builders.MakeJob("by-selector", ns).ECUSelector(map[string]string{"rack": "a"}).
			Step(builders.ReadDID("vin", 0xF190)).Obj())).To(Succeed())
		agent := builders.MakeAgent("builder-"+ns).Label("lab", "x").MaxConcurrentJobs(2).Obj()
		Expect(k8s.Create(ctx, agent)).To(Succeed())
		Expect(agent.Spec.MaxConcurrentJobs).To(BeEquivalentTo(2))
	})

	It("accept the status the builders set through the status subresource", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		ecu := builders.MakeECU("sim-0", ns).Obj()
		Expect(k8s.Create(ctx, ecu)).To(Succeed())
		ecu = (&builders.ECUWrapper{ECU: *ecu}).ServedBy("dev-agent-0").ActiveJob("read-vin").
			Condition(diagv1.ConditionReachable, metav1.ConditionTrue, diagv1.ReasonProbeSucceeded).
			Condition(diagv1.ConditionReady, metav1.ConditionTrue, diagv1.ReasonReachable).Obj()
		Expect(k8s.Status().Update(ctx, ecu)).To(Succeed())
		Expect(ecu.Status.Conditions).To(HaveLen(2))
		Expect(ecu.Status.ActiveJob).To(Equal("read-vin"))

		job := validJob(ns).Obj()
		Expect(k8s.Create(ctx, job)).To(Succeed())
		job = (&builders.JobWrapper{DiagnosticJob: *job}).Phase(diagv1.JobScheduled).BoundTo("sim-0", "dev-agent-0").Attempts(1).Obj()
		Expect(k8s.Status().Update(ctx, job)).To(Succeed())
		Expect(job.Status.Agent).To(Equal("dev-agent-0"))

		agent := builders.MakeAgent("status-" + ns).Obj()
		Expect(k8s.Create(ctx, agent)).To(Succeed())
		agent = (&builders.AgentWrapper{DiagnosticAgent: *agent}).RunningJobs(1).
			Condition(diagv1.ConditionReady, metav1.ConditionTrue, diagv1.ReasonLeaseRenewed).Obj()
		Expect(k8s.Status().Update(ctx, agent)).To(Succeed())
		Expect(agent.Status.RunningJobs).To(BeEquivalentTo(1))
	})
})
