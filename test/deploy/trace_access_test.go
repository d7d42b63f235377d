package deploy

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ecufleet/ecufleet/test/deploy/deploytest"
)

// traceNamespace keeps these specs' jobs and ConfigMaps apart from the other agent specs'.
const traceNamespace = "lab-traces"

// traceOf is a job's trace ConfigMap as the agent on node writes it: <job>-trace, labelled
// with the agent, owned by the job.
func traceOf(job *corev1.ObjectReference, node string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: job.Name + "-trace", Namespace: traceNamespace,
			Labels: map[string]string{agentLabel: node},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "diag.ecufleet.io/v1alpha1", Kind: "DiagnosticJob",
				Name: job.Name, UID: job.UID, Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(false)}}},
		BinaryData: map[string][]byte{"trace.pcapng.gz": {0x1F, 0x8B}},
	}
}

// createJob creates a job bound to node's agent in traceNamespace and returns a reference
// with its UID.
func createJob(ctx context.Context, name, node string) *corev1.ObjectReference {
	GinkgoHelper()
	job := boundJob(name, node)
	job.SetNamespace(traceNamespace)
	Expect(admin.Create(ctx, job)).To(Succeed(), "creating job %s", name)
	return &corev1.ObjectReference{Name: name, UID: job.GetUID()}
}

