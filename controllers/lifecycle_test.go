package controllers_test

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

var _ = Describe("A lost agent", func() {
	It("fails the attempt with AgentLost, retries on another agent, then fails with BackoffLimitExceeded", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		first := newAgent(ctx, ns, ns+"-a", 4, nil)
		second := newAgent(ctx, ns, ns+"-b", 4, nil)
		first.hold.Store(true)
		second.hold.Store(true)
		newECU(ctx, ns, "ecu-0", nil)
		locks := watchLocks(ctx, ns)

		createJob(ctx, readVIN(ns, "job", "ecu-0").BackoffLimit(1))
		Eventually(jobOf(ctx, ns, "job")).Should(And(HaveField("Status.Phase", diagv1.JobRunning),
			HaveField("Status.Agent", first.name), HaveField("Status.Attempts", int32(1))))
		Expect(jobOf(ctx, ns, "job")(Default).Labels).To(HaveKeyWithValue(diagv1.AgentLabel, first.name))

		By("losing the first agent: the job runs again on the second")
		first.stopHeartbeat()
		Eventually(jobOf(ctx, ns, "job")).Should(And(HaveField("Status.Phase", diagv1.JobRunning),
			HaveField("Status.Agent", second.name), HaveField("Status.Attempts", int32(2))))
		Expect(jobOf(ctx, ns, "job")(Default).Labels).To(HaveKeyWithValue(diagv1.AgentLabel, second.name))
		Expect(eventReasons(ctx, ns, "DiagnosticJob", "job")).To(ContainElements(diagv1.ReasonAgentLost, "Requeued"))
		Eventually(func(g Gomega) {
			var a diagv1.DiagnosticAgent
			g.Expect(k8s.Get(ctx, client.ObjectKey{Name: first.name}, &a)).To(Succeed())
			g.Expect(conditionOf(a.Status.Conditions, diagv1.ConditionReady)).To(And(
				HaveField("Status", BeEquivalentTo("False")), HaveField("Reason", diagv1.ReasonLeaseExpired)))
		}).Should(Succeed())

		By("losing the second agent: backoffLimit 1 is used up")
		second.stopHeartbeat()
		Eventually(jobOf(ctx, ns, "job")).Should(And(HaveField("Status.Phase", diagv1.JobFailed),
			HaveField("Status.Reason", diagv1.ReasonBackoffLimitExceeded), HaveField("Status.Attempts", int32(2)),
			HaveField("Status.Message", ContainSubstring(diagv1.ReasonAgentLost))))
		Expect(conditionOf(jobOf(ctx, ns, "job")(Default).Status.Conditions, diagv1.ConditionFailed)).To(And(
			HaveField("Status", BeEquivalentTo("True")), HaveField("Reason", diagv1.ReasonBackoffLimitExceeded)))
		Eventually(jobOf(ctx, ns, "job")).Should(HaveField("Finalizers", Not(ContainElement(diagv1.JobFinalizer))),
			"no live agent is left to remove it")
		Eventually(ecuOf(ctx, ns, "ecu-0")).Should(HaveField("Status.ActiveJob", ""))
		Eventually(func(g Gomega) metav1.Condition {
			return conditionOf(ecuOf(ctx, ns, "ecu-0")(g).Status.Conditions, diagv1.ConditionReady)
		}).Should(HaveField("Reason", diagv1.ReasonNoAgent))
		Expect(locks.order("ecu-0")).To(Equal([]string{"job", "job"}))
		Expect(locks.problems()).To(BeEmpty())
	})

	It("retries an attempt the agent reports as EcuUnreachable while backoffLimit allows", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		agent := newAgent(ctx, ns, ns+"-a", 4, nil)
		agent.hold.Store(true)
		newECU(ctx, ns, "ecu-0", nil)
		key := types.NamespacedName{Namespace: ns, Name: "job"}

		createJob(ctx, readVIN(ns, "job", "ecu-0").BackoffLimit(1))
		Eventually(jobOf(ctx, ns, "job")).Should(HaveField("Status.Phase", diagv1.JobRunning))
		Expect(agent.finish(ctx, key, diagv1.JobFailed, diagv1.ReasonEcuUnreachable)).To(Succeed())
		var requeued metav1.Time
		Eventually(func(g Gomega) {
			j := jobOf(ctx, ns, "job")(g)
			g.Expect(j.Status.Phase).To(Equal(diagv1.JobQueued))
			g.Expect(j.Status.Reason).To(Equal(diagv1.ReasonEcuUnreachable))
			g.Expect(j.Status.Message).To(ContainSubstring("not before"))
			c := meta.FindStatusCondition(j.Status.Conditions, diagv1.ConditionScheduled)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			requeued = c.LastTransitionTime
		}).Should(Succeed())
		Eventually(jobOf(ctx, ns, "job")).Should(And(HaveField("Status.Phase", diagv1.JobRunning), HaveField("Status.Attempts", int32(2))))
		By("waiting out the 5 s backoff before the retry claims the ECU (timestamps have 1 s resolution)")
		rescheduled := meta.FindStatusCondition(jobOf(ctx, ns, "job")(Default).Status.Conditions, diagv1.ConditionScheduled)
		Expect(rescheduled.LastTransitionTime.Sub(requeued.Time)).To(BeNumerically(">=", 4*time.Second))
		Expect(agent.finish(ctx, key, diagv1.JobFailed, diagv1.ReasonEcuUnreachable)).To(Succeed())
		Eventually(jobOf(ctx, ns, "job")).Should(And(HaveField("Status.Phase", diagv1.JobFailed),
			HaveField("Status.Reason", diagv1.ReasonBackoffLimitExceeded), HaveField("Status.Message", ContainSubstring(diagv1.ReasonEcuUnreachable))))

		By("never retrying a failed expectation")
		createJob(ctx, readVIN(ns, "strict", "ecu-0").BackoffLimit(3))
		Eventually(jobOf(ctx, ns, "strict")).Should(HaveField("Status.Phase", diagv1.JobRunning))
		Expect(agent.finish(ctx, types.NamespacedName{Namespace: ns, Name: "strict"}, diagv1.JobFailed, diagv1.ReasonStepFailed)).To(Succeed())
		Eventually(jobOf(ctx, ns, "strict")).Should(HaveField("Status.Conditions", ContainElement(And(
			HaveField("Type", diagv1.ConditionFailed), HaveField("Reason", diagv1.ReasonStepFailed)))))
		Consistently(jobOf(ctx, ns, "strict")).Should(And(HaveField("Status.Phase", diagv1.JobFailed), HaveField("Status.Attempts", int32(1))))
	})
})

