package controllers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// pass is the scope of one scheduling pass over a namespace: a snapshot of its ECUs and jobs
// and of every agent, which the phases read and which every successful write updates, so that
// later phases see the effect of earlier ones without waiting for the cache.
type pass struct {
	r     *SchedulerReconciler
	ns    string
	now   time.Time
	fleet *fleet

	mu       sync.Mutex // guards the fields below while writes run in parallel
	ecus     map[string]*diagv1.ECU
	jobs     map[string]*diagv1.DiagnosticJob
	stale    map[string]staleLock // by ECU name: locks to hand over or release
	wake     time.Time            // earliest time something falls due; zero: nothing
	retry    bool                 // a write met a conflict: run again soon
	errs     []error
	ecuOrder *ecuOrder // the ECUs' names, sorted, fixed for the pass
	spare    passMaps  // the last pass's maps, emptied, for this one to fill
	// ready is every ECU's readiness by name (see readiness), nil until a phase asks; the
	// ECUs in touched were written or re-read since and are assessed again at the next ask.
	ready   map[string]ecuReadiness
	touched []string
	// order is the unfinished jobs in queue order (see openOrder); nil until asked.
	order []rankedJob
	// ecuWrites counts the writes and re-reads that replaced an ECU of the snapshot; byName is
	// sortedECUs' answer, and holders lockHolders', as of byNameAt and holdersAt writes (each
	// phase asks, and each answer scans 10,000 ECUs).
	ecuWrites, byNameAt, holdersAt int
	byName                         []*diagv1.ECU
	holders                        map[string]string
}

// newPass reads the namespace's ECUs and jobs (the finished ones only where needed, see
// finishedJobs) and every agent, preferring the copies this controller wrote more recently
// than its cache shows. The objects are the cache's own, not even copied into a list (see
// cachePointers): the scope treats them as read-only, and every write works on a copy.
func (r *SchedulerReconciler) newPass(ctx context.Context, ns string) (*pass, error) {
	p := &pass{r: r, ns: ns, now: r.opts.Clock.Now(), spare: r.takeMaps(ns)}
	var err error
	if p.fleet, err = loadFleet(ctx, r.client, r.leases, r.opts.LeaseNamespace, p.now); err != nil {
		return nil, err
	}
	p.fleet.keys = r.selectorKeysOf(ns)
	ecus, err := r.objects.ecusIn(ns)
	if err != nil {
		return nil, fmt.Errorf("listing ECUs in %s: %w", ns, err)
	}
	p.ecus = orEmpty(p.spare.ecus, len(ecus))
	for _, e := range ecus {
		p.ecus[e.Name] = e
	}
	freshen(&r.fresh, ns, p.ecus)
	p.ecuOrder = r.ecuOrderOf(ns, p.ecus)
	r.fresh.forgetAbsent(&diagv1.ECU{}, ns, isKey(p.ecus))

	if err := p.loadJobs(ctx); err != nil {
		return nil, err
	}
	return p, p.countRunning(ctx)
}

// selectorKeysOf starts a pass of namespace on its memo of selector keys: one memo per
// namespace, since a pass forgets what the previous one did not ask for, and passes of
// namespaces take turns.
func (r *SchedulerReconciler) selectorKeysOf(ns string) *selectorKeys {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.selectors == nil {
		r.selectors = map[string]*selectorKeys{}
	}
	k := r.selectors[ns]
	if k == nil {
		k = &selectorKeys{}
		r.selectors[ns] = k
	}
	k.rotate()
	return k
}

// countRunning counts each agent's unfinished bound jobs in every namespace (through the
// agent index of the cache, corrected by this controller's own recent writes).
func (p *pass) countRunning(ctx context.Context) error {
	bound := map[client.ObjectKey]string{}
	for _, name := range p.fleet.names {
		var list diagv1.DiagnosticJobList
		if err := p.r.client.List(ctx, &list, client.MatchingFields{jobAgentIndex: name}, client.UnsafeDisableDeepCopy); err != nil {
			return fmt.Errorf("listing the jobs of agent %s: %w", name, err)
		}
		for i := range list.Items {
			bound[client.ObjectKeyFromObject(&list.Items[i])] = name
		}
	}
	for _, j := range rememberedOf[*diagv1.DiagnosticJob](&p.r.fresh) {
		key := client.ObjectKeyFromObject(j)
		if key.Namespace == p.ns {
			continue // p.jobs holds the newest copies of this namespace's jobs
		}
		cached := &diagv1.DiagnosticJob{}
		delete(bound, key)
		if err := p.r.client.Get(ctx, key, cached); err != nil {
			continue // deleted since this controller wrote it
		}
		if cur := newest(&p.r.fresh, cached); cur.Status.IsBound() && cur.Status.Agent != "" {
			bound[key] = cur.Status.Agent
		}
	}
	for key, j := range p.jobs {
		k := client.ObjectKey{Namespace: p.ns, Name: key}
		delete(bound, k)
		if j.Status.IsBound() && j.Status.Agent != "" {
			bound[k] = j.Status.Agent
		}
	}
	for _, agent := range bound {
		if a, ok := p.fleet.agents[agent]; ok {
			a.running++
		}
	}
	return nil
}

