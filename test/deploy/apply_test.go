package deploy

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ecufleet/ecufleet/test/deploy/deploytest"
)

// apply installs rendered objects as the cluster admin.
func apply(ctx context.Context, objs []*unstructured.Unstructured) {
	GinkgoHelper()
	Expect(deploytest.Apply(ctx, admin, objs)).To(Succeed())
}

var _ = Describe("config/default on a real API server", func() {
	It("is accepted whole: every object validates, the policy's CEL compiles", func(ctx SpecContext) {
		objs := mustRender("default")
		apply(ctx, objs)
		for _, o := range objs {
			got := &unstructured.Unstructured{}
			got.SetGroupVersionKind(o.GroupVersionKind())
			Expect(admin.Get(ctx, client.ObjectKeyFromObject(o), got)).To(Succeed(), deploytest.ID(o))
		}
	}, SpecTimeout(2*time.Minute))

	It("runs the controller within Pod Security 'restricted', and the agent too but for hostNetwork", func(ctx SpecContext) {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "psa-restricted",
			Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}}}
		Expect(client.IgnoreAlreadyExists(admin.Create(ctx, ns))).To(Succeed())

		d := typed[appsv1.Deployment](deploytest.Find(mustRender("manager"), "Deployment", "ecufleet-controller"))
		Expect(admin.Create(ctx, podFrom(ns.Name, d.Spec.Template), client.DryRunAll)).To(Succeed())

		ds := typed[appsv1.DaemonSet](deploytest.Find(mustRender("agent"), "DaemonSet", "ecufleet-agent"))
		err := admin.Create(ctx, podFrom(ns.Name, ds.Spec.Template), client.DryRunAll)
		Expect(err).To(MatchError(MatchRegexp(`violates PodSecurity "restricted:latest": host namespaces \(hostNetwork=true\)$`)))
	}, SpecTimeout(time.Minute))
})

// podFrom makes the pod a workload controller would create from template.
func podFrom(namespace string, template corev1.PodTemplateSpec) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "template-", Namespace: namespace, Labels: template.Labels},
		Spec:       template.Spec,
	}
}
