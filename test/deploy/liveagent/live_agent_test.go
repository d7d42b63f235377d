package liveagent

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/ecufleet/ecufleet/agent"
	"github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
	"github.com/ecufleet/ecufleet/test/deploy/deploytest"
)

const (
	labNamespace = "lab"
	node         = "node-a"
	otherNode    = "node-b"
	// eventually bounds every wait: generous, for a loaded 2-core machine.
	eventually = 2 * time.Minute
)

// refusals records the agent's log lines that report a refused request, so a spec can fail on
// a permission the agent lacked even when the agent recovered from it.
type refusals struct {
	mu    sync.Mutex
	lines []string
}

var refusedPattern = regexp.MustCompile(`(?i)forbidden|denied request`)

// logger writes the agent's logs to GinkgoWriter and remembers the refusals among them.
func (r *refusals) logger() logr.Logger {
	return funcr.New(func(prefix, args string) {
		line := prefix + " " + args
		GinkgoWriter.Println(line)
		if refusedPattern.MatchString(line) {
			r.mu.Lock()
			r.lines = append(r.lines, line)
			r.mu.Unlock()
		}
	}, funcr.Options{Verbosity: 1})
}

func (r *refusals) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.lines...)
}

// closedPort returns a 127.0.0.1 TCP port nothing listens on, so the ECU there refuses.
func closedPort() int32 {
	GinkgoHelper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	port := l.Addr().(*net.TCPAddr).Port
	Expect(l.Close()).To(Succeed())
	return int32(port)
}

// bindJob does what the controller does when it schedules a job on node's agent: label,
// finalizer, then status.
func bindJob(ctx context.Context, name, ecu, agentName string) {
	GinkgoHelper()
	job := builders.MakeJob(name, labNamespace).ECU(ecu).Step(builders.AliveCheck("alive")).
		Label(v1alpha1.AgentLabel, agentName).Obj()
	controllerutil.AddFinalizer(job, v1alpha1.JobFinalizer)
	Expect(admin.Create(ctx, job)).To(Succeed())
	job.Status.Phase = v1alpha1.JobScheduled
	job.Status.ECU, job.Status.Agent = ecu, agentName
	Expect(admin.Status().Update(ctx, job)).To(Succeed())
}

