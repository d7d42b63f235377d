package v1alpha1_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
)

var _ = Describe("A DiagnosticJob's target and steps", func() {
	var ns string
	BeforeEach(func(ctx SpecContext) { ns = newNamespace(ctx) })

	// created stores a job and returns it as the API server holds it.
	created := func(ctx SpecContext, w *builders.JobWrapper) *diagv1.DiagnosticJob {
		GinkgoHelper()
		j := w.Obj()
		Expect(k8s.Create(ctx, j)).To(Succeed())
		return j
	}
	// refused checks that an update is Invalid with the immutability message that names the field.
	refused := func(err error, field string) {
		GinkgoHelper()
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid status error, got %v", err)
		Expect(err.Error()).To(ContainSubstring(field + ": create a new DiagnosticJob"))
	}

	It("refuses an edit of the steps, naming the field", func(ctx SpecContext) {
		j := created(ctx, builders.MakeJob("job", ns).ECU("sim-0").Step(builders.ReadDID("vin", 0xF190)))
		j.Spec.Steps[0].UDS.ReadDataByIdentifier.DID = 0xF18C
		refused(k8s.Update(ctx, j), "spec.steps is immutable")

		j = created(ctx, builders.MakeJob("grow", ns).ECU("sim-0").Step(builders.ReadDID("vin", 0xF190)))
		j.Spec.Steps = append(j.Spec.Steps, builders.TesterPresent("tp").Step)
		refused(k8s.Update(ctx, j), "spec.steps is immutable")
	})

	It("refuses a change of ecuRef, or a switch to ecuSelector", func(ctx SpecContext) {
		j := created(ctx, builders.MakeJob("ref", ns).ECU("sim-0").Step(builders.ReadDID("vin", 0xF190)))
		j.Spec.ECURef.Name = "sim-1"
		refused(k8s.Update(ctx, j), "spec.ecuRef is immutable")

		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(j), j)).To(Succeed())
		j.Spec.ECURef = nil
		j.Spec.ECUSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"rack": "a"}}
		refused(k8s.Update(ctx, j), "spec.ecuRef and spec.ecuSelector are immutable")

		sel := created(ctx, builders.MakeJob("sel", ns).ECUSelector(map[string]string{"rack": "a"}).Step(builders.ReadDID("vin", 0xF190)))
		sel.Spec.ECUSelector.MatchLabels["rack"] = "b"
		refused(k8s.Update(ctx, sel), "spec.ecuSelector is immutable")
	})

	It("accepts the same spec again, and changes of priority and suspend", func(ctx SpecContext) {
		manifest := builders.MakeJob("job", ns).ECU("sim-0").Step(builders.ReadDID("vin", 0xF190)).Priority(1)
		j := created(ctx, manifest)
		generation := j.Generation

		By("updating with the same spec: nothing changes")
		same := manifest.Obj().DeepCopy()
		same.ResourceVersion = j.ResourceVersion
		Expect(k8s.Update(ctx, same)).To(Succeed())
		Expect(same.Generation).To(Equal(generation))

		By("server-side applying the same manifest: nothing changes")
		applied := manifest.Obj().DeepCopy()
		applied.ResourceVersion = ""
		applied.SetGroupVersionKind(diagv1.GroupVersion.WithKind("DiagnosticJob"))
		applied.ManagedFields = nil
		Expect(k8s.Patch(ctx, applied, client.Apply, client.FieldOwner("gitops"), client.ForceOwnership)).To(Succeed())
		Expect(applied.Generation).To(Equal(generation))

		By("changing priority and suspend")
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(j), j)).To(Succeed())
		j.Spec.Priority = 7
		j.Spec.Suspend = true
		Expect(k8s.Update(ctx, j)).To(Succeed())
		Expect(j.Spec.Priority).To(BeEquivalentTo(7))
		Expect(j.Generation).To(Equal(generation + 1))
	})
})
