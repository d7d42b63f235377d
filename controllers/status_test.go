package controllers_test

import (
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
)

// readyOf reads an ECU's or agent's Ready condition, for Eventually.
func readyOf(get func(g Gomega) []metav1.Condition) func(g Gomega) metav1.Condition {
	return func(g Gomega) metav1.Condition { return conditionOf(get(g), diagv1.ConditionReady) }
}

func ecuConditions(ctx SpecContext, ns, name string) func(g Gomega) []metav1.Condition {
	return func(g Gomega) []metav1.Condition { return ecuOf(ctx, ns, name)(g).Status.Conditions }
}

func agentConditions(ctx SpecContext, name string) func(g Gomega) []metav1.Condition {
	return func(g Gomega) []metav1.Condition {
		var a diagv1.DiagnosticAgent
		g.Expect(k8s.Get(ctx, client.ObjectKey{Name: name}, &a)).To(Succeed())
		return a.Status.Conditions
	}
}

// beCondition matches a condition's status and reason.
func beCondition(status metav1.ConditionStatus, reason string) OmegaMatcher {
	return And(HaveField("Status", status), HaveField("Reason", reason))
}

// metricValue reads a sample of controller-runtime's registry: a counter's or gauge's value,
// or a histogram's sample count (its sum when name is the histogram's _sum series).
func metricValue(name string, labels map[string]string) float64 {
	GinkgoHelper()
	base, histogramSum := strings.CutSuffix(name, "_sum")
	if histogramSum {
		name = base
	}
	families, err := metrics.Registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	samples:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if want, ok := labels[l.GetName()]; ok && want != l.GetValue() {
					continue samples
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			case m.GetHistogram() != nil && histogramSum:
				return m.GetHistogram().GetSampleSum()
			case m.GetHistogram() != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return 0
}

var _ = Describe("ECU roll-up", func() {
	It("shows the hex logical address, the serving agent, and Ready from the probe and the agents", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		Expect(k8s.Create(ctx, builders.MakeECU("ecu-x", ns).LogicalAddress(0x1A2B).AgentSelector(map[string]string{poolLabel: ns}).Obj())).To(Succeed())
		Eventually(ecuOf(ctx, ns, "ecu-x")).Should(And(HaveField("Status.LogicalAddressHex", "0x1A2B"),
			HaveField("Status.Agent", ""), HaveField("Status.ObservedGeneration", int64(1))))
		Eventually(readyOf(ecuConditions(ctx, ns, "ecu-x"))).Should(beCondition(metav1.ConditionFalse, diagv1.ReasonNoAgent))

		later := newAgent(ctx, ns, ns+"-b", 4, nil)
		Eventually(ecuOf(ctx, ns, "ecu-x")).Should(HaveField("Status.Agent", later.name))
		Eventually(readyOf(ecuConditions(ctx, ns, "ecu-x"))).Should(beCondition(metav1.ConditionFalse, diagv1.ReasonProbing))
		setReachable(ctx, ns, "ecu-x", metav1.ConditionTrue)
		Eventually(readyOf(ecuConditions(ctx, ns, "ecu-x"))).Should(beCondition(metav1.ConditionTrue, diagv1.ReasonReachable))
		setReachable(ctx, ns, "ecu-x", metav1.ConditionFalse)
		Eventually(readyOf(ecuConditions(ctx, ns, "ecu-x"))).Should(beCondition(metav1.ConditionFalse, diagv1.ReasonUnreachable))
		setReachable(ctx, ns, "ecu-x", metav1.ConditionTrue)
		Eventually(readyOf(ecuConditions(ctx, ns, "ecu-x"))).Should(beCondition(metav1.ConditionTrue, diagv1.ReasonReachable))
		Eventually(func() []string { return eventReasons(ctx, ns, "ECU", "ecu-x") }).Should(Equal([]string{
			diagv1.ReasonNoAgent, diagv1.ReasonProbing, diagv1.ReasonReachable, diagv1.ReasonUnreachable, diagv1.ReasonReachable,
		}), "an Event for each change of Ready")

		By("keeping the serving agent while it stays Ready, and moving when it is lost")
		earlier := newAgent(ctx, ns, ns+"-a", 4, nil)
		Consistently(ecuOf(ctx, ns, "ecu-x")).Should(HaveField("Status.Agent", later.name))
		later.stopHeartbeat()
		Eventually(ecuOf(ctx, ns, "ecu-x")).Should(HaveField("Status.Agent", earlier.name))
		Expect(readyOf(ecuConditions(ctx, ns, "ecu-x"))(Default)).To(beCondition(metav1.ConditionTrue, diagv1.ReasonReachable))

		By("counting Ready ECUs in ecufleet_ecus_ready")
		Eventually(func(g Gomega) {
			var list diagv1.ECUList
			g.Expect(k8s.List(ctx, &list)).To(Succeed())
			ready := countReady(list.Items, func(e diagv1.ECU) []metav1.Condition { return e.Status.Conditions })
			g.Expect(metricValue("ecufleet_ecus_ready", nil)).To(BeEquivalentTo(ready))
		}).Should(Succeed())
	})

	It("does not wait for a probe when the probe method is None", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		newAgent(ctx, ns, ns+"-a", 4, nil)
		Expect(k8s.Create(ctx, builders.MakeECU("bench", ns).Probe(diagv1.ProbeNone).AgentSelector(map[string]string{poolLabel: ns}).Obj())).To(Succeed())
		Eventually(readyOf(ecuConditions(ctx, ns, "bench"))).Should(beCondition(metav1.ConditionTrue, diagv1.ReasonReachable))
		Expect(conditionOf(ecuOf(ctx, ns, "bench")(Default).Status.Conditions, diagv1.ConditionReachable).Type).To(BeEmpty())
	})
})