var _ = Describe("The node agent", Ordered, func() {
	var (
		logs refusals
		port int32
		// stopped closes when the agent's Run returns, with runErr.
		stopped chan struct{}
		runErr  error
	)
	// agentRunning ends an Eventually at once if the agent has stopped: waiting on would
	// only time out.
	agentRunning := func() {
		select {
		case <-stopped:
			StopTrying(fmt.Sprintf("the agent stopped: %v", runErr)).Now()
		default:
		}
	}

	BeforeAll(func(ctx SpecContext) {
		access, err := deploytest.AgentAccess()
		Expect(err).NotTo(HaveOccurred())
		Expect(deploytest.Apply(ctx, admin, access)).To(Succeed())
		Expect(admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: labNamespace}})).To(Succeed())
		port = closedPort()
		Expect(admin.Create(ctx, builders.MakeECU("ecu-a", labNamespace).Port(port).ProbeTiming(1, 1, 1).Obj())).To(Succeed())
		// Another node's job in the same namespace, to show the agent leaves it alone.
		bindJob(ctx, "job-b", "ecu-a", otherNode)
		cfg, err := deploytest.AgentPodConfig(ctx, adminConfig, node)
		Expect(err).NotTo(HaveOccurred())

		// The policy reaches the admission plugin through an informer: wait until it refuses
		// this identity a dry-run write to the other node's job.
		probe := &unstructured.Unstructured{}
		probe.SetAPIVersion(v1alpha1.GroupVersion.String())
		probe.SetKind("DiagnosticJob")
		probe.SetNamespace(labNamespace)
		probe.SetName("job-b")
		tokenClient, err := client.New(cfg, client.Options{})
		Expect(err).NotTo(HaveOccurred())
		Eventually(func() error {
			return tokenClient.Patch(ctx, probe, client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"labels":{"probe":"x"}}}`)), client.DryRunAll)
		}).WithContext(ctx).WithTimeout(eventually).Should(MatchError(ContainSubstring(deploytest.PolicyName)))

		a, err := agent.New(cfg, agent.Options{Name: node, NodeName: node, Labels: map[string]string{"node": node},
			Version: "v0.0.0-deploy-test", Logger: logs.logger()})
		Expect(err).NotTo(HaveOccurred())
		runCtx, stop := context.WithCancel(context.Background())
		stopped = make(chan struct{})
		go func() {
			runErr = a.Run(runCtx)
			close(stopped)
		}()
		DeferCleanup(func(ctx SpecContext) {
			stop()
			Eventually(stopped).WithContext(ctx).WithTimeout(eventually).Should(BeClosed())
			GinkgoWriter.Printf("Agent Run returned %v\n", runErr)
		}, NodeTimeout(eventually+time.Minute))
	}, NodeTimeout(2*eventually))

	It("registers its DiagnosticAgent, labelled and with its status, and heartbeats its Lease", func(ctx SpecContext) {
		Eventually(func(g Gomega) {
			agentRunning()
			ag := &v1alpha1.DiagnosticAgent{}
			g.Expect(admin.Get(ctx, client.ObjectKey{Name: node}, ag)).To(Succeed())
			g.Expect(ag.Labels).To(HaveKeyWithValue("node", node))
			g.Expect(ag.Spec.NodeName).To(Equal(node))
			g.Expect(ag.Status.Version).To(Equal("v0.0.0-deploy-test"))
			lease := &coordinationv1.Lease{}
			g.Expect(admin.Get(ctx, client.ObjectKey{Namespace: deploytest.SystemNamespace, Name: node}, lease)).To(Succeed())
			g.Expect(lease.Spec.HolderIdentity).To(HaveValue(Equal(node)))
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())
	}, SpecTimeout(eventually+time.Minute))

	It("probes the ECU it serves and records the verdict in the ECU's status", func(ctx SpecContext) {
		ecu := &v1alpha1.ECU{}
		Expect(admin.Get(ctx, client.ObjectKey{Namespace: labNamespace, Name: "ecu-a"}, ecu)).To(Succeed())
		ecu.Status.Agent = node // as the controller records which agent serves the ECU
		Expect(admin.Status().Update(ctx, ecu)).To(Succeed())
		Eventually(func(g Gomega) {
			agentRunning()
			g.Expect(admin.Get(ctx, client.ObjectKeyFromObject(ecu), ecu)).To(Succeed())
			reachable := meta.FindStatusCondition(ecu.Status.Conditions, v1alpha1.ConditionReachable)
			g.Expect(reachable).NotTo(BeNil())
			g.Expect(reachable.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(ecu.Status.LastProbeTime).NotTo(BeNil())
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())
	}, SpecTimeout(eventually+time.Minute))

	It("runs a job bound to it, writes the result, and releases the job when it is deleted", func(ctx SpecContext) {
		bindJob(ctx, "job-a", "ecu-a", node)
		job := &v1alpha1.DiagnosticJob{}
		key := client.ObjectKey{Namespace: labNamespace, Name: "job-a"}
		Eventually(func(g Gomega) {
			agentRunning()
			g.Expect(admin.Get(ctx, key, job)).To(Succeed())
			g.Expect(job.Status.Phase).To(Equal(v1alpha1.JobFailed))
			g.Expect(job.Status.Reason).To(Equal(v1alpha1.ReasonEcuUnreachable))
			g.Expect(job.Status.Steps).To(HaveLen(1))
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())

		Expect(admin.Delete(ctx, job)).To(Succeed())
		Eventually(func() bool {
			agentRunning()
			return apierrors.IsNotFound(admin.Get(ctx, key, job))
		}).WithContext(ctx).WithTimeout(eventually).Should(BeTrue(), "the agent should remove its finalizer")
	}, SpecTimeout(2*eventually))

	It("never touched the other node's job, and was never refused anything", func(ctx SpecContext) {
		job := &v1alpha1.DiagnosticJob{}
		Expect(admin.Get(ctx, client.ObjectKey{Namespace: labNamespace, Name: "job-b"}, job)).To(Succeed())
		Expect(job.Status.Phase).To(Equal(v1alpha1.JobScheduled))
		Expect(job.Finalizers).To(ConsistOf(v1alpha1.JobFinalizer))
		Expect(strings.Join(logs.seen(), "\n")).To(BeEmpty())
	})
})
