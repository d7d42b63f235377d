package devcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/controllers"
	"github.com/ecufleet/ecufleet/internal/scheme"
	"github.com/ecufleet/ecufleet/pkg/ecusim"
)

// DefaultKubeconfig is where Start writes the kubeconfig unless told otherwise, relative to the
// working directory, so that `make dev` users always find it in the same place.
const DefaultKubeconfig = "bin/dev/kubeconfig"

// Bounds of Options, so that a typo such as --sims 100000 fails at once instead of opening
// sockets and goroutines without limit.
const (
	// MaxAgents bounds Options.Agents.
	MaxAgents = 64
	// MaxSims bounds Options.Sims.
	MaxSims = 256
)

// Timeouts of the control plane on a loaded two-core machine, where envtest's 20 s defaults are
// too tight for a kube-apiserver that shares the CPU with a build.
const (
	controlPlaneStartTimeout = 2 * time.Minute
	controlPlaneStopTimeout  = 30 * time.Second
	// componentStopTimeout bounds Stop's wait for the controller and the agents to return.
	componentStopTimeout = time.Minute
	// simStopTimeout bounds the shutdown of one simulator.
	simStopTimeout = 5 * time.Second
)

// Options says what Start runs next to the API server; the zero value is a bare control plane
// with ecufleet's CRDs.
type Options struct {
	// Agents is the number of in-process node agents, named dev-agent-0, dev-agent-1, ...,
	// each labelled AgentLabelKey=AgentLabelValue.
	Agents int
	// Sims is the number of simulated ECUs, each with an ECU object sim-0, sim-1, ... in
	// namespace default pointing at its port.
	Sims int
	// KubeconfigOut is where the admin kubeconfig is written; "" means DefaultKubeconfig.
	KubeconfigOut string
	// Controller runs the controllers in-process; false leaves scheduling to a separate
	// `ecufleet controller`, as the end-to-end tests do.
	Controller bool
	// Progress receives one line per long step, for a human waiting at a terminal; nil discards.
	Progress io.Writer
	// Logger receives the logs of the controller, agents and simulators; the zero value discards.
	Logger logr.Logger
	// Launcher is the ecufleet binary (Linux only). When set, etcd and kube-apiserver run
	// through its ExecChildCommand, so they die with this process even when it is SIGKILLed,
	// and Start first kills what an earlier Start with the same KubeconfigOut left running
	// (recorded in KubeconfigOut + ".pids"). Empty: they are plain children, as in tests.
	Launcher string
}

// validate refuses options Start cannot honour, before anything is started.
func (o Options) validate() error {
	if o.Agents < 0 || o.Agents > MaxAgents {
		return fmt.Errorf("dev cluster: %d agents requested: want 0..%d", o.Agents, MaxAgents)
	}
	if o.Sims < 0 || o.Sims > MaxSims {
		return fmt.Errorf("dev cluster: %d simulated ECUs requested: want 0..%d", o.Sims, MaxSims)
	}
	return nil
}

// Cluster is a running local control plane with the ecufleet components Start added to it,
// kept together so that one Stop ends all of them.
type Cluster struct {
	env        *envtest.Environment
	cfg        *rest.Config
	client     client.Client
	kubeconfig string
	progress   io.Writer
	log        logr.Logger

	launcher string // Options.Launcher
	pidFile  string // set once this Start owns KubeconfigOut + ".pids"

	ctx    context.Context // the components' context, cancelled by Stop
	cancel context.CancelFunc
	wg     sync.WaitGroup // the controller's and agents' goroutines
	failed chan error     // the first component that stopped on its own, buffered

	mu   sync.Mutex
	sims []*ecusim.Sim

	stopOnce sync.Once
	stopErr  error
}

// Start runs etcd and kube-apiserver with ecufleet's CRDs, creates namespace ecufleet-system,
// then starts what opts asks for and writes the kubeconfig last, so that its presence means
// everything is up. On error, whatever had started is stopped again.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	c := &Cluster{
		kubeconfig: opts.KubeconfigOut,
		progress:   opts.Progress,
		log:        opts.Logger,
		failed:     make(chan error, 1),
		launcher:   opts.Launcher,
	}
	if c.kubeconfig == "" {
		c.kubeconfig = DefaultKubeconfig
	}
	if c.progress == nil {
		c.progress = io.Discard
	}
	if c.log.GetSink() == nil {
		c.log = logr.Discard()
	}
	// The components outlive Start's ctx, which only bounds the start itself.
	c.ctx, c.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if err := c.start(ctx, opts); err != nil {
		return nil, errors.Join(err, c.Stop())
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context, opts Options) error {
	if err := c.startControlPlane(ctx); err != nil {
		return err
	}
	if opts.Controller {
		if err := c.startController(); err != nil {
			return err
		}
	}
	for i := range opts.Sims {
		if err := c.startDevSim(ctx, i); err != nil {
			return err
		}
	}
	for i := range opts.Agents {
		if err := c.startAgent(fmt.Sprintf("dev-agent-%d", i)); err != nil {
			return err
		}
	}
	return c.writeKubeconfig()
}