var _ = Describe("Agent liveness", func() {
	It("is Ready while the Lease is renewed, LeaseExpired after it runs out, NoLease without one", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		a := newAgent(ctx, ns, ns+"-a", 4, nil)
		Eventually(readyOf(agentConditions(ctx, a.name))).Should(beCondition(metav1.ConditionTrue, diagv1.ReasonLeaseRenewed))
		a.stopHeartbeat()
		Eventually(readyOf(agentConditions(ctx, a.name))).Should(beCondition(metav1.ConditionFalse, diagv1.ReasonLeaseExpired))
		Expect(a.renew(ctx)).To(Succeed())
		Eventually(readyOf(agentConditions(ctx, a.name))).Should(beCondition(metav1.ConditionTrue, diagv1.ReasonLeaseRenewed))
		// Events of a cluster-scoped object go to the default namespace. The agent registers
		// before its first Lease, so the controller may have seen it without one first.
		Eventually(func() []string {
			reasons := eventReasons(ctx, metav1.NamespaceDefault, "DiagnosticAgent", a.name)
			if len(reasons) > 0 && reasons[0] == diagv1.ReasonNoLease {
				reasons = reasons[1:]
			}
			return reasons
		}).Should(Equal([]string{diagv1.ReasonLeaseRenewed, diagv1.ReasonLeaseExpired, diagv1.ReasonLeaseRenewed}),
			"an Event for each change of Ready")

		bare := builders.MakeAgent(ns + "-bare").Obj()
		Expect(k8s.Create(ctx, bare)).To(Succeed())
		DeferCleanup(func(ctx SpecContext) { Expect(k8s.Delete(ctx, bare)).To(Succeed()) })
		Eventually(readyOf(agentConditions(ctx, bare.Name))).Should(beCondition(metav1.ConditionFalse, diagv1.ReasonNoLease))
	})
})

