package agent_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/ecufleet/ecufleet/agent"
	"github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/controllers"
	"github.com/ecufleet/ecufleet/internal/devcluster"
	"github.com/ecufleet/ecufleet/pkg/doip"
	"github.com/ecufleet/ecufleet/pkg/ecusim"
)

// Timing of the suite: agents renew often and expire fast so that agent loss is observable
// within seconds; every wait is an Eventually with a generous timeout, never a sleep.
const (
	testLeaseDuration = 4 * time.Second
	testRenewInterval = 500 * time.Millisecond
	waitTimeout       = 45 * time.Second
)

var (
	suiteCtx    context.Context
	suiteCancel context.CancelFunc
	env         *envtest.Environment
	cfg         *rest.Config
	k8s         client.WithWatch
	nsCounter   atomic.Int32
)

func TestAgent(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Agent Suite")
}

var _ = BeforeSuite(func() {
	SetDefaultEventuallyTimeout(waitTimeout)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	ctrl.SetLogger(GinkgoLogr)
	suiteCtx, suiteCancel = context.WithCancel(context.Background())

	api, err := devcluster.StartTestAPI(suiteCtx, GinkgoWriter, devcluster.TestAPIOptions{})
	Expect(err).NotTo(HaveOccurred())
	env, cfg, k8s = api.Env, api.Config, api.Client

	// The real controllers, as `ecufleet controller` runs them.
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 api.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Logger:                 GinkgoLogr.WithName("controller"),
	})
	Expect(err).NotTo(HaveOccurred())
	Expect(controllers.SetupWithManager(mgr, controllers.Options{})).To(Succeed())
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(suiteCtx)).To(Succeed())
	}()
})

var _ = AfterSuite(func() {
	if suiteCancel != nil {
		suiteCancel()
	}
	if env != nil {
		Expect(env.Stop()).To(Succeed())
	}
})

// newNamespace creates a namespace of its own for one spec, so that specs never see each
// other's ECUs and jobs.
func newNamespace() string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("agent-test-%d", nsCounter.Add(1))}}
	Expect(k8s.Create(suiteCtx, ns)).To(Succeed())
	return ns.Name
}

// runningAgent is an agent.Agent running in a goroutine of the test process.
type runningAgent struct {
	name   string
	cancel context.CancelFunc
	done   chan error
}

// startAgent runs a real agent with short lease timing; the spec stops it at its end.
func startAgent(name string, labels map[string]string, tweak ...func(*agent.Options)) *runningAgent {
	return startAgentOn(cfg, name, labels, tweak...)
}

// startAgentOn is startAgent talking to the API server through c.
func startAgentOn(c *rest.Config, name string, labels map[string]string, tweak ...func(*agent.Options)) *runningAgent {
	opts := agent.Options{
		Name:              name,
		Labels:            labels,
		NodeName:          "node-" + name,
		LeaseDuration:     testLeaseDuration,
		RenewInterval:     testRenewInterval,
		MaxConcurrentJobs: 4,
		Version:           "test-version",
		Logger:            GinkgoLogr.WithName(name),
	}
	for _, t := range tweak {
		t(&opts)
	}
	a, err := agent.New(c, opts)
	Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithCancel(suiteCtx)
	ra := &runningAgent{name: name, cancel: cancel, done: make(chan error, 1)}
	go func() {
		defer GinkgoRecover()
		ra.done <- a.Run(ctx)
	}()
	DeferCleanup(ra.stop)
	return ra
}

// stop cancels the agent's Run and waits until it returned (every connection closed).
func (ra *runningAgent) stop() {
	ra.cancel()
	select {
	case err, ok := <-ra.done:
		if ok {
			Expect(err).NotTo(HaveOccurred(), "agent %s", ra.name)
			close(ra.done)
		}
	case <-time.After(waitTimeout):
		Fail("agent " + ra.name + " did not stop")
	}
}

// startSim runs a simulated ECU on a free port of 127.0.0.1.
func startSim(c ecusim.Config) (*ecusim.Sim, int32) {
	c.Listen = "127.0.0.1:0"
	c.Logger = GinkgoLogr.WithName("sim")
	sim, err := ecusim.New(c)
	Expect(err).NotTo(HaveOccurred())
	Expect(sim.Start(suiteCtx)).To(Succeed())
	DeferCleanup(func(ctx SpecContext) { Expect(sim.Shutdown(ctx)).To(Succeed()) })
	return sim, int32(sim.Addr().(*net.TCPAddr).Port)
}

// createReadyECU creates the ECU and waits until the controller calls it Ready.
func createReadyECU(ecu *v1alpha1.ECU) *v1alpha1.ECU {
	Expect(k8s.Create(suiteCtx, ecu)).To(Succeed())
	Eventually(func(g Gomega) {
		g.Expect(k8s.Get(suiteCtx, client.ObjectKeyFromObject(ecu), ecu)).To(Succeed())
		g.Expect(meta.IsStatusConditionTrue(ecu.Status.Conditions, v1alpha1.ConditionReady)).To(BeTrue(),
			"ECU %s conditions %+v", ecu.Name, ecu.Status.Conditions)
	}).Should(Succeed())
	return ecu
}

