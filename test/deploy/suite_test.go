// Package deploy tests ecufleet's deploy manifests: that everything under config/ parses and
// renders as kustomize would, and that the RBAC and the admission policy, applied to a real
// kube-apiserver, give the node agent exactly its own node's work.
package deploy

import (
	"context"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ecufleet/ecufleet/internal/devcluster"
)

func TestDeploy(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Deploy manifests")
}

var (
	// adminConfig is envtest's system:masters user, which may impersonate the agent.
	adminConfig *rest.Config
	// admin sets up and inspects objects around the agent's requests.
	admin client.Client
)

var _ = BeforeSuite(func() {
	api, err := devcluster.StartTestAPI(context.Background(), GinkgoWriter, devcluster.TestAPIOptions{})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(api.Env.Stop)
	adminConfig, admin = api.Config, api.Client
})
