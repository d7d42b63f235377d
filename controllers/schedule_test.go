package controllers_test

import (
	"context"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/controllers"
	"github.com/ecufleet/ecufleet/internal/builders"
)

// scheduleOf returns a function that reads a schedule, for Eventually.
func scheduleOf(ctx context.Context, ns, name string) func(g Gomega) *diagv1.DiagnosticSchedule {
	return func(g Gomega) *diagv1.DiagnosticSchedule {
		var s diagv1.DiagnosticSchedule
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &s)).To(Succeed())
		return &s
	}
}

// runsOf returns a function that lists a schedule's jobs grouped by run id, for Eventually.
func runsOf(ctx context.Context, ns, schedule string) func(g Gomega) map[string][]diagv1.DiagnosticJob {
	return func(g Gomega) map[string][]diagv1.DiagnosticJob {
		var list diagv1.DiagnosticJobList
		g.Expect(k8s.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{diagv1.ScheduleLabel: schedule})).To(Succeed())
		runs := map[string][]diagv1.DiagnosticJob{}
		for _, j := range list.Items {
			id := j.Labels[diagv1.RunLabel]
			runs[id] = append(runs[id], j)
		}
		return runs
	}
}

// unfinishedRuns counts the runs with a job that has not finished.
func unfinishedRuns(runs map[string][]diagv1.DiagnosticJob) int {
	n := 0
	for _, jobs := range runs {
		if slices.ContainsFunc(jobs, func(j diagv1.DiagnosticJob) bool { return !j.Status.IsFinal() }) {
			n++
		}
	}
	return n
}

// everyTwoSeconds is a schedule of one job on ecu-0 every 2 seconds.
func everyTwoSeconds(ns, name string) *builders.ScheduleWrapper {
	return builders.MakeSchedule(name, ns, "@every 2s").Template(readVIN(ns, "t", "ecu-0").Label("team", "body"))
}

// skipped reads ecufleet_schedule_runs_total for skipped ticks of a schedule with reason.
func skipped(ns, name, reason string) float64 {
	return metricValue("ecufleet_schedule_runs_total", map[string]string{"namespace": ns, "schedule": name, "result": "skipped", "reason": reason})
}

