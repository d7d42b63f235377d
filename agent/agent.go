package agent

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/go-logr/logr"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/ecufleet/ecufleet/api/v1alpha1"
	ecuscheme "github.com/ecufleet/ecufleet/internal/scheme"
)

// Agent is one node agent. Several can run in one process (the dev cluster and the tests do),
// each with its own manager, caches and connections. It composes three parts, each with its own
// state and lock: the job runner, the prober and the reporter.
type Agent struct {
	opts    Options
	log     logr.Logger
	mgr     manager.Manager
	started atomic.Bool

	jobs     *jobRunner // runs the attempts of the jobs bound to this agent
	probes   *prober    // probes the ECUs this agent serves
	reporter *reporter  // registration, Lease, discovery and the agent's status
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
	scheme, err := ecuscheme.New()
	if err != nil {
		return nil, err
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
	c, r, rec := mgr.GetClient(), mgr.GetAPIReader(), mgr.GetEventRecorder(eventSource)
	statusWake := make(chan event.GenericEvent, wakeBuffer)
	jobs := newJobRunner(c, r, rec, opts, opts.Logger, func() { wakeAgent(statusWake, opts.Name) })
	a := &Agent{
		opts:     opts,
		log:      opts.Logger,
		mgr:      mgr,
		jobs:     jobs,
		probes:   newProber(c, r, rec, opts, opts.Logger, jobs.holdsECU),
		reporter: newReporter(c, r, opts, opts.Logger, statusWake, jobs.runningJobs, jobs.fence),
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
	a.jobs.base, a.probes.base = ctx, ctx
	// A stop while starting is a stop, not a failure: the manager's Start returns nil on a
	// cancelled context too, and a caller must not mistake a shutdown for a fault.
	if err := a.reporter.register(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	if err := a.reporter.renewLease(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("first heartbeat of agent %s: %w", a.opts.Name, err)
	}
	a.log.Info("Agent registered", "leaseNamespace", a.opts.LeaseNamespace, "maxConcurrentJobs", a.opts.MaxConcurrentJobs)
	if err := a.mgr.Add(manager.RunnableFunc(a.reporter.heartbeat)); err != nil {
		return fmt.Errorf("add the heartbeat: %w", err)
	}
	if a.opts.DiscoverInterface != "" {
		if err := a.mgr.Add(manager.RunnableFunc(a.reporter.discover)); err != nil {
			return fmt.Errorf("add discovery: %w", err)
		}
	}
	err := a.mgr.Start(ctx)
	// Cancel every attempt and probe loop; their goroutines close the ECU connections.
	a.jobs.stop()
	a.probes.stop()
	a.jobs.wait()
	a.probes.wait()
	a.log.Info("Agent stopped")
	if err != nil {
		return fmt.Errorf("agent %s: %w", a.opts.Name, err)
	}
	return nil
}

// wake sends a generic event without blocking: a full channel means a wake-up is pending anyway.
func wake(ch chan<- event.GenericEvent, obj client.Object) {
	select {
	case ch <- event.GenericEvent{Object: obj}:
	default:
	}
}
