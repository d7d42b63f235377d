package v1alpha1_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
)

var _ = Describe("An ECU health check", func() {
	var ns string
	BeforeEach(func(ctx SpecContext) { ns = newNamespace(ctx) })

	It("defaults periodSeconds to 3600 and failureThreshold to 1", func(ctx SpecContext) {
		ecu := builders.MakeECU("checked", ns).HealthCheck(0, 0, builders.ReadDID("vin", 0xF190)).Obj()
		Expect(k8s.Create(ctx, ecu)).To(Succeed())
		Expect(ecu.Spec.HealthCheck.PeriodSeconds).To(BeEquivalentTo(3600))
		Expect(ecu.Spec.HealthCheck.FailureThreshold).To(BeEquivalentTo(1))
		Expect(ecu.Spec.HealthCheck.Steps).To(HaveLen(1))
	})

	DescribeTable("is refused with the field named",
		func(ctx SpecContext, hc *diagv1.HealthCheckSpec, wants ...string) {
			ecu := builders.MakeECU("invalid", ns).Obj()
			ecu.Spec.HealthCheck = hc
			err := k8s.Create(ctx, ecu)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid status error, got %v", err)
			for _, want := range wants {
				Expect(err.Error()).To(ContainSubstring(want))
			}
		},
		Entry("a period under 10 s", &diagv1.HealthCheckSpec{PeriodSeconds: 5, Steps: []diagv1.Step{builders.TesterPresent("tp").Step}},
			"spec.healthCheck.periodSeconds", "greater than or equal to 10"),
		Entry("a negative failure threshold", &diagv1.HealthCheckSpec{FailureThreshold: -1, Steps: []diagv1.Step{builders.TesterPresent("tp").Step}},
			"spec.healthCheck.failureThreshold", "greater than or equal to 1"),
		Entry("no steps", &diagv1.HealthCheckSpec{Steps: []diagv1.Step{}},
			"spec.healthCheck.steps", "at least 1 items"),
		Entry("a step with two actions", &diagv1.HealthCheckSpec{Steps: []diagv1.Step{func() diagv1.Step {
			s := builders.ReadDID("vin", 0xF190)
			s.Delay = &diagv1.DelayAction{}
			return s.Step
		}()}}, "spec.healthCheck.steps[0]", "exactly one action must be set"),
	)
})
