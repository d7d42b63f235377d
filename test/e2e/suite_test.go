package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/proctest"
	"github.com/ecufleet/ecufleet/internal/scheme"
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "ecufleet end to end, with real processes")
}

// Lease timing of the suite's agents and controller: short, so that a killed process is
// noticed within seconds, yet with several renewals per lease so that a loaded machine does
// not lose a live one.
const (
	agentLease    = "8s"
	agentRenew    = "1s"
	leaderLease   = "10s"
	agentCount    = 3
	agentMaxJobs  = "4"
	agentLabelKey = "e2e"
)

var (
	ps          *procs
	k8s         client.WithWatch // admin client of the suite's API server
	kubeconfig  string
	controller  *proc            // the running controller; the restart spec replaces it
	metricsAddr string           // where the running controller serves /metrics
	agents      map[string]*proc // the running agents by name; the agent-loss spec replaces one
	keepLogs    bool             // a spec failed: keep the log directory for a closer look
)

var _ = BeforeSuite(func(ctx SpecContext) {
	SetDefaultEventuallyTimeout(90 * time.Second)
	SetDefaultEventuallyPollingInterval(200 * time.Millisecond)
	SetDefaultConsistentlyPollingInterval(200 * time.Millisecond)

	dir, err := os.MkdirTemp("", "ecufleet-e2e-")
	Expect(err).NotTo(HaveOccurred())
	kubeconfig = filepath.Join(dir, "kubeconfig")
	ps = &procs{proctest.Group{Bin: filepath.Join(dir, "ecufleet"), Dir: dir, Env: []string{"KUBECONFIG=" + kubeconfig}}}
	var dev *proc
	DeferCleanup(func() {
		ps.stopAll() // agents, controller and simulators first, the control plane last
		if dev != nil {
			Expect(dev.Err()).NotTo(HaveOccurred(), "ecufleet dev did not exit cleanly on SIGTERM:\n%s", proctest.Tail(dev.Log, 40))
			Expect(kubeconfig).NotTo(BeAnExistingFile(), "ecufleet dev left its kubeconfig behind")
		}
		if keepLogs || CurrentSpecReport().Failed() {
			ps.dumpLogs()
			fmt.Fprintf(GinkgoWriter, "Process logs kept in %s\n", dir)
			return
		}
		Expect(os.RemoveAll(dir)).To(Succeed())
	})

	By("building bin/ecufleet once")
	build := exec.CommandContext(ctx, "go", "build", "-o", ps.Bin, "../../cmd/ecufleet")
	out, err := build.CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), "go build:\n%s", out)

	By("starting the control plane: ecufleet dev --agents 0 --sims 0 --no-controller")
	dev = ps.start("dev", syscall.SIGTERM, "dev", "--agents", "0", "--sims", "0", "--no-controller",
		"--kubeconfig-out", kubeconfig, "--log-file", "-")
	waitForLog(ctx, dev, "Local control plane ready")
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	Expect(err).NotTo(HaveOccurred())
	cfg.QPS, cfg.Burst = 200, 400
	s, err := scheme.New()
	Expect(err).NotTo(HaveOccurred())
	k8s, err = client.NewWithWatch(cfg, client.Options{Scheme: s})
	Expect(err).NotTo(HaveOccurred())

	By("starting the controller and the agents, each a process of its own")
	controller = startController(ctx)
	agents = map[string]*proc{}
	for i := range agentCount {
		name := fmt.Sprintf("e2e-agent-%d", i)
		agents[name] = startAgent(ctx, name)
	}
	for name := range agents {
		waitAgentReady(ctx, name, true)
	}
}, NodeTimeout(6*time.Minute))

var _ = AfterEach(func() {
	if CurrentSpecReport().Failed() {
		ps.dumpLogs()
		keepLogs = true
	}
})

// startController runs `ecufleet controller` with leader election, metrics and health probes
// on free ports, and waits until /healthz and /readyz answer.
func startController(ctx context.Context) *proc {
	GinkgoHelper()
	probes := fmt.Sprintf("127.0.0.1:%d", freePort())
	metricsAddr = fmt.Sprintf("127.0.0.1:%d", freePort())
	p := ps.start("controller", syscall.SIGKILL, "controller", "--kubeconfig", kubeconfig, "--leader-elect",
		"--leader-elect-lease-duration", leaderLease, "--metrics-bind-address", metricsAddr, "--health-probe-bind-address", probes)
	for _, path := range []string{"/healthz", "/readyz"} {
		Eventually(ctx, func(g Gomega) {
			g.Expect(p.Exited()).To(BeFalse(), "the controller exited:\n%s", proctest.Tail(p.Log, 40))
			g.Expect(httpGet(ctx, "http://"+probes+path)).NotTo(BeEmpty())
		}).Should(Succeed())
	}
	return p
}

// httpGet returns the body of a 200 answer, or an error.
func httpGet(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	return string(body), nil
}

// startAgent runs `ecufleet agent` with short lease timing and waits until it registered. It
// finds the cluster through $KUBECONFIG (set for every process of the suite): with --kubeconfig
// the agent keeps client-go's default limit of 5 requests per second, which makes the load spec
// four times slower (see the report of this suite's author).
func startAgent(ctx context.Context, name string) *proc {
	GinkgoHelper()
	p := ps.start(name, syscall.SIGKILL, "agent", "--name", name, "--label", agentLabelKey+"=true",
		"--lease-duration", agentLease, "--renew-interval", agentRenew, "--max-concurrent-jobs", agentMaxJobs)
	waitForLog(ctx, p, "Agent registered")
	return p
}

// waitAgentReady waits until the controller judged the agent's Lease live (ready) or expired.
func waitAgentReady(ctx context.Context, name string, ready bool) {
	GinkgoHelper()
	Eventually(ctx, func(g Gomega) {
		a := &diagv1.DiagnosticAgent{}
		g.Expect(k8s.Get(ctx, client.ObjectKey{Name: name}, a)).To(Succeed())
		g.Expect(meta.IsStatusConditionTrue(a.Status.Conditions, diagv1.ConditionReady)).To(Equal(ready), "agent %s Ready", name)
	}).Should(Succeed())
}