var _ = Describe("Observability", func() {
	It("records Events for job and lock transitions and the queue and job metrics", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		agent := newAgent(ctx, ns, ns+"-a", 4, nil)
		agent.hold.Store(true)
		newECU(ctx, ns, "ecu-0", nil)
		finished := metricValue("ecufleet_jobs_finished_total", map[string]string{"result": "Succeeded"})
		waited := metricValue("ecufleet_job_wait_seconds", nil)
		ran := metricValue("ecufleet_job_run_seconds", nil)

		createJob(ctx, readVIN(ns, "first", "ecu-0"))
		Eventually(jobOf(ctx, ns, "first")).Should(HaveField("Status.Phase", diagv1.JobRunning))
		createJob(ctx, readVIN(ns, "second", "ecu-0"))
		createJob(ctx, readVIN(ns, "third", "ecu-0"))
		Eventually(func() float64 {
			return metricValue("ecufleet_queue_depth", map[string]string{"namespace": ns, "ecu": "ecu-0"})
		}).Should(BeEquivalentTo(2))

		agent.hold.Store(false)
		Expect(agent.finish(ctx, client.ObjectKey{Namespace: ns, Name: "first"}, diagv1.JobSucceeded, diagv1.ReasonSucceeded)).To(Succeed())
		Eventually(jobOf(ctx, ns, "third")).Should(HaveField("Status.Phase", diagv1.JobSucceeded))
		Eventually(jobOf(ctx, ns, "third")).Should(HaveField("Status.Conditions", ContainElement(beCondition(metav1.ConditionTrue, diagv1.ReasonSucceeded))))

		Eventually(func() float64 {
			return metricValue("ecufleet_jobs_finished_total", map[string]string{"result": "Succeeded"})
		}).Should(BeEquivalentTo(finished + 3))
		Expect(metricValue("ecufleet_job_wait_seconds", nil)).To(BeEquivalentTo(waited + 3))
		Expect(metricValue("ecufleet_job_run_seconds", nil)).To(BeEquivalentTo(ran + 3))
		Expect(metricValue("ecufleet_queue_depth", map[string]string{"namespace": ns, "ecu": "ecu-0"})).To(BeZero())

		// One Event for each transition, from whoever made it: the controller scheduled the job
		// (naming the ECU it holds), the agent finished it. Waiting its turn in the queue is
		// the job's first state, shown by its status, not by an Event.
		Eventually(func() []string { return eventReasons(ctx, ns, "DiagnosticJob", "second") }).Should(
			Equal([]string{diagv1.ReasonScheduled, string(diagv1.JobSucceeded)}))
		Consistently(func() []string { return eventReasons(ctx, ns, "DiagnosticJob", "second") }, "1s").Should(HaveLen(2))
		Expect(relatedOf(ctx, ns, "second", diagv1.ReasonScheduled)).To(Equal("ECU/ecu-0"))
	})
})

// countReady counts the objects whose Ready condition is True, as the Ready gauges do.
func countReady[T any](items []T, conditions func(T) []metav1.Condition) int {
	n := 0
	for _, o := range items {
		if conditionOf(conditions(o), diagv1.ConditionReady).Status == metav1.ConditionTrue {
			n++
		}
	}
	return n
}

