package controllers_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// expectedOrder sorts jobs by the documented queue order (priority, then creation time, then
// name), from the objects the API server stored.
func expectedOrder(jobs []*diagv1.DiagnosticJob) []string {
	sorted := slices.Clone(jobs)
	slices.SortStableFunc(sorted, func(a, b *diagv1.DiagnosticJob) int {
		if a.Spec.Priority != b.Spec.Priority {
			return cmp.Compare(b.Spec.Priority, a.Spec.Priority)
		}
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Compare(b.CreationTimestamp.Time)
		}
		return cmp.Compare(a.Name, b.Name)
	})
	var names []string
	for _, j := range sorted {
		names = append(names, j.Name)
	}
	return names
}

// nextSecond waits until the wall clock is in a later second than t, so that the next object
// gets a later creationTimestamp (it has one-second resolution).
func nextSecond(t time.Time) {
	GinkgoHelper()
	Eventually(func() bool { return time.Now().Truncate(time.Second).After(t) }).Should(BeTrue())
}

// expectPositions waits until each named job is Queued at its 1-based place in names.
func expectPositions(ctx context.Context, ns string, names []string) {
	GinkgoHelper()
	for i, name := range names {
		Eventually(jobOf(ctx, ns, name)).Should(And(
			HaveField("Status.Phase", diagv1.JobQueued),
			HaveField("Status.QueuePosition", int32(i+1)),
		), "job %s should be Queued at position %d", name, i+1)
	}
}

var _ = Describe("Queue order", func() {
	It("starts jobs by priority, then age, then name, and shows each job's queue position", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		agent := newAgent(ctx, ns, ns+"-a", 4, nil)
		agent.hold.Store(true)
		newECU(ctx, ns, "ecu-0", nil)
		locks := watchLocks(ctx, ns)

		createJob(ctx, readVIN(ns, "blocker", "ecu-0"))
		Eventually(jobOf(ctx, ns, "blocker")).Should(HaveField("Status.Phase", diagv1.JobRunning))

		// Names run against the expected order, so that a name-only sort would fail.
		old := createJob(ctx, readVIN(ns, "z-low-old", "ecu-0"))
		nextSecond(old.CreationTimestamp.Time)
		young := createJob(ctx, readVIN(ns, "y-low-young", "ecu-0"))
		nextSecond(young.CreationTimestamp.Time)
		b := createJob(ctx, readVIN(ns, "b-high", "ecu-0").Priority(5))
		a := createJob(ctx, readVIN(ns, "a-high", "ecu-0").Priority(5))
		mid := createJob(ctx, readVIN(ns, "c-mid", "ecu-0").Priority(2))
		want := expectedOrder([]*diagv1.DiagnosticJob{old, young, b, a, mid})
		Expect(want[2:]).To(Equal([]string{"c-mid", "z-low-old", "y-low-young"}), "priority first, then age")

		expectPositions(ctx, ns, want)
		Eventually(ecuOf(ctx, ns, "ecu-0")).Should(HaveField("Status.QueuedJobs", int32(5)))

		agent.hold.Store(false)
		Expect(agent.finish(ctx, types.NamespacedName{Namespace: ns, Name: "blocker"}, diagv1.JobSucceeded, diagv1.ReasonSucceeded)).To(Succeed())
		for _, name := range want {
			Eventually(jobOf(ctx, ns, name)).Should(HaveField("Status.Phase", diagv1.JobSucceeded))
		}
		Expect(locks.order("ecu-0")).To(Equal(append([]string{"blocker"}, want...)))
		Expect(locks.problems()).To(BeEmpty())
		Eventually(ecuOf(ctx, ns, "ecu-0")).Should(And(HaveField("Status.ActiveJob", ""), HaveField("Status.QueuedJobs", int32(0))))
	})
})

