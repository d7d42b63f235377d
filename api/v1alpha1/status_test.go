package v1alpha1_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

var _ = Describe("DiagnosticJob status", func() {
	var job *diagv1.DiagnosticJob

	BeforeEach(func(ctx SpecContext) {
		job = validJob(newNamespace(ctx)).Obj()
		Expect(k8s.Create(ctx, job)).To(Succeed())
	})

	// writeStatus sets the status through the status subresource, as the controller does.
	writeStatus := func(ctx SpecContext, edit func(*diagv1.DiagnosticJobStatus)) error {
		edit(&job.Status)
		return k8s.Status().Update(ctx, job)
	}
	// expectRefused checks the write was refused as invalid and names the field.
	expectRefused := func(err error, field, message string) {
		Expect(err).To(HaveOccurred())
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid status error, got %v", err)
		Expect(err.Error()).To(ContainSubstring(field))
		Expect(err.Error()).To(ContainSubstring(message))
	}
	// stored reads the job back from the API server.
	stored := func(ctx SpecContext) *diagv1.DiagnosticJob {
		got := &diagv1.DiagnosticJob{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(job), got)).To(Succeed())
		return got
	}

	It("lets status.agent go from empty to an agent, back to empty, then to another agent", func(ctx SpecContext) {
		Expect(writeStatus(ctx, func(s *diagv1.DiagnosticJobStatus) {
			s.Phase, s.ECU, s.Agent, s.Attempts = diagv1.JobScheduled, "sim-0", "agent-a", 1
		})).To(Succeed())
		Expect(stored(ctx).Status.Agent).To(Equal("agent-a"))

		Expect(writeStatus(ctx, func(s *diagv1.DiagnosticJobStatus) {
			s.Phase, s.ECU, s.Agent, s.Reason = diagv1.JobQueued, "", "", diagv1.ReasonAgentLost
		})).To(Succeed())
		Expect(stored(ctx).Status.Agent).To(BeEmpty())

		Expect(writeStatus(ctx, func(s *diagv1.DiagnosticJobStatus) {
			s.Phase, s.ECU, s.Agent, s.Attempts = diagv1.JobScheduled, "sim-0", "agent-b", 2
		})).To(Succeed())
		Expect(stored(ctx).Status.Agent).To(Equal("agent-b"))
	})

	It("refuses to move status.agent from one agent to another", func(ctx SpecContext) {
		Expect(writeStatus(ctx, func(s *diagv1.DiagnosticJobStatus) { s.Agent = "agent-a" })).To(Succeed())
		expectRefused(writeStatus(ctx, func(s *diagv1.DiagnosticJobStatus) { s.Agent = "agent-b" }),
			"status.agent", "status.agent is write-once per attempt")
		Expect(stored(ctx).Status.Agent).To(Equal("agent-a"))
	})

	It("lets status.attempts grow and stay, and refuses a decrease or a reset to zero", func(ctx SpecContext) {
		Expect(writeStatus(ctx, func(s *diagv1.DiagnosticJobStatus) { s.Attempts = 1 })).To(Succeed())
		Expect(writeStatus(ctx, func(s *diagv1.DiagnosticJobStatus) { s.Attempts = 3 })).To(Succeed())
		Expect(writeStatus(ctx, func(s *diagv1.DiagnosticJobStatus) { s.Message = "same attempts" })).To(Succeed())

		job = stored(ctx)
		expectRefused(writeStatus(ctx, func(s *diagv1.DiagnosticJobStatus) { s.Attempts = 2 }),
			"status.attempts", "status.attempts never decreases")
		job = stored(ctx)
		expectRefused(writeStatus(ctx, func(s *diagv1.DiagnosticJobStatus) { s.Attempts = 0 }),
			"status.attempts", "status.attempts never decreases")
		Expect(stored(ctx).Status.Attempts).To(BeEquivalentTo(3))
	})

	It("refuses an unknown phase", func(ctx SpecContext) {
		expectRefused(writeStatus(ctx, func(s *diagv1.DiagnosticJobStatus) { s.Phase = "Exploded" }),
			"status.phase", "Unsupported value")
	})

	It("refuses two results for one step name", func(ctx SpecContext) {
		expectRefused(writeStatus(ctx, func(s *diagv1.DiagnosticJobStatus) {
			s.Steps = []diagv1.StepStatus{{Name: "vin", Phase: diagv1.StepPassed}, {Name: "vin", Phase: diagv1.StepFailed}}
		}), "status.steps[1]", "Duplicate value")
	})

	It("keeps the status out of spec writes", func(ctx SpecContext) {
		job.Status.Agent = "agent-a"
		Expect(k8s.Update(ctx, job)).To(Succeed())
		Expect(stored(ctx).Status.Agent).To(BeEmpty(), "an update of the main resource must not write status")
	})
})
