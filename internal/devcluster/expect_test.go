package devcluster

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
)

var _ = Describe("demo expectations", func() {
	var t0 time.Time
	BeforeEach(func() { t0 = time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC) })

	// finished returns a copy of job that ended in phase at done, started at start.
	finished := func(job *diagv1.DiagnosticJob, phase diagv1.JobPhase, start, done time.Time, steps ...diagv1.StepStatus) *diagv1.DiagnosticJob {
		j := job.DeepCopy()
		j.Status.Phase, j.Status.Steps = phase, steps
		j.Status.StartTime, j.Status.CompletionTime = &metav1.Time{Time: start}, &metav1.Time{Time: done}
		return j
	}
	annotated := func(name string, ann map[string]string) *diagv1.DiagnosticJob {
		j := builders.MakeJob(name, "default").ECU("e1").Steps(builders.ReadDID("vin", 0xF190), builders.TesterPresent("tp")).Obj()
		j.Annotations = ann
		return j
	}

	It("passes a job that ended as annotated, step phases included", func() {
		job := annotated("neg", map[string]string{AnnotationExpect: "Failed", AnnotationExpectSteps: " vin = Failed , tp=Skipped "})
		e, err := parseExpectation(job)
		Expect(err).NotTo(HaveOccurred())
		got := finished(job, diagv1.JobFailed, t0, t0.Add(time.Second),
			diagv1.StepStatus{Name: "vin", Phase: diagv1.StepFailed}, diagv1.StepStatus{Name: "tp", Phase: diagv1.StepSkipped})
		Expect(e.check(got, nil)).To(BeEmpty())
	})

	It("reports the phase, each step that differs, and a missing step result", func() {
		job := annotated("neg", map[string]string{AnnotationExpect: "Failed", AnnotationExpectSteps: "vin=Failed,tp=Skipped"})
		e, err := parseExpectation(job)
		Expect(err).NotTo(HaveOccurred())
		got := finished(job, diagv1.JobSucceeded, t0, t0.Add(time.Second), diagv1.StepStatus{Name: "vin", Phase: diagv1.StepPassed})
		got.Status.Message = "All 2 steps passed"
		Expect(e.check(got, nil)).To(Equal([]string{
			"phase is Succeeded, expected Failed (All 2 steps passed)",
			"step vin is Passed, expected Failed (none)",
			"step tp has no result, expected Skipped",
		}))
	})

	It("reports a job that never ran", func() {
		job := annotated("j", map[string]string{AnnotationExpect: "Succeeded"})
		e, err := parseExpectation(job)
		Expect(err).NotTo(HaveOccurred())
		Expect(e.check(job, nil)).To(Equal([]string{"phase is none, expected Succeeded (no message)"}))
	})

	Describe("finishes-before", func() {
		var high, low *diagv1.DiagnosticJob
		var e expectation
		BeforeEach(func() {
			high = annotated("high", map[string]string{AnnotationExpect: "Succeeded", AnnotationFinishesBefore: "low"})
			high.Spec.Priority = 100
			low = annotated("low", map[string]string{AnnotationExpect: "Succeeded"})
			var err error
			e, err = parseExpectation(high)
			Expect(err).NotTo(HaveOccurred())
		})

		It("passes when the other job started after this one finished, or in the same second", func() {
			h := finished(high, diagv1.JobSucceeded, t0, t0.Add(2*time.Second))
			Expect(e.check(h, map[string]*diagv1.DiagnosticJob{"low": finished(low, diagv1.JobSucceeded, t0.Add(3*time.Second), t0.Add(5*time.Second))})).To(BeEmpty())
			Expect(e.check(h, map[string]*diagv1.DiagnosticJob{"low": finished(low, diagv1.JobSucceeded, t0.Add(2*time.Second), t0.Add(5*time.Second))})).To(BeEmpty())
		})

		It("fails when the other job started first", func() {
			h := finished(high, diagv1.JobSucceeded, t0.Add(3*time.Second), t0.Add(5*time.Second))
			l := finished(low, diagv1.JobSucceeded, t0, t0.Add(2*time.Second))
			Expect(e.check(h, map[string]*diagv1.DiagnosticJob{"low": l})).To(ConsistOf(
				"finished at 12:00:05, after low started at 12:00:00: expected it to run first (priority 100 vs 0)"))
		})

		It("fails when either time is missing or the other job is gone", func() {
			h := finished(high, diagv1.JobSucceeded, t0, t0.Add(time.Second))
			Expect(e.check(h, map[string]*diagv1.DiagnosticJob{"low": low})).To(ConsistOf(ContainSubstring("low has no startTime")))
			Expect(e.check(h, nil)).To(ConsistOf("the job it must finish before does not exist"))
			h.Status.CompletionTime = nil
			l := finished(low, diagv1.JobSucceeded, t0, t0)
			Expect(e.check(h, map[string]*diagv1.DiagnosticJob{"low": l})).To(ConsistOf(ContainSubstring("has no completionTime")))
		})
	})
})