var _ = Describe("Claim protocol under load", func() {
	It("never gives an ECU two jobs nor a job two ECUs when 200 jobs arrive at once for 5 ECUs", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		occ := newOccupancy()
		for i := range 3 {
			newAgent(ctx, ns, fmt.Sprintf("%s-agent-%d", ns, i), 2, occ)
		}
		for i := range 5 {
			newECU(ctx, ns, fmt.Sprintf("ecu-%d", i), map[string]string{"rack": "r1"})
		}
		locks := watchLocks(ctx, ns)

		const total = 200
		errs := make(chan error, total)
		for i := range total {
			go func() {
				defer GinkgoRecover()
				w := readVIN(ns, fmt.Sprintf("job-%03d", i), fmt.Sprintf("ecu-%d", i%5)).Priority(int32(i % 3))
				if i%4 == 0 { // every fourth job takes any ECU of the rack
					w.Spec.ECURef = nil
					w.ECUSelector(map[string]string{"rack": "r1"})
				}
				errs <- k8s.Create(ctx, w.Obj())
			}()
		}
		for range total {
			Expect(<-errs).To(Succeed())
		}

		Eventually(func(g Gomega) {
			var list diagv1.DiagnosticJobList
			g.Expect(k8s.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
			done := 0
			for _, j := range list.Items {
				if j.Status.Phase == diagv1.JobSucceeded {
					done++
				}
			}
			g.Expect(done).To(Equal(total))
		}).WithTimeout(3 * time.Minute).Should(Succeed())

		Expect(locks.problems()).To(BeEmpty())
		Expect(occ.problems()).To(BeEmpty())
		var list diagv1.DiagnosticJobList
		Expect(k8s.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
		for _, j := range list.Items {
			Expect(j.Status.Attempts).To(Equal(int32(1)), "job %s", j.Name)
			Expect(locks.ecusOf(j.Name)).To(Equal([]string{j.Status.ECU}), "job %s locked exactly the ECU it ran on", j.Name)
			if j.Spec.ECURef != nil {
				Expect(j.Status.ECU).To(Equal(j.Spec.ECURef.Name))
			}
		}
		for i := range 5 {
			Eventually(ecuOf(ctx, ns, fmt.Sprintf("ecu-%d", i))).Should(And(HaveField("Status.ActiveJob", ""), HaveField("Status.QueuedJobs", int32(0))))
		}
	})
})

var _ = Describe("Selector jobs", func() {
	It("take the first free matching ECU by name and wait in every matching queue", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		agent := newAgent(ctx, ns, ns+"-a", 8, nil)
		agent.hold.Store(true)
		for _, name := range []string{"sel-c", "sel-a", "sel-b"} {
			newECU(ctx, ns, name, map[string]string{"rack": "r1"})
		}
		newECU(ctx, ns, "other", map[string]string{"rack": "r2"})
		rack := map[string]string{"rack": "r1"}
		selector := func(name string) *diagv1.DiagnosticJob {
			w := readVIN(ns, name, "")
			w.Spec.ECURef = nil
			return createJob(ctx, w.ECUSelector(rack))
		}

		createJob(ctx, readVIN(ns, "pinned", "sel-a"))
		Eventually(jobOf(ctx, ns, "pinned")).Should(HaveField("Status.Phase", diagv1.JobRunning))
		selector("s1")
		Eventually(jobOf(ctx, ns, "s1")).Should(HaveField("Status.ECU", "sel-b"))
		selector("s2")
		Eventually(jobOf(ctx, ns, "s2")).Should(HaveField("Status.ECU", "sel-c"))
		selector("s3")
		selector("s4")
		Eventually(jobOf(ctx, ns, "s3")).Should(And(HaveField("Status.Phase", diagv1.JobQueued), HaveField("Status.QueuePosition", int32(1)),
			HaveField("Status.Reason", diagv1.ReasonQueued), HaveField("Status.Message", ContainSubstring("3 matching ECUs"))))
		Eventually(jobOf(ctx, ns, "s4")).Should(HaveField("Status.QueuePosition", int32(2)))
		for _, e := range []string{"sel-a", "sel-b", "sel-c"} {
			Eventually(ecuOf(ctx, ns, e)).Should(HaveField("Status.QueuedJobs", int32(2)))
		}
		Eventually(ecuOf(ctx, ns, "other")).Should(HaveField("Status.QueuedJobs", int32(0)))

		Expect(agent.finish(ctx, types.NamespacedName{Namespace: ns, Name: "s2"}, diagv1.JobSucceeded, diagv1.ReasonSucceeded)).To(Succeed())
		Eventually(jobOf(ctx, ns, "s3")).Should(HaveField("Status.ECU", "sel-c"))
		Eventually(jobOf(ctx, ns, "s4")).Should(HaveField("Status.QueuePosition", int32(1)))

		w := readVIN(ns, "nowhere", "")
		w.Spec.ECURef = nil
		createJob(ctx, w.ECUSelector(map[string]string{"rack": "r9"}))
		Eventually(jobOf(ctx, ns, "nowhere")).Should(And(HaveField("Status.Phase", diagv1.JobQueued),
			HaveField("Status.Reason", diagv1.ReasonNoMatchingEcu), HaveField("Status.QueuePosition", int32(0))))
		createJob(ctx, readVIN(ns, "missing", "no-such-ecu"))
		Eventually(jobOf(ctx, ns, "missing")).Should(And(HaveField("Status.Phase", diagv1.JobQueued),
			HaveField("Status.Reason", diagv1.ReasonEcuNotFound), HaveField("Status.Message", ContainSubstring("no-such-ecu"))))

		newECU(ctx, ns, "no-such-ecu", nil)
		Eventually(jobOf(ctx, ns, "missing")).Should(HaveField("Status.Phase", diagv1.JobRunning))
	})
})

