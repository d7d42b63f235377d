package agent

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/patch"
)

// reporter tells the cluster about the agent: it registers the DiagnosticAgent, renews the
// Lease, runs discovery and keeps the agent's status current.
type reporter struct {
	opts        Options
	log         logr.Logger
	client      client.Client           // reads from the agent's caches, writes to the API server
	reader      client.Reader           // reads from the API server: before the caches run, after a conflict, Leases
	runningJobs func() int              // the job runner's count, for status.runningJobs
	fenceJobs   func()                  // cancels the running attempts when the Lease may have expired
	wake        chan event.GenericEvent // the agent's own status needs recomputing

	mu    sync.Mutex
	found map[string]v1alpha1.DiscoveredEntity // discovered entities by discoveredKey
}

// newReporter prepares the reporter; wake is the channel its status loop watches.
func newReporter(c client.Client, r client.Reader, opts Options, log logr.Logger, wake chan event.GenericEvent,
	runningJobs func() int, fenceJobs func()) *reporter {
	return &reporter{opts: opts, log: log, client: c, reader: r, runningJobs: runningJobs, fenceJobs: fenceJobs, wake: wake,
		found: make(map[string]v1alpha1.DiscoveredEntity)}
}

// wakeStatus asks the status loop to recompute the agent's status.
func (rp *reporter) wakeStatus() {
	wakeAgent(rp.wake, rp.opts.Name)
}

// wakeAgent asks the status loop watching ch to recompute agent name's status.
func wakeAgent(ch chan<- event.GenericEvent, name string) {
	wake(ch, &v1alpha1.DiagnosticAgent{ObjectMeta: metav1.ObjectMeta{Name: name}})
}

// reconcileStatus keeps the agent's status current: version, running jobs, served ECUs and
// discovered entities. A deleted DiagnosticAgent is registered again, as a kubelet does with
// its Node.
func (rp *reporter) reconcileStatus(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
	agent := &v1alpha1.DiagnosticAgent{}
	if err := rp.client.Get(ctx, types.NamespacedName{Name: rp.opts.Name}, agent); err != nil {
		if apierrors.IsNotFound(err) {
			return reconcile.Result{}, rp.register(ctx)
		}
		return reconcile.Result{}, err
	}
	var res reconcile.Result
	if rp.opts.DiscoverInterface != "" {
		res.RequeueAfter = rp.opts.DiscoverInterval // ages entities out even when discovery stalls
	}
	return res, rp.writeStatus(ctx, rp.client, agent)
}

// writeStatus patches the agent-owned status fields when they changed.
func (rp *reporter) writeStatus(ctx context.Context, r client.Reader, agent *v1alpha1.DiagnosticAgent) error {
	ecus, err := rp.servedECUs(ctx, r)
	if err != nil {
		return err
	}
	running := int32(rp.runningJobs())
	discovered := rp.discovered()
	_, err = patch.Mutate(ctx, rp.client, rp.reader, agent, patch.Options{Status: true}, func(ag *v1alpha1.DiagnosticAgent) (bool, error) {
		want := ag.Status.DeepCopy()
		want.Version, want.RunningJobs, want.ECUs, want.Discovered = rp.opts.Version, running, ecus, discovered
		if equality.Semantic.DeepEqual(&ag.Status, want) {
			return false, nil
		}
		ag.Status = *want
		return true, nil
	})
	return err
}

// servedECUs lists "namespace/name" of the ECUs whose status.agent is this agent, sorted.
func (rp *reporter) servedECUs(ctx context.Context, r client.Reader) ([]string, error) {
	var list v1alpha1.ECUList
	if err := r.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("list ECUs: %w", err)
	}
	var out []string
	for _, e := range list.Items {
		if e.Status.Agent == rp.opts.Name {
			out = append(out, e.Namespace+"/"+e.Name)
		}
	}
	slices.Sort(out)
	return out, nil
}
