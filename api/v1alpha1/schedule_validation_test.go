package v1alpha1_test

import (
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
)

// validSchedule is the baseline each refused-schedule entry changes in exactly one way.
func validSchedule(ns, schedule string) *builders.ScheduleWrapper {
	return builders.MakeSchedule("nightly", ns, schedule).Template(validJob(ns))
}

// fanOutSchedule is a forEachECU schedule whose template names its ECUs by an empty selector.
func fanOutSchedule(ns string) *builders.ScheduleWrapper {
	return builders.MakeSchedule("rack", ns, "@every 2s").ForEachECU(map[string]string{"rack": "a"}).
		Template(builders.MakeJob("t", ns).ECUSelector(nil).Step(builders.ReadDID("vin", 0xF190)))
}

var _ = Describe("The API server, for DiagnosticSchedules,", func() {
	var ns string
	BeforeEach(func(ctx SpecContext) { ns = newNamespace(ctx) })

	DescribeTable("refuses an invalid schedule with a message naming the field",
		func(ctx SpecContext, build func(ns string) client.Object, wants ...string) {
			expectRefused(ctx, build(ns), wants...)
		},
		Entry("4 cron fields", func(ns string) client.Object {
			return validSchedule(ns, "0 2 * *").Obj()
		}, "spec.schedule", "schedule must be 5 cron fields"),
		Entry("6 cron fields", func(ns string) client.Object {
			return validSchedule(ns, "0 0 2 * * *").Obj()
		}, "spec.schedule", "schedule must be 5 cron fields"),
		Entry("an unknown @ form", func(ns string) client.Object {
			return validSchedule(ns, "@fortnightly").Obj()
		}, "spec.schedule", "schedule must be 5 cron fields"),
		Entry("@every without a Go duration", func(ns string) client.Object {
			return validSchedule(ns, "@every 2 days").Obj()
		}, "spec.schedule", "with a Go duration"),
		Entry("an empty schedule", func(ns string) client.Object {
			return validSchedule(ns, "").Obj()
		}, "spec.schedule", "at least 1 chars"),
		Entry("an empty time zone", func(ns string) client.Object {
			return validSchedule(ns, "@daily").TimeZone("").Obj()
		}, "spec.timeZone", "at least 1 chars"),
		Entry("a time zone with a space", func(ns string) client.Object {
			return validSchedule(ns, "@daily").TimeZone("Europe/ Berlin").Obj()
		}, "spec.timeZone", "should match"),
		Entry("an unknown concurrency policy", func(ns string) client.Object {
			return validSchedule(ns, "@daily").Concurrency("Sometimes").Obj()
		}, "spec.concurrencyPolicy", "Unsupported value"),
		Entry("a zero startingDeadlineSeconds", func(ns string) client.Object {
			return validSchedule(ns, "@daily").StartingDeadline(0).Obj()
		}, "spec.startingDeadlineSeconds", "greater than or equal to 1"),
		Entry("a negative history limit", func(ns string) client.Object {
			return validSchedule(ns, "@daily").History(-1, 1).Obj()
		}, "spec.successfulRunsHistoryLimit", "greater than or equal to 0"),
		Entry("forEachECU with a template naming an ECU", func(ns string) client.Object {
			return builders.MakeSchedule("rack", ns, "@daily").ForEachECU(nil).Template(validJob(ns)).Obj()
		}, "spec.jobTemplate.spec.ecuRef", "forEachECU sets each job's ecuRef"),
		Entry("a template naming no ECU without forEachECU", func(ns string) client.Object {
			return builders.MakeSchedule("one", ns, "@daily").Template(builders.MakeJob("t", ns).Step(builders.ReadDID("vin", 0xF190))).Obj()
		}, "spec.jobTemplate.spec", "exactly one of ecuRef or ecuSelector must be set"),
		Entry("a template without steps", func(ns string) client.Object {
			return builders.MakeSchedule("one", ns, "@daily").Template(builders.MakeJob("t", ns).ECU("sim-0")).Obj()
		}, "spec.jobTemplate.spec.steps", "Required value"),
	)

	DescribeTable("accepts every schedule form the controller parses",
		func(ctx SpecContext, schedule string) {
			Expect(k8s.Create(ctx, validSchedule(ns, schedule).TimeZone("Europe/Berlin").Obj())).To(Succeed())
		},
		Entry("5 fields with ranges, steps and lists", "*/15 2-4 1,15 * MON-FRI"),
		Entry("@hourly", "@hourly"),
		Entry("@daily", "@daily"),
		Entry("@weekly", "@weekly"),
		Entry("@every with a compound duration", "@every 1h30m"),
		Entry("@every with a fraction", "@every 1.5s"),
	)

	It("accepts the schedule samples of config/samples/schedules, each listed in its kustomization", func(ctx SpecContext) {
		files, err := filepath.Glob("../../config/samples/schedules/*.yaml")
		Expect(err).NotTo(HaveOccurred())
		kust, err := os.ReadFile("../../config/samples/schedules/kustomization.yaml")
		Expect(err).NotTo(HaveOccurred())
		created := 0
		for _, file := range files {
			if filepath.Base(file) == "kustomization.yaml" {
				continue
			}
			Expect(string(kust)).To(ContainSubstring("- "+filepath.Base(file)), "the kustomization lists %s", file)
			data, err := os.ReadFile(file)
			Expect(err).NotTo(HaveOccurred())
			for _, doc := range strings.Split(string(data), "\n---\n") {
				var sched diagv1.DiagnosticSchedule
				Expect(yaml.UnmarshalStrict([]byte(doc), &sched)).To(Succeed(), "decoding %s strictly", file)
				sched.Namespace = ns
				Expect(k8s.Create(ctx, &sched)).To(Succeed(), "creating %s from %s", sched.Name, file)
				created++
			}
		}
		Expect(created).To(BeNumerically(">=", 2))
	})

	It("defaults concurrencyPolicy to Forbid and the history limits to 3 and 1", func(ctx SpecContext) {
		s := fanOutSchedule(ns).Obj()
		Expect(k8s.Create(ctx, s)).To(Succeed())
		Expect(s.Spec.ConcurrencyPolicy).To(Equal(diagv1.ConcurrencyForbid))
		Expect(s.Spec.SuccessfulRunsHistoryLimit).To(Equal(ptr.To[int32](3)))
		Expect(s.Spec.FailedRunsHistoryLimit).To(Equal(ptr.To[int32](1)))
		Expect(s.Spec.Suspend).To(BeFalse())
	})

	It("accepts a forEachECU template that names no ECU, and lets a template's steps change", func(ctx SpecContext) {
		s := builders.MakeSchedule("fan-out", ns, "@daily").ForEachECU(map[string]string{"rack": "a"}).
			Template(builders.MakeJob("t", ns).Step(builders.ReadDID("vin", 0xF190))).Obj()
		Expect(k8s.Create(ctx, s)).To(Succeed(), "forEachECU picks the ECU: the template needs no target")
		s.Spec.JobTemplate.Spec.Steps = append(s.Spec.JobTemplate.Spec.Steps, *builders.ReadDTCs("dtcs", 0xFF).Obj())
		s.Spec.JobTemplate.Spec.Priority = 5
		Expect(k8s.Update(ctx, s)).To(Succeed(), "a job's steps are immutable, a schedule's template is not")
	})
})
