package e2e

import (
	"fmt"
	"sort"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

var _ = Describe("a controller killed mid-queue", func() {
	It("schedules nothing while it is down, and its successor finishes the queue from the API server's state", func(ctx SpecContext) {
		const ecus, jobs = 3, 30
		ns := newNamespace(ctx, "e2e-controller")
		h := record(ns)
		sims := startSims(ctx, ns, ecus)
		for i := range jobs {
			Expect(k8s.Create(ctx, taggedJob(ns, fmt.Sprintf("job-%02d", i), sims[i%ecus], jobTag(i), 300*time.Millisecond))).To(Succeed())
		}

		By("killing the controller (SIGKILL, so its leader Lease is not released) once a few jobs finished")
		phases := func(g Gomega) map[diagv1.JobPhase][]string {
			var list diagv1.DiagnosticJobList
			g.Expect(k8s.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
			out := map[diagv1.JobPhase][]string{}
			for _, j := range list.Items {
				out[j.Status.Phase] = append(out[j.Status.Phase], j.Name)
			}
			return out
		}
		Eventually(ctx, func(g Gomega) {
			g.Expect(len(phases(g)[diagv1.JobSucceeded])).To(BeNumerically(">=", 6))
		}).Should(Succeed())
		kill(controller)
		waiting := phases(Default)[diagv1.JobQueued]
		Expect(len(waiting)).To(BeNumerically(">=", 10), "the queue should still be long when the controller dies")
		sort.Strings(waiting)

		By("seeing the queued jobs stay queued while no controller runs")
		Consistently(ctx, func(g Gomega) []string {
			still := phases(g)[diagv1.JobQueued]
			sort.Strings(still)
			return still
		}).WithTimeout(4 * time.Second).Should(Equal(waiting))

		By("starting a new controller, which waits for the dead leader's Lease and takes over")
		controller = startController(ctx)
		done := finalJobs(ctx, ns, jobs, 3*time.Minute)
		for i := range jobs {
			expectTaggedResult(Default, done[fmt.Sprintf("job-%02d", i)], sims[i%ecus], jobTag(i), 1)
		}

		By("checking from the lock history that each ECU was held only by its own jobs")
		Eventually(func(g Gomega) {
			for _, s := range sims {
				g.Expect(h.Held(s.ecu)).To(BeEmpty())
			}
		}).Should(Succeed())
		Expect(h.Gaps()).To(BeEmpty())
		for e, s := range sims {
			var want []string
			for i := e; i < jobs; i += ecus {
				want = append(want, fmt.Sprintf("job-%02d", i))
			}
			got := h.Holders(s.ecu)
			sort.Strings(got)
			Expect(got).To(Equal(want), "holders of ECU %s", s.ecu)
		}
	}, SpecTimeout(4*time.Minute))
})