var _ = Describe("A DiagnosticSchedule", func() {
	var ns string
	BeforeEach(func(ctx SpecContext) { ns = newNamespace(ctx) })

	It("runs @every 2s several times, labels and owns its jobs, and keeps the history limits", func(ctx SpecContext) {
		newAgent(ctx, ns, ns+"-a", 4, nil)
		newECU(ctx, ns, "ecu-0", nil)
		s := everyTwoSeconds(ns, "often").History(2, 1).Obj()
		Expect(k8s.Create(ctx, s)).To(Succeed())

		seen := map[string]bool{}
		Eventually(func(g Gomega) int {
			if r := scheduleOf(ctx, ns, "often")(g).Status.LastRun; r != nil && r.Succeeded == 1 {
				seen[r.ID] = true
			}
			return len(seen)
		}).WithTimeout(60 * time.Second).Should(BeNumerically(">=", 4))
		Eventually(func(g Gomega) {
			runs := runsOf(ctx, ns, "often")(g)
			g.Expect(len(runs) - unfinishedRuns(runs)).To(BeNumerically("<=", 2))
		}).Should(Succeed(), "finished runs beyond successfulRunsHistoryLimit 2 are deleted")
		for _, jobs := range runsOf(ctx, ns, "often")(Default) {
			Expect(jobs).To(HaveLen(1))
			j := jobs[0]
			Expect(j.Name).To(Equal(j.Labels[diagv1.RunLabel]))
			Expect(j.Labels).To(HaveKeyWithValue("team", "body"))
			Expect(j.Annotations).To(HaveKey(diagv1.ScheduledTimeAnnotation))
			Expect(metav1.GetControllerOf(&j)).To(HaveField("UID", s.UID))
		}
		got := scheduleOf(ctx, ns, "often")(Default)
		Expect(got.Status.LastSuccessfulTime).NotTo(BeNil())
		Expect(conditionOf(got.Status.Conditions, diagv1.ConditionValid)).To(beCondition(metav1.ConditionTrue, diagv1.ReasonScheduleValid))
		Expect(metricValue("ecufleet_schedule_runs_total", map[string]string{"namespace": ns, "schedule": "often", "result": "started"})).To(BeNumerically(">=", 4))
		Expect(metricValue("ecufleet_schedule_last_run_failed", map[string]string{"namespace": ns, "schedule": "often"})).To(BeZero())
	})

	It("fans out one job per ECU matching forEachECU, with ecuRef set", func(ctx SpecContext) {
		newAgent(ctx, ns, ns+"-a", 4, nil)
		newECU(ctx, ns, "bcm", map[string]string{"rack": "a"})
		newECU(ctx, ns, "gw", map[string]string{"rack": "a"})
		newECU(ctx, ns, "other", map[string]string{"rack": "b"})
		Expect(k8s.Create(ctx, builders.MakeSchedule("rack", ns, "@every 2s").ForEachECU(map[string]string{"rack": "a"}).
			Template(builders.MakeJob("t", ns).ECUSelector(nil).Step(builders.ReadDID("vin", 0xF190))).Obj())).To(Succeed())

		Eventually(scheduleOf(ctx, ns, "rack")).Should(HaveField("Status.LastRun", And(Not(BeNil()),
			HaveField("Jobs", int32(2)), HaveField("Succeeded", int32(2)))))
		id := scheduleOf(ctx, ns, "rack")(Default).Status.LastRun.ID
		jobs := runsOf(ctx, ns, "rack")(Default)[id]
		Expect(jobs).To(ConsistOf(
			And(HaveField("Name", id+"-bcm"), HaveField("Spec.ECURef.Name", "bcm"), HaveField("Spec.ECUSelector", BeNil())),
			And(HaveField("Name", id+"-gw"), HaveField("Spec.ECURef.Name", "gw"), HaveField("Spec.ECUSelector", BeNil()))))
	})

	It("with Forbid skips ticks while its run is unfinished", func(ctx SpecContext) {
		a := newAgent(ctx, ns, ns+"-a", 4, nil)
		a.hold.Store(true)
		newECU(ctx, ns, "ecu-0", nil)
		Expect(k8s.Create(ctx, everyTwoSeconds(ns, "forbid").Obj())).To(Succeed())

		Eventually(runsOf(ctx, ns, "forbid")).Should(HaveLen(1))
		// The run's jobs exist before the status that names the run is written.
		Eventually(scheduleOf(ctx, ns, "forbid")).Should(HaveField("Status.LastRun", Not(BeNil())))
		first := scheduleOf(ctx, ns, "forbid")(Default).Status.LastRun.ID
		Eventually(func() float64 { return skipped(ns, "forbid", diagv1.ReasonForbid) }).Should(BeNumerically(">=", 2))
		Expect(runsOf(ctx, ns, "forbid")(Default)).To(HaveLen(1), "no run while the first one holds the ECU")
		Eventually(eventReasons).WithArguments(ctx, ns, "DiagnosticSchedule", "forbid").Should(ContainElement("Skipped"))

		Eventually(func() error {
			return a.finish(ctx, client.ObjectKey{Namespace: ns, Name: first}, diagv1.JobSucceeded, diagv1.ReasonSucceeded)
		}).Should(Succeed())
		Eventually(runsOf(ctx, ns, "forbid")).Should(HaveLen(2), "the next tick runs once the first run finished")
	})

	It("with Allow creates runs beside unfinished ones", func(ctx SpecContext) {
		a := newAgent(ctx, ns, ns+"-a", 4, nil)
		a.hold.Store(true)
		newECU(ctx, ns, "ecu-0", nil)
		Expect(k8s.Create(ctx, everyTwoSeconds(ns, "allow").Concurrency(diagv1.ConcurrencyAllow).Obj())).To(Succeed())
		Eventually(func(g Gomega) int { return unfinishedRuns(runsOf(ctx, ns, "allow")(g)) }).Should(BeNumerically(">=", 2))
		Eventually(scheduleOf(ctx, ns, "allow")).Should(HaveField("Status.Active", HaveLen(2)))
	})

	It("with Replace deletes the unfinished run and creates the new one", func(ctx SpecContext) {
		a := newAgent(ctx, ns, ns+"-a", 4, nil)
		a.hold.Store(true)
		newECU(ctx, ns, "ecu-0", nil)
		Expect(k8s.Create(ctx, everyTwoSeconds(ns, "replace").Concurrency(diagv1.ConcurrencyReplace).Obj())).To(Succeed())
		Eventually(runsOf(ctx, ns, "replace")).Should(HaveLen(1))
		var first string
		for id := range runsOf(ctx, ns, "replace")(Default) {
			first = id
		}
		Eventually(func() bool {
			err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: first}, &diagv1.DiagnosticJob{})
			return apierrors.IsNotFound(err)
		}).Should(BeTrue(), "the first run's job is deleted by the next tick")
		Eventually(func(g Gomega) []string {
			var ids []string
			for id := range runsOf(ctx, ns, "replace")(g) {
				ids = append(ids, id)
			}
			return ids
		}).Should(ContainElement(Not(Equal(first))))
		Expect(eventReasons(ctx, ns, "DiagnosticSchedule", "replace")).To(ContainElement("Replaced"))
	})

	It("completes a tick whose run was partly created before a restart, without a duplicate", func(ctx SpecContext) {
		newAgent(ctx, ns, ns+"-a", 4, nil)
		newECU(ctx, ns, "bcm", map[string]string{"rack": "a"})
		newECU(ctx, ns, "gw", map[string]string{"rack": "a"})
		s := builders.MakeSchedule("mid", ns, "@every 3s").History(20, 20).ForEachECU(map[string]string{"rack": "a"}).
			Template(builders.MakeJob("t", ns).ECUSelector(nil).Step(builders.ReadDID("vin", 0xF190))).Obj()
		Expect(k8s.Create(ctx, s)).To(Succeed())

		By("creating the bcm job of the first tick as a controller that crashed after it would have")
		tick := s.CreationTimestamp.Add(3 * time.Second)
		pre := controllers.ScheduleRunJobs(s, tick, []string{"bcm"})[0]
		Expect(k8s.Create(ctx, pre)).To(Succeed())

		id := controllers.ScheduleRunID("mid", tick)
		Eventually(func(g Gomega) []diagv1.DiagnosticJob { return runsOf(ctx, ns, "mid")(g)[id] }).Should(HaveLen(2))
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(pre), pre)).To(Succeed())
		Expect(pre.UID).To(Equal(runsOf(ctx, ns, "mid")(Default)[id][slices.IndexFunc(runsOf(ctx, ns, "mid")(Default)[id],
			func(j diagv1.DiagnosticJob) bool { return j.Name == pre.Name })].UID), "the pre-created job is kept, not recreated")
		Eventually(scheduleOf(ctx, ns, "mid")).Should(HaveField("Status.LastScheduleTime.Time", BeTemporally(">=", tick)))
		Consistently(func(g Gomega) {
			for runID, jobs := range runsOf(ctx, ns, "mid")(g) {
				ecus := map[string]bool{}
				for _, j := range jobs {
					g.Expect(ecus).NotTo(HaveKey(j.Spec.ECURef.Name), "run %s has two jobs for ECU %s", runID, j.Spec.ECURef.Name)
					ecus[j.Spec.ECURef.Name] = true
				}
			}
		}, 4*time.Second).Should(Succeed())
		Eventually(func(g Gomega) float64 {
			return metricValue("ecufleet_schedule_runs_total", map[string]string{"namespace": ns, "schedule": "mid", "result": "started"}) -
				float64(len(runsOf(ctx, ns, "mid")(g)))
		}).Should(BeZero(), "each run is counted once, the completed one too")
	})

	It("after controller downtime creates one catch-up run, for the most recent missed tick", func(ctx SpecContext) {
		newAgent(ctx, ns, ns+"-a", 4, nil)
		newECU(ctx, ns, "ecu-0", nil)
		Expect(k8s.Create(ctx, everyTwoSeconds(ns, "down").History(20, 20).Obj())).To(Succeed())
		Eventually(runsOf(ctx, ns, "down")).Should(HaveLen(1))

		var stopped, restarted time.Time
		restartController(func() {
			stopped = time.Now()
			time.Sleep(7 * time.Second)
			restarted = time.Now()
		})
		// ticksAfterStop are the ticks of the runs created for ticks after the stop, sorted.
		ticksAfterStop := func(g Gomega) []time.Time {
			var ticks []time.Time
			for _, jobs := range runsOf(ctx, ns, "down")(g) {
				t, err := time.Parse(time.RFC3339, jobs[0].Annotations[diagv1.ScheduledTimeAnnotation])
				g.Expect(err).NotTo(HaveOccurred())
				if t.After(stopped.Add(time.Second)) {
					ticks = append(ticks, t)
				}
			}
			slices.SortFunc(ticks, time.Time.Compare)
			return ticks
		}
		Eventually(ticksAfterStop).ShouldNot(BeEmpty())
		Expect(ticksAfterStop(Default)[0]).To(BeTemporally(">=", restarted.Add(-2*time.Second).Truncate(time.Second)),
			"the catch-up run is for the most recent missed tick, not the first")
		Consistently(func(g Gomega) int {
			n := 0
			for _, t := range ticksAfterStop(g) {
				if !t.After(restarted) {
					n++
				}
			}
			return n
		}, 3*time.Second).Should(BeNumerically("<=", 1), "at most one run for the ticks of the downtime")
	})

	It("runs nothing while suspended and resumes when resumed", func(ctx SpecContext) {
		newAgent(ctx, ns, ns+"-a", 4, nil)
		newECU(ctx, ns, "ecu-0", nil)
		Expect(k8s.Create(ctx, everyTwoSeconds(ns, "paused").Suspend().Obj())).To(Succeed())
		Eventually(func() float64 { return skipped(ns, "paused", diagv1.ReasonSuspended) }).Should(BeNumerically(">=", 2))
		Expect(runsOf(ctx, ns, "paused")(Default)).To(BeEmpty())
		Expect(scheduleOf(ctx, ns, "paused")(Default).Status.LastScheduleTime).NotTo(BeNil())

		Eventually(func() error {
			s := scheduleOf(ctx, ns, "paused")(Default)
			s.Spec.Suspend = false
			return k8s.Update(ctx, s)
		}).Should(Succeed())
		Eventually(runsOf(ctx, ns, "paused")).ShouldNot(BeEmpty())
	})

	DescribeTable("reports a schedule the parser refuses in the Valid condition and runs nothing",
		func(ctx SpecContext, build func(*builders.ScheduleWrapper), want string) {
			w := everyTwoSeconds(ns, "bad")
			build(w)
			Expect(k8s.Create(ctx, w.Obj())).To(Succeed())
			Eventually(func(g Gomega) metav1.Condition {
				return conditionOf(scheduleOf(ctx, ns, "bad")(g).Status.Conditions, diagv1.ConditionValid)
			}).Should(And(beCondition(metav1.ConditionFalse, diagv1.ReasonInvalidSchedule), HaveField("Message", ContainSubstring(want))))
			Consistently(runsOf(ctx, ns, "bad"), 3*time.Second).Should(BeEmpty())
		},
		Entry("a minute out of range", func(w *builders.ScheduleWrapper) { w.Spec.Schedule = "61 * * * *" }, "above maximum (59)"),
		Entry("an unknown time zone", func(w *builders.ScheduleWrapper) { w.TimeZone("Mars/Olympus_Mons") }, `spec.timeZone "Mars/Olympus_Mons"`),
	)
})