// jobAgentIndex indexes unfinished bound jobs by status.agent, for the running-job counts.
const jobAgentIndex = "status.agent.unfinished"

// indexJobAgent is the indexer of jobAgentIndex.
func indexJobAgent(obj client.Object) []string {
	j, ok := obj.(*diagv1.DiagnosticJob)
	if !ok || !j.Status.IsBound() || j.Status.Agent == "" {
		return nil
	}
	return []string{j.Status.Agent}
}

// job returns the snapshot's copy of a job, or nil.
func (p *pass) job(name string) *diagv1.DiagnosticJob {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.jobs[name]
}

// ecu returns the snapshot's copy of an ECU, or nil.
func (p *pass) ecu(name string) *diagv1.ECU {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ecus[name]
}

// sortedJobs returns the snapshot's jobs that pass keep, by name.
func (p *pass) sortedJobs(keep func(*diagv1.DiagnosticJob) bool) []*diagv1.DiagnosticJob {
	out := p.jobsWhere(keep)
	slices.SortFunc(out, func(a, b *diagv1.DiagnosticJob) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// jobsWhere returns the snapshot's jobs that pass keep, in no order.
func (p *pass) jobsWhere(keep func(*diagv1.DiagnosticJob) bool) []*diagv1.DiagnosticJob {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*diagv1.DiagnosticJob
	for _, j := range p.jobs {
		if keep(j) {
			out = append(out, j)
		}
	}
	return out
}

// sortedECUs returns the snapshot's ECUs by name; the slice is shared: never change it.
func (p *pass) sortedECUs() []*diagv1.ECU {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byName != nil && p.byNameAt == p.ecuWrites {
		return p.byName
	}
	out := make([]*diagv1.ECU, 0, len(p.ecuOrder.names))
	for _, n := range p.ecuOrder.names {
		if e, ok := p.ecus[n]; ok { // a re-read may have found it deleted
			out = append(out, e)
		}
	}
	p.byName, p.byNameAt = out, p.ecuWrites
	return out
}

// sortedECUIndex returns the snapshot's ECUs by name, indexed by the pass's ECU order when
// none was found deleted since it began (the order's places are then theirs).
func (p *pass) sortedECUIndex() ecuIndex {
	ecus := p.sortedECUs()
	if len(ecus) == len(p.ecuOrder.names) {
		return ecuIndex{sorted: ecus, byName: p.ecuOrder.pos}
	}
	return indexECUs(ecus)
}

// lockHolders is the set of jobs named by an ECU's status.activeJob; the map is shared: never
// change it.
func (p *pass) lockHolders() map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.holders != nil && p.holdersAt == p.ecuWrites {
		return p.holders
	}
	out := map[string]string{}
	for _, e := range p.ecus {
		if e.Status.ActiveJob != "" {
			out[e.Status.ActiveJob] = e.Name
		}
	}
	p.holders, p.holdersAt = out, p.ecuWrites
	return out
}

// wakeAt asks for another pass at t (the earliest of all requests wins).
func (p *pass) wakeAt(t time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.wake.IsZero() || t.Before(p.wake) {
		p.wake = t
	}
}

// fail records an error; the pass goes on with the objects it could not write unchanged.
func (p *pass) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.errs = append(p.errs, err)
}

// conflict notes that an object moved under a write; the pass runs again at once.
func (p *pass) conflict() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.retry = true
}

// adjustRunning changes an agent's running count after a bind or an unbind.
func (p *pass) adjustRunning(agent string, delta int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if a, ok := p.fleet.agents[agent]; ok {
		a.running += delta
	}
}

// storeJob makes an object returned by the API server the snapshot's and the fresh copy.
func (p *pass) storeJob(j *diagv1.DiagnosticJob) {
	p.r.fresh.remember(j)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.jobs[j.Name] = j
}

// storeECU makes an object returned by the API server the snapshot's and the fresh copy.
func (p *pass) storeECU(e *diagv1.ECU) {
	p.r.fresh.remember(e)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ecus[e.Name] = e
	p.touched = append(p.touched, e.Name)
	p.ecuWrites++
}

