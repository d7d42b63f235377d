package agent_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
	"github.com/ecufleet/ecufleet/pkg/ecusim"
)

// These specs drop the job's connection at a chosen request (ecusim.DropConnection) and count
// what reached the ECU (Sim.RequestCount): a request the entity acknowledged is never sent
// twice within an attempt, one it never acknowledged is sent again with autoReconnect.
var _ = Describe("Requests across a dropped connection", func() {
	var (
		ns     string
		labels map[string]string
	)

	BeforeEach(func() {
		ns = newNamespace()
		labels = map[string]string{"rack": ns}
		startAgent(ns+"-a", labels)
	})

	ecuFor := func(name string, port int32) *builders.ECUWrapper {
		return builders.MakeECU(name, ns).Port(port).AgentSelector(labels).ProbeTiming(1, 1, 2)
	}
	writeJob := func(name, ecu string, backoffLimit int32) *v1alpha1.DiagnosticJob {
		return builders.MakeJob(name, ns).ECU(ecu).BackoffLimit(backoffLimit).Steps(
			builders.SessionControl("extended", "extended"),
			builders.WriteDID("write", 0xF198, "31 32 33 34 35 36 37 38 39 30"),
			builders.ReadDID("read-back", 0xF198).ExpectValue("1234567890"),
		).Obj()
	}

	It("sends a 2E write the ECU acknowledged exactly once, with and without autoReconnect", func() {
		simAuto, portAuto := startSim(ecusim.Config{})
		simPlain, portPlain := startSim(ecusim.Config{})
		createReadyECU(ecuFor("auto", portAuto).AutoReconnect().Obj())
		createReadyECU(ecuFor("plain", portPlain).Obj())
		for _, sim := range []*ecusim.Sim{simAuto, simPlain} {
			Expect(sim.DropConnection(0x2E, 1, ecusim.DropAfterACK)).To(Succeed())
		}
		auto, plain := writeJob("auto", "auto", 0), writeJob("plain", "plain", 0)
		histories := []*jobHistory{watchJob(ns, auto.Name), watchJob(ns, plain.Name)}
		Expect(k8s.Create(suiteCtx, auto)).To(Succeed())
		Expect(k8s.Create(suiteCtx, plain)).To(Succeed())

		for i, job := range []*v1alpha1.DiagnosticJob{auto, plain} {
			sim := []*ecusim.Sim{simAuto, simPlain}[i]
			lost := histories[i].eventuallyRecords(v1alpha1.JobFailed, v1alpha1.ReasonConnectionLost)
			Expect(lost.Message).To(ContainSubstring("acknowledged 2E F1 98 31"), "job %s", job.Name)
			failed := waitPhase(job, v1alpha1.JobFailed)
			Expect(failed.Status.Reason).To(Equal(v1alpha1.ReasonBackoffLimitExceeded), "job %s: %s", job.Name, failed.Status.Message)
			Expect(failed.Status.Message).To(ContainSubstring(v1alpha1.ReasonConnectionLost))
			write := stepOf(failed, "write")
			Expect(write.Phase).To(Equal(v1alpha1.StepFailed))
			Expect(write.Request).To(HavePrefix("2E F1 98"))
			Expect(write.Message).To(ContainSubstring("not sent again"))
			Expect(write.Message).NotTo(ContainSubstring("reconnected"))
			Expect(stepOf(failed, "read-back").Phase).To(Equal(v1alpha1.StepSkipped))
			Expect(sim.RequestCount(0x2E)).To(Equal(1), "job %s: the 2E write reached the ECU more than once", job.Name)
			Expect(sim.DropsInjected()).To(BeEquivalentTo(1))
		}
	})

	It("retries an attempt whose connection dropped after an ACK from its first step when backoffLimit allows", func() {
		sim, port := startSim(ecusim.Config{})
		createReadyECU(ecuFor("ecu", port).AutoReconnect().Obj())
		Expect(sim.DropConnection(0x2E, 1, ecusim.DropAfterACK)).To(Succeed())
		job := writeJob("retried", "ecu", 1)
		history := watchJob(ns, job.Name)
		Expect(k8s.Create(suiteCtx, job)).To(Succeed())

		done := waitPhase(job, v1alpha1.JobSucceeded)
		history.eventuallyRecords(v1alpha1.JobQueued, v1alpha1.ReasonConnectionLost)
		Expect(done.Status.Attempts).To(BeEquivalentTo(2))
		// The second attempt ran from the first step: the session again, then one write.
		Expect(sim.RequestCount(0x10)).To(Equal(2))
		Expect(sim.RequestCount(0x2E)).To(Equal(2), "one write per attempt")
		Expect(stepOf(done, "read-back").Phase).To(Equal(v1alpha1.StepPassed))
	})

	It("ends the attempt ConnectionLost, without autoReconnect, when the connection drops before the ECU acknowledged a request, and retries it from the first step", func() {
		sim, port := startSim(ecusim.Config{})
		createReadyECU(ecuFor("ecu", port).Obj())
		Expect(sim.DropConnection(0x2E, 1, ecusim.DropBeforeACK)).To(Succeed())
		job := writeJob("dropped", "ecu", 1)
		history := watchJob(ns, job.Name)
		Expect(k8s.Create(suiteCtx, job)).To(Succeed())

		lost := history.eventuallyRecords(v1alpha1.JobFailed, v1alpha1.ReasonConnectionLost)
		Expect(lost.Message).To(ContainSubstring("before ECU 0x00E0 acknowledged 2E F1 98 31"))
		history.eventuallyRecords(v1alpha1.JobQueued, v1alpha1.ReasonConnectionLost)
		done := waitPhase(job, v1alpha1.JobSucceeded)
		Expect(done.Status.Attempts).To(BeEquivalentTo(2), "the drop is no verdict of the ECU: the attempt is retried")
		Expect(sim.RequestCount(0x10)).To(Equal(2), "the retry ran from the first step")
		Expect(sim.RequestCount(0x2E)).To(Equal(1), "the ECU never saw the first send")
		Expect(stepOf(done, "read-back").Phase).To(Equal(v1alpha1.StepPassed))
		Expect(sim.DropsInjected()).To(BeEquivalentTo(1))
	})

	It("sends again, with autoReconnect, a request the connection lost before the ECU acknowledged it", func() {
		sim, port := startSim(ecusim.Config{})
		createReadyECU(ecuFor("ecu", port).AutoReconnect().Obj())
		Expect(sim.DropConnection(0x2E, 1, ecusim.DropBeforeACK)).To(Succeed())
		job := writeJob("resent", "ecu", 0)
		Expect(k8s.Create(suiteCtx, job)).To(Succeed())

		done := waitPhase(job, v1alpha1.JobSucceeded)
		Expect(done.Status.Attempts).To(BeEquivalentTo(1))
		Expect(stepOf(done, "write").Message).To(ContainSubstring("reconnected"))
		Expect(sim.RequestCount(0x2E)).To(Equal(1), "the ECU never saw the first send")
		Expect(sim.DropsInjected()).To(BeEquivalentTo(1))
	})
})
