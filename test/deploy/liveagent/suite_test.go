// Package liveagent runs the real node agent against a real API server with exactly the RBAC
// and admission policy config/ ships, authenticated by the token a DaemonSet pod on a node
// carries: the proof that least privilege still lets the agent do its whole job.
package liveagent

import (
	"context"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/devcluster"
)

func TestLiveAgent(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Node agent under the shipped RBAC and policy")
}

var (
	// adminConfig is envtest's system:masters user: it plays the operator and the controller.
	adminConfig *rest.Config
	// admin writes what the controller would write and reads what the agent wrote.
	admin client.Client
)

var _ = BeforeSuite(func() {
	env, err := devcluster.NewEnvironment(context.Background(), GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	adminConfig, err = env.Start()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(env.Stop)
	scheme := runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(v1alpha1.AddToScheme(scheme)).To(Succeed())
	admin, err = client.New(adminConfig, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
})
