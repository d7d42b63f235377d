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

// setupControllers wires the agent's three loops into its manager: jobs bound to it, the ECUs
// it probes, and its own DiagnosticAgent status.
func (a *Agent) setupControllers() error {
	err := ctrl.NewControllerManagedBy(a.mgr).
		Named("agent_job").
		For(&v1alpha1.DiagnosticJob{}).
		WatchesRawSource(source.Channel(a.jobWake, &handler.EnqueueRequestForObject{})).
		// Releasing a job waits for its runner; other jobs must not queue behind that.
		WithOptions(controller.Options{MaxConcurrentReconciles: 4}).
		Complete(reconcile.Func(a.reconcileJob))
	if err != nil {
		return fmt.Errorf("set up the job loop of agent %s: %w", a.opts.Name, err)
	}
	err = ctrl.NewControllerManagedBy(a.mgr).
		Named("agent_probe").
		For(&v1alpha1.ECU{}).
		Complete(reconcile.Func(a.reconcileProbe))
	if err != nil {
		return fmt.Errorf("set up the probe loop of agent %s: %w", a.opts.Name, err)
	}
	self := handler.EnqueueRequestsFromMapFunc(a.selfRequest)
	err = ctrl.NewControllerManagedBy(a.mgr).
		Named("agent_status").
		For(&v1alpha1.DiagnosticAgent{}).
		Watches(&v1alpha1.ECU{}, handler.EnqueueRequestsFromMapFunc(a.servedECURequest)).
		WatchesRawSource(source.Channel(a.statusWake, self)).
		Complete(reconcile.Func(a.reconcileStatus))
	if err != nil {
		return fmt.Errorf("set up the status loop of agent %s: %w", a.opts.Name, err)
	}
	return nil
}

// selfRequest maps any event to the agent's own DiagnosticAgent.
func (a *Agent) selfRequest(_ context.Context, _ client.Object) []reconcile.Request {
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: a.opts.Name}}}
}

// servedECURequest maps an ECU event to the agent's status when the ECU is (or, for the old
// object of an update, was) served by this agent, so status.ecus follows the controller.
func (a *Agent) servedECURequest(ctx context.Context, obj client.Object) []reconcile.Request {
	if ecu, ok := obj.(*v1alpha1.ECU); ok && ecu.Status.Agent == a.opts.Name {
		return a.selfRequest(ctx, obj)
	}
	return nil
}
