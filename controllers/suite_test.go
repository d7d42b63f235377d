package controllers_test

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/controllers"
	"github.com/ecufleet/ecufleet/internal/devcluster"
)

// The suite runs the controllers in a manager against a real etcd and kube-apiserver; test
// agents (agent_helper_test.go) play the node agents' part through the same API.
var (
	env     *envtest.Environment
	restCfg *rest.Config
	k8s     client.WithWatch // uncached: what the test sees is what the API server holds
	running *controllerRun   // the controller manager of the suite; restarted by one spec
)

// testLeaseSeconds keeps agent loss quick to observe.
const testLeaseSeconds = 2

func TestControllers(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "controllers on a real API server")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	SetDefaultEventuallyTimeout(45 * time.Second)
	SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
	SetDefaultConsistentlyDuration(2 * time.Second)
	ctrl.SetLogger(funcr.New(func(prefix, args string) { fmt.Fprintln(GinkgoWriter, prefix, args) }, funcr.Options{}))

	var err error
	restCfg, k8s, env, err = startAPIServer(ctx, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	running = startController(controllers.Options{})
}, NodeTimeout(5*time.Minute))

var _ = AfterSuite(func() {
	if running != nil {
		running.stop()
	}
	if env != nil {
		Expect(env.Stop()).To(Succeed())
	}
})

// startAPIServer starts etcd and kube-apiserver with ecufleet's CRDs and the lease namespace,
// unthrottled; the Ginkgo suite and the benchmark share it.
func startAPIServer(ctx context.Context, progress io.Writer) (*rest.Config, client.WithWatch, *envtest.Environment, error) {
	api, err := devcluster.StartTestAPI(ctx, progress, devcluster.TestAPIOptions{
		Unthrottled: true,
		Namespaces:  []string{diagv1.DefaultLeaseNamespace},
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return api.Config, api.Client, api.Env, nil
}

// controllerRun is one running controller manager.
type controllerRun struct {
	cancel context.CancelFunc
	done   chan error
}

// startController starts a manager with the controllers, as `ecufleet controller` does.
func startController(opts controllers.Options) *controllerRun {
	GinkgoHelper()
	mgr, err := newManager(restCfg, opts)
	Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithCancel(context.Background())
	run := &controllerRun{cancel: cancel, done: make(chan error, 1)}
	go func() { run.done <- mgr.Start(ctx) }()
	return run
}

// newManager builds a manager with the controllers the way `ecufleet controller` does;
// several may live in one process (restart), hence no metrics server and no name check.
func newManager(cfg *rest.Config, opts controllers.Options) (ctrl.Manager, error) {
	return controllers.NewManager(cfg, ctrl.Options{
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: new(true)},
	}, opts)
}

// stop stops the manager and waits until every reconciler has returned.
func (r *controllerRun) stop() {
	GinkgoHelper()
	r.cancel()
	Eventually(r.done).Should(Receive(BeNil()))
}

// newNamespace gives each spec its own namespace (and agents labelled for it), so that specs
// never see each other's ECUs, jobs or agents.
func newNamespace(ctx context.Context) string {
	GinkgoHelper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "ctrl-"}}
	Expect(k8s.Create(ctx, ns)).To(Succeed())
	return ns.Name
}
