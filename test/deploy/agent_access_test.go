package deploy

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ecufleet/ecufleet/test/deploy/deploytest"
)

const (
	labNamespace  = "lab"
	agentLabel    = "diag.ecufleet.io/agent"
	nodeNameExtra = "authentication.kubernetes.io/node-name"
)

var (
	ecuResource   = schema.GroupVersionResource{Group: "diag.ecufleet.io", Version: "v1alpha1", Resource: "ecus"}
	jobResource   = schema.GroupVersionResource{Group: "diag.ecufleet.io", Version: "v1alpha1", Resource: "diagnosticjobs"}
	agentResource = schema.GroupVersionResource{Group: "diag.ecufleet.io", Version: "v1alpha1", Resource: "diagnosticagents"}
)

// identity is one caller's view of the API server: a dynamic client for ecufleet's kinds and
// a typed one for built-in kinds.
type identity struct {
	dyn  dynamic.Interface
	kube kubernetes.Interface
}

// newIdentity makes both clients for one rest config.
func newIdentity(cfg *rest.Config) identity {
	GinkgoHelper()
	dyn, err := dynamic.NewForConfig(cfg)
	Expect(err).NotTo(HaveOccurred())
	kube, err := kubernetes.NewForConfig(cfg)
	Expect(err).NotTo(HaveOccurred())
	return identity{dyn: dyn, kube: kube}
}

// asAgent impersonates the agent's service account as the API server authenticates a token
// the kubelet mounted into the agent's pod on node; node "" is a token bound to no pod.
func asAgent(node string) identity {
	GinkgoHelper()
	cfg := rest.CopyConfig(adminConfig)
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: deploytest.AgentUser,
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + deploytest.SystemNamespace, "system:authenticated"},
	}
	if node != "" {
		cfg.Impersonate.Extra = map[string][]string{nodeNameExtra: {node}}
	}
	return newIdentity(cfg)
}

// patchJob merge-patches a DiagnosticJob in the lab namespace (its status with "status").
func (id identity) patchJob(ctx context.Context, name, patch string, subresources ...string) error {
	_, err := id.dyn.Resource(jobResource).Namespace(labNamespace).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}, subresources...)
	return err
}

// patchECUStatus merge-patches the status of an ECU in the lab namespace.
func (id identity) patchECUStatus(ctx context.Context, name, patch string) error {
	_, err := id.dyn.Resource(ecuResource).Namespace(labNamespace).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}, "status")
	return err
}

// serve records, as the controller's roll-up does, that node's agent serves an ECU.
func serve(ctx context.Context, ecuName, node string) {
	GinkgoHelper()
	obj := ecu(ecuName)
	patch := client.RawPatch(types.MergePatchType, []byte(`{"status":{"agent":"`+node+`"}}`))
	Expect(admin.Status().Patch(ctx, obj, patch)).To(Succeed(), "setting status.agent of ECU %s", ecuName)
}

// patchAgent merge-patches a DiagnosticAgent (its status with "status").
func (id identity) patchAgent(ctx context.Context, name, patch string, subresources ...string) error {
	_, err := id.dyn.Resource(agentResource).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}, subresources...)
	return err
}

// createAgent registers a DiagnosticAgent as the agent does at start.
func (id identity) createAgent(ctx context.Context, name string) error {
	_, err := id.dyn.Resource(agentResource).Create(ctx, diagnosticAgent(name), metav1.CreateOptions{})
	return err
}