// reread replaces a job or ECU in the snapshot with the API server's current copy (or drops
// it when deleted), bypassing a cache that may lag. An error means the snapshot is unchanged.
func (p *pass) reread(ctx context.Context, obj client.Object) error {
	fresh := obj.DeepCopyObject().(client.Object)
	err := p.r.apiReader.Get(ctx, client.ObjectKeyFromObject(obj), fresh)
	if err != nil && !apierrors.IsNotFound(err) {
		err = fmt.Errorf("re-reading %T %s/%s: %w", obj, obj.GetNamespace(), obj.GetName(), err)
		p.fail(err)
		return err
	}
	gone := err != nil
	if !gone {
		p.r.fresh.remember(fresh)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch o := fresh.(type) {
	case *diagv1.DiagnosticJob:
		if gone {
			delete(p.jobs, o.Name)
		} else {
			p.jobs[o.Name] = o
		}
	case *diagv1.ECU:
		p.touched = append(p.touched, o.Name)
		p.ecuWrites++
		if gone {
			delete(p.ecus, o.Name)
		} else {
			p.ecus[o.Name] = o
		}
	}
	return nil
}

// result turns the pass's outcome into the workqueue's next step.
func (p *pass) result() (time.Duration, error) {
	if len(p.errs) > 0 {
		return 0, errors.Join(p.errs...)
	}
	if p.retry {
		return retryDelay, nil
	}
	if p.wake.IsZero() {
		return 0, nil
	}
	return max(p.wake.Sub(p.now), minWake), nil
}

// retryDelay is how soon a pass runs again after a conflict; the object that moved has been
// re-read, so there is nothing to wait for but the other writes of the moment.
const retryDelay = 20 * time.Millisecond

// minWake keeps a timer that is already due from spinning.
const minWake = 10 * time.Millisecond

// timeOf converts for status fields.
func timeOf(t time.Time) *metav1.Time {
	mt := metav1.NewTime(t)
	return &mt
}

// queued returns the jobs waiting for an ECU in queue order: unfinished, unbound, not deleted,
// not holding a lock (a lock whose bind is pending), not past its queue timeout (its Failed
// write may have lost a conflict this pass), and, unless withSuspended, not suspended.
func (p *pass) queued(withSuspended bool) []*diagv1.DiagnosticJob {
	holders := p.lockHolders()
	order := p.openOrder()
	p.mu.Lock()
	defer p.mu.Unlock()
	var jobs []*diagv1.DiagnosticJob
	for _, r := range order {
		j := p.jobs[r.job.Name]
		if j == nil {
			continue // re-read and found deleted
		}
		if expired, _ := queueTimeout(j, p.now); !expired && isWaiting(j) && holders[j.Name] == "" && (withSuspended || !j.Spec.Suspend) {
			jobs = append(jobs, j)
		}
	}
	return jobs
}

// openOrder returns the pass's unfinished jobs in queue order. It sorts them at the first ask
// and again only when a write or re-read brought a job with another place in the order (a new
// priority): the scheduling and the queue phases both ask, and each sort of 5,000 jobs was a
// twelfth of a pass. A finished job never waits again, and a pass gains no jobs, so the first
// ask's jobs are all that can wait. Each job's health-job test is done once, not in every
// comparison (queueOrder is total, so no sort by name comes first).
func (p *pass) openOrder() []rankedJob {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.order != nil && !p.orderMoved() {
		return p.order
	}
	p.order = make([]rankedJob, 0, len(p.jobs))
	for _, j := range p.jobs {
		if !isFinal(j) {
			p.order = append(p.order, rank(j))
		}
	}
	slices.SortFunc(p.order, queueOrderOf)
	return p.order
}

// orderMoved reports whether a job of p.order was replaced by a copy that sorts differently;
// the caller holds p.mu.
func (p *pass) orderMoved() bool {
	for _, r := range p.order {
		cur := p.jobs[r.job.Name]
		if cur != nil && cur != r.job && queueOrderOf(r, rank(cur)) != 0 {
			return true
		}
	}
	return false
}

// readiness assesses every ECU against the fleet, and its health (see judgeHealth) once per
// use. A later phase's ask assesses again only the ECUs the pass wrote or re-read since (a
// write replaces a snapshot's object and never changes one): building the verdicts of 10,000
// ECUs anew was a fifth of the queue phase.
func (p *pass) readiness(ctx context.Context, ecus []*diagv1.ECU) map[string]ecuReadiness {
	touched := p.takeTouched()
	if p.ready == nil {
		p.ready = orEmpty(p.spare.ready, len(ecus))
		for _, e := range ecus {
			p.ready[e.Name] = assessECU(e, p.fleet)
		}
		touched = nil // the objects just assessed are the current ones
	}
	for _, name := range touched {
		if e := p.ecu(name); e != nil {
			p.ready[name] = assessECU(e, p.fleet)
		} else {
			delete(p.ready, name)
		}
	}
	p.judgeHealth(ctx, ecus, p.ready)
	return p.ready
}

// takeTouched returns the ECUs written or re-read since the last call and forgets them.
func (p *pass) takeTouched() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.touched
	p.touched = nil
	return t
}
