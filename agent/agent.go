package agent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/go-logr/logr"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/ecufleet/ecufleet/api/v1alpha1"
)

// Agent is one node agent. Several can run in one process (the dev cluster and the tests do),
// each with its own manager, caches and connections.
type Agent struct {
	opts     Options
	log      logr.Logger
	mgr      manager.Manager
	client   client.Client // reads from the agent's caches, writes to the API server
	reader   client.Reader // reads from the API server: fresh state after a conflict, uncached kinds
	recorder events.EventRecorder

	started atomic.Bool
	baseCtx context.Context // Run's context: every runner and prober derives from it

	mu      sync.Mutex
	runs    map[types.NamespacedName]*run     // attempts running in this process
	waiting map[types.NamespacedName]struct{} // Scheduled jobs waiting for a free slot
	probers map[types.NamespacedName]*prober  // probe loops of the ECUs this agent serves
	found   map[string]v1alpha1.DiscoveredEntity
	runWG   sync.WaitGroup // runners and probers, waited for when Run returns

	jobWake    chan event.GenericEvent // jobs that waited for a free slot
	statusWake chan event.GenericEvent // the agent's own status needs recomputing
}

// wakeBuffer is the capacity of the wake channels; a full channel drops the event, which is
// safe because waiting jobs are also requeued on a timer and status pokes coalesce.
const wakeBuffer = 256

// New prepares an agent for cfg's cluster; nothing talks to the API server until Run.
func New(cfg *rest.Config, opts Options) (*Agent, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("register Kubernetes types: %w", err)
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("register ecufleet types: %w", err)
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Logger:                 opts.Logger,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache: cache.Options{ByObject: map[client.Object]cache.ByObject{
			// Only the jobs bound to this agent: a rack of agents does not each hold every job.
			&v1alpha1.DiagnosticJob{}:   {Label: labels.SelectorFromSet(labels.Set{v1alpha1.AgentLabel: opts.Name})},
			&v1alpha1.DiagnosticAgent{}: {Field: fields.OneTermEqualSelector("metadata.name", opts.Name)},
		}},
		// Leases, namespaces and TLS Secrets are read once in a while: no cluster-wide watch for them.
		Client: client.Options{Cache: &client.CacheOptions{
			DisableFor: []client.Object{&coordinationv1.Lease{}, &corev1.Namespace{}, &corev1.Secret{}},
		}},
		// Controller names repeat when several agents share a process.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		return nil, fmt.Errorf("create the manager of agent %s: %w", opts.Name, err)
	}
	a := &Agent{
		opts:       opts,
		log:        opts.Logger,
		mgr:        mgr,
		client:     mgr.GetClient(),
		reader:     mgr.GetAPIReader(),
		recorder:   mgr.GetEventRecorder(eventSource),
		baseCtx:    context.Background(),
		runs:       make(map[types.NamespacedName]*run),
		waiting:    make(map[types.NamespacedName]struct{}),
		probers:    make(map[types.NamespacedName]*prober),
		found:      make(map[string]v1alpha1.DiscoveredEntity),
		jobWake:    make(chan event.GenericEvent, wakeBuffer),
		statusWake: make(chan event.GenericEvent, wakeBuffer),
	}
	if err := a.setupControllers(); err != nil {
		return nil, err
	}
	return a, nil
}

// Run registers the agent, renews its Lease, runs its jobs and probes until ctx ends, then
// cancels what still runs, closes every ECU connection and returns. It returns early with an
// error when registration fails or the manager cannot start.
func (a *Agent) Run(ctx context.Context) error {
	if !a.started.CompareAndSwap(false, true) {
		return errors.New("agent Run called twice: create a new Agent with New to run it again")
	}
	a.baseCtx = ctx
	if err := a.register(ctx); err != nil {
		return err
	}
	if err := a.renewLease(ctx); err != nil {
		return fmt.Errorf("first heartbeat of agent %s: %w", a.opts.Name, err)
	}
	a.log.Info("Agent registered", "leaseNamespace", a.opts.LeaseNamespace, "maxConcurrentJobs", a.opts.MaxConcurrentJobs)
	if err := a.mgr.Add(manager.RunnableFunc(a.heartbeat)); err != nil {
		return fmt.Errorf("add the heartbeat: %w", err)
	}
	if a.opts.DiscoverInterface != "" {
		if err := a.mgr.Add(manager.RunnableFunc(a.discover)); err != nil {
			return fmt.Errorf("add discovery: %w", err)
		}
	}
	err := a.mgr.Start(ctx)
	a.stopAll()
	a.runWG.Wait()
	a.log.Info("Agent stopped")
	if err != nil {
		return fmt.Errorf("agent %s: %w", a.opts.Name, err)
	}
	return nil
}

// stopAll cancels every attempt and probe loop; their goroutines close the ECU connections.
func (a *Agent) stopAll() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range a.runs {
		r.cancel(errAgentStopping)
	}
	for _, p := range a.probers {
		p.cancel()
	}
}

// wakeStatus asks the status loop to recompute the agent's status.
func (a *Agent) wakeStatus() {
	wake(a.statusWake, &v1alpha1.DiagnosticAgent{ObjectMeta: metav1.ObjectMeta{Name: a.opts.Name}})
}

// wake sends a generic event without blocking: a full channel means a wake-up is pending anyway.
func wake(ch chan<- event.GenericEvent, obj client.Object) {
	select {
	case ch <- event.GenericEvent{Object: obj}:
	default:
	}
}