// renewLease creates or renews the heartbeat Lease name in namespace, as the agent does.
func (id identity) renewLease(ctx context.Context, namespace, name string) error {
	leases := id.kube.CoordinationV1().Leases(namespace)
	lease, err := leases.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = leases.Create(ctx, heartbeat(namespace, name), metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	lease.Spec.RenewTime = &metav1.MicroTime{Time: time.Now()}
	_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
	return err
}

// expectRefusedByRBAC checks that the authorizer, not admission, refused the agent.
func expectRefusedByRBAC(err error, verb, resource string) {
	GinkgoHelper()
	Expect(err).To(HaveOccurred(), "the agent may not %s %s", verb, resource)
	Expect(apierrors.IsForbidden(err)).To(BeTrue(), "want 403 Forbidden, got %v", err)
	Expect(err.Error()).To(ContainSubstring("User %q cannot %s resource %q", deploytest.AgentUser, verb, resource))
}

// expectRefusedByPolicy checks that ecufleet-agent-node-scope refused the request and that
// its message says which object and which node.
func expectRefusedByPolicy(err error, parts ...string) {
	GinkgoHelper()
	Expect(err).To(HaveOccurred(), "the policy should refuse this")
	Expect(apierrors.IsForbidden(err)).To(BeTrue(), "want 403 Forbidden, got %v", err)
	Expect(err.Error()).To(ContainSubstring("ValidatingAdmissionPolicy '%s'", deploytest.PolicyName))
	for _, p := range parts {
		Expect(err.Error()).To(ContainSubstring(p))
	}
}

// ecu is a minimal valid ECU in the lab namespace.
func ecu(name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "diag.ecufleet.io/v1alpha1", "kind": "ECU",
		"metadata": map[string]any{"name": name, "namespace": labNamespace},
		"spec":     map[string]any{"address": "127.0.0.1", "logicalAddress": int64(0x00E0)},
	}}
}

// boundJob is a DiagnosticJob as the controller leaves it once bound to node's agent: labelled
// for that agent and holding the agent's finalizer.
func boundJob(name, node string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "diag.ecufleet.io/v1alpha1", "kind": "DiagnosticJob",
		"metadata": map[string]any{
			"name": name, "namespace": labNamespace,
			"labels":     map[string]any{agentLabel: node},
			"finalizers": []any{"diag.ecufleet.io/agent-test"},
		},
		"spec": map[string]any{
			"ecuRef": map[string]any{"name": "ecu-a"},
			"steps":  []any{map[string]any{"name": "alive", "aliveCheck": map[string]any{}}},
		},
	}}
}

// diagnosticAgent is the DiagnosticAgent an agent named after node name registers.
func diagnosticAgent(name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "diag.ecufleet.io/v1alpha1", "kind": "DiagnosticAgent",
		"metadata": map[string]any{"name": name},
		"spec":     map[string]any{"nodeName": name},
	}}
}

// heartbeat is an agent's Lease as the agent writes it.
func heartbeat(namespace, name string) *coordinationv1.Lease {
	holder, duration := name, int32(40)
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &duration,
			RenewTime: &metav1.MicroTime{Time: time.Now()}},
	}
}

