package e2e

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

var _ = Describe("an agent lost mid-job", func() {
	It("fails the attempt with AgentLost and finishes the job on another agent, every step result once", func(ctx SpecContext) {
		ns := newNamespace(ctx, "e2e-agent-loss")
		h := record(ns)
		s := startSims(ctx, ns, 1)[0]

		job := taggedJob(ns, "survivor", s, jobTag(1), 8*time.Second)
		job.Spec.BackoffLimit = new(int32(1))
		Expect(k8s.Create(ctx, job)).To(Succeed())

		By("waiting until the first steps' results are written, then killing the job's agent with SIGKILL")
		key := client.ObjectKeyFromObject(job)
		var victim string
		Eventually(ctx, func(g Gomega) {
			got := &diagv1.DiagnosticJob{}
			g.Expect(k8s.Get(ctx, key, got)).To(Succeed())
			g.Expect(got.Status.Phase).To(Equal(diagv1.JobRunning))
			g.Expect(got.Status.Steps).NotTo(BeEmpty())
			g.Expect(got.Status.Steps[1].Phase).To(Equal(diagv1.StepPassed), "the write step has not finished yet")
			victim = got.Status.Agent
		}).Should(Succeed())
		kill(agents[victim])
		DeferCleanup(func(ctx SpecContext) {
			agents[victim] = startAgent(ctx, victim) // the next specs want all agents back
			waitAgentReady(ctx, victim, true)
		})

		By("waiting for the retry on another agent")
		done := finalJobs(ctx, ns, 1, 2*time.Minute)["survivor"]
		expectTaggedResult(Default, done, s, jobTag(1), 2)
		Expect(done.Status.Agent).NotTo(Equal(victim))
		Expect(done.Status.Steps[2].DurationMillis).To(BeNumerically(">=", 8000), "the retry ran the whole hold again")
		waitAgentReady(ctx, victim, false)

		By("checking the job's history: attempt 1 on the killed agent, AgentLost, attempt 2 elsewhere")
		Eventually(func() []jobState { return h.Job("survivor") }).Should(ContainElement(HaveField("Phase", diagv1.JobSucceeded)))
		Expect(h.Gaps()).To(BeEmpty())
		states := h.Job("survivor")
		lost := -1
		for i, st := range states {
			if st.Reason == diagv1.ReasonAgentLost && lost < 0 {
				lost = i
				Expect(st.Phase).To(Equal(diagv1.JobQueued), "after AgentLost the job is queued again: %+v", st)
				Expect(st.Attempts).To(BeEquivalentTo(1))
			}
			switch {
			case lost < 0 && st.Agent != "":
				Expect(st.Agent).To(Equal(victim), "attempt 1 ran on one agent: %+v", states)
			case lost >= 0 && st.Agent != "":
				Expect(st.Agent).NotTo(Equal(victim), "attempt 2 never went back to the killed agent: %+v", states)
			}
		}
		Expect(lost).To(BeNumerically(">", 0), "no state with reason AgentLost: %+v", states)
		Expect(h.Holders(s.ecu)).To(Equal([]string{"survivor"}))
	}, SpecTimeout(3*time.Minute))
})