var _ = Describe("Fleet metrics", func() {
	It("counts Ready agents in ecufleet_agents_ready", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		readyAgents := func(g Gomega) int {
			var list diagv1.DiagnosticAgentList
			g.Expect(k8s.List(ctx, &list)).To(Succeed())
			return countReady(list.Items, func(a diagv1.DiagnosticAgent) []metav1.Condition { return a.Status.Conditions })
		}
		a := newAgent(ctx, ns, ns+"-a", 4, nil)
		Eventually(readyOf(agentConditions(ctx, a.name))).Should(beCondition(metav1.ConditionTrue, diagv1.ReasonLeaseRenewed))
		Eventually(func(g Gomega) {
			g.Expect(readyAgents(g)).To(BeNumerically(">=", 1))
			g.Expect(metricValue("ecufleet_agents_ready", nil)).To(BeEquivalentTo(readyAgents(g)))
		}).Should(Succeed())

		a.stopHeartbeat()
		Eventually(readyOf(agentConditions(ctx, a.name))).Should(beCondition(metav1.ConditionFalse, diagv1.ReasonLeaseExpired))
		Eventually(func(g Gomega) {
			g.Expect(metricValue("ecufleet_agents_ready", nil)).To(BeEquivalentTo(readyAgents(g)))
		}).Should(Succeed())
	})

	It("shows the age of the oldest queued job of each ECU in ecufleet_queue_oldest_wait_seconds", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		agent := newAgent(ctx, ns, ns+"-a", 4, nil)
		agent.hold.Store(true)
		newECU(ctx, ns, "ecu-0", nil)
		oldest := func() float64 {
			return metricValue("ecufleet_queue_oldest_wait_seconds", map[string]string{"namespace": ns, "ecu": "ecu-0"})
		}

		createJob(ctx, readVIN(ns, "first", "ecu-0"))
		Eventually(jobOf(ctx, ns, "first")).Should(HaveField("Status.Phase", diagv1.JobRunning))
		createJob(ctx, readVIN(ns, "second", "ecu-0"))
		Eventually(jobOf(ctx, ns, "second")).Should(HaveField("Status.Phase", diagv1.JobQueued))
		// creationTimestamp has one-second resolution: two seconds later the oldest is at least
		// one second old, and a newer, higher-priority job in front of it changes nothing.
		time.Sleep(2 * time.Second)
		createJob(ctx, readVIN(ns, "third", "ecu-0").Priority(10))
		Eventually(func() float64 {
			return metricValue("ecufleet_queue_depth", map[string]string{"namespace": ns, "ecu": "ecu-0"})
		}).Should(BeEquivalentTo(2))
		Eventually(oldest).Should(BeNumerically(">=", 1))
		Expect(oldest()).To(BeNumerically("<", 60))

		agent.hold.Store(false)
		Expect(agent.finish(ctx, client.ObjectKey{Namespace: ns, Name: "first"}, diagv1.JobSucceeded, diagv1.ReasonSucceeded)).To(Succeed())
		Eventually(jobOf(ctx, ns, "second")).Should(HaveField("Status.Phase", diagv1.JobSucceeded))
		Eventually(oldest).Should(BeZero())
	})

	It("records the bytes and throughput of finished download steps", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		agent := newAgent(ctx, ns, ns+"-a", 4, nil)
		agent.hold.Store(true)
		newECU(ctx, ns, "ecu-0", nil)
		bytes := metricValue("ecufleet_flash_bytes_total", nil)
		throughputs := metricValue("ecufleet_flash_throughput_bytes_per_second", nil)
		throughputSum := metricValue("ecufleet_flash_throughput_bytes_per_second_sum", nil)

		flash := builders.Download("flash").FromConfigMap("image", "app.hex").AsStep()
		createJob(ctx, builders.MakeJob("flash", ns).ECU("ecu-0").Step(flash))
		key := client.ObjectKey{Namespace: ns, Name: "flash"}
		Eventually(jobOf(ctx, ns, "flash")).Should(HaveField("Status.Phase", diagv1.JobRunning))

		By("counting nothing while the step runs")
		running, err := agent.patchStatus(ctx, jobOf(ctx, ns, "flash")(Default), func(s *diagv1.DiagnosticJobStatus) {
			s.Steps = []diagv1.StepStatus{{Name: "flash", Phase: diagv1.StepRunning,
				Transfer: &diagv1.TransferStatus{Bytes: 4096, TotalBytes: 65536, Blocks: 2, BytesPerSecond: 20000}}}
		})
		Expect(err).NotTo(HaveOccurred())
		Consistently(func() float64 { return metricValue("ecufleet_flash_bytes_total", nil) }, "500ms").Should(Equal(bytes))

		By("adding the finished step's bytes and observing its throughput once")
		agent.endRun(key)
		_, err = agent.patchStatus(ctx, running, func(s *diagv1.DiagnosticJobStatus) {
			done(diagv1.JobSucceeded, diagv1.ReasonSucceeded)(s)
			s.Steps = []diagv1.StepStatus{{Name: "flash", Phase: diagv1.StepPassed,
				Transfer: &diagv1.TransferStatus{Bytes: 65536, TotalBytes: 65536, Blocks: 32, BytesPerSecond: 32768}}}
		})
		Expect(err).NotTo(HaveOccurred())
		Eventually(func() float64 { return metricValue("ecufleet_flash_bytes_total", nil) }).Should(Equal(bytes + 65536))
		Expect(metricValue("ecufleet_flash_throughput_bytes_per_second", nil)).To(Equal(throughputs + 1))
		Expect(metricValue("ecufleet_flash_throughput_bytes_per_second_sum", nil)).To(Equal(throughputSum + 32768))
	})
})
