package deploy

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"

	"github.com/ecufleet/ecufleet/test/deploy/deploytest"
)

const (
	controllerAccount  = "ecufleet-controller"
	ecuTLSRole         = "ecufleet-agent-ecu-tls"
	imagesRole         = "ecufleet-agent-images"
	saTokenMountPath   = "/var/run/secrets/kubernetes.io/serviceaccount"
	vehicleNetworkNode = "diag.ecufleet.io/vehicle-network"
)

// builtinScheme knows every built-in kind and CRDs, to decode manifests strictly into their
// Go types: a misspelt field fails here, not silently on a cluster.
var builtinScheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(apiextensionsv1.AddToScheme(s))
	return s
}()

// configPath joins parts under the checkout's config/.
func configPath(parts ...string) string {
	GinkgoHelper()
	dir, err := deploytest.ConfigDir()
	Expect(err).NotTo(HaveOccurred())
	return filepath.Join(append([]string{dir}, parts...)...)
}

// mustRender renders a directory under config/ or fails the spec with the resolver's reason.
func mustRender(dir string) []*unstructured.Unstructured {
	GinkgoHelper()
	objs, err := deploytest.Render(configPath(dir))
	Expect(err).NotTo(HaveOccurred(), "rendering config/%s", dir)
	return objs
}

// typed converts a rendered object into its Go type, failing on unknown fields.
func typed[T any](o *unstructured.Unstructured) *T {
	GinkgoHelper()
	Expect(o).NotTo(BeNil())
	var out T
	Expect(runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, &out, true)).To(Succeed(), deploytest.ID(o))
	return &out
}

var _ = Describe("Files under config/", func() {
	It("all parse as YAML; every Kubernetes object is complete, and built-in kinds decode strictly", func() {
		var checked, failures []string
		configDir := configPath()
		err := filepath.WalkDir(configDir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || (filepath.Ext(path) != ".yaml" && filepath.Ext(path) != ".yml") {
				return err
			}
			rel, _ := filepath.Rel(configDir, path)
			checked = append(checked, filepath.ToSlash(rel))
			if d.Name() == "kustomization.yaml" {
				if err := parseKustomizationFile(path); err != nil {
					failures = append(failures, err.Error())
				}
				return nil
			}
			failures = append(failures, checkManifestFile(path, rel)...)
			return nil
		})
		Expect(err).NotTo(HaveOccurred())
		Expect(checked).To(ContainElements("default/kustomization.yaml", "default/namespace.yaml",
			"manager/deployment.yaml", "agent/daemonset.yaml", "rbac/agent/cluster_role.yaml",
			"policy/agent_node_scope_policy.yaml"))
		Expect(failures).To(BeEmpty())
	})
})

// checkManifestFile reports what is wrong with each document of a YAML file under config/.
// A document naming an apiVersion or a kind is a Kubernetes object: it must name both and
// metadata.name, and a built-in kind must decode strictly. A document naming neither is data
// for a tool, such as the simulator configurations in config/samples/sims: it need only parse.
func checkManifestFile(path, rel string) []string {
	docs, err := deploytest.Documents(path)
	if err != nil {
		return []string{err.Error()}
	}
	var failures []string
	for i, doc := range docs {
		o := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &o.Object); err != nil {
			failures = append(failures, fmt.Sprintf("%s document %d: %v", rel, i+1, err))
			continue
		}
		_, hasAPIVersion := o.Object["apiVersion"]
		_, hasKind := o.Object["kind"]
		if !hasAPIVersion && !hasKind {
			continue
		}
		if o.GetAPIVersion() == "" || o.GetKind() == "" || o.GetName() == "" {
			failures = append(failures, fmt.Sprintf("%s document %d: incomplete Kubernetes object (apiVersion %q, kind %q, metadata.name %q)",
				rel, i+1, o.GetAPIVersion(), o.GetKind(), o.GetName()))
			continue
		}
		if err := decodeStrict(o); err != nil {
			failures = append(failures, fmt.Sprintf("%s: %s: %v", rel, deploytest.ID(o), err))
		}
	}
	return failures
}

