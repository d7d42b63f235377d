// Package liveagent runs the real node agent against a real API server with exactly the RBAC
// and admission policy config/ ships, authenticated by the token a DaemonSet pod on a node
// carries: the proof that least privilege still lets the agent do its whole job.
package liveagent

import (
	"context"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

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
	api, err := devcluster.StartTestAPI(context.Background(), GinkgoWriter, devcluster.TestAPIOptions{})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(api.Env.Stop)
	adminConfig, admin = api.Config, api.Client
})
