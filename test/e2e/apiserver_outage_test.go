package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	. "github.com/onsi/gomega/gstruct"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
	"github.com/ecufleet/ecufleet/internal/proctest"
)

// Timing of the outage spec. The server stays stopped far longer than the agents' Lease
// (agentLease) and the controller's leader Lease (leaderLease), so that both run out. The
// first job of each ECU holds it for longer than it takes an agent to fence its attempts, and
// the server is stopped while at least outageHoldLeft of that hold remains: those attempts
// cannot end on their own before the fence cuts them off. The jobs queued behind them are short.
const (
	outage         = 30 * time.Second
	outageLongHold = 12 * time.Second
	outageHoldLeft = 4 * time.Second
)

var _ = Describe("the API server away for 30 seconds", func() {
	It("stops kube-apiserver with SIGSTOP for 30 s while jobs run and wait, then SIGCONT: every job Succeeds with each step result once, no ECU held twice", func(ctx SpecContext) {
		const ecus, jobs = 3, 10
		ns := newNamespace(ctx, "e2e-outage")
		h := record(ns)
		sims := startSims(ctx, ns, ecus)
		name := func(i int) string { return fmt.Sprintf("job-%02d", i) }
		onECU := func(e int) []string { // the names of the jobs on sims[e], sorted
			var out []string
			for i := e; i < jobs; i += ecus {
				out = append(out, name(i))
			}
			return out
		}
		for i := range jobs {
			hold := time.Second
			if i < ecus {
				hold = outageLongHold
			}
			job := taggedJob(ns, name(i), sims[i%ecus], jobTag(i), hold)
			job.Spec.BackoffLimit = new(int32(2))
			Expect(k8s.Create(ctx, job)).To(Succeed())
		}

		By("waiting until the first job of every ECU has written its value and holds the ECU, with at least 4 s of its hold left")
		var first, running []string // the first job of each ECU; the jobs seen in their long hold
		for e := range ecus {
			first = append(first, name(e))
		}
		Eventually(ctx, func(g Gomega) {
			var list diagv1.DiagnosticJobList
			g.Expect(k8s.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
			running = nil
			for _, j := range list.Items {
				st := j.Status
				// startTime (whole seconds, rounded down) is before the hold began: it gives a
				// lower bound of the hold left.
				if st.Phase == diagv1.JobRunning && len(st.Steps) > 2 && st.Steps[1].Phase == diagv1.StepPassed &&
					st.Steps[2].Phase == diagv1.StepRunning && st.StartTime != nil &&
					time.Since(st.StartTime.Time) < outageLongHold-outageHoldLeft {
					running = append(running, j.Name)
				}
			}
			slices.Sort(running)
			g.Expect(running).To(Equal(first), "jobs in their long hold")
		}).Should(Succeed())

		By("stopping kube-apiserver (SIGSTOP: its sockets stay open and nothing answers) for 30 s")
		pid := apiServerPid()
		Expect(syscall.Kill(pid, syscall.SIGSTOP)).To(Succeed())
		resumed := false
		resume := func() {
			if !resumed {
				Expect(syscall.Kill(pid, syscall.SIGCONT)).To(Succeed())
				resumed = true
			}
		}
		DeferCleanup(func(ctx SpecContext) { // whatever happens, the next specs get their API server and processes back
			resume()
			if controller.Exited() {
				controller = startController(ctx)
			}
			for n, a := range agents {
				if a.Exited() {
					agents[n] = startAgent(ctx, n)
				}
			}
		})
		stopped := time.Now()
		select {
		case <-ctx.Done():
			return
		case <-time.After(outage):
		}
		resume()
		AddReportEntry("kube-apiserver stopped", time.Since(stopped).Round(100*time.Millisecond).String())

		By("checking that no agent exited; the controller lost its leader Lease and exited, so it is started again as its Deployment would be")
		for n, a := range agents {
			Expect(a.Exited()).To(BeFalse(), "agent %s exited during the outage:\n%s", n, proctest.Tail(a.Log, 40))
		}
		Eventually(ctx, controller.Exited).WithTimeout(20*time.Second).Should(BeTrue(),
			"the controller kept running without its leader Lease:\n%s", proctest.Tail(controller.Log, 40))
		Expect(os.ReadFile(controller.Log)).To(ContainSubstring("leader election lost"))
		controller = startController(ctx)
		for n := range agents {
			waitAgentReady(ctx, n, true)
		}

		By("waiting for every job to end")
		done := finalJobs(ctx, ns, jobs, 3*time.Minute)
		for i := range jobs {
			job := done[name(i)]
			want := int32(1)
			if slices.Contains(running, job.Name) {
				want = 2 // its attempt was cut off by the agent's fence and retried from the first step
			}
			expectTaggedResult(Default, job, sims[i%ecus], jobTag(i), want)
		}

		By("counting what reached each ECU: each job's write once per attempt, one read-back per job (a cut-off attempt sent nothing after its hold)")
		for i := range jobs {
			s, job := sims[i%ecus], done[name(i)]
			Expect(s.handled("2E F1 98 "+string(builders.HexOf(jobTag(i))))).To(BeEquivalentTo(job.Status.Attempts), "writes of job %s on ECU %s", job.Name, s.ecu)
		}
		for e, s := range sims {
			Expect(s.handled("22 F1 98")).To(Equal(len(onECU(e))), "read-backs on ECU %s", s.ecu)
		}

		By("checking the watched history: each cut-off attempt ended AgentLost, the other jobs ran once, each ECU was held by its own jobs only")
		Eventually(func(g Gomega) {
			for _, s := range sims {
				g.Expect(h.Held(s.ecu)).To(BeEmpty(), "ECU %s still locked in the watched history", s.ecu)
			}
			for i := range jobs {
				states := h.Job(name(i))
				g.Expect(states).NotTo(BeEmpty())
				g.Expect(states[len(states)-1].Phase).To(Equal(diagv1.JobSucceeded), "the history caught up with job %s", name(i))
			}
		}).Should(Succeed())
		AddReportEntry("watch gaps", fmt.Sprint(h.Gaps()))
		for i := range jobs {
			states := h.Job(name(i))
			var ended []jobState
			for _, st := range states {
				if diagv1.IsRetryableReason(st.Reason) {
					ended = append(ended, st)
				}
			}
			if slices.Contains(running, name(i)) {
				Expect(ended).NotTo(BeEmpty(), "job %s: attempt 1 never ended AgentLost: %+v", name(i), states)
				for _, st := range ended {
					Expect(st).To(MatchFields(IgnoreExtras, Fields{"Reason": Equal(diagv1.ReasonAgentLost), "Attempts": BeEquivalentTo(1)}),
						"job %s: only attempt 1 failed, and for the Lease: %+v", name(i), states)
				}
			} else {
				Expect(ended).To(BeEmpty(), "job %s was not running when the server stopped, yet an attempt failed: %+v", name(i), states)
			}
			Expect(states).To(ContainElement(HaveField("Phase", diagv1.JobRunning)), "job %s was never seen Running", name(i))
		}
		for e, s := range sims {
			got := h.Holders(s.ecu)
			slices.Sort(got)
			Expect(got).To(Equal(onECU(e)), "holders of ECU %s", s.ecu)
			for _, j := range got {
				Expect(h.Holds(s.ecu, j)).To(BeNumerically("<=", done[j].Status.Attempts), "job %s held ECU %s more often than it had attempts", j, s.ecu)
			}
		}
	}, SpecTimeout(5*time.Minute))
})

// apiServerPid finds the suite's running kube-apiserver in the pid file `ecufleet dev` keeps
// beside its kubeconfig ("child PID STARTTIME PATH" lines). The file also names a process that
// has exited: envtest runs each binary once with --help to learn its flags before starting it.
func apiServerPid() int {
	GinkgoHelper()
	data, err := os.ReadFile(kubeconfig + ".pids")
	Expect(err).NotTo(HaveOccurred())
	var live []int
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		if len(f) == 4 && f[0] == "child" && filepath.Base(f[3]) == "kube-apiserver" {
			pid, err := strconv.Atoi(f[1])
			Expect(err).NotTo(HaveOccurred(), "pid file line %q", line)
			if running(pid, "kube-apiserver") {
				live = append(live, pid)
			}
		}
	}
	Expect(live).To(HaveLen(1), "running kube-apiserver processes named in %s.pids:\n%s", kubeconfig, data)
	return live[0]
}