// startControlPlane starts etcd and kube-apiserver (building them first when needed) and the
// namespace the agents' Leases live in.
func (c *Cluster) startControlPlane(ctx context.Context) error {
	began := time.Now()
	fmt.Fprintln(c.progress, "Starting etcd and kube-apiserver with the ecufleet CRDs ...")
	env, err := NewEnvironment(ctx, c.progress)
	if err != nil {
		return err
	}
	env.ControlPlaneStartTimeout, env.ControlPlaneStopTimeout = controlPlaneStartTimeout, controlPlaneStopTimeout
	c.env = env
	if c.launcher != "" {
		if err := c.launchThroughParentDeath(env); err != nil {
			return err
		}
	}
	cfg, err := env.Start()
	if err != nil {
		return fmt.Errorf("starting etcd and kube-apiserver from %s: %w (see their output with KUBEBUILDER_ATTACH_CONTROL_PLANE_OUTPUT=true)",
			env.BinaryAssetsDirectory, err)
	}
	c.cfg = cfg
	s, err := scheme.New()
	if err != nil {
		return err
	}
	if c.client, err = client.New(cfg, client.Options{Scheme: s}); err != nil {
		return fmt.Errorf("creating a client of the dev API server: %w", err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: diagv1.DefaultLeaseNamespace}}
	if err := c.client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", ns.Name, err)
	}
	fmt.Fprintf(c.progress, "API server ready at %s (%s)\n", cfg.Host, time.Since(began).Round(100*time.Millisecond))
	return nil
}

// launchThroughParentDeath claims the pid file next to the kubeconfig (killing what an earlier
// dev cluster left) and has env start etcd and kube-apiserver through the launcher.
func (c *Cluster) launchThroughParentDeath(env *envtest.Environment) error {
	pidFile, err := filepath.Abs(c.kubeconfig + ".pids")
	if err != nil {
		return fmt.Errorf("locating the pid file next to the kubeconfig: %w", err)
	}
	if err := claimPidFile(pidFile); err != nil {
		return err
	}
	c.pidFile = pidFile
	assets, err := filepath.Abs(env.BinaryAssetsDirectory)
	if err != nil {
		return fmt.Errorf("locating the envtest binaries: %w", err)
	}
	paths, err := writeLaunchers(pidFile+".bin", c.launcher, pidFile,
		filepath.Join(assets, "etcd"), filepath.Join(assets, "kube-apiserver"))
	if err != nil {
		return err
	}
	env.ControlPlane.Etcd = &envtest.Etcd{Path: paths[0]}
	env.ControlPlane.APIServer = &envtest.APIServer{Path: paths[1]}
	return nil
}

// startController runs the controllers in a manager of their own, with metrics and health
// endpoints off so that several dev clusters can share a machine.
func (c *Cluster) startController() error {
	mgr, err := controllers.NewManager(c.cfg, devManagerOptions(c.log.WithName("controller")), controllers.Options{})
	if err != nil {
		return err
	}
	c.run("controller", mgr.Start)
	fmt.Fprintln(c.progress, "Controller started")
	return nil
}

// run starts a component in a goroutine; one that returns while the cluster is still up is
// reported through Wait.
func (c *Cluster) run(name string, fn func(context.Context) error) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		err := fn(c.ctx)
		if c.ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errors.New("returned without error")
		}
		c.log.Error(err, "Component stopped while the dev cluster runs", "component", name)
		select {
		case c.failed <- fmt.Errorf("%s stopped: %w", name, err):
		default:
		}
	}()
}

// Config is the admin REST config of the API server, for in-process clients.
func (c *Cluster) Config() *rest.Config { return rest.CopyConfig(c.cfg) }

// Client is an admin client of the API server with ecufleet's types registered.
func (c *Cluster) Client() client.Client { return c.client }

// Kubeconfig is the path of the written kubeconfig, for kubectl and separate processes.
func (c *Cluster) Kubeconfig() string { return c.kubeconfig }

// Wait blocks until ctx ends or the cluster is stopped (nil), or a component stops on its own
// (its error), so that `ecufleet dev` does not keep serving a half-broken cluster.
func (c *Cluster) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case <-c.ctx.Done():
		return nil
	case err := <-c.failed:
		return err
	}
}

// Stop stops the agents and the controller, then the simulators, then etcd and kube-apiserver
// (which removes their data directories), and deletes the kubeconfig, which would point at a
// dead server. It is safe to call more than once.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() { c.stopErr = c.stop() })
	return c.stopErr
}

func (c *Cluster) stop() error {
	var errs []error
	c.cancel()
	done := make(chan struct{})
	go func() { c.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(componentStopTimeout):
		errs = append(errs, fmt.Errorf("the controller or an agent did not stop within %s", componentStopTimeout))
	}
	c.mu.Lock()
	sims := c.sims
	c.sims = nil
	c.mu.Unlock()
	for _, s := range sims {
		ctx, cancel := context.WithTimeout(context.Background(), simStopTimeout)
		if err := s.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
		cancel()
	}
	if c.env != nil {
		if err := c.env.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stopping etcd and kube-apiserver: %w", err))
		}
	}
	if c.pidFile != "" {
		if err := errors.Join(os.Remove(c.pidFile), os.RemoveAll(c.pidFile+".bin")); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("removing the pid file: %w", err))
		}
	}
	if c.cfg != nil { // the kubeconfig is written only once the API server ran
		if err := os.Remove(c.kubeconfig); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("removing the kubeconfig: %w", err))
		}
	}
	return errors.Join(errs...)
}

// writeKubeconfig writes envtest's admin kubeconfig atomically (a reader never sees half a
// file) and readable by its owner only: it holds a client key with system:masters rights.
func (c *Cluster) writeKubeconfig() error {
	dir := filepath.Dir(c.kubeconfig)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating the directory of the kubeconfig: %w (choose another with --kubeconfig-out)", err)
	}
	tmp, err := os.CreateTemp(dir, ".kubeconfig-*")
	if err != nil {
		return fmt.Errorf("writing the kubeconfig: %w (choose another place with --kubeconfig-out)", err)
	}
	_, werr := tmp.Write(c.env.KubeConfig)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing the kubeconfig %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), c.kubeconfig); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing the kubeconfig %s: %w", c.kubeconfig, err)
	}
	return nil
}
