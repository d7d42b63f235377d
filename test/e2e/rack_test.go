package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
	"github.com/ecufleet/ecufleet/pkg/ecusim"
)

// simLogicalAddress is every simulated ECU's logical address; each has a port of its own.
const simLogicalAddress = 0x00E0

// simReadyLog is what `ecufleet ecusim` logs once its sockets are open.
const simReadyLog = "ECU simulator ready"

// sim is one `ecufleet ecusim` process and the ECU object that points at it.
type sim struct {
	ecu  string // ECU object name
	ns   string
	vin  string
	port int
	proc *proc
}

var simSeq atomic.Int32

// freePort returns a port that is free for TCP and UDP on 127.0.0.1 right now, as a simulator
// needs both on the same number.
func freePort() int {
	GinkgoHelper()
	port, err := ecusim.FreePort("127.0.0.1")
	Expect(err).NotTo(HaveOccurred())
	return port
}

// startSims starts n simulated ECUs on free ports, each with its own VIN and EID, and creates
// their ECU objects (ecu-0, ...) in ns, probed every second; it waits until all are Ready.
// DeferCleanup deletes the ECUs and stops the simulators.
func startSims(ctx context.Context, ns string, n int) []*sim {
	GinkgoHelper()
	sims := make([]*sim, n)
	for i := range sims {
		seq := simSeq.Add(1)
		s := &sim{ecu: fmt.Sprintf("ecu-%d", i), ns: ns, vin: fmt.Sprintf("ECUFLEETE2E%06d", seq)}
		s.launch(ctx)
		sims[i] = s
		ecu := builders.MakeECU(s.ecu, ns).Port(int32(s.port)).Probe(diagv1.ProbeEntityStatus).ProbeTiming(1, 1, 2).Obj()
		Expect(k8s.Create(ctx, ecu)).To(Succeed())
	}
	DeferCleanup(func(ctx SpecContext) {
		for _, s := range sims {
			ecu := &diagv1.ECU{ObjectMeta: metav1.ObjectMeta{Name: s.ecu, Namespace: ns}}
			Expect(client.IgnoreNotFound(k8s.Delete(ctx, ecu))).To(Succeed())
			s.proc.Stop(10 * time.Second)
		}
	})
	for _, s := range sims {
		waitECUReady(ctx, ns, s.ecu)
	}
	return sims
}

// launch starts the simulator process, on a fresh free port the first time and on the same
// port after a kill (its ECU object points there). A port taken meanwhile by someone else is
// retried with another one on the first start only.
func (s *sim) launch(ctx context.Context) {
	GinkgoHelper()
	fixed := s.port != 0
	for attempt := 0; ; attempt++ {
		if !fixed {
			s.port = freePort()
		}
		eid := fmt.Sprintf("02:E2:E0:%02X:%02X:%02X", byte(s.port>>16), byte(s.port>>8), byte(s.port))
		s.proc = ps.start("sim-"+s.vin[len(s.vin)-3:], syscall.SIGKILL, "ecusim", "--listen", fmt.Sprintf("127.0.0.1:%d", s.port),
			"--logical-address", fmt.Sprint(simLogicalAddress), "--vin", s.vin, "--eid", eid, "-v", "1")
		err := s.proc.AwaitLog(ctx, simReadyLog)
		if err == nil {
			return
		}
		if fixed || attempt == 2 {
			Fail(err.Error())
		}
	}
}

// handled counts the UDS requests the simulator's current process handled that were exactly
// request (hex, "2E F1 98 ..."), from the line it logs for each at -v 1: what reached the ECU,
// whatever the API server was told.
func (s *sim) handled(request string) int {
	GinkgoHelper()
	data, err := os.ReadFile(s.proc.Log)
	Expect(err).NotTo(HaveOccurred())
	n := 0
	for line := range strings.Lines(string(data)) {
		if strings.Contains(line, `"msg"="UDS request handled"`) && strings.Contains(line, `"request"="`+request+`"`) {
			n++
		}
	}
	return n
}

// newNamespace gives a spec a namespace of its own.
func newNamespace(ctx context.Context, prefix string) string {
	GinkgoHelper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	Expect(k8s.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

// waitECUReady waits until the controller marks the ECU Ready (reachable, served by a live agent).
func waitECUReady(ctx context.Context, ns, name string) {
	GinkgoHelper()
	Eventually(ctx, func(g Gomega) {
		e := &diagv1.ECU{}
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, e)).To(Succeed())
		g.Expect(meta.IsStatusConditionTrue(e.Status.Conditions, diagv1.ConditionReady)).To(BeTrue(), "ECU %s not Ready: %v", name, e.Status.Conditions)
	}).Should(Succeed())
}

// taggedJob is builders.TaggedJob on the simulator's ECU: it proves it had its ECU to itself.
func taggedJob(ns, name string, s *sim, tag string, hold time.Duration) *diagv1.DiagnosticJob {
	return builders.TaggedJob(name, ns, s.ecu, s.vin, tag, hold).Obj()
}

// jobTag is the 10-byte value job i writes into DID 0xF198 (repair shop code, 10 bytes).
func jobTag(i int) string { return fmt.Sprintf("JOB%07d", i) }

// expectTaggedResult checks one finished taggedJob field by field, independently of the
// agent's own verdict.
func expectTaggedResult(g Gomega, job *diagv1.DiagnosticJob, s *sim, tag string, attempts int32) {
	st := job.Status
	g.Expect(st.Phase).To(Equal(diagv1.JobSucceeded), "job %s: %s", job.Name, st.Message)
	g.Expect(st.Attempts).To(Equal(attempts), "job %s attempts", job.Name)
	g.Expect(st.ECU).To(Equal(s.ecu), "job %s ECU", job.Name)
	names := make([]string, len(st.Steps))
	for i, step := range st.Steps {
		names[i] = step.Name
		g.Expect(step.Phase).To(Equal(diagv1.StepPassed), "job %s step %s: %s", job.Name, step.Name, step.Message)
	}
	g.Expect(names).To(Equal(builders.TaggedSteps), "job %s: every step result exactly once, in order", job.Name)
	g.Expect(st.Steps[3].Value).To(Equal(tag), "job %s read back another job's value", job.Name)
	g.Expect(st.Steps[4].Value).To(Equal(builders.OneSocket), "job %s shared the ECU's sockets", job.Name)
	g.Expect(st.Steps[5].Value).To(Equal(s.vin), "job %s talked to another ECU", job.Name)
}

// finalJobs waits until every job in ns is Succeeded, Failed or Cancelled and returns them by name.
func finalJobs(ctx context.Context, ns string, want int, timeout time.Duration) map[string]*diagv1.DiagnosticJob {
	GinkgoHelper()
	out := map[string]*diagv1.DiagnosticJob{}
	Eventually(ctx, func(g Gomega) {
		var list diagv1.DiagnosticJobList
		g.Expect(k8s.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
		g.Expect(list.Items).To(HaveLen(want))
		counts := map[diagv1.JobPhase]int{}
		for i := range list.Items {
			counts[list.Items[i].Status.Phase]++
			out[list.Items[i].Name] = &list.Items[i]
		}
		g.Expect(counts[diagv1.JobSucceeded]+counts[diagv1.JobFailed]+counts[diagv1.JobCancelled]).To(Equal(want), "phases %v", counts)
	}).WithTimeout(timeout).WithPolling(time.Second).Should(Succeed())
	return out
}