// The agent on node-a, against the RBAC of config/rbac/agent and the policy of config/policy.
var _ = Describe("The agent's service account on a real API server", Ordered, func() {
	var nodeA identity

	BeforeAll(func(ctx SpecContext) {
		nodeA = asAgent("node-a")
		access, err := deploytest.AgentAccess()
		Expect(err).NotTo(HaveOccurred())
		apply(ctx, access)

		setup := []client.Object{
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: labNamespace}},
			ecu("ecu-a"), ecu("ecu-b"), boundJob("job-a", "node-a"), boundJob("job-b", "node-b"),
			diagnosticAgent("node-b"), heartbeat(deploytest.SystemNamespace, "node-b"),
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "ecu-a-tls", Namespace: labNamespace}},
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "not-for-agents", Namespace: "kube-system"}},
			&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "not-for-agents", Namespace: "kube-system"},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "example.invalid/none"}}}},
			// What docs/deploy.md tells an operator to run in a lab namespace whose ECUs use TLS.
			&rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: ecuTLSRole, Namespace: labNamespace},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: ecuTLSRole},
				Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: deploytest.AgentAccount, Namespace: deploytest.SystemNamespace}},
			},
		}
		for _, o := range setup {
			Expect(admin.Create(ctx, o)).To(Succeed(), "creating %T %s", o, o.GetName())
		}
		// As the controller's roll-up leaves them: ecu-a served by node-a's agent, ecu-b by node-b's.
		serve(ctx, "ecu-a", "node-a")
		serve(ctx, "ecu-b", "node-b")

		// RBAC and admission policies reach the authorizer and the admission plugin through
		// informers: wait until every binding and the policy are in force (a dry run changes
		// nothing meanwhile).
		Eventually(func(g Gomega) {
			_, err := nodeA.dyn.Resource(ecuResource).Namespace(labNamespace).Get(ctx, "ecu-a", metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			_, err = nodeA.kube.CoreV1().Namespaces().Get(ctx, deploytest.SystemNamespace, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			_, err = nodeA.kube.CoreV1().Secrets(labNamespace).Get(ctx, "ecu-a-tls", metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())
		Eventually(func() error {
			_, err := nodeA.dyn.Resource(jobResource).Namespace(labNamespace).Patch(ctx, "job-b", types.MergePatchType,
				[]byte(`{"status":{"message":"probe"}}`), metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}}, "status")
			return err
		}).WithContext(ctx).WithTimeout(time.Minute).Should(MatchError(ContainSubstring(deploytest.PolicyName)))
	}, NodeTimeout(3*time.Minute))

	It("reads ECUs in every namespace and writes probe results into the status of those it serves", func(ctx SpecContext) {
		list, err := nodeA.dyn.Resource(ecuResource).List(ctx, metav1.ListOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(list.Items).To(ContainElement(HaveField("Object", HaveKeyWithValue("metadata", HaveKeyWithValue("name", "ecu-a")))))
		Expect(nodeA.patchECUStatus(ctx, "ecu-a", `{"status":{"lastProbeTime":"2026-01-02T03:04:05Z","vin":"WDB0000000000001",`+
			`"conditions":[{"type":"Reachable","status":"True","reason":"ProbeSucceeded","message":"ok","lastTransitionTime":"2026-01-02T03:04:05Z"}]}}`)).To(Succeed())
	})

	It("is refused by the policy probe results for an ECU another agent serves, and any change of the controller's fields", func(ctx SpecContext) {
		expectRefusedByPolicy(nodeA.patchECUStatus(ctx, "ecu-b", `{"status":{"lastProbeTime":"2026-01-02T03:04:05Z"}}`),
			`ECU lab/ecu-b is served by agent "node-b"`, "the ecufleet agent on node node-a")
		for _, patch := range []string{
			`{"status":{"activeJob":"job-a"}}`,
			`{"status":{"agent":"node-b"}}`,
			`{"status":{"queuedJobs":3}}`,
			`{"status":{"conditions":[{"type":"Ready","status":"True","reason":"Reachable","message":"forged","lastTransitionTime":"2026-01-02T03:04:05Z"}]}}`,
		} {
			expectRefusedByPolicy(nodeA.patchECUStatus(ctx, "ecu-a", patch), "may not change status.agent, status.activeJob", "ECU lab/ecu-a")
		}
	})

	It("may not change, delete or create ECUs, nor create jobs", func(ctx SpecContext) {
		ecus := nodeA.dyn.Resource(ecuResource).Namespace(labNamespace)
		_, err := ecus.Patch(ctx, "ecu-a", types.MergePatchType, []byte(`{"spec":{"unschedulable":true}}`), metav1.PatchOptions{})
		expectRefusedByRBAC(err, "patch", "ecus")
		expectRefusedByRBAC(ecus.Delete(ctx, "ecu-a", metav1.DeleteOptions{}), "delete", "ecus")
		_, err = ecus.Create(ctx, ecu("ecu-new"), metav1.CreateOptions{})
		expectRefusedByRBAC(err, "create", "ecus")
		_, err = nodeA.dyn.Resource(jobResource).Namespace(labNamespace).Create(ctx, boundJob("job-new", "node-a"), metav1.CreateOptions{})
		expectRefusedByRBAC(err, "create", "diagnosticjobs")
		expectRefusedByRBAC(nodeA.dyn.Resource(jobResource).Namespace(labNamespace).Delete(ctx, "job-a", metav1.DeleteOptions{}), "delete", "diagnosticjobs")
	})

	It("writes the status of a job bound to its node and removes its finalizer", func(ctx SpecContext) {
		Expect(nodeA.patchJob(ctx, "job-a", `{"status":{"message":"step alive passed"}}`, "status")).To(Succeed())
		Expect(nodeA.patchJob(ctx, "job-a", `{"metadata":{"finalizers":null}}`)).To(Succeed())

		job := &unstructured.Unstructured{}
		job.SetGroupVersionKind(schema.GroupVersionKind{Group: "diag.ecufleet.io", Version: "v1alpha1", Kind: "DiagnosticJob"})
		Expect(admin.Get(ctx, client.ObjectKey{Namespace: labNamespace, Name: "job-a"}, job)).To(Succeed())
		Expect(job.GetFinalizers()).To(BeEmpty())
		message, _, err := unstructured.NestedString(job.Object, "status", "message")
		Expect(err).NotTo(HaveOccurred())
		Expect(message).To(Equal("step alive passed"))
	})

	It("is refused by the policy any write to a job bound to another node", func(ctx SpecContext) {
		why := []string{"DiagnosticJob lab/job-b is labelled diag.ecufleet.io/agent=node-b", "the ecufleet agent on node node-a"}
		expectRefusedByPolicy(nodeA.patchJob(ctx, "job-b", `{"status":{"message":"stolen"}}`, "status"), why...)
		expectRefusedByPolicy(nodeA.patchJob(ctx, "job-b", `{"metadata":{"finalizers":null}}`), why...)
		expectRefusedByPolicy(nodeA.patchJob(ctx, "job-b", `{"metadata":{"labels":{"diag.ecufleet.io/agent":"node-a"}}}`), why...)

		job := &unstructured.Unstructured{}
		job.SetGroupVersionKind(schema.GroupVersionKind{Group: "diag.ecufleet.io", Version: "v1alpha1", Kind: "DiagnosticJob"})
		Expect(admin.Get(ctx, client.ObjectKey{Namespace: labNamespace, Name: "job-b"}, job)).To(Succeed())
		Expect(job.GetFinalizers()).To(ConsistOf("diag.ecufleet.io/agent-test"))
		Expect(job.GetLabels()).To(HaveKeyWithValue(agentLabel, "node-b"))
		message, _, err := unstructured.NestedString(job.Object, "status", "message")
		Expect(err).NotTo(HaveOccurred())
		Expect(message).NotTo(Equal("stolen"))
	})

	It("may not hand its own job to another agent, nor change what the job asks for", func(ctx SpecContext) {
		expectRefusedByPolicy(nodeA.patchJob(ctx, "job-a", `{"metadata":{"labels":{"diag.ecufleet.io/agent":"node-b"}}}`),
			"DiagnosticJob lab/job-a would be labelled diag.ecufleet.io/agent=node-b", "node node-a")
		expectRefusedByPolicy(nodeA.patchJob(ctx, "job-a", `{"spec":{"priority":100}}`),
			"may not change the spec of DiagnosticJob lab/job-a", "node node-a")
	})

	It("registers and updates only the DiagnosticAgent named after its node", func(ctx SpecContext) {
		Expect(nodeA.createAgent(ctx, "node-a")).To(Succeed())
		Expect(nodeA.patchAgent(ctx, "node-a", `{"metadata":{"labels":{"node":"node-a"}}}`)).To(Succeed())
		Expect(nodeA.patchAgent(ctx, "node-a", `{"status":{"version":"v0.1.0-test"}}`, "status")).To(Succeed())

		expectRefusedByPolicy(nodeA.createAgent(ctx, "node-c"), "may only create or modify the DiagnosticAgent named node-a, not DiagnosticAgent node-c")
		expectRefusedByPolicy(nodeA.patchAgent(ctx, "node-b", `{"metadata":{"labels":{"node":"node-a"}}}`), "not DiagnosticAgent node-b")
		expectRefusedByPolicy(nodeA.patchAgent(ctx, "node-b", `{"status":{"version":"forged"}}`, "status"), "not DiagnosticAgent node-b")
		expectRefusedByRBAC(nodeA.dyn.Resource(agentResource).Delete(ctx, "node-b", metav1.DeleteOptions{}), "delete", "diagnosticagents")
		list, err := nodeA.dyn.Resource(agentResource).List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=node-a"})
		Expect(err).NotTo(HaveOccurred())
		Expect(list.Items).To(HaveLen(1))
	})

	It("heartbeats only the Lease named after its node, only in ecufleet-system", func(ctx SpecContext) {
		Expect(nodeA.renewLease(ctx, deploytest.SystemNamespace, "node-a")).To(Succeed()) // creates
		Expect(nodeA.renewLease(ctx, deploytest.SystemNamespace, "node-a")).To(Succeed()) // renews
		expectRefusedByPolicy(nodeA.renewLease(ctx, deploytest.SystemNamespace, "node-b"), "may only create or modify the Lease named node-a, not Lease node-b")
		expectRefusedByRBAC(nodeA.renewLease(ctx, labNamespace, "node-a"), "get", "leases")
		_, err := nodeA.kube.CoordinationV1().Leases(deploytest.SystemNamespace).List(ctx, metav1.ListOptions{})
		expectRefusedByRBAC(err, "list", "leases")
	})

	It("may read the Namespace holding its Lease, and no other", func(ctx SpecContext) {
		namespaces := nodeA.kube.CoreV1().Namespaces()
		_, err := namespaces.Get(ctx, deploytest.SystemNamespace, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		_, err = namespaces.Get(ctx, labNamespace, metav1.GetOptions{})
		expectRefusedByRBAC(err, "get", "namespaces")
		_, err = namespaces.List(ctx, metav1.ListOptions{})
		expectRefusedByRBAC(err, "list", "namespaces")
		_, err = namespaces.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "agent-made"}}, metav1.CreateOptions{})
		expectRefusedByRBAC(err, "create", "namespaces")
	})

	It("reads an ECU's TLS Secret only where the ECU TLS role is bound, and never reads pods", func(ctx SpecContext) {
		_, err := nodeA.kube.CoreV1().Secrets(labNamespace).Get(ctx, "ecu-a-tls", metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		_, err = nodeA.kube.CoreV1().Secrets(labNamespace).List(ctx, metav1.ListOptions{})
		expectRefusedByRBAC(err, "list", "secrets")
		_, err = nodeA.kube.CoreV1().Secrets("kube-system").Get(ctx, "not-for-agents", metav1.GetOptions{})
		expectRefusedByRBAC(err, "get", "secrets")
		_, err = nodeA.kube.CoreV1().Pods("kube-system").Get(ctx, "not-for-agents", metav1.GetOptions{})
		expectRefusedByRBAC(err, "get", "pods")
		_, err = nodeA.kube.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
		expectRefusedByRBAC(err, "list", "pods")
	})

	It("is refused every guarded write when its credentials carry no node name", func(ctx SpecContext) {
		anonymous := asAgent("")
		const why = "the ecufleet agent's credentials carry no node name"
		expectRefusedByPolicy(anonymous.patchJob(ctx, "job-a", `{"status":{"message":"who am I"}}`, "status"), why)
		expectRefusedByPolicy(anonymous.patchAgent(ctx, "node-a", `{"status":{"version":"who am I"}}`, "status"), why)
		expectRefusedByPolicy(anonymous.renewLease(ctx, deploytest.SystemNamespace, "node-a"), why)
	})

	It("leaves every other identity to RBAC alone", func(ctx SpecContext) {
		adminIdentity := newIdentity(adminConfig)
		Expect(adminIdentity.patchJob(ctx, "job-b", `{"status":{"message":"written by an admin"}}`, "status")).To(Succeed())
		Expect(adminIdentity.patchAgent(ctx, "node-b", `{"metadata":{"labels":{"rack":"3"}}}`)).To(Succeed())
	})

	It("gets the node name from a real token bound to a pod on the node, and is held to it", func(ctx SpecContext) {
		cfg, err := deploytest.AgentPodConfig(ctx, adminConfig, "node-a")
		Expect(err).NotTo(HaveOccurred())
		agent := newIdentity(cfg)

		review, err := agent.kube.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(review.Status.UserInfo.Username).To(Equal(deploytest.AgentUser))
		Expect(review.Status.UserInfo.Extra).To(HaveKeyWithValue(nodeNameExtra, authenticationv1.ExtraValue{"node-a"}))

		Expect(agent.patchJob(ctx, "job-a", `{"status":{"message":"from a real token"}}`, "status")).To(Succeed())
		expectRefusedByPolicy(agent.patchJob(ctx, "job-b", `{"status":{"message":"from a real token"}}`, "status"),
			"DiagnosticJob lab/job-b is labelled diag.ecufleet.io/agent=node-b", "node node-a")
	})
})