var _ = Describe("The deadline", func() {
	It("fails a job that runs past activeDeadlineSeconds with DeadlineExceeded and frees its ECU", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		agent := newAgent(ctx, ns, ns+"-a", 4, nil)
		agent.hold.Store(true)
		newECU(ctx, ns, "ecu-0", nil)

		createJob(ctx, readVIN(ns, "slow", "ecu-0").Deadline(2))
		Eventually(jobOf(ctx, ns, "slow")).Should(HaveField("Status.Phase", diagv1.JobRunning))
		Expect(jobOf(ctx, ns, "slow")(Default).Annotations).To(HaveKey(diagv1.GroupName + "/first-scheduled"))
		createJob(ctx, readVIN(ns, "next", "ecu-0"))
		agent.lingering.Store(true)
		Eventually(jobOf(ctx, ns, "slow")).Should(And(HaveField("Status.Phase", diagv1.JobFailed),
			HaveField("Status.Reason", diagv1.ReasonDeadlineExceeded), HaveField("Status.CompletionTime", Not(BeNil()))))

		By("keeping the ECU while the live agent may still be connected (it has not removed the finalizer)")
		Consistently(ecuOf(ctx, ns, "ecu-0")).Should(HaveField("Status.ActiveJob", "slow"))
		Expect(jobOf(ctx, ns, "next")(Default).Status.Phase).To(Equal(diagv1.JobQueued))
		Expect(agent.closeConnection(ctx, client.ObjectKey{Namespace: ns, Name: "slow"})).To(Succeed())
		Eventually(jobOf(ctx, ns, "next")).Should(HaveField("Status.Phase", diagv1.JobRunning))
		slowEvents := func() []string { return eventReasons(ctx, ns, "DiagnosticJob", "slow") }
		Eventually(slowEvents).Should(ContainElements(diagv1.ReasonScheduled, diagv1.ReasonDeadlineExceeded))
		Consistently(slowEvents, "1s").ShouldNot(ContainElement(string(diagv1.JobFailed)), "one Event for the transition, not a second one for the phase")
	})
})

