package devcluster

import (
	"context"
	"errors"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/ecufleet/ecufleet/internal/scheme"
)

// TestAPI is a running API server for a test suite, so that every envtest suite starts it the
// same way and needs only Env.Stop to clean up.
type TestAPI struct {
	Env    *envtest.Environment
	Config *rest.Config // envtest's system:masters user
	Scheme *runtime.Scheme
	Client client.WithWatch // uncached: what a test reads is what the API server holds
}

// TestAPIOptions holds what the suites need beyond a bare API server, so that they differ in
// fields rather than in copies of the start-up.
type TestAPIOptions struct {
	// Unthrottled turns client-side rate limiting off in Config, so that the API server is the
	// only limit (benchmarks, many controllers).
	Unthrottled bool
	// Namespaces are created once the API server is up, e.g. the agents' lease namespace.
	Namespaces []string
}

// StartTestAPI starts etcd and kube-apiserver with ecufleet's CRDs for a test suite, so that
// tests check what a cluster enforces rather than what a fake client allows.
func StartTestAPI(ctx context.Context, progress io.Writer, opts TestAPIOptions) (*TestAPI, error) {
	env, err := NewEnvironment(ctx, progress)
	if err != nil {
		return nil, err
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting etcd and kube-apiserver from %s: %w (run `make envtest-bins`, or see their output with KUBEBUILDER_ATTACH_CONTROL_PLANE_OUTPUT=true)",
			env.BinaryAssetsDirectory, err)
	}
	api, err := connect(ctx, env, cfg, opts)
	if err != nil {
		return nil, errors.Join(err, env.Stop())
	}
	return api, nil
}

// connect builds the client of a started environment and creates opts.Namespaces.
func connect(ctx context.Context, env *envtest.Environment, cfg *rest.Config, opts TestAPIOptions) (*TestAPI, error) {
	if opts.Unthrottled {
		cfg.QPS, cfg.Burst = -1, 0
	}
	s, err := scheme.New()
	if err != nil {
		return nil, err
	}
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: s})
	if err != nil {
		return nil, fmt.Errorf("creating a client of the test API server at %s: %w", cfg.Host, err)
	}
	for _, name := range opts.Namespaces {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if err := c.Create(ctx, ns); err != nil {
			return nil, fmt.Errorf("creating namespace %s on the test API server: %w", name, err)
		}
	}
	return &TestAPI{Env: env, Config: cfg, Scheme: s, Client: c}, nil
}
