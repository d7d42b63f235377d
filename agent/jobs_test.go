package agent_test

import (
	"fmt"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/ecufleet/ecufleet/agent"
	"github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
	"github.com/ecufleet/ecufleet/pkg/ecusim"
)

const simVIN = "ECUFLEETSIM000001"

var _ = Describe("Running jobs", func() {
	var (
		ns     string
		labels map[string]string
	)

	BeforeEach(func() {
		ns = newNamespace()
		labels = map[string]string{"rack": ns}
	})

	// ecuFor returns an ECU on the simulator's port, served by this spec's agents only.
	ecuFor := func(name string, port int32) *builders.ECUWrapper {
		return builders.MakeECU(name, ns).Port(port).AgentSelector(labels).ProbeTiming(1, 1, 2)
	}

	It("runs every step kind over one connection and records what went on the wire", func() {
		startAgent(ns+"-a", labels)
		_, port := startSim(ecusim.Config{BootTime: "300ms"})
		createReadyECU(ecuFor("ecu", port).Obj())

		job := builders.MakeJob("all-steps", ns).ECU("ecu").Steps(
			builders.EntityStatus("entity-status"),
			builders.PowerMode("power-mode").ExpectValue("Ready"),
			builders.VehicleIdentification("identify").ExpectValue(simVIN),
			builders.VehicleIdentificationByVIN("identify-vin", simVIN).ExpectValue(simVIN),
			builders.VehicleIdentificationByEID("identify-eid", "02 00 00 00 00 E0"),
			builders.AliveCheck("alive").ExpectValue("0x00E0"),
			builders.RoutingActivation("activate", 0, ""),
			builders.Diagnostic("raw-vin", "22 F1 90").ExpectValue(simVIN),
			builders.ReadDID("read-vin", 0xF190).ExpectValue(simVIN).ExpectResponsePrefix("62 F1 90"),
			builders.TesterPresent("tester-present").ExpectResponse("7E 00"),
			builders.SessionControl("extended", "extended").ExpectValue("extended session, P2 50ms, P2* 5s"),
			builders.WriteDID("write-shop-code", 0xF198, "31 32 33 34 35 36 37 38 39 30"),
			builders.ReadDID("read-shop-code", 0xF198).ExpectValue("1234567890"),
			builders.SecurityAccess("unlock", 1, "4B 78 69 1E").ExpectResponse("67 02"),
			builders.RoutineControl("routine", v1alpha1.RoutineStart, 0xFF01, "").ExpectValue("00"),
			builders.CountDTCs("count-dtcs", 0xFF).ExpectValue("2"),
			builders.ReadDTCs("read-dtcs", 0xFF).ExpectValue("P0123-00 status 0x2F, U0100-00 status 0x08"),
			builders.ClearDTCs("clear-dtcs", 0xFFFFFF),
			builders.ReadDTCs("read-dtcs-again", 0xFF).ExpectValue("no DTCs"),
			builders.Delay("pause", 100*time.Millisecond),
			builders.ECUReset("reset", v1alpha1.ECUResetHard).ExpectResponse("51 01"),
			builders.Reconnect("reconnect", 100*time.Millisecond),
			builders.ReadDID("read-after-reset", 0xF190).ExpectValue(simVIN),
		).Obj()
		Expect(k8s.Create(suiteCtx, job)).To(Succeed())

		done := waitPhase(job, v1alpha1.JobSucceeded)
		for _, s := range done.Status.Steps {
			Expect(s.Phase).To(Equal(v1alpha1.StepPassed), "step %s: %s", s.Name, s.Message)
		}
		Expect(done.Status.Reason).To(Equal(v1alpha1.ReasonSucceeded))
		Expect(done.Status.Progress).To(Equal("23/23"))
		Expect(done.Status.Agent).To(Equal(ns + "-a"))
		Expect(done.Status.StartTime).NotTo(BeNil())
		Expect(done.Status.CompletionTime).NotTo(BeNil())

		vin := stepOf(done, "read-vin")
		Expect(vin.Request).To(Equal("22 F1 90"))
		Expect(vin.Response).To(Equal("62 F1 90 45 43 55 46 4C 45 45 54 53 49 4D 30 30 30 30 30 31"))
		Expect(vin.NRC).To(BeEmpty())
		Expect(stepOf(done, "unlock").Value).To(Equal("11 22 33 44"))
		Expect(stepOf(done, "entity-status").Value).To(HavePrefix("nodeType=Node maxSockets=4 openSockets=1"))
		// DoIP control steps record the frames: header (version 2, inverse FD) and payload.
		Expect(stepOf(done, "entity-status").Request).To(Equal("02 FD 40 01 00 00 00 00"))
		Expect(stepOf(done, "alive").Response).To(Equal("02 FD 00 08 00 00 00 02 00 E0"))
		Expect(stepOf(done, "activate").Value).To(ContainSubstring("0x10"))

		// The finalizer goes once the job is done, and the agent reports itself idle.
		Eventually(func(g Gomega) {
			g.Expect(controllerutil.ContainsFinalizer(getJob(job), v1alpha1.JobFinalizer)).To(BeFalse())
			a := &v1alpha1.DiagnosticAgent{}
			g.Expect(k8s.Get(suiteCtx, client.ObjectKey{Name: ns + "-a"}, a)).To(Succeed())
			g.Expect(a.Status.RunningJobs).To(BeZero())
			g.Expect(a.Status.ECUs).To(Equal([]string{ns + "/ecu"}))
		}).Should(Succeed())
	})

	// Issue 14, goal 3: a one-step job costs the agent three status writes (Running, the step's
	// start once the connection is open, the result), the finalizer's removal and two Events.
	It("writes a one-step job's status three times, its metadata once and two Events", func() {
		var writes writeCounter
		startAgentOn(writes.config(cfg), ns+"-a", labels)
		_, port := startSim(ecusim.Config{})
		createReadyECU(ecuFor("ecu", port).Obj())
		before := map[string]int{"job status": writes.of("job status"), "job": writes.of("job"), "event": writes.of("event")}

		job := builders.MakeJob("one-step", ns).ECU("ecu").Steps(builders.ReadDID("read-vin", 0xF190).ExpectValue(simVIN)).Obj()
		Expect(k8s.Create(suiteCtx, job)).To(Succeed())
		done := waitPhase(job, v1alpha1.JobSucceeded)
		Expect(stepOf(done, "read-vin").Phase).To(Equal(v1alpha1.StepPassed))
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(suiteCtx, client.ObjectKeyFromObject(job), job)).To(Succeed())
			g.Expect(job.Finalizers).NotTo(ContainElement(v1alpha1.JobFinalizer))
		}).WithTimeout(waitTimeout).Should(Succeed())
		Eventually(func() int { return writes.of("event") - before["event"] }).WithTimeout(waitTimeout).Should(Equal(2))
		Consistently(func() []int {
			return []int{writes.of("job status") - before["job status"], writes.of("job") - before["job"], writes.of("event") - before["event"]}
		}).WithTimeout(time.Second).Should(Equal([]int{3, 1, 2}), "status writes, metadata writes, Events")
	})

	It("checks NRC expectations, fails the job on the first failed step and skips the rest", func() {
		startAgent(ns+"-a", labels)
		_, port := startSim(ecusim.Config{})
		createReadyECU(ecuFor("ecu", port).Obj())

		job := builders.MakeJob("nrc", ns).ECU("ecu").Steps(
			builders.ReadDID("unknown-did", 0x1234).ExpectNRC(0x31),
			builders.Diagnostic("negative-without-expect", "22 12 34").ContinueOnFailure(),
			builders.ReadDID("wrong-expectation", 0xF190).ExpectNRC(0x31),
			builders.TesterPresent("never-runs"),
		).Obj()
		Expect(k8s.Create(suiteCtx, job)).To(Succeed())

		done := waitPhase(job, v1alpha1.JobFailed)
		Expect(done.Status.Reason).To(Equal(v1alpha1.ReasonStepFailed))
		Expect(done.Status.Message).To(HavePrefix(`2 steps failed ("negative-without-expect", "wrong-expectation"); first step "negative-without-expect"`))
		Expect(done.Status.Progress).To(Equal("1/4"))

		passed := stepOf(done, "unknown-did")
		Expect(passed.Phase).To(Equal(v1alpha1.StepPassed))
		Expect(passed.NRC).To(Equal("0x31 requestOutOfRange"))
		Expect(passed.Response).To(Equal("7F 22 31"))

		negative := stepOf(done, "negative-without-expect")
		Expect(negative.Phase).To(Equal(v1alpha1.StepFailed))
		Expect(negative.NRC).To(Equal("0x31 requestOutOfRange"))

		wrong := stepOf(done, "wrong-expectation")
		Expect(wrong.Phase).To(Equal(v1alpha1.StepFailed))
		Expect(wrong.Message).To(ContainSubstring("expected NRC 0x31 requestOutOfRange, got positive answer 62 F1 90"))
		Expect(wrong.Value).To(Equal(simVIN))

		skipped := stepOf(done, "never-runs")
		Expect(skipped.Phase).To(Equal(v1alpha1.StepSkipped))
		Expect(skipped.Message).To(ContainSubstring(`step "wrong-expectation" failed`))
		Expect(skipped.Request).To(BeEmpty())
	})

	It("waits through response pending (0x78) chains longer than P2", func() {
		startAgent(ns+"-a", labels)
		// Four 7F 22 78 answers 400 ms apart: 1.6 s of pending, beyond the tester's 1 s P2.
		_, port := startSim(ecusim.Config{UDS: ecusim.UDS{ResponsePending: []ecusim.PendingRule{
			{Request: "22 F1 90", Count: 4, Interval: "400ms"},
		}}})
		createReadyECU(ecuFor("ecu", port).Obj())

		job := builders.MakeJob("pending", ns).ECU("ecu").Steps(
			builders.ReadDID("slow-vin", 0xF190).ExpectValue(simVIN),
		).Obj()
		Expect(k8s.Create(suiteCtx, job)).To(Succeed())

		done := waitPhase(job, v1alpha1.JobSucceeded)
		step := stepOf(done, "slow-vin")
		Expect(step.Response).To(HavePrefix("62 F1 90"), "the final response is recorded, not a 0x78")
		Expect(step.DurationMillis).To(BeNumerically(">=", 1600), "the step lasted through the whole chain")
	})

	It("keeps a non-default session open with tester present while a long step runs", func() {
		startAgent(ns+"-a", labels)
		// The ECU drops back to the default session after 2.5 s without a request; the write
		// below is refused in the default session (7F 2E 7F).
		sim, port := startSim(ecusim.Config{UDS: ecusim.UDS{S3: "2500ms"}})
		createReadyECU(ecuFor("ecu", port).Obj())
		job := builders.MakeJob("keepalive", ns).ECU("ecu").Steps(
			builders.SessionControl("extended", "extended"),
			builders.Delay("idle", 5*time.Second),
			builders.WriteDID("write-in-extended", 0xF198, "31 32 33 34 35 36 37 38 39 30"),
		).Obj()
		Expect(k8s.Create(suiteCtx, job)).To(Succeed())
		done := waitPhase(job, v1alpha1.JobSucceeded)
		Expect(stepOf(done, "write-in-extended").Response).To(Equal("6E F1 98"))
		// 10 03, at least two 3E 80 during the 5 s, 2E: the session was kept by tester present.
		Expect(sim.Stats().Requests).To(BeNumerically(">=", 4))
	})

	It("re-dials after an ECU reset with autoReconnect, and fails the next step without it", func() {
		startAgent(ns+"-a", labels)
		simAuto, portAuto := startSim(ecusim.Config{BootTime: "500ms"})
		_, portPlain := startSim(ecusim.Config{BootTime: "500ms"})
		createReadyECU(ecuFor("auto", portAuto).AutoReconnect().Obj())
		createReadyECU(ecuFor("plain", portPlain).Obj())
		steps := func(w *builders.JobWrapper) *v1alpha1.DiagnosticJob {
			return w.Steps(
				builders.SessionControl("extended", "extended"),
				builders.ECUReset("reset", v1alpha1.ECUResetHard),
				builders.ReadDID("read-after-reset", 0xF190).ExpectValue(simVIN),
			).Obj()
		}
		auto := steps(builders.MakeJob("auto", ns).ECU("auto"))
		plain := steps(builders.MakeJob("plain", ns).ECU("plain"))
		Expect(k8s.Create(suiteCtx, auto)).To(Succeed())
		Expect(k8s.Create(suiteCtx, plain)).To(Succeed())

		done := waitPhase(auto, v1alpha1.JobSucceeded)
		Expect(stepOf(done, "read-after-reset").Message).To(ContainSubstring("reconnected"))
		Expect(simAuto.Stats().Resets).To(BeEquivalentTo(1))

		failed := waitPhase(plain, v1alpha1.JobFailed)
		Expect(failed.Status.Reason).To(Equal(v1alpha1.ReasonStepFailed))
		Expect(stepOf(failed, "read-after-reset").Phase).To(Equal(v1alpha1.StepFailed))
		Expect(stepOf(failed, "read-after-reset").Message).NotTo(BeEmpty())
	})

	It("fails an attempt with EcuUnreachable when a UDP step finds no entity listening (connection refused)", func() {
		startAgent(ns+"-a", labels)
		sim, port := startSim(ecusim.Config{})
		createReadyECU(ecuFor("ecu", port).Probe(v1alpha1.ProbeNone).Obj())
		job := builders.MakeJob("gone", ns).ECU("ecu").Steps(
			builders.Delay("hold", 1500*time.Millisecond),
			builders.EntityStatus("status"),
		).Obj()
		history := watchJob(ns, job.Name)
		Expect(k8s.Create(suiteCtx, job)).To(Succeed())

		// The hold step runs once the session is open; cutting power before that would fail the
		// dial, not the UDP step.
		waitStepRunning(job, "hold")
		Expect(sim.Shutdown(suiteCtx)).To(Succeed()) // the ECU loses power while the job holds
		unreachable := history.eventuallyRecords(v1alpha1.JobFailed, v1alpha1.ReasonEcuUnreachable)
		Expect(unreachable.Message).To(ContainSubstring("connection refused"))
		Expect(stepOf(&v1alpha1.DiagnosticJob{Status: unreachable}, "status").Phase).To(Equal(v1alpha1.StepFailed))
		failed := waitPhase(job, v1alpha1.JobFailed)
		Expect(failed.Status.Reason).To(Equal(v1alpha1.ReasonBackoffLimitExceeded), "no verdict of the ECU: %s", failed.Status.Message)
	})

	It("fails an attempt with EcuUnreachable when routing activation is denied", func() {
		startAgent(ns+"-a", labels)
		_, port := startSim(ecusim.Config{DenyActivation: &ecusim.ActivationDenial{Code: ptr.To[uint8](0x00), Always: true}})
		// Not probed: the ECU is Ready as soon as an agent serves it, so the job reaches the dial.
		createReadyECU(ecuFor("ecu", port).Probe(v1alpha1.ProbeNone).Obj())
		job := builders.MakeJob("denied", ns).ECU("ecu").Steps(builders.ReadDID("read-vin", 0xF190)).Obj()
		history := watchJob(ns, job.Name)
		Expect(k8s.Create(suiteCtx, job)).To(Succeed())

		unreachable := history.eventuallyRecords(v1alpha1.JobFailed, v1alpha1.ReasonEcuUnreachable)
		Expect(unreachable.Message).To(ContainSubstring(fmt.Sprintf("127.0.0.1:%d", port)))
		Expect(unreachable.Message).To(ContainSubstring("unknown source address"))
		Expect(stepOf(&v1alpha1.DiagnosticJob{Status: unreachable}, "read-vin").Phase).To(Equal(v1alpha1.StepSkipped))
		// backoffLimit 0: the controller ends the job after this one infrastructure fault.
		failed := waitPhase(job, v1alpha1.JobFailed)
		Expect(failed.Status.Reason).To(Equal(v1alpha1.ReasonBackoffLimitExceeded))
		Expect(failed.Status.Attempts).To(BeEquivalentTo(1))
		// `kubectl describe` on the job tells what the agent saw.
		Eventually(func(g Gomega) {
			var list eventsv1.EventList
			g.Expect(k8s.List(suiteCtx, &list, client.InNamespace(ns))).To(Succeed())
			g.Expect(list.Items).To(ContainElement(And(
				HaveField("ReportingController", "ecufleet-agent"),
				HaveField("Regarding.Name", job.Name),
				HaveField("Reason", v1alpha1.ReasonEcuUnreachable),
				HaveField("Type", "Warning"),
				HaveField("Note", ContainSubstring("unknown source address")))))
		}).Should(Succeed())
	})

	It("marks a silent ECU unreachable, fails the attempt with EcuUnreachable, and retries once it answers again", func() {
		startAgent(ns+"-a", labels)
		sim, port := startSim(ecusim.Config{})
		ecu := createReadyECU(ecuFor("ecu", port).Obj())
		job := builders.MakeJob("retry", ns).ECU("ecu").BackoffLimit(1).Steps(
			builders.ReadDID("read-vin", 0xF190).ExpectValue(simVIN),
			builders.Delay("hold", 2*time.Second),
			// Retries the dial for 10 s: by then the prober has declared the ECU unreachable,
			// so the controller keeps the retry queued until the ECU answers again.
			builders.Reconnect("reconnect", 0).Timeout(10*time.Second),
			builders.ReadDID("read-again", 0xF190).ExpectValue(simVIN),
		).Obj()
		history := watchJob(ns, job.Name)
		Expect(k8s.Create(suiteCtx, job)).To(Succeed())
		waitStepRunning(job, "hold")

		sim.Pause()
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(suiteCtx, client.ObjectKeyFromObject(ecu), ecu)).To(Succeed())
			c := findCondition(ecu, v1alpha1.ConditionReachable)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(BeEquivalentTo("False"))
			g.Expect(c.Reason).To(Equal(v1alpha1.ReasonProbeFailed))
			g.Expect(c.Message).To(ContainSubstring("2 consecutive EntityStatus probes failed"))
		}).Should(Succeed())

		failed := history.eventuallyRecords(v1alpha1.JobFailed, v1alpha1.ReasonEcuUnreachable)
		Expect(failed.Message).To(ContainSubstring(fmt.Sprintf("127.0.0.1:%d", port)))
		attempt1 := &v1alpha1.DiagnosticJob{Status: failed}
		Expect(stepOf(attempt1, "read-vin").Phase).To(Equal(v1alpha1.StepPassed))
		Expect(stepOf(attempt1, "reconnect").Phase).To(Equal(v1alpha1.StepFailed))
		Expect(stepOf(attempt1, "read-again").Phase).To(Equal(v1alpha1.StepSkipped))
		queued := waitPhase(job, v1alpha1.JobQueued)
		Expect(queued.Status.Attempts).To(BeEquivalentTo(1), "no retry while the ECU is unreachable")

		sim.Resume()
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(suiteCtx, client.ObjectKeyFromObject(ecu), ecu)).To(Succeed())
			c := findCondition(ecu, v1alpha1.ConditionReachable)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(BeEquivalentTo("True"))
			g.Expect(c.Reason).To(Equal(v1alpha1.ReasonProbeSucceeded))
		}).Should(Succeed())
		done := waitPhase(job, v1alpha1.JobSucceeded)
		Expect(done.Status.Attempts).To(BeEquivalentTo(2))
		Expect(stepOf(done, "read-again").Phase).To(Equal(v1alpha1.StepPassed))
	})

	It("spreads jobs over the agents an ECU selector admits, and never onto another", func() {
		startAgent(ns+"-a", labels)
		startAgent(ns+"-b", labels)
		startAgent(ns+"-other", map[string]string{"rack": ns + "-elsewhere"})
		for _, name := range []string{"e1", "e2"} {
			_, port := startSim(ecusim.Config{})
			createReadyECU(ecuFor(name, port).Label("pool", ns).Obj())
		}
		var jobs []*v1alpha1.DiagnosticJob
		for _, name := range []string{"j1", "j2", "j3", "j4", "j5", "j6"} {
			job := builders.MakeJob(name, ns).ECUSelector(map[string]string{"pool": ns}).Steps(
				builders.ReadDID("read-vin", 0xF190).ExpectValue(simVIN),
				builders.Delay("hold", time.Second), // overlapping jobs spread over both agents
			).Obj()
			Expect(k8s.Create(suiteCtx, job)).To(Succeed())
			jobs = append(jobs, job)
		}
		used := map[string]bool{}
		for _, job := range jobs {
			done := waitPhase(job, v1alpha1.JobSucceeded)
			Expect(done.Status.Agent).To(BeElementOf(ns+"-a", ns+"-b"))
			Expect(done.Status.ECU).To(BeElementOf("e1", "e2"))
			used[done.Status.Agent] = true
		}
		Expect(used).To(HaveLen(2), "both matching agents ran jobs")

		// Each agent lists the ECUs it serves, as the controller assigned them.
		Eventually(func(g Gomega) {
			var served []string
			for _, name := range []string{ns + "-a", ns + "-b", ns + "-other"} {
				a := &v1alpha1.DiagnosticAgent{}
				g.Expect(k8s.Get(suiteCtx, client.ObjectKey{Name: name}, a)).To(Succeed())
				served = append(served, a.Status.ECUs...)
				if name == ns+"-other" {
					g.Expect(a.Status.ECUs).To(BeEmpty())
				}
			}
			slices.Sort(served)
			g.Expect(served).To(Equal([]string{ns + "/e1", ns + "/e2"}))
		}).Should(Succeed())
	})

	It("retries on another agent when the agent running the job stops (AgentLost)", func() {
		agents := map[string]*runningAgent{
			ns + "-a": startAgent(ns+"-a", labels),
			ns + "-b": startAgent(ns+"-b", labels),
		}
		sim, port := startSim(ecusim.Config{})
		createReadyECU(ecuFor("ecu", port).Obj())

		job := builders.MakeJob("lost", ns).ECU("ecu").BackoffLimit(1).Steps(
			builders.ReadDID("read-vin", 0xF190),
			builders.Delay("hold", 3*time.Second),
			builders.ReadDID("read-again", 0xF190),
		).Obj()
		history := watchJob(ns, job.Name)
		Expect(k8s.Create(suiteCtx, job)).To(Succeed())

		running := waitStepRunning(job, "hold")
		first := running.Status.Agent
		requestsBefore := sim.Stats().Requests
		agents[first].stop()

		lost := history.eventuallyRecords(v1alpha1.JobQueued, v1alpha1.ReasonAgentLost)
		Expect(lost.Message).To(ContainSubstring(first))
		done := waitPhase(job, v1alpha1.JobSucceeded)
		Expect(done.Status.Agent).NotTo(Equal(first))
		Expect(done.Status.Attempts).To(BeEquivalentTo(2))
		// The stopped agent sent nothing after it stopped: the retry's two reads are all.
		Expect(sim.Stats().Requests - requestsBefore).To(BeEquivalentTo(2))
	})

	It("cancels a running job when it is deleted, closing the connection before the finalizer goes", func() {
		startAgent(ns+"-a", labels)
		_, port := startSim(ecusim.Config{})
		createReadyECU(ecuFor("ecu", port).Obj())
		job := builders.MakeJob("delete-me", ns).ECU("ecu").Steps(
			builders.SessionControl("extended", "extended"),
			builders.Delay("long", 10*time.Minute),
		).Obj()
		Expect(k8s.Create(suiteCtx, job)).To(Succeed())
		waitStepRunning(job, "long")
		Expect(openSockets(port)).To(BeEquivalentTo(1))

		start := time.Now()
		Expect(k8s.Delete(suiteCtx, job)).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8s.Get(suiteCtx, client.ObjectKeyFromObject(job), &v1alpha1.DiagnosticJob{}))
		}).Should(BeTrue())
		GinkgoWriter.Printf("Deleted job gone %v after the delete call\n", time.Since(start))
		Eventually(func() int32 { return openSockets(port) }).Should(BeZero())
	})

	// runningThrough starts an agent, a simulator and its ECU, and a job that reads the VIN,
	// waits in a step named delay, then sends tester present (step "after"); it returns once
	// the delay runs, with the job as then stored.
	runningThrough := func(name, delay string, d time.Duration) (*v1alpha1.DiagnosticJob, *jobHistory, int32) {
		startAgent(ns+"-a", labels)
		_, port := startSim(ecusim.Config{})
		createReadyECU(ecuFor("ecu", port).Obj())
		job := builders.MakeJob(name, ns).ECU("ecu").Steps(
			builders.ReadDID("read-vin", 0xF190),
			builders.Delay(delay, d),
			builders.TesterPresent("after"),
		).Obj()
		history := watchJob(ns, job.Name)
		Expect(k8s.Create(suiteCtx, job)).To(Succeed())
		return waitStepRunning(job, delay), history, port
	}

	It("cancels a running job when it is suspended and records the steps so far", func() {
		job, history, port := runningThrough("suspend-me", "long", 10*time.Minute)

		start := time.Now()
		job.Spec.Suspend = true
		Expect(k8s.Update(suiteCtx, job)).To(Succeed())
		suspended := history.eventuallyRecords(v1alpha1.JobRunning, v1alpha1.ReasonSuspended)
		GinkgoWriter.Printf("Suspended attempt ended %v after the update\n", time.Since(start))
		job2 := &v1alpha1.DiagnosticJob{Status: suspended}
		Expect(stepOf(job2, "read-vin").Phase).To(Equal(v1alpha1.StepPassed))
		Expect(stepOf(job2, "long").Phase).To(Equal(v1alpha1.StepFailed))
		Expect(stepOf(job2, "long").Message).To(ContainSubstring("suspended"))
		Expect(stepOf(job2, "after").Phase).To(Equal(v1alpha1.StepSkipped))

		// The controller takes the attempt back: Pending, unbound, then (its next write) no
		// finalizer; no socket is left on the ECU.
		pending := waitPhase(job, v1alpha1.JobPending)
		Expect(pending.Status.Agent).To(BeEmpty())
		Expect(pending.Status.Reason).To(Equal(v1alpha1.ReasonSuspended))
		Eventually(func() bool { return controllerutil.ContainsFinalizer(getJob(job), v1alpha1.JobFinalizer) }).Should(BeFalse())
		Eventually(func() int32 { return openSockets(port) }).Should(BeZero())
	})

	DescribeTable("runs a job to the end when its suspension is cleared while it is being suspended",
		func(clearAfterAcknowledgement bool) {
			job, history, port := runningThrough("flip", "hold", 2*time.Second)

			setSuspend := func(on bool) {
				patch := fmt.Sprintf(`{"spec":{"suspend":%t}}`, on)
				Expect(k8s.Patch(suiteCtx, job, client.RawPatch(types.MergePatchType, []byte(patch)))).To(Succeed())
			}
			setSuspend(true)
			if clearAfterAcknowledgement {
				history.eventuallyRecords(v1alpha1.JobRunning, v1alpha1.ReasonSuspended)
			}
			setSuspend(false)

			// Whether the attempt went on or was cancelled and run again, the job ends, and
			// nothing is left behind: no finalizer, no socket on the ECU.
			done := waitPhase(job, v1alpha1.JobSucceeded)
			Expect(done.Status.Attempts).To(BeNumerically("<=", 2))
			Expect(stepOf(done, "after").Phase).To(Equal(v1alpha1.StepPassed))
			Eventually(func() int32 { return openSockets(port) }).Should(BeZero())
		},
		Entry("cleared at once, perhaps before the agent saw it", false),
		Entry("cleared after the agent cancelled the attempt, perhaps before the controller took it back", true),
	)

	It("ends an attempt left Running by an earlier run of the agent with AgentRestarted", func() {
		name := ns + "-a"
		first := startAgent(name, labels, func(o *agent.Options) { o.LeaseDuration = 20 * time.Second })
		sim, port := startSim(ecusim.Config{})
		createReadyECU(ecuFor("ecu", port).Obj())
		job := builders.MakeJob("restarted", ns).ECU("ecu").BackoffLimit(1).Steps(
			builders.ReadDID("read-vin", 0xF190),
			builders.Delay("hold", 2*time.Second),
			builders.TesterPresent("after"),
		).Obj()
		history := watchJob(ns, job.Name)
		Expect(k8s.Create(suiteCtx, job)).To(Succeed())
		waitStepRunning(job, "hold")

		// Stop and start again under the same name, well within the lease: not lost, restarted.
		first.stop()
		requests := sim.Stats().Requests
		startAgent(name, labels, func(o *agent.Options) { o.LeaseDuration = 20 * time.Second })

		restarted := history.eventuallyRecords(v1alpha1.JobFailed, v1alpha1.ReasonAgentRestarted)
		job2 := &v1alpha1.DiagnosticJob{Status: restarted}
		Expect(stepOf(job2, "read-vin").Phase).To(Equal(v1alpha1.StepPassed))
		Expect(stepOf(job2, "hold").Phase).To(Equal(v1alpha1.StepFailed))
		Expect(stepOf(job2, "hold").Message).To(ContainSubstring("agent restarted"))
		Expect(stepOf(job2, "after").Phase).To(Equal(v1alpha1.StepSkipped))

		// backoffLimit 1: the controller queues it again and the new agent runs it from the start;
		// the two requests of that attempt are all the simulator got after the restart.
		done := waitPhase(job, v1alpha1.JobSucceeded)
		Expect(done.Status.Attempts).To(BeEquivalentTo(2))
		Expect(sim.Stats().Requests - requests).To(BeEquivalentTo(2))
	})

	It("fails a job at its activeDeadlineSeconds and releases the ECU", func() {
		startAgent(ns+"-a", labels)
		_, port := startSim(ecusim.Config{})
		createReadyECU(ecuFor("ecu", port).Obj())
		job := builders.MakeJob("deadline", ns).ECU("ecu").Deadline(2).Steps(
			builders.Delay("too-long", time.Minute),
		).Obj()
		Expect(k8s.Create(suiteCtx, job)).To(Succeed())
		failed := waitPhase(job, v1alpha1.JobFailed)
		Expect(failed.Status.Reason).To(Equal(v1alpha1.ReasonDeadlineExceeded))
		Eventually(func(g Gomega) {
			ecu := &v1alpha1.ECU{}
			g.Expect(k8s.Get(suiteCtx, client.ObjectKey{Namespace: ns, Name: "ecu"}, ecu)).To(Succeed())
			g.Expect(ecu.Status.ActiveJob).To(BeEmpty())
			g.Expect(controllerutil.ContainsFinalizer(getJob(job), v1alpha1.JobFinalizer)).To(BeFalse())
		}).Should(Succeed())
		Eventually(func() int32 { return openSockets(port) }).Should(BeZero())
	})
})