// parseKustomizationFile checks that a kustomization is YAML and lists something to build (a
// Component: something to patch); files outside config/default's tree may use fields the
// resolver does not know.
func parseKustomizationFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var k map[string]any
	if err := yaml.Unmarshal(data, &k); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if _, ok := k["resources"]; ok {
		return nil
	}
	// A kustomize Component (config/argocd) may only patch what the including kustomization builds.
	if _, ok := k["patches"]; ok && k["kind"] == "Component" {
		return nil
	}
	return fmt.Errorf("%s: lists no resources (nor, for a Component, patches)", path)
}

// decodeStrict decodes an object of a built-in kind into its Go type, refusing unknown fields;
// objects of ecufleet's own kinds (samples) are left to the CRD tests.
func decodeStrict(o *unstructured.Unstructured) error {
	gvk := o.GroupVersionKind()
	if !builtinScheme.Recognizes(gvk) {
		return nil
	}
	obj, err := builtinScheme.New(gvk)
	if err != nil {
		return err
	}
	data, err := o.MarshalJSON()
	if err != nil {
		return err
	}
	return yaml.UnmarshalStrict(data, obj)
}

var _ = Describe("config/default", func() {
	It("renders the namespace, the CRDs, RBAC, the controller, the agent and the policy, in ecufleet-system", func() {
		objs := mustRender("default")
		Expect(deploytest.Find(objs, "Namespace", deploytest.SystemNamespace)).NotTo(BeNil())
		for _, plural := range []string{"ecus", "diagnosticjobs", "diagnosticagents"} {
			Expect(deploytest.Find(objs, "CustomResourceDefinition", plural+".diag.ecufleet.io")).NotTo(BeNil(), "CRD %s", plural)
		}
		for _, want := range [][2]string{
			{"ServiceAccount", controllerAccount}, {"ClusterRole", "ecufleet-controller"},
			{"Deployment", "ecufleet-controller"}, {"Service", "ecufleet-controller-metrics"},
			{"ServiceAccount", deploytest.AgentAccount}, {"ClusterRole", "ecufleet-agent"}, {"DaemonSet", "ecufleet-agent"},
			{"ValidatingAdmissionPolicy", deploytest.PolicyName}, {"ValidatingAdmissionPolicyBinding", deploytest.PolicyName},
		} {
			Expect(deploytest.Find(objs, want[0], want[1])).NotTo(BeNil(), "%s %s", want[0], want[1])
		}
		for _, o := range objs {
			if slices.Contains(deploytest.Namespaced, o.GetKind()) {
				Expect(o.GetNamespace()).To(Equal(deploytest.SystemNamespace), deploytest.ID(o))
			} else {
				Expect(o.GetNamespace()).To(BeEmpty(), "%s: a cluster-scoped kind takes no namespace (if it is namespaced, add it to namespaced)", deploytest.ID(o))
			}
		}
	})

	It("binds every role it ships, to service accounts it ships, except the per-namespace ECU TLS and images roles", func() {
		objs := mustRender("default")
		bound := map[string]bool{}
		for _, o := range objs {
			if o.GetKind() != "RoleBinding" && o.GetKind() != "ClusterRoleBinding" {
				continue
			}
			b := typed[rbacv1.RoleBinding](o) // ClusterRoleBinding has the same fields
			role := deploytest.Find(objs, b.RoleRef.Kind, b.RoleRef.Name)
			Expect(role).NotTo(BeNil(), "%s refers to a %s %s that config/default does not ship", deploytest.ID(o), b.RoleRef.Kind, b.RoleRef.Name)
			Expect(role.GetNamespace()).To(Equal(o.GetNamespace()), "%s and its role", deploytest.ID(o))
			bound[deploytest.ID(role)] = true
			for _, s := range b.Subjects {
				Expect(s.Kind).To(Equal("ServiceAccount"), deploytest.ID(o))
				Expect(s.Namespace).To(Equal(deploytest.SystemNamespace), deploytest.ID(o))
				Expect(deploytest.Find(objs, "ServiceAccount", s.Name)).NotTo(BeNil(), "%s binds a service account config/default does not ship", deploytest.ID(o))
			}
		}
		for _, o := range objs {
			if o.GetKind() != "Role" && o.GetKind() != "ClusterRole" {
				continue
			}
			if o.GetName() == ecuTLSRole || o.GetName() == imagesRole {
				Expect(bound[deploytest.ID(o)]).To(BeFalse(), "%s must only be bound per lab namespace, never cluster-wide", o.GetName())
				continue
			}
			Expect(bound[deploytest.ID(o)]).To(BeTrue(), "%s is never bound", deploytest.ID(o))
		}
	})
})

