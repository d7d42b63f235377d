package agent

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/ecufleet/ecufleet/api/v1alpha1"
)

// setupControllers wires the agent's three parts into its manager: the job runner follows the
// jobs bound to it, the prober the ECUs, and the reporter its own DiagnosticAgent.
func (a *Agent) setupControllers() error {
	err := ctrl.NewControllerManagedBy(a.mgr).
		Named("agent_job").
		For(&v1alpha1.DiagnosticJob{}).
		WatchesRawSource(source.Channel(a.jobs.wake, &handler.EnqueueRequestForObject{})).
		// Releasing a job waits for its runner; other jobs must not queue behind that.
		WithOptions(controller.Options{MaxConcurrentReconciles: 4}).
		Complete(reconcile.Func(a.jobs.reconcileJob))
	if err != nil {
		return fmt.Errorf("set up the job loop of agent %s: %w", a.opts.Name, err)
	}
	err = ctrl.NewControllerManagedBy(a.mgr).
		Named("agent_probe").
		For(&v1alpha1.ECU{}).
		Complete(reconcile.Func(a.probes.reconcileProbe))
	if err != nil {
		return fmt.Errorf("set up the probe loop of agent %s: %w", a.opts.Name, err)
	}
	self := handler.EnqueueRequestsFromMapFunc(a.reporter.selfRequest)
	err = ctrl.NewControllerManagedBy(a.mgr).
		Named("agent_status").
		For(&v1alpha1.DiagnosticAgent{}).
		Watches(&v1alpha1.ECU{}, handler.EnqueueRequestsFromMapFunc(a.reporter.servedECURequest)).
		WatchesRawSource(source.Channel(a.reporter.wake, self)).
		Complete(reconcile.Func(a.reporter.reconcileStatus))
	if err != nil {
		return fmt.Errorf("set up the status loop of agent %s: %w", a.opts.Name, err)
	}
	return nil
}

// selfRequest maps any event to the agent's own DiagnosticAgent.
func (rp *reporter) selfRequest(_ context.Context, _ client.Object) []reconcile.Request {
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: rp.opts.Name}}}
}

// servedECURequest maps an ECU event to the agent's status when the ECU is (or, for the old
// object of an update, was) served by this agent, so status.ecus follows the controller.
func (rp *reporter) servedECURequest(ctx context.Context, obj client.Object) []reconcile.Request {
	if ecu, ok := obj.(*v1alpha1.ECU); ok && ecu.Status.Agent == rp.opts.Name {
		return rp.selfRequest(ctx, obj)
	}
	return nil
}