var _ = Describe("ECUs closed to new jobs", func() {
	It("keep jobs Queued with the reason while cordoned, not Ready or without an agent, and start them once open", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		agent := newAgent(ctx, ns, ns+"-a", 4, nil)
		agent.hold.Store(true)
		newECU(ctx, ns, "ecu-0", nil)

		createJob(ctx, readVIN(ns, "first", "ecu-0"))
		Eventually(jobOf(ctx, ns, "first")).Should(HaveField("Status.Phase", diagv1.JobRunning))
		updateECU(ctx, ns, "ecu-0", func(e *diagv1.ECU) { e.Spec.Unschedulable = true })
		createJob(ctx, readVIN(ns, "second", "ecu-0"))
		Eventually(jobOf(ctx, ns, "second")).Should(And(HaveField("Status.Phase", diagv1.JobQueued),
			HaveField("Status.Reason", diagv1.ReasonEcuCordoned), HaveField("Status.QueuePosition", int32(1))))

		By("letting the running job finish on the cordoned ECU and starting nothing after it")
		Expect(agent.finish(ctx, types.NamespacedName{Namespace: ns, Name: "first"}, diagv1.JobSucceeded, diagv1.ReasonSucceeded)).To(Succeed())
		Eventually(ecuOf(ctx, ns, "ecu-0")).Should(HaveField("Status.ActiveJob", ""))
		Consistently(jobOf(ctx, ns, "second")).Should(HaveField("Status.Phase", diagv1.JobQueued))
		Expect(conditionOf((ecuOf(ctx, ns, "ecu-0"))(Default).Status.Conditions, diagv1.ConditionReady).Status).To(BeEquivalentTo("True"),
			"cordon is shown by spec.unschedulable, not by Ready")

		By("marking the ECU unreachable while cordoned, then uncordoning it")
		setReachable(ctx, ns, "ecu-0", "False")
		updateECU(ctx, ns, "ecu-0", func(e *diagv1.ECU) { e.Spec.Unschedulable = false })
		Eventually(jobOf(ctx, ns, "second")).Should(And(HaveField("Status.Reason", diagv1.ReasonEcuNotReady),
			HaveField("Status.Message", ContainSubstring("Unreachable"))))

		By("pointing the ECU at agents that do not exist")
		updateECU(ctx, ns, "ecu-0", func(e *diagv1.ECU) { e.Spec.AgentSelector.MatchLabels[poolLabel] = "nobody" })
		setReachable(ctx, ns, "ecu-0", "True")
		Eventually(jobOf(ctx, ns, "second")).Should(HaveField("Status.Reason", diagv1.ReasonNoAgent))

		updateECU(ctx, ns, "ecu-0", func(e *diagv1.ECU) { e.Spec.AgentSelector.MatchLabels[poolLabel] = ns })
		Eventually(jobOf(ctx, ns, "second")).Should(HaveField("Status.Phase", diagv1.JobRunning))
		// Once the agents are back, a pass may see the ECU open before it is free and queue the
		// job plainly for a moment: that change has its Event too.
		blocked := []string{diagv1.ReasonEcuCordoned, diagv1.ReasonEcuNotReady, diagv1.ReasonNoAgent}
		Eventually(func() []string { return eventReasons(ctx, ns, "DiagnosticJob", "second") }).Should(Or(
			Equal(append(slices.Clone(blocked), diagv1.ReasonScheduled)),
			Equal(append(slices.Clone(blocked), diagv1.ReasonQueued, diagv1.ReasonScheduled)),
		), "an Event for a first status that blocks, and for each change after it")
	})
})