var _ = Describe("The controller Deployment", func() {
	It("runs `ecufleet controller` with leader election and metrics, non-root, read-only, without capabilities", func() {
		objs := mustRender("manager")
		d := typed[appsv1.Deployment](deploytest.Find(objs, "Deployment", "ecufleet-controller"))
		pod := d.Spec.Template.Spec
		Expect(pod.ServiceAccountName).To(Equal(controllerAccount))
		Expect(d.Spec.Selector.MatchLabels).To(Equal(d.Spec.Template.Labels))
		Expect(pod.Containers).To(HaveLen(1))
		c := pod.Containers[0]
		Expect(c.Image).To(Equal("ecufleet:latest"))
		Expect(c.Args).To(Equal([]string{"controller", "--leader-elect", "--metrics-bind-address", ":8080", "--health-probe-bind-address", ":8081"}))
		Expect(c.Ports).To(ContainElement(corev1.ContainerPort{Name: "metrics", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}))
		Expect(c.Ports).To(ContainElement(corev1.ContainerPort{Name: "health", ContainerPort: 8081, Protocol: corev1.ProtocolTCP}))
		for probe, path := range map[*corev1.Probe]string{c.LivenessProbe: "/healthz", c.ReadinessProbe: "/readyz"} {
			Expect(probe).NotTo(BeNil())
			Expect(probe.HTTPGet).NotTo(BeNil())
			Expect(probe.HTTPGet.Path).To(Equal(path))
			Expect(probe.HTTPGet.Port.String()).To(Equal("health"))
		}
		expectLockedDown(pod, c)

		svc := typed[corev1.Service](deploytest.Find(objs, "Service", "ecufleet-controller-metrics"))
		Expect(svc.Spec.Selector).To(Equal(d.Spec.Template.Labels))
		Expect(svc.Spec.Ports).To(HaveLen(1))
		Expect(svc.Spec.Ports[0].TargetPort.String()).To(Equal("metrics"))
	})
})

