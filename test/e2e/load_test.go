package e2e

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

var _ = Describe("a rack under load", func() {
	It("runs 100 jobs over 10 ECUs and 3 agents, each with its ECU to itself", func(ctx SpecContext) {
		const ecus, jobs = 10, 100
		ns := newNamespace(ctx, "e2e-load")
		h := record(ns)
		sims := startSims(ctx, ns, ecus)

		By("creating 100 jobs, 10 per ECU, each writing a value of its own into its ECU")
		began := time.Now()
		for i := range jobs {
			Expect(k8s.Create(ctx, taggedJob(ns, fmt.Sprintf("job-%03d", i), sims[i%ecus], jobTag(i), 100*time.Millisecond))).To(Succeed())
		}
		done := finalJobs(ctx, ns, jobs, 3*time.Minute)
		AddReportEntry("100 jobs on 10 ECUs", time.Since(began).Round(100*time.Millisecond).String())

		By("checking every job's step results")
		perAgent := map[string]int{}
		for i := range jobs {
			job := done[fmt.Sprintf("job-%03d", i)]
			expectTaggedResult(Default, job, sims[i%ecus], jobTag(i), 1)
			perAgent[job.Status.Agent]++
		}
		AddReportEntry("jobs per agent", fmt.Sprint(perAgent))

		By("checking from the ECU lock history that each ECU was held only by its own jobs, each of them")
		Eventually(func(g Gomega) {
			for _, s := range sims {
				g.Expect(h.Held(s.ecu)).To(BeEmpty(), "ECU %s still locked in the watched history", s.ecu)
			}
		}).Should(Succeed())
		Expect(h.Gaps()).To(BeEmpty())
		for e, s := range sims {
			var want []string
			for i := e; i < jobs; i += ecus {
				want = append(want, fmt.Sprintf("job-%03d", i))
			}
			got := h.Holders(s.ecu)
			sort.Strings(got)
			Expect(got).To(Equal(want), "holders of ECU %s", s.ecu)
		}
		for name := range done {
			Expect(h.Job(name)).To(ContainElement(HaveField("Phase", diagv1.JobRunning)), "job %s was never seen Running", name)
		}

		By("reading the controller's metrics: it counted at least these 100 successes")
		metrics, err := httpGet(ctx, "http://"+metricsAddr+"/metrics")
		Expect(err).NotTo(HaveOccurred())
		Expect(counter(metrics, `ecufleet_jobs_finished_total{result="Succeeded"}`)).To(BeNumerically(">=", jobs))
	}, SpecTimeout(5*time.Minute))
})

// counter reads one sample of a Prometheus text exposition; -1 when it is missing.
func counter(exposition, series string) float64 {
	for line := range strings.Lines(exposition) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), series+" "); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				return f
			}
		}
	}
	return -1
}
