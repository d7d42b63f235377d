package e2e

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/history"
)

var _ = Describe("an ECU simulator killed and restarted", func() {
	It("turns the ECU unreachable, keeps its jobs waiting, and runs them once it is back", func(ctx SpecContext) {
		const jobs = 5
		ns := newNamespace(ctx, "e2e-ecu-restart")
		h := record(ns)
		s := startSims(ctx, ns, 1)[0]
		ecuKey := client.ObjectKey{Namespace: ns, Name: s.ecu}
		reachable := func(g Gomega) metav1.ConditionStatus {
			e := &diagv1.ECU{}
			g.Expect(k8s.Get(ctx, ecuKey, e)).To(Succeed())
			if c := meta.FindStatusCondition(e.Status.Conditions, diagv1.ConditionReachable); c != nil {
				return c.Status
			}
			return metav1.ConditionUnknown
		}

		By("killing the simulator: the probe marks the ECU unreachable")
		kill(s.proc)
		Eventually(ctx, reachable).Should(Equal(metav1.ConditionFalse))

		By("queueing jobs on the unreachable ECU: they wait, none starts or fails")
		for i := range jobs {
			Expect(k8s.Create(ctx, taggedJob(ns, fmt.Sprintf("waiting-%d", i), s, jobTag(i), 50*time.Millisecond))).To(Succeed())
		}
		allQueued := func(g Gomega) {
			var list diagv1.DiagnosticJobList
			g.Expect(k8s.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
			g.Expect(list.Items).To(HaveLen(jobs))
			for _, j := range list.Items {
				g.Expect(j.Status.Phase).To(Equal(diagv1.JobQueued), "job %s: %s", j.Name, j.Status.Message)
				g.Expect(j.Status.Attempts).To(BeZero(), "job %s started an attempt", j.Name)
			}
		}
		Eventually(ctx, allQueued).Should(Succeed())
		Consistently(ctx, allQueued).WithTimeout(3 * time.Second).Should(Succeed())

		By("restarting the simulator on the same port: the ECU is reachable again and the jobs run")
		s.launch(ctx)
		Eventually(ctx, reachable).Should(Equal(metav1.ConditionTrue))
		done := finalJobs(ctx, ns, jobs, 2*time.Minute)
		for i := range jobs {
			expectTaggedResult(Default, done[fmt.Sprintf("waiting-%d", i)], s, jobTag(i), 1)
		}

		By("checking the watched history: Reachable True, then False, then True")
		Expect(h.Gaps()).To(BeEmpty())
		var seen []metav1.ConditionStatus
		for _, st := range h.Reachable(s.ecu) {
			if st != metav1.ConditionUnknown { // "still probing" between verdicts is no verdict
				seen = history.AppendNew(seen, st)
			}
		}
		Expect(seen).To(Equal([]metav1.ConditionStatus{metav1.ConditionTrue, metav1.ConditionFalse, metav1.ConditionTrue}))
	}, SpecTimeout(3*time.Minute))
})
