package controllers

import (
	"context"
	"maps"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// +kubebuilder:rbac:groups=diag.ecufleet.io,resources=diagnosticjobs,verbs=get;list;watch;patch;delete
// +kubebuilder:rbac:groups=diag.ecufleet.io,resources=diagnosticjobs/status,verbs=patch
// +kubebuilder:rbac:groups=diag.ecufleet.io,resources=ecus,verbs=get;list;watch
// +kubebuilder:rbac:groups=diag.ecufleet.io,resources=ecus/status,verbs=patch
// +kubebuilder:rbac:groups=diag.ecufleet.io,resources=diagnosticagents,verbs=get;list;watch
// +kubebuilder:rbac:groups=coordination.k8s.io,namespace=ecufleet-system,resources=leases,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// SchedulerReconciler runs the claim protocol: one pass per namespace (the request's Namespace;
// its Name is empty) derives every ECU queue from the cache, ends attempts, hands ECUs over or
// releases them, and starts queue heads. One pass at a time, so that two passes never race for
// an ECU.
type SchedulerReconciler struct {
	client    client.Client
	objects   *cachePointers // the cache's ECUs and open jobs, without a copy
	apiReader client.Reader  // live reads after a conflict, bypassing the cache
	leases    client.Reader
	recorder  events.EventRecorder
	opts      Options
	fresh     freshCopies
	settled   settledJobs
	finished  finishedJobs
	published publishedWaits

	mu sync.Mutex
	// nextQueueFlush is, per namespace, the earliest time queue positions may be rewritten.
	nextQueueFlush map[string]time.Time
	// queuedCursor is, per namespace, the last ECU whose queuedJobs a flush wrote.
	queuedCursor map[string]string
	// selectors is, per namespace, the memo of selector keys its passes share.
	selectors map[string]*selectorKeys
	// ecuOrders is, per namespace, the last pass's ECU order (see ecuOrderOf).
	ecuOrders map[string]*ecuOrder
	// maps is, per namespace, the maps of its last pass (see passMaps).
	maps map[string]passMaps
	// depthSeries is, per namespace, the ECUs with an ecufleet_queue_depth series, each with
	// whether its queue was not empty when last published.
	depthSeries map[string]map[string]bool
}

// Reconcile runs one scheduling pass over req.Namespace. The phases run in this order, each on
// the snapshot as the previous ones left it; see docs/architecture.md for why.
func (r *SchedulerReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	p, err := r.newPass(ctx, req.Namespace)
	if err != nil {
		return reconcile.Result{}, err
	}
	for _, phase := range []func(context.Context){
		p.endAttempts,    // deadlines, retryable failures, lost agents, suspended runs
		p.finishJobs,     // conditions an agent did not write, TTL deletion
		p.findStaleLocks, // locks whose holder finished, vanished or never bound
		p.schedule,       // lock free ECUs for their queue heads, then bind the jobs; release the rest
		p.syncJobMeta,    // agent label, finalizer and deadline start of every job
		p.publishQueues,  // phase, reason, queue position of waiting jobs; queuedJobs
	} {
		phase(ctx)
	}
	r.keepMaps(p)
	after, err := p.result()
	return reconcile.Result{RequeueAfter: after}, err
}

// setup registers the scheduler with the manager: one controller keyed by namespace, fed by
// jobs, ECUs, agents and Leases.
func (r *SchedulerReconciler) setup(mgr ctrl.Manager, leaseCache cache.Cache) error {
	toNamespace := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace()}}}
	})
	// One fan-out for both watches, as the ECU controller's: each event listed every ECU.
	everyNamespace := &fanOut{list: func(ctx context.Context) []reconcile.Request {
		return ecuNamespaces(ctx, r.client)
	}}
	return ctrl.NewControllerManagedBy(mgr).
		Named("diagnosticjob-scheduler").
		WithOptions(controller.Options{
			MaxConcurrentReconciles: 1,
			// One key holds a whole namespace: a failing write must not push every job of
			// it into an exponential backoff of many minutes.
			RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](5*time.Millisecond, maxRetryDelay),
		}).
		Watches(&diagv1.DiagnosticJob{}, finishRecorder{touchRecorder{toNamespace, r}}).
		Watches(&diagv1.ECU{}, toNamespace).
		Watches(&diagv1.DiagnosticAgent{}, fanOutOn[client.Object](everyNamespace), builder.WithPredicates(agentChanged())).
		WatchesRawSource(leaseWatch(leaseCache, r.opts.Clock, fanOutOn[*coordinationv1.Lease](everyNamespace))).
		Complete(r)
}

// maxRetryDelay caps the backoff of a namespace whose pass keeps failing.
const maxRetryDelay = 10 * time.Second

// ecuNamespaces lists the namespaces that have ECUs: an agent's change can only matter there.
func ecuNamespaces(ctx context.Context, c client.Reader) []reconcile.Request {
	var list diagv1.ECUList
	if err := c.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing ECUs to find the namespaces to schedule")
		return nil
	}
	seen := map[string]bool{}
	var out []reconcile.Request
	for i := range list.Items {
		if ns := list.Items[i].Namespace; !seen[ns] {
			seen[ns] = true
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ns}})
		}
	}
	return out
}

// agentChanged passes the agent updates that can change scheduling or ECU readiness (labels,
// spec, deletion, Ready), not the agent's own frequent status writes (runningJobs).
func agentChanged() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		o, n := e.ObjectOld.(*diagv1.DiagnosticAgent), e.ObjectNew.(*diagv1.DiagnosticAgent)
		return o.Generation != n.Generation ||
			!maps.Equal(o.Labels, n.Labels) ||
			(o.DeletionTimestamp == nil) != (n.DeletionTimestamp == nil) ||
			meta.IsStatusConditionTrue(o.Status.Conditions, diagv1.ConditionReady) != meta.IsStatusConditionTrue(n.Status.Conditions, diagv1.ConditionReady)
	}}
}

// eventType maps good news to Normal and bad news to Warning.
func eventType(good bool) string {
	if good {
		return "Normal"
	}
	return "Warning"
}
