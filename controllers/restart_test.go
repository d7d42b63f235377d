package controllers_test

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/controllers"
	"github.com/ecufleet/ecufleet/internal/builders"
)

// restartController stops the suite's controller, runs between while none runs, and starts a
// new one (a new manager, cache and scheduler: nothing carried over in memory).
func restartController(between func()) {
	GinkgoHelper()
	running.stop()
	running = nil
	DeferCleanup(func() {
		if running == nil {
			running = startController(controllers.Options{})
		}
	})
	between()
	running = startController(controllers.Options{})
}

var _ = Describe("A restarted controller", func() {
	It("keeps the queue order it had and never double-books the ECU", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		occ := newOccupancy()
		agent := newAgent(ctx, ns, ns+"-a", 4, occ)
		agent.hold.Store(true)
		newECU(ctx, ns, "ecu-0", nil)
		locks := watchLocks(ctx, ns)

		createJob(ctx, readVIN(ns, "blocker", "ecu-0"))
		Eventually(jobOf(ctx, ns, "blocker")).Should(HaveField("Status.Phase", diagv1.JobRunning))
		var jobs []*diagv1.DiagnosticJob
		for i := range 8 {
			jobs = append(jobs, createJob(ctx, readVIN(ns, fmt.Sprintf("q-%d", i), "ecu-0").Priority(int32(i%3))))
		}
		expectPositions(ctx, ns, expectedOrder(jobs))

		restartController(func() {
			for i := 8; i < 12; i++ {
				jobs = append(jobs, createJob(ctx, readVIN(ns, fmt.Sprintf("q-%d", i), "ecu-0").Priority(int32(i%4))))
			}
		})
		want := expectedOrder(jobs)
		expectPositions(ctx, ns, want)

		agent.hold.Store(false)
		Expect(agent.finish(ctx, types.NamespacedName{Namespace: ns, Name: "blocker"}, diagv1.JobSucceeded, diagv1.ReasonSucceeded)).To(Succeed())
		for _, name := range want {
			Eventually(jobOf(ctx, ns, name)).Should(And(HaveField("Status.Phase", diagv1.JobSucceeded), HaveField("Status.Attempts", int32(1))))
		}
		Expect(locks.order("ecu-0")).To(Equal(append([]string{"blocker"}, want...)))
		Expect(locks.problems()).To(BeEmpty())
		Expect(occ.problems()).To(BeEmpty())
	})

	It("releases the locks a stopped controller left without a bound job, then runs the job once", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		newAgent(ctx, ns, ns+"-a", 4, nil)
		newECU(ctx, ns, "ecu-0", nil)
		newECU(ctx, ns, "ecu-1", nil)
		var locks *lockHistory
		restartController(func() {
			createJob(ctx, readVIN(ns, "half-claimed", "ecu-0"))
			// The state a controller leaves when it stops between the lock and the bind, and a
			// lock for a job deleted meanwhile.
			for ecu, job := range map[string]string{"ecu-0": "half-claimed", "ecu-1": "deleted-job"} {
				var e diagv1.ECU
				Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: ecu}, &e)).To(Succeed())
				u := e.DeepCopy()
				u.Status.ActiveJob = job
				Expect(k8s.Status().Patch(ctx, u, client.MergeFromWithOptions(&e, client.MergeFromWithOptimisticLock{}))).To(Succeed())
			}
			locks = watchLocks(ctx, ns)
		})
		Eventually(jobOf(ctx, ns, "half-claimed")).Should(And(HaveField("Status.Phase", diagv1.JobSucceeded),
			HaveField("Status.Attempts", int32(1)), HaveField("Status.ECU", "ecu-0")))
		Eventually(ecuOf(ctx, ns, "ecu-0")).Should(HaveField("Status.ActiveJob", ""))
		Eventually(ecuOf(ctx, ns, "ecu-1")).Should(HaveField("Status.ActiveJob", ""))
		Expect(locks.problems()).To(BeEmpty())
		Expect(locks.ecusOf("half-claimed")).To(HaveEach("ecu-0"), "it never held another ECU")
	})

	It("fences a job before releasing a lock it was never bound to, so that a late bind from another instance fails", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		newAgent(ctx, ns, ns+"-a", 4, nil)
		newECU(ctx, ns, "ecu-0", nil, func(w *builders.ECUWrapper) { w.Unschedulable() })
		createJob(ctx, readVIN(ns, "job", "ecu-0"))
		Eventually(jobOf(ctx, ns, "job")).Should(HaveField("Status.Reason", diagv1.ReasonEcuCordoned))
		var stale *diagv1.DiagnosticJob
		Eventually(func(g Gomega) {
			stale = jobOf(ctx, ns, "job")(g)
			g.Consistently(jobOf(ctx, ns, "job")).WithTimeout(time.Second).Should(HaveField("ResourceVersion", stale.ResourceVersion))
		}).Should(Succeed(), "the controller has nothing more to write on the job")

		By("locking the ECU for the job as another controller instance would, just before its bind")
		var e diagv1.ECU
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "ecu-0"}, &e)).To(Succeed())
		locked := e.DeepCopy()
		locked.Status.ActiveJob = "job"
		Expect(k8s.Status().Patch(ctx, locked, client.MergeFromWithOptions(&e, client.MergeFromWithOptimisticLock{}))).To(Succeed())
		Eventually(ecuOf(ctx, ns, "ecu-0")).Should(HaveField("Status.ActiveJob", ""))

		By("binding the job from the other instance's copy: refused")
		_, err := patchStatus(ctx, k8s, stale, func(st *diagv1.DiagnosticJobStatus) {
			st.Phase, st.ECU, st.Agent, st.Attempts = diagv1.JobScheduled, "ecu-0", ns+"-a", 1
		})
		Expect(apierrors.IsConflict(err)).To(BeTrue(), "a bind with the job's old resourceVersion must fail, got %v", err)
	})
})
