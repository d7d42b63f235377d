package agent_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ecufleet/ecufleet/agent"
	"github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
	"github.com/ecufleet/ecufleet/pkg/ecusim"
)

var _ = Describe("Agent registration", func() {
	It("registers its DiagnosticAgent, renews its Lease and follows its --label flags across restarts", func() {
		ns := newNamespace()
		name := ns + "-reg"
		first := startAgent(name, map[string]string{"rack": ns, "bus": "doip0"}, func(o *agent.Options) { o.MaxConcurrentJobs = 2 })

		a := &v1alpha1.DiagnosticAgent{}
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(suiteCtx, client.ObjectKey{Name: name}, a)).To(Succeed())
			g.Expect(a.Labels).To(HaveKeyWithValue("rack", ns))
			g.Expect(a.Labels).To(HaveKeyWithValue("bus", "doip0"))
			g.Expect(a.Spec.NodeName).To(Equal("node-" + name))
			g.Expect(a.Spec.MaxConcurrentJobs).To(BeEquivalentTo(2))
			g.Expect(a.Status.Version).To(Equal("test-version"))
			// The controller judges the agent live from the Lease.
			g.Expect(findAgentCondition(a, v1alpha1.ConditionReady)).To(HaveField("Status", metav1.ConditionTrue))
		}).Should(Succeed())

		lease := &coordinationv1.Lease{}
		leaseKey := client.ObjectKey{Namespace: agent.DefaultLeaseNamespace, Name: name}
		Expect(k8s.Get(suiteCtx, leaseKey, lease)).To(Succeed())
		Expect(*lease.Spec.HolderIdentity).To(Equal(name))
		Expect(*lease.Spec.LeaseDurationSeconds).To(BeEquivalentTo(testLeaseDuration / time.Second))
		renewed := lease.Spec.RenewTime.Time
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(suiteCtx, leaseKey, lease)).To(Succeed())
			g.Expect(lease.Spec.RenewTime.Time).To(BeTemporally(">", renewed))
		}).Should(Succeed())

		// Someone labels the agent by hand; the agent restarts without --label bus.
		a.Labels["owner"] = "lab-team"
		Expect(k8s.Update(suiteCtx, a)).To(Succeed())
		first.stop()
		startAgent(name, map[string]string{"rack": ns})
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(suiteCtx, client.ObjectKey{Name: name}, a)).To(Succeed())
			g.Expect(a.Labels).To(HaveKeyWithValue("rack", ns))
			g.Expect(a.Labels).NotTo(HaveKey("bus"))
			g.Expect(a.Labels).To(HaveKeyWithValue("owner", "lab-team"))
			g.Expect(a.Spec.MaxConcurrentJobs).To(BeEquivalentTo(agent.DefaultMaxConcurrentJobs))
		}).Should(Succeed())
	})
})

var _ = Describe("Probing ECUs", func() {
	var (
		ns     string
		labels map[string]string
	)

	BeforeEach(func() {
		ns = newNamespace()
		labels = map[string]string{"rack": ns}
		startAgent(ns+"-a", labels)
	})

	ecuFor := func(name string, port int32, method v1alpha1.ProbeMethod) *builders.ECUWrapper {
		return builders.MakeECU(name, ns).Port(port).AgentSelector(labels).Probe(method).ProbeTiming(1, 1, 2)
	}

	It("records what each probe method learns in the ECU status", func() {
		_, identPort := startSim(ecusim.Config{VIN: "WVWZZZ1JZXW000042", EID: "00 1A 2B 3C 4D 5E", GID: "AA BB CC DD EE FF"})
		_, statusPort := startSim(ecusim.Config{MaxSockets: 3})
		_, alivePort := startSim(ecusim.Config{})
		_, nonePort := startSim(ecusim.Config{})
		ident := createReadyECU(ecuFor("ident", identPort, v1alpha1.ProbeVehicleIdentification).Obj())
		status := createReadyECU(ecuFor("status", statusPort, v1alpha1.ProbeEntityStatus).Obj())
		alive := createReadyECU(ecuFor("alive", alivePort, v1alpha1.ProbeAliveCheck).Obj())
		none := createReadyECU(ecuFor("none", nonePort, v1alpha1.ProbeNone).Obj())

		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(suiteCtx, client.ObjectKeyFromObject(ident), ident)).To(Succeed())
			g.Expect(ident.Status.VIN).To(Equal("WVWZZZ1JZXW000042"))
			g.Expect(ident.Status.EID).To(Equal("00:1A:2B:3C:4D:5E"))
			g.Expect(ident.Status.GID).To(Equal("AA:BB:CC:DD:EE:FF"))
			g.Expect(ident.Status.LastProbeTime).NotTo(BeNil())
			g.Expect(findCondition(ident, v1alpha1.ConditionReachable)).To(HaveField("Reason", v1alpha1.ReasonProbeSucceeded))

			g.Expect(k8s.Get(suiteCtx, client.ObjectKeyFromObject(status), status)).To(Succeed())
			g.Expect(status.Status.Entity).To(Equal(&v1alpha1.EntityInfo{NodeType: "Node", MaxSockets: 3, OpenSockets: 0, MaxDataSize: 4 << 20}))
			g.Expect(status.Status.PowerMode).To(Equal("Ready"))

			g.Expect(k8s.Get(suiteCtx, client.ObjectKeyFromObject(alive), alive)).To(Succeed())
			g.Expect(findCondition(alive, v1alpha1.ConditionReachable)).To(HaveField("Message", ContainSubstring("alive check answered by 0x00E0")))
		}).Should(Succeed())

		// Method None sends nothing: no verdict, no probe time; the controller still calls it Ready.
		Expect(k8s.Get(suiteCtx, client.ObjectKeyFromObject(none), none)).To(Succeed())
		Expect(findCondition(none, v1alpha1.ConditionReachable)).To(BeNil())
		Expect(none.Status.LastProbeTime).To(BeNil())
	})

	It("keeps an AliveCheck probe off the ECU while a job holds it", func() {
		sim, port := startSim(ecusim.Config{})
		createReadyECU(ecuFor("ecu", port, v1alpha1.ProbeAliveCheck).Obj())
		job := builders.MakeJob("hold", ns).ECU("ecu").Steps(
			builders.Delay("hold", 3*time.Second),
			builders.Delay("after", 2*time.Second),
		).Obj()
		Expect(k8s.Create(suiteCtx, job)).To(Succeed())
		waitStepRunning(job, "hold")
		activations := sim.Stats().Activations
		// Probes run every second: three seconds without one prove they were skipped.
		waitStepRunning(job, "after")
		Expect(sim.Stats().Activations).To(Equal(activations), "no probe activated routing during the job")
		waitPhase(job, v1alpha1.JobSucceeded)
		// Once the ECU is free again, the probes resume.
		Eventually(func() uint64 { return sim.Stats().Activations }).Should(BeNumerically(">", activations))
	})
})

// findAgentCondition returns the DiagnosticAgent condition of that type, or nil.
func findAgentCondition(a *v1alpha1.DiagnosticAgent, condType string) *metav1.Condition {
	for i := range a.Status.Conditions {
		if a.Status.Conditions[i].Type == condType {
			return &a.Status.Conditions[i]
		}
	}
	return nil
}
