package controllers_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
)

var _ = Describe("Fleet metrics", func() {
	It("counts Ready agents in ecufleet_agents_ready", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		readyAgents := func(g Gomega) int {
			var list diagv1.DiagnosticAgentList
			g.Expect(k8s.List(ctx, &list)).To(Succeed())
			n := 0
			for _, a := range list.Items {
				if conditionOf(a.Status.Conditions, diagv1.ConditionReady).Status == metav1.ConditionTrue {
					n++
				}
			}
			return n
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
