package v1alpha1_test

import (
	"context"
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/ecufleet/ecufleet/internal/builders"
)

// validJob is the baseline each refused-job entry changes in exactly one way.
func validJob(ns string) *builders.JobWrapper {
	return builders.MakeJob("invalid", ns).ECU("sim-0").Step(builders.ReadDID("vin", 0xF190))
}

// jobWithStep is the baseline job with a single step.
func jobWithStep(ns string, step *builders.StepWrapper) *builders.JobWrapper {
	return builders.MakeJob("invalid", ns).ECU("sim-0").Step(step)
}

// expectRefused creates obj and expects the API server to refuse it as Invalid with every one
// of wants in the message (the field's path and the rule's message).
func expectRefused(ctx context.Context, obj client.Object, wants ...string) {
	GinkgoHelper()
	err := k8s.Create(ctx, obj)
	Expect(err).To(HaveOccurred(), "the API server accepted an invalid %T", obj)
	Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid status error, got %v", err)
	for _, want := range wants {
		Expect(err.Error()).To(ContainSubstring(want))
	}
}

// raw converts a typed object to unstructured and applies edit, to send values that the Go
// types cannot hold (a malformed duration, a string where the server wants another value).
func raw(obj client.Object, edit func(o map[string]any)) *unstructured.Unstructured {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	Expect(err).NotTo(HaveOccurred())
	edit(m)
	u := &unstructured.Unstructured{Object: m}
	gvk, err := apiutil.GVKForObject(obj, scheme)
	Expect(err).NotTo(HaveOccurred())
	u.SetGroupVersionKind(gvk)
	return u
}

// field walks a path of map keys and list indexes in an unstructured object and returns the
// map found there, so that an edit can change one nested value.
func field(o map[string]any, path ...any) map[string]any {
	var cur any = o
	for _, p := range path {
		switch k := p.(type) {
		case string:
			cur = cur.(map[string]any)[k]
		case int:
			cur = cur.([]any)[k]
		default:
			Fail(fmt.Sprintf("path element %v is neither a key nor an index", p))
		}
	}
	return cur.(map[string]any)
}