var _ = Describe("The agent DaemonSet", func() {
	It("runs one agent named after its node on each vehicle-network node, with a node-bound token", func() {
		ds := typed[appsv1.DaemonSet](deploytest.Find(mustRender("agent"), "DaemonSet", "ecufleet-agent"))
		pod := ds.Spec.Template.Spec
		Expect(ds.Spec.Selector.MatchLabels).To(Equal(ds.Spec.Template.Labels))
		Expect(pod.NodeSelector).To(Equal(map[string]string{vehicleNetworkNode: "true"}))
		Expect(pod.HostNetwork).To(BeTrue())
		Expect(pod.DNSPolicy).To(Equal(corev1.DNSClusterFirstWithHostNet))
		Expect(pod.ServiceAccountName).To(Equal(deploytest.AgentAccount))
		Expect(pod.Containers).To(HaveLen(1))
		c := pod.Containers[0]
		Expect(c.Image).To(Equal("ecufleet:latest"))
		Expect(c.Args).To(Equal([]string{"agent", "--name", "$(NODE_NAME)", "--node-name", "$(NODE_NAME)", "--label", "node=$(NODE_NAME)"}))
		Expect(c.Env).To(ContainElement(corev1.EnvVar{Name: "NODE_NAME", ValueFrom: &corev1.EnvVarSource{
			FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}}))
		expectLockedDown(pod, c)

		// The API server only sees a node name in tokens the kubelet issues for the pod, so
		// the token must come from a projected serviceAccountToken source at the path
		// client-go's in-cluster config reads.
		Expect(pod.AutomountServiceAccountToken).To(HaveValue(BeFalse()))
		mi := slices.IndexFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == saTokenMountPath })
		Expect(mi).To(BeNumerically(">=", 0), "nothing mounted at %s", saTokenMountPath)
		mount := c.VolumeMounts[mi]
		Expect(mount.ReadOnly).To(BeTrue())
		vi := slices.IndexFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == mount.Name })
		Expect(vi).To(BeNumerically(">=", 0), "no volume %s", mount.Name)
		vol := pod.Volumes[vi]
		Expect(vol.Projected).NotTo(BeNil())
		var files []string
		for _, src := range vol.Projected.Sources {
			switch {
			case src.ServiceAccountToken != nil:
				Expect(src.ServiceAccountToken.Audience).To(BeEmpty(), "the token must be for the API server")
				files = append(files, src.ServiceAccountToken.Path)
			case src.ConfigMap != nil:
				Expect(src.ConfigMap.Name).To(Equal("kube-root-ca.crt"))
				files = append(files, src.ConfigMap.Items[0].Path)
			case src.DownwardAPI != nil:
				Expect(src.DownwardAPI.Items[0].FieldRef.FieldPath).To(Equal("metadata.namespace"))
				files = append(files, src.DownwardAPI.Items[0].Path)
			}
		}
		Expect(files).To(ConsistOf("token", "ca.crt", "namespace"))
	})
})

// expectLockedDown checks the security settings both workloads share.
func expectLockedDown(pod corev1.PodSpec, c corev1.Container) {
	GinkgoHelper()
	Expect(pod.SecurityContext).NotTo(BeNil())
	Expect(pod.SecurityContext.RunAsNonRoot).To(HaveValue(BeTrue()))
	Expect(pod.SecurityContext.RunAsUser).To(HaveValue(BeNumerically(">", 0)))
	Expect(pod.SecurityContext.SeccompProfile).To(HaveValue(HaveField("Type", corev1.SeccompProfileTypeRuntimeDefault)))
	sc := c.SecurityContext
	Expect(sc).NotTo(BeNil())
	Expect(sc.AllowPrivilegeEscalation).To(HaveValue(BeFalse()))
	Expect(sc.ReadOnlyRootFilesystem).To(HaveValue(BeTrue()))
	Expect(sc.Capabilities).NotTo(BeNil())
	Expect(sc.Capabilities.Drop).To(Equal([]corev1.Capability{"ALL"}))
	Expect(sc.Capabilities.Add).To(BeEmpty())
	Expect(sc.Privileged).To(Or(BeNil(), HaveValue(BeFalse())))
	for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		Expect(c.Resources.Requests).To(HaveKey(res))
		Expect(c.Resources.Limits).To(HaveKey(res))
	}
}

