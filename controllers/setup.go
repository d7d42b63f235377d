package controllers

import (
	"context"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// eventSource names ecufleet's controller in the Events it records.
const eventSource = "ecufleet-controller"

// SetupWithManager adds ecufleet's controllers (scheduler, ECU roll-up, ECU health checks, agent liveness) to a
// manager whose scheme holds client-go's and diag.ecufleet.io's types; `ecufleet controller`,
// `ecufleet dev` and the tests all start the controllers through it.
func SetupWithManager(mgr ctrl.Manager, opts Options) error {
	opts = opts.withDefaults()
	// Leases are read from a cache of the lease namespace alone: the controller needs no
	// cluster-wide access to Leases, whatever cache the manager itself was given.
	leaseCache, err := cache.New(mgr.GetConfig(), cache.Options{
		HTTPClient:        mgr.GetHTTPClient(),
		Scheme:            mgr.GetScheme(),
		Mapper:            mgr.GetRESTMapper(),
		DefaultNamespaces: map[string]cache.Config{opts.LeaseNamespace: {}},
	})
	if err != nil {
		return fmt.Errorf("creating the Lease cache for namespace %s: %w", opts.LeaseNamespace, err)
	}
	if err := mgr.Add(leaseCache); err != nil {
		return fmt.Errorf("adding the Lease cache to the manager: %w", err)
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &diagv1.DiagnosticJob{}, jobAgentIndex, indexJobAgent); err != nil {
		return fmt.Errorf("indexing DiagnosticJobs by agent: %w", err)
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &diagv1.DiagnosticJob{}, healthJobIndex, indexHealthJob); err != nil {
		return fmt.Errorf("indexing the health jobs: %w", err)
	}
	recorder := mgr.GetEventRecorder(eventSource)
	agents := &AgentReconciler{client: mgr.GetClient(), leases: leaseCache, recorder: recorder, opts: opts, ready: &readyCount{gauge: agentsReadyMetric}}
	if err := agents.setup(mgr, leaseCache); err != nil {
		return fmt.Errorf("setting up the agent liveness controller: %w", err)
	}
	ecus := &ECUReconciler{client: mgr.GetClient(), leases: leaseCache, recorder: recorder, opts: opts, ready: &readyCount{gauge: ecusReadyMetric}}
	if err := ecus.setup(mgr, leaseCache); err != nil {
		return fmt.Errorf("setting up the ECU roll-up controller: %w", err)
	}
	health := &HealthReconciler{client: mgr.GetClient(), recorder: recorder, opts: opts}
	if err := health.setup(mgr); err != nil {
		return fmt.Errorf("setting up the ECU health checker: %w", err)
	}
	objects, err := newCachePointers(context.Background(), mgr.GetCache())
	if err != nil {
		return fmt.Errorf("setting up the DiagnosticJob scheduler: %w", err)
	}
	scheduler := &SchedulerReconciler{
		client:    mgr.GetClient(),
		objects:   objects,
		apiReader: mgr.GetAPIReader(),
		leases:    leaseCache,
		recorder:  recorder,
		opts:      opts,
	}
	if err := scheduler.setup(mgr, leaseCache); err != nil {
		return fmt.Errorf("setting up the DiagnosticJob scheduler: %w", err)
	}
	return nil
}
