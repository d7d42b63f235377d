package controllers_test

import (
	"context"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
)

var _ = Describe("An ECU health check", func() {
	It("takes a failing ECU out of service and puts it back when a check passes", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		agent := newAgent(ctx, ns, ns+"-a", 4, nil)
		agent.hold.Store(true)
		newECU(ctx, ns, "ecu-0", nil, func(w *builders.ECUWrapper) {
			w.HealthCheck(10, 1, builders.ReadDID("vin", 0xF190))
		})

		By("running the first check as soon as the ECU is Ready")
		Eventually(runningHealthJob(ctx, ns, "ecu-0")).ShouldNot(BeNil())
		check := healthJobsOf(ctx, ns, "ecu-0")(Default)[0]
		Expect(check.Spec.Steps).To(HaveLen(1))
		Expect(metav1.GetControllerOf(&check)).To(And(Not(BeNil()), HaveField("Kind", "ECU"), HaveField("Name", "ecu-0")))
		createJob(ctx, readVIN(ns, "user", "ecu-0"))
		Eventually(jobOf(ctx, ns, "user")).Should(HaveField("Status.Phase", diagv1.JobQueued))

		By("failing it: Healthy=False names the step, Ready turns False, the user job waits EcuUnhealthy")
		Expect(agent.failStep(ctx, client.ObjectKeyFromObject(&check), "vin", "0x22 conditionsNotCorrect")).To(Succeed())
		Eventually(func(g Gomega) metav1.Condition {
			return conditionOf(ecuOf(ctx, ns, "ecu-0")(g).Status.Conditions, diagv1.ConditionHealthy)
		}).Should(And(HaveField("Status", metav1.ConditionFalse), HaveField("Reason", diagv1.ReasonHealthCheckFailed),
			HaveField("Message", And(ContainSubstring("step vin"), ContainSubstring("0x22 conditionsNotCorrect")))))
		Eventually(func(g Gomega) metav1.Condition {
			return conditionOf(ecuOf(ctx, ns, "ecu-0")(g).Status.Conditions, diagv1.ConditionReady)
		}).Should(And(HaveField("Status", metav1.ConditionFalse), HaveField("Reason", diagv1.ReasonHealthCheckFailed)))
		Eventually(jobOf(ctx, ns, "user")).Should(And(HaveField("Status.Phase", diagv1.JobQueued),
			HaveField("Status.Reason", diagv1.ReasonEcuUnhealthy), HaveField("Status.Message", ContainSubstring("not Healthy"))))
		Consistently(jobOf(ctx, ns, "user")).Should(HaveField("Status.Phase", diagv1.JobQueued))
		Expect(eventReasons(ctx, ns, "ECU", "ecu-0")).To(ContainElement(diagv1.ReasonHealthCheckFailed))

		By("running the next check a period later, ahead of the older user job, and passing it")
		var second diagv1.DiagnosticJob
		Eventually(func(g Gomega) {
			j := runningHealthJob(ctx, ns, "ecu-0")(g)
			g.Expect(j).NotTo(BeNil())
			g.Expect(j.Name).NotTo(Equal(check.Name))
			second = *j
		}, 30*time.Second).Should(Succeed())
		Expect(jobOf(ctx, ns, "user")(Default).Status.Phase).To(Equal(diagv1.JobQueued))
		Expect(agent.finish(ctx, client.ObjectKeyFromObject(&second), diagv1.JobSucceeded, diagv1.ReasonSucceeded)).To(Succeed())
		Eventually(func(g Gomega) metav1.Condition {
			return conditionOf(ecuOf(ctx, ns, "ecu-0")(g).Status.Conditions, diagv1.ConditionHealthy)
		}).Should(And(HaveField("Status", metav1.ConditionTrue), HaveField("Reason", diagv1.ReasonHealthCheckPassed)))
		Eventually(jobOf(ctx, ns, "user")).Should(HaveField("Status.Phase", diagv1.JobRunning))
		Eventually(func(g Gomega) metav1.Condition {
			return conditionOf(ecuOf(ctx, ns, "ecu-0")(g).Status.Conditions, diagv1.ConditionReady)
		}).Should(HaveField("Status", metav1.ConditionTrue))
		Expect(eventReasons(ctx, ns, "ECU", "ecu-0")).To(ContainElement(diagv1.ReasonHealthCheckPassed))
		Expect(healthJobsOf(ctx, ns, "ecu-0")(Default)).To(HaveLen(2), "no third check while the user job runs")
	})
})

// healthJobsOf returns a function that lists an ECU's health jobs by label, for Eventually.
func healthJobsOf(ctx context.Context, ns, ecu string) func(g Gomega) []diagv1.DiagnosticJob {
	return func(g Gomega) []diagv1.DiagnosticJob {
		var list diagv1.DiagnosticJobList
		g.Expect(k8s.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{diagv1.HealthCheckLabel: ecu})).To(Succeed())
		return list.Items
	}
}

// runningHealthJob returns a function that finds the ECU's Running health job (nil: none).
func runningHealthJob(ctx context.Context, ns, ecu string) func(g Gomega) *diagv1.DiagnosticJob {
	return func(g Gomega) *diagv1.DiagnosticJob {
		jobs := healthJobsOf(ctx, ns, ecu)(g)
		if i := slices.IndexFunc(jobs, func(j diagv1.DiagnosticJob) bool { return j.Status.Phase == diagv1.JobRunning }); i >= 0 {
			return &jobs[i]
		}
		return nil
	}
}

// failStep ends a job this agent runs (held) Failed at step with an NRC, as the agent reports
// a negative response that missed the step's expectation.
func (a *testAgent) failStep(ctx context.Context, key types.NamespacedName, step, nrc string) error {
	a.endRun(key)
	var j diagv1.DiagnosticJob
	if err := a.c.Get(ctx, key, &j); err != nil {
		return err
	}
	_, err := a.patchStatus(ctx, &j, func(st *diagv1.DiagnosticJobStatus) {
		done(diagv1.JobFailed, diagv1.ReasonStepFailed)(st)
		st.Steps = []diagv1.StepStatus{{Name: step, Phase: diagv1.StepFailed, NRC: nrc, Message: "want a positive response"}}
	})
	return err
}
