package v1alpha1_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/ecufleet/ecufleet/internal/devcluster"
)

// The suite runs every spec against a real etcd and kube-apiserver with the generated CRDs
// installed, so that what it checks is what a cluster enforces.
var (
	k8s    client.Client
	scheme *runtime.Scheme
	env    *envtest.Environment
)

func TestAPI(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "api/v1alpha1 validation on a real API server")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	api, err := devcluster.StartTestAPI(ctx, GinkgoWriter, devcluster.TestAPIOptions{})
	Expect(err).NotTo(HaveOccurred())
	env, scheme, k8s = api.Env, api.Scheme, api.Client
}, NodeTimeout(5*time.Minute))

var _ = AfterSuite(func() {
	if env != nil {
		Expect(env.Stop()).To(Succeed())
	}
})

// newNamespace gives each spec its own namespace, so specs never see each other's objects.
func newNamespace(ctx context.Context) string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "api-"}}
	Expect(k8s.Create(ctx, ns)).To(Succeed())
	return ns.Name
}