var _ = Describe("The agent's RBAC", func() {
	// A deliberate tripwire: widening the agent's permissions must change this list, in
	// review, next to docs/deploy.md's reason for each rule.
	It("grants exactly the documented verbs and nothing else", func() {
		objs := mustRender("rbac/agent")
		granted := map[string][]string{}
		for _, o := range objs {
			if o.GetKind() != "RoleBinding" && o.GetKind() != "ClusterRoleBinding" {
				continue
			}
			b := typed[rbacv1.RoleBinding](o)
			if !slices.ContainsFunc(b.Subjects, func(s rbacv1.Subject) bool { return s.Name == deploytest.AgentAccount }) {
				continue
			}
			scope := "cluster"
			if o.GetKind() == "RoleBinding" {
				scope = o.GetNamespace()
			}
			role := typed[rbacv1.ClusterRole](deploytest.Find(objs, b.RoleRef.Kind, b.RoleRef.Name)) // Role has the same rules
			for _, r := range role.Rules {
				Expect(r.ResourceNames).To(BeEmpty())
				Expect(r.NonResourceURLs).To(BeEmpty())
				for _, g := range r.APIGroups {
					for _, res := range r.Resources {
						key := scope + " " + g + "/" + res
						granted[key] = append(granted[key], r.Verbs...)
					}
				}
			}
		}
		for key := range granted {
			slices.Sort(granted[key])
		}
		Expect(granted).To(Equal(map[string][]string{
			"cluster diag.ecufleet.io/ecus":                    {"get", "list", "watch"},
			"cluster diag.ecufleet.io/ecus/status":             {"patch"},
			"cluster diag.ecufleet.io/diagnosticjobs":          {"get", "list", "patch", "update", "watch"},
			"cluster diag.ecufleet.io/diagnosticjobs/status":   {"patch", "update"},
			"cluster diag.ecufleet.io/diagnosticagents":        {"create", "get", "list", "patch", "update", "watch"},
			"cluster diag.ecufleet.io/diagnosticagents/status": {"patch", "update"},
			"cluster /events":                                  {"create", "patch"},
			"cluster events.k8s.io/events":                     {"create", "patch"},
			"ecufleet-system coordination.k8s.io/leases":       {"create", "get", "update"},
			"ecufleet-system /namespaces":                      {"get"},
			"cluster /configmaps":                              {"create", "get", "update"},
		}))
		tls := typed[rbacv1.ClusterRole](deploytest.Find(objs, "ClusterRole", ecuTLSRole))
		Expect(tls.Rules).To(Equal([]rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}}}))
		images := typed[rbacv1.ClusterRole](deploytest.Find(objs, "ClusterRole", imagesRole))
		Expect(images.Rules).To(Equal([]rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps", "secrets"}, Verbs: []string{"get"}}}))
	})
})

var _ = Describe("The admission policy", func() {
	It("applies to the service account the agent DaemonSet runs as", func() {
		ds := typed[appsv1.DaemonSet](deploytest.Find(mustRender("agent"), "DaemonSet", "ecufleet-agent"))

		objs := mustRender("policy")
		policy := typed[admissionregistrationv1.ValidatingAdmissionPolicy](deploytest.Find(objs, "ValidatingAdmissionPolicy", deploytest.PolicyName))
		username := fmt.Sprintf("'system:serviceaccount:%s:%s'", ds.Namespace, ds.Spec.Template.Spec.ServiceAccountName)
		Expect(policy.Spec.MatchConditions).To(ContainElement(HaveField("Expression", ContainSubstring(username))))
		Expect(policy.Spec.FailurePolicy).To(HaveValue(Equal(admissionregistrationv1.Fail)))
		for _, v := range policy.Spec.Validations {
			Expect(v.Message).NotTo(BeEmpty(), "the fallback when messageExpression fails: %s", v.Expression)
			Expect(v.Reason).To(HaveValue(Equal(metav1.StatusReasonForbidden)), v.Expression)
		}

		binding := typed[admissionregistrationv1.ValidatingAdmissionPolicyBinding](deploytest.Find(objs, "ValidatingAdmissionPolicyBinding", deploytest.PolicyName))
		Expect(binding.Spec.PolicyName).To(Equal(deploytest.PolicyName))
		Expect(binding.Spec.ValidationActions).To(Equal([]admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}))
		Expect(binding.Spec.ParamRef).To(BeNil())
		Expect(strings.Join(policyResources(policy), " ")).To(Equal(
			"diag.ecufleet.io/diagnosticjobs diag.ecufleet.io/diagnosticjobs/status diag.ecufleet.io/diagnosticagents diag.ecufleet.io/diagnosticagents/status diag.ecufleet.io/ecus/status coordination.k8s.io/leases /configmaps"))
	})
})

// policyResources lists group/resource for every resource rule of a policy.
func policyResources(p *admissionregistrationv1.ValidatingAdmissionPolicy) []string {
	var out []string
	for _, r := range p.Spec.MatchConstraints.ResourceRules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				out = append(out, g+"/"+res)
			}
		}
	}
	return out
}