// writeConfigMap writes cm as id (create, or update when it exists already, as the agent does
// for a retried attempt).
func (id identity) writeConfigMap(ctx context.Context, cm *corev1.ConfigMap, update bool) error {
	cms := id.kube.CoreV1().ConfigMaps(cm.Namespace)
	if !update {
		_, err := cms.Create(ctx, cm, metav1.CreateOptions{})
		return err
	}
	have, err := cms.Get(ctx, cm.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	have.Labels, have.OwnerReferences, have.BinaryData = cm.Labels, cm.OwnerReferences, cm.BinaryData
	_, err = cms.Update(ctx, have, metav1.UpdateOptions{})
	return err
}

// The agent on node-a and the traces of jobs: config/rbac/agent/trace_cluster_role.yaml and
// the ConfigMap rules of the node-scope policy.
var _ = Describe("The agent's service account and job traces", Ordered, func() {
	var nodeA identity
	var jobA, jobB *corev1.ObjectReference

	BeforeAll(func(ctx SpecContext) {
		nodeA = asAgent("node-a")
		access, err := deploytest.AgentAccess()
		Expect(err).NotTo(HaveOccurred())
		apply(ctx, access)
		Expect(admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: traceNamespace}})).To(Succeed())
		jobA, jobB = createJob(ctx, "job-a", "node-a"), createJob(ctx, "job-b", "node-b")
		// What node-b's agent stored for its job, and a ConfigMap of the lab's own.
		Expect(admin.Create(ctx, traceOf(jobB, "node-b"))).To(Succeed())
		Expect(admin.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "bench-settings", Namespace: traceNamespace},
			Data: map[string]string{"rack": "3"}})).To(Succeed())

		// The binding and the policy reach the authorizer and admission through informers.
		Eventually(func(g Gomega) {
			_, err := nodeA.kube.CoreV1().ConfigMaps(traceNamespace).Get(ctx, "job-b-trace", metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			_, err = nodeA.kube.CoreV1().ConfigMaps(traceNamespace).Create(ctx, &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: traceNamespace}}, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			g.Expect(err).To(MatchError(ContainSubstring(deploytest.PolicyName)))
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())
	}, NodeTimeout(3*time.Minute))

	It("creates, reads and replaces the trace of a job bound to its node", func(ctx SpecContext) {
		want := traceOf(jobA, "node-a")
		Expect(nodeA.writeConfigMap(ctx, want, false)).To(Succeed())
		want.BinaryData["trace.pcapng.gz"] = []byte{0x1F, 0x8B, 0x08}
		Expect(nodeA.writeConfigMap(ctx, want, true)).To(Succeed(), "a retried attempt replaces the trace")

		got := &corev1.ConfigMap{}
		Expect(admin.Get(ctx, client.ObjectKeyFromObject(want), got)).To(Succeed())
		Expect(got.BinaryData).To(Equal(want.BinaryData))
	})

	It("is refused by the policy another agent's job's trace", func(ctx SpecContext) {
		// Overwriting what node-b's agent stored, even relabelled as its own.
		expectRefusedByPolicy(nodeA.writeConfigMap(ctx, traceOf(jobB, "node-a"), true),
			"ConfigMap lab-traces/job-b-trace is labelled diag.ecufleet.io/agent=node-b", "the ecufleet agent on node node-a")
		// Creating one labelled for the other agent.
		jobC := createJob(ctx, "job-c", "node-b")
		expectRefusedByPolicy(nodeA.writeConfigMap(ctx, traceOf(jobC, "node-b"), false),
			"ConfigMap lab-traces/job-c-trace is labelled diag.ecufleet.io/agent=node-b")
		// Handing its own trace to the other agent.
		expectRefusedByPolicy(nodeA.writeConfigMap(ctx, traceOf(jobA, "node-b"), true),
			"ConfigMap lab-traces/job-a-trace is labelled diag.ecufleet.io/agent=node-b")

		got := &corev1.ConfigMap{}
		Expect(admin.Get(ctx, client.ObjectKey{Namespace: traceNamespace, Name: "job-b-trace"}, got)).To(Succeed())
		Expect(got.Labels).To(HaveKeyWithValue(agentLabel, "node-b"))
	})

	It("is refused by the policy a trace not owned by the job it is named after", func(ctx SpecContext) {
		jobD := createJob(ctx, "job-d", "node-a")
		unowned := traceOf(jobD, "node-a")
		unowned.OwnerReferences = nil
		const why = "must have the DiagnosticJob job-d as its controller owner"
		expectRefusedByPolicy(nodeA.writeConfigMap(ctx, unowned, false), why)
		misowned := traceOf(jobD, "node-a")
		misowned.OwnerReferences[0].Name = "job-a"
		expectRefusedByPolicy(nodeA.writeConfigMap(ctx, misowned, false), why)
		notController := traceOf(jobD, "node-a")
		notController.OwnerReferences[0].Controller = nil
		expectRefusedByPolicy(nodeA.writeConfigMap(ctx, notController, false), why)
		wrongKind := traceOf(jobD, "node-a")
		wrongKind.OwnerReferences[0].Kind = "ECU"
		expectRefusedByPolicy(nodeA.writeConfigMap(ctx, wrongKind, false), why)
	})

	It("is refused by the policy any other ConfigMap", func(ctx SpecContext) {
		other := traceOf(jobA, "node-a")
		other.Name = "job-a-notes"
		expectRefusedByPolicy(nodeA.writeConfigMap(ctx, other, false),
			"may only write job traces (ConfigMaps named <job>-trace), not ConfigMap lab-traces/job-a-notes")
		settings := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "bench-settings", Namespace: traceNamespace},
			Data: map[string]string{"rack": "4"}}
		expectRefusedByPolicy(nodeA.writeConfigMap(ctx, settings, true), "not ConfigMap lab-traces/bench-settings")
		system := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "agent-config", Namespace: deploytest.SystemNamespace}}
		_, err := nodeA.kube.CoreV1().ConfigMaps(deploytest.SystemNamespace).Create(ctx, system, metav1.CreateOptions{})
		expectRefusedByPolicy(err, "not ConfigMap ecufleet-system/agent-config")
	})

	It("may not list, watch or delete ConfigMaps", func(ctx SpecContext) {
		cms := nodeA.kube.CoreV1().ConfigMaps(traceNamespace)
		_, err := cms.List(ctx, metav1.ListOptions{})
		expectRefusedByRBAC(err, "list", "configmaps")
		_, err = cms.Watch(ctx, metav1.ListOptions{})
		expectRefusedByRBAC(err, "watch", "configmaps")
		expectRefusedByRBAC(cms.Delete(ctx, "job-a-trace", metav1.DeleteOptions{}), "delete", "configmaps")
	})

	It("is refused every trace when its credentials carry no node name", func(ctx SpecContext) {
		jobE := createJob(ctx, "job-e", "node-a")
		expectRefusedByPolicy(asAgent("").writeConfigMap(ctx, traceOf(jobE, "node-a"), false),
			"the ecufleet agent's credentials carry no node name")
	})
})