// getJob reads a job.
func getJob(job *v1alpha1.DiagnosticJob) *v1alpha1.DiagnosticJob {
	out := &v1alpha1.DiagnosticJob{}
	Expect(k8s.Get(suiteCtx, client.ObjectKeyFromObject(job), out)).To(Succeed())
	return out
}

// waitPhase waits until the job reaches phase and returns it; it gives up at once when the
// job ends for good in another phase.
func waitPhase(job *v1alpha1.DiagnosticJob, phase v1alpha1.JobPhase) *v1alpha1.DiagnosticJob {
	out := &v1alpha1.DiagnosticJob{}
	Eventually(func(g Gomega) {
		g.Expect(k8s.Get(suiteCtx, client.ObjectKeyFromObject(job), out)).To(Succeed())
		if out.Status.Phase != phase && out.Status.IsFinal() {
			StopTrying(fmt.Sprintf("job %s ended %s (%s): %s", job.Name, out.Status.Phase, out.Status.Reason, out.Status.Message)).Now()
		}
		g.Expect(out.Status.Phase).To(Equal(phase), "job %s: reason %s, message %q", job.Name, out.Status.Reason, out.Status.Message)
		if phase == v1alpha1.JobFailed {
			// A Failed attempt with a retryable reason waits for the controller's verdict.
			g.Expect(out.Status.IsFinal()).To(BeTrue(), "job %s: waiting for the controller to retry or fail reason %s", job.Name, out.Status.Reason)
		}
	}).Should(Succeed())
	return out
}

// waitStepRunning waits until the named step of the job runs.
func waitStepRunning(job *v1alpha1.DiagnosticJob, step string) *v1alpha1.DiagnosticJob {
	out := &v1alpha1.DiagnosticJob{}
	Eventually(func(g Gomega) {
		g.Expect(k8s.Get(suiteCtx, client.ObjectKeyFromObject(job), out)).To(Succeed())
		g.Expect(stepOf(out, step).Phase).To(Equal(v1alpha1.StepRunning), "job %s phase %s", job.Name, out.Status.Phase)
	}).Should(Succeed())
	return out
}

// stepOf returns the status of the named step (zero when absent).
func stepOf(job *v1alpha1.DiagnosticJob, name string) v1alpha1.StepStatus {
	for _, s := range job.Status.Steps {
		if s.Name == name {
			return s
		}
	}
	return v1alpha1.StepStatus{}
}

// jobHistory records every status a job goes through, from a watch, so that a spec can assert
// on a transient state (an attempt that failed and was retried) after the fact.
type jobHistory struct {
	mu     sync.Mutex
	states []v1alpha1.DiagnosticJobStatus
}

// watchJob starts recording the statuses of the named job.
func watchJob(namespace, name string) *jobHistory {
	w, err := k8s.Watch(suiteCtx, &v1alpha1.DiagnosticJobList{}, client.InNamespace(namespace),
		client.MatchingFields{"metadata.name": name})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(w.Stop)
	h := &jobHistory{}
	go func() {
		for ev := range w.ResultChan() {
			if job, ok := ev.Object.(*v1alpha1.DiagnosticJob); ok {
				h.mu.Lock()
				h.states = append(h.states, *job.Status.DeepCopy())
				h.mu.Unlock()
			}
		}
	}()
	return h
}

// find returns the first recorded status with this phase and reason.
func (h *jobHistory) find(phase v1alpha1.JobPhase, reason string) (v1alpha1.DiagnosticJobStatus, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range h.states {
		if s.Phase == phase && s.Reason == reason {
			return s, true
		}
	}
	return v1alpha1.DiagnosticJobStatus{}, false
}

// transitions lists the distinct phase/reason pairs seen, in order, for failure messages.
func (h *jobHistory) transitions() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, s := range h.states {
		t := string(s.Phase) + "/" + s.Reason
		if len(out) == 0 || out[len(out)-1] != t {
			out = append(out, t)
		}
	}
	return strings.Join(out, " -> ")
}

// eventuallyRecords waits until the history holds phase/reason and returns that status.
func (h *jobHistory) eventuallyRecords(phase v1alpha1.JobPhase, reason string) v1alpha1.DiagnosticJobStatus {
	var st v1alpha1.DiagnosticJobStatus
	Eventually(func() bool {
		var ok bool
		st, ok = h.find(phase, reason)
		return ok
	}).Should(BeTrue(), func() string { return "transitions: " + h.transitions() })
	return st
}

// openSockets asks the simulator on port, over UDP entity status, how many TCP sockets it has
// open: the test's view of whether an agent still holds a connection.
func openSockets(port int32) int32 {
	c := doip.Client{}
	st, err := c.EntityStatus(suiteCtx, fmt.Sprintf("127.0.0.1:%d", port))
	Expect(err).NotTo(HaveOccurred())
	return int32(st.OpenSockets)
}

// findCondition returns the ECU condition of that type, or nil.
func findCondition(ecu *v1alpha1.ECU, condType string) *metav1.Condition {
	return meta.FindStatusCondition(ecu.Status.Conditions, condType)
}