var _ = Describe("The queue timeout", func() {
	It("fails a job still not Scheduled queueTimeoutSeconds after its creation with QueueTimeout, and spares one that was", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		agent := newAgent(ctx, ns, ns+"-a", 4, nil)
		agent.hold.Store(true)
		newECU(ctx, ns, "ecu-0", nil)

		createJob(ctx, readVIN(ns, "first", "ecu-0").QueueTimeout(2))
		Eventually(jobOf(ctx, ns, "first")).Should(HaveField("Status.Phase", diagv1.JobRunning))
		createJob(ctx, readVIN(ns, "waiter", "ecu-0").QueueTimeout(2))
		Eventually(jobOf(ctx, ns, "waiter")).Should(HaveField("Status.Phase", diagv1.JobQueued))

		By("ending the waiter once its queue timeout passed, with the reason and an Event")
		Eventually(jobOf(ctx, ns, "waiter"), "10s").Should(And(HaveField("Status.Phase", diagv1.JobFailed),
			HaveField("Status.Reason", diagv1.ReasonQueueTimeout), HaveField("Status.QueuePosition", BeZero()),
			HaveField("Status.CompletionTime", Not(BeNil()))))
		Expect(jobOf(ctx, ns, "waiter")(Default).Status.Message).To(ContainSubstring("queueTimeoutSeconds (2 s)"))
		Eventually(func() []string { return eventReasons(ctx, ns, "DiagnosticJob", "waiter") }).Should(ContainElement(diagv1.ReasonQueueTimeout))

		By("leaving the job that was Scheduled in time running")
		Consistently(jobOf(ctx, ns, "first"), "1s").Should(HaveField("Status.Phase", diagv1.JobRunning))
	})
})

var _ = Describe("Suspend", func() {
	It("keeps a suspended job out of the queues and ends a running attempt, which resumes when unsuspended", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		agent := newAgent(ctx, ns, ns+"-a", 4, nil)
		agent.hold.Store(true)
		newECU(ctx, ns, "ecu-0", nil)
		locks := watchLocks(ctx, ns)

		createJob(ctx, readVIN(ns, "paused", "ecu-0").Suspend())
		Eventually(jobOf(ctx, ns, "paused")).Should(And(HaveField("Status.Phase", diagv1.JobPending),
			HaveField("Status.Reason", diagv1.ReasonSuspended), HaveField("Status.QueuePosition", int32(0))))

		createJob(ctx, readVIN(ns, "one", "ecu-0"))
		Eventually(jobOf(ctx, ns, "one")).Should(HaveField("Status.Phase", diagv1.JobRunning))
		createJob(ctx, readVIN(ns, "two", "ecu-0"))
		Eventually(jobOf(ctx, ns, "two")).Should(HaveField("Status.QueuePosition", int32(1)))
		Eventually(ecuOf(ctx, ns, "ecu-0")).Should(HaveField("Status.QueuedJobs", int32(1)), "the suspended job is in no queue")

		By("suspending the running job: the agent cancels, the ECU goes to the next job")
		updateJob(ctx, ns, "one", func(j *diagv1.DiagnosticJob) { j.Spec.Suspend = true })
		Eventually(jobOf(ctx, ns, "one")).Should(And(HaveField("Status.Phase", diagv1.JobPending),
			HaveField("Status.Reason", diagv1.ReasonSuspended), HaveField("Status.ECU", ""), HaveField("Status.Agent", "")))
		Eventually(jobOf(ctx, ns, "two")).Should(HaveField("Status.Phase", diagv1.JobRunning))
		j := jobOf(ctx, ns, "one")(Default)
		Expect(j.Labels).NotTo(HaveKey(diagv1.AgentLabel))
		Expect(j.Finalizers).NotTo(ContainElement(diagv1.JobFinalizer))
		Expect(eventReasons(ctx, ns, "DiagnosticJob", "one")).To(ContainElement(diagv1.ReasonSuspended))

		By("unsuspending: the job queues again and runs a second attempt")
		updateJob(ctx, ns, "one", func(j *diagv1.DiagnosticJob) { j.Spec.Suspend = false })
		Eventually(jobOf(ctx, ns, "one")).Should(And(HaveField("Status.Phase", diagv1.JobQueued), HaveField("Status.QueuePosition", int32(1))))
		agent.hold.Store(false)
		Expect(agent.finish(ctx, types.NamespacedName{Namespace: ns, Name: "two"}, diagv1.JobSucceeded, diagv1.ReasonSucceeded)).To(Succeed())
		Eventually(jobOf(ctx, ns, "one")).Should(And(HaveField("Status.Phase", diagv1.JobSucceeded), HaveField("Status.Attempts", int32(2))))
		Expect(locks.order("ecu-0")).To(Equal([]string{"one", "two", "one"}))
		Expect(locks.problems()).To(BeEmpty())
	})
})

