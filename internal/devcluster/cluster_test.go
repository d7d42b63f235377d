package devcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
	"github.com/ecufleet/ecufleet/internal/scheme"
)

var _ = Describe("Start and Stop", func() {
	It("refuses out-of-range options before starting anything", func(ctx SpecContext) {
		kc := filepath.Join(GinkgoT().TempDir(), "kubeconfig")
		for _, o := range []Options{{Agents: -1}, {Agents: MaxAgents + 1}, {Sims: -1}, {Sims: MaxSims + 1}} {
			o.KubeconfigOut = kc
			c, err := Start(ctx, o)
			Expect(err).To(MatchError(ContainSubstring("want 0..")), "%+v", o)
			Expect(c).To(BeNil())
			Expect(kc).NotTo(BeAnExistingFile())
		}
	})

	It("runs the controller, agents and simulated ECUs, and Stop leaves nothing behind", func(ctx SpecContext) {
		kc := filepath.Join(GinkgoT().TempDir(), "dev", "kubeconfig")
		var progress bytes.Buffer
		c, err := Start(ctx, Options{Agents: 1, Sims: 2, Controller: true, KubeconfigOut: kc, Progress: &progress, Logger: testLogger()})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(c.Stop) // a no-op once the spec stopped it; stops it when the spec failed early
		Expect(progress.String()).To(SatisfyAll(
			ContainSubstring("API server ready at https://127.0.0.1:"),
			ContainSubstring("Controller started"),
			ContainSubstring("Simulated ECU sim-0 on 127.0.0.1:"),
			ContainSubstring("Simulated ECU sim-1 on 127.0.0.1:"),
			ContainSubstring("Agent dev-agent-0 started"),
		))
		certDir, dataDir := c.env.ControlPlane.APIServer.CertDir, c.env.ControlPlane.Etcd.DataDir
		Expect(certDir).To(BeADirectory())
		Expect(dataDir).To(BeADirectory())

		By("writing a kubeconfig only its owner can read, that a separate client can use")
		st, err := os.Stat(kc)
		Expect(err).NotTo(HaveOccurred())
		Expect(st.Mode().Perm()).To(Equal(os.FileMode(0o600)))
		cfg, err := clientcmd.BuildConfigFromFlags("", kc)
		Expect(err).NotTo(HaveOccurred())
		s, err := scheme.New()
		Expect(err).NotTo(HaveOccurred())
		k, err := client.New(cfg, client.Options{Scheme: s})
		Expect(err).NotTo(HaveOccurred())

		By("creating ECUs sim-0 and sim-1 that point at listening simulators and become Ready")
		var ports []int32
		Eventually(func(g Gomega) {
			var ecus diagv1.ECUList
			g.Expect(k.List(ctx, &ecus, client.InNamespace(SimNamespace))).To(Succeed())
			g.Expect(ecus.Items).To(HaveLen(2))
			ports = nil
			for i, e := range ecus.Items {
				g.Expect(e.Name).To(Equal(fmt.Sprintf("sim-%d", i)))
				g.Expect(e.Labels).To(HaveKeyWithValue("rack", "dev"))
				g.Expect(meta.IsStatusConditionTrue(e.Status.Conditions, diagv1.ConditionReady)).To(BeTrue(), "ECU %s not Ready", e.Name)
				g.Expect(e.Status.Agent).To(Equal("dev-agent-0"))
				ports = append(ports, e.Spec.Port)
			}
		}).Should(Succeed())
		Expect(ports[0]).NotTo(Equal(ports[1]))
		for _, p := range ports {
			conn, err := net.DialTimeout("tcp", net.JoinHostPort(SimHost, fmt.Sprint(p)), 5*time.Second)
			Expect(err).NotTo(HaveOccurred())
			Expect(conn.Close()).To(Succeed())
		}
		agent := &diagv1.DiagnosticAgent{}
		Expect(k.Get(ctx, client.ObjectKey{Name: "dev-agent-0"}, agent)).To(Succeed())
		Expect(agent.Labels).To(HaveKeyWithValue(AgentLabelKey, AgentLabelValue))

		By("running a job on each simulator, which tells its own VIN")
		for i := range 2 {
			job := builders.MakeJob(fmt.Sprintf("vin-%d", i), SimNamespace).ECU(fmt.Sprintf("sim-%d", i)).Steps(
				builders.ReadDID("vin", 0xF190), builders.VehicleIdentification("identify")).Obj()
			Expect(k.Create(ctx, job)).To(Succeed())
		}
		for i := range 2 {
			want := fmt.Sprintf("ECUFLEETDEV%06d", i)
			Eventually(func(g Gomega) {
				job := &diagv1.DiagnosticJob{}
				g.Expect(k.Get(ctx, client.ObjectKey{Namespace: SimNamespace, Name: fmt.Sprintf("vin-%d", i)}, job)).To(Succeed())
				g.Expect(job.Status.Phase).To(Equal(diagv1.JobSucceeded), job.Status.Message)
				g.Expect(job.Status.Steps).To(HaveLen(2))
				g.Expect(job.Status.Steps[0].Value).To(Equal(want))
				g.Expect(job.Status.Steps[1].Value).To(Equal(want))
			}).Should(Succeed())
		}

		By("reporting a component that stops on its own through Wait")
		c.run("test component", func(context.Context) error { return errors.New("boom") })
		Expect(c.Wait(ctx)).To(MatchError("test component stopped: boom"))

		By("stopping everything: components, simulators, API server, data directories, kubeconfig")
		Expect(ecufleetGoroutines()).NotTo(BeEmpty(), "the goroutine check must see the running components")
		Expect(c.Stop()).To(Succeed())
		Expect(kc).NotTo(BeAnExistingFile())
		Expect(certDir).NotTo(BeAnExistingFile())
		Expect(dataDir).NotTo(BeAnExistingFile())
		for _, p := range ports {
			_, err := net.DialTimeout("tcp", net.JoinHostPort(SimHost, fmt.Sprint(p)), 5*time.Second)
			Expect(err).To(HaveOccurred(), "simulator on port %d still listens", p)
		}
		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		Expect(k.List(lctx, &diagv1.ECUList{})).NotTo(Succeed(), "the API server still answers")
		Eventually(ecufleetGoroutines).Should(BeEmpty())
		Expect(c.Stop()).To(Succeed(), "a second Stop is a no-op")
		Expect(c.Wait(context.Background())).To(Succeed(), "Wait returns once the cluster stopped")
	}, SpecTimeout(4*time.Minute))
})

// ecufleetGoroutines lists the goroutines running ecufleet code, but the tests' own: after Stop
// there must be none (no agent, controller, prober or simulator left behind).
func ecufleetGoroutines() []string {
	buf := make([]byte, 8<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "github.com/ecufleet/ecufleet/") && !strings.Contains(g, "_test.go") {
			out = append(out, g)
		}
	}
	return out
}