var _ = Describe("Deletion", func() {
	It("frees the ECU once the agent has cancelled a deleted running job", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		agent := newAgent(ctx, ns, ns+"-a", 4, nil)
		agent.hold.Store(true)
		newECU(ctx, ns, "ecu-0", nil)

		running := createJob(ctx, readVIN(ns, "doomed", "ecu-0"))
		Eventually(jobOf(ctx, ns, "doomed")).Should(And(HaveField("Status.Phase", diagv1.JobRunning),
			HaveField("Finalizers", ContainElement(diagv1.JobFinalizer))))
		createJob(ctx, readVIN(ns, "after", "ecu-0"))
		Expect(k8s.Delete(ctx, running)).To(Succeed())
		Eventually(func() error {
			return k8s.Get(ctx, client.ObjectKeyFromObject(running), &diagv1.DiagnosticJob{})
		}).Should(Satisfy(apierrors.IsNotFound))
		Eventually(jobOf(ctx, ns, "after")).Should(HaveField("Status.Phase", diagv1.JobRunning))
	})

	It("removes the finalizer itself when the job's agent is gone", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		agent := newAgent(ctx, ns, ns+"-a", 4, nil)
		agent.hold.Store(true)
		newECU(ctx, ns, "ecu-0", nil)

		orphan := createJob(ctx, readVIN(ns, "orphan", "ecu-0"))
		Eventually(jobOf(ctx, ns, "orphan")).Should(HaveField("Status.Phase", diagv1.JobRunning))
		agent.stop() // the agent dies: no heartbeat, no cleanup
		Expect(k8s.Delete(ctx, orphan)).To(Succeed())
		Eventually(func() error {
			return k8s.Get(ctx, client.ObjectKeyFromObject(orphan), &diagv1.DiagnosticJob{})
		}).Should(Satisfy(apierrors.IsNotFound))
		Eventually(ecuOf(ctx, ns, "ecu-0")).Should(HaveField("Status.ActiveJob", ""))
	})

	It("deletes finished jobs after ttlSecondsAfterFinished", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		newAgent(ctx, ns, ns+"-a", 4, nil)
		newECU(ctx, ns, "ecu-0", nil)
		done := createJob(ctx, readVIN(ns, "short-lived", "ecu-0").TTLSecondsAfterFinished(1))
		kept := createJob(ctx, readVIN(ns, "kept", "ecu-0"))
		Eventually(func() error {
			return k8s.Get(ctx, client.ObjectKeyFromObject(done), &diagv1.DiagnosticJob{})
		}).Should(Satisfy(apierrors.IsNotFound))
		Eventually(jobOf(ctx, ns, kept.Name)).Should(HaveField("Status.Phase", diagv1.JobSucceeded))
		Consistently(jobOf(ctx, ns, kept.Name)).Should(HaveField("Status.Phase", diagv1.JobSucceeded), "no TTL: kept")
	})

	// A pass that does not read the finished job (only open and touched jobs are read) must
	// still wake the namespace when its TTL falls due: the workqueue keeps one wake per
	// namespace, and a pass run for another reason replaces the one that saw the job.
	It("deletes a finished job when its TTL falls due, though other passes ran in between", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		newAgent(ctx, ns, ns+"-a", 4, nil)
		newECU(ctx, ns, "ecu-0", nil)
		done := createJob(ctx, readVIN(ns, "short-lived", "ecu-0").TTLSecondsAfterFinished(3))
		Eventually(jobOf(ctx, ns, done.Name)).Should(HaveField("Status.Phase", diagv1.JobSucceeded))
		for i := range 5 { // each label change runs a pass over the namespace before the TTL is due
			updateECU(ctx, ns, "ecu-0", func(e *diagv1.ECU) {
				if e.Labels == nil {
					e.Labels = map[string]string{}
				}
				e.Labels["poke"] = fmt.Sprint(i)
			})
			time.Sleep(200 * time.Millisecond)
		}
		Eventually(func() error {
			return k8s.Get(ctx, client.ObjectKeyFromObject(done), &diagv1.DiagnosticJob{})
		}).WithTimeout(10 * time.Second).Should(Satisfy(apierrors.IsNotFound))
	})
})
