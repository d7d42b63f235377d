package controllers

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// isOpen tells the jobs every pass must see: unfinished, or deleted and still held by
// ecufleet's finalizer. Finished jobs pile up in a busy lab (tens of thousands), and a pass must
// not cost time in proportion to them, so the cache indexes the open ones (cachePointers).
func isOpen(j *diagv1.DiagnosticJob) bool {
	return !isFinal(j) || isDeleting(j)
}

// finishedJobs says which finished jobs a pass must read besides the open ones: every job a
// watch event touched since the namespace's last pass (it may have just finished and lack its
// conditions), and the jobs whose ttlSecondsAfterFinished falls due. A namespace's first pass,
// and every pass after an agent turned live or lost (finished jobs of a lost agent give up their
// finalizer), reads every job instead. Like freshCopies it holds no state that matters: a
// restarted controller starts with full passes.
type finishedJobs struct {
	mu      sync.Mutex
	listed  map[string]string               // namespace -> live agents at its last full read
	touched map[string]map[string]bool      // namespace -> jobs with an event since its last pass
	due     map[string]map[string]time.Time // namespace -> finished jobs -> when their TTL runs out; kept until a pass reads them
}

// jobRead is what one pass reads: everything, or the open jobs plus these names. wake is the
// earliest TTL of the namespace still to fall due: a pass that does not read that job must
// still wake the namespace for it, since the workqueue keeps one wake per namespace and this
// pass's replaces the one the pass that saw the job asked for.
type jobRead struct {
	full  bool
	names []string
	wake  time.Time
}

// plan decides how the next pass of namespace reads its jobs, given the live agents now, and
// forgets the touched jobs it hands out.
func (f *finishedJobs) plan(namespace string, liveAgents string, now time.Time) jobRead {
	f.mu.Lock()
	defer f.mu.Unlock()
	touched := f.touched[namespace]
	delete(f.touched, namespace)
	if sig, ok := f.listed[namespace]; !ok || sig != liveAgents {
		return jobRead{full: true}
	}
	read := jobRead{names: make([]string, 0, len(touched))}
	for name := range touched {
		read.names = append(read.names, name)
	}
	due := f.due[namespace]
	for name, t := range due {
		switch {
		case now.Before(t):
			if read.wake.IsZero() || t.Before(read.wake) {
				read.wake = t
			}
		default: // handed out once: the pass deletes the job, or notes a TTL it still has again
			delete(due, name)
			if !touched[name] {
				read.names = append(read.names, name)
			}
		}
	}
	if len(due) == 0 {
		delete(f.due, namespace)
	}
	return read
}

// readAll records a successful full read of namespace with these live agents.
func (f *finishedJobs) readAll(namespace, liveAgents string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.listed == nil {
		f.listed = map[string]string{}
	}
	f.listed[namespace] = liveAgents
}

// readFailed makes the namespace's next pass a full read, so that nothing handed out is lost.
func (f *finishedJobs) readFailed(namespace string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.listed, namespace)
}

// touch notes a watch event of a job; gone tells that it was deleted.
func (f *finishedJobs) touch(key client.ObjectKey, gone bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if gone {
		delete(f.due[key.Namespace], key.Name)
		return
	}
	if f.touched == nil {
		f.touched = map[string]map[string]bool{}
	}
	if f.touched[key.Namespace] == nil {
		f.touched[key.Namespace] = map[string]bool{}
	}
	f.touched[key.Namespace][key.Name] = true
}

// expireAt notes when a finished job's TTL runs out, so that the pass at that time reads it.
func (f *finishedJobs) expireAt(key client.ObjectKey, t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.due == nil {
		f.due = map[string]map[string]time.Time{}
	}
	if f.due[key.Namespace] == nil {
		f.due[key.Namespace] = map[string]time.Time{}
	}
	f.due[key.Namespace][key.Name] = t
}

// liveAgents names the live agents of a fleet, the signature that decides a full read.
func (f *fleet) liveAgents() string {
	var b strings.Builder
	for _, n := range f.names {
		if f.live(n) {
			b.WriteString(n)
			b.WriteByte(0)
		}
	}
	return b.String()
}

// loadJobs fills the pass's jobs as plan says: every job of the namespace, or the open ones,
// the touched and due finished ones, and the finished holders of ECU locks.
func (p *pass) loadJobs(ctx context.Context) error {
	r := p.r
	live := p.fleet.liveAgents()
	read := r.finished.plan(p.ns, live, p.now)
	if !read.wake.IsZero() {
		p.wakeAt(read.wake)
	}
	list := r.objects.openJobsIn
	if read.full {
		list = r.objects.allJobsIn
	}
	jobs, err := list(p.ns)
	if err != nil {
		r.finished.readFailed(p.ns)
		return fmt.Errorf("listing DiagnosticJobs in %s: %w", p.ns, err)
	}
	p.jobs = orEmpty(p.spare.jobs, len(jobs))
	for _, j := range jobs {
		p.jobs[j.Name] = j
	}
	freshen(&r.fresh, p.ns, p.jobs)
	if read.full {
		r.fresh.forgetAbsent(&diagv1.DiagnosticJob{}, p.ns, isKey(p.jobs))
		r.settled.forgetAbsent(p.ns, isKey(p.jobs))
		r.finished.readAll(p.ns, live)
		return nil
	}
	for _, e := range p.ecus {
		if e.Status.ActiveJob != "" {
			read.names = append(read.names, e.Status.ActiveJob)
		}
	}
	for _, name := range read.names {
		if p.jobs[name] != nil {
			continue
		}
		j := &diagv1.DiagnosticJob{}
		err := r.client.Get(ctx, client.ObjectKey{Namespace: p.ns, Name: name}, j)
		switch {
		case apierrors.IsNotFound(err):
			r.forgetJob(client.ObjectKey{Namespace: p.ns, Name: name})
		case err != nil:
			r.finished.readFailed(p.ns)
			return fmt.Errorf("reading DiagnosticJob %s/%s: %w", p.ns, name, err)
		default:
			p.jobs[name] = newest(&r.fresh, j)
		}
	}
	return nil
}

// forgetJob drops what the scheduler remembers of a deleted job.
func (r *SchedulerReconciler) forgetJob(key client.ObjectKey) {
	r.finished.touch(key, true)
	r.settled.forget(key)
	r.fresh.forget(&diagv1.DiagnosticJob{}, key)
}

// touchRecorder passes a job's watch events on after telling the scheduler about them, so that
// the pass each event triggers reads the job even when it is finished.
type touchRecorder struct {
	handler.EventHandler
	r *SchedulerReconciler
}

// Create notes the job, then passes the event on.
func (t touchRecorder) Create(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	t.r.finished.touch(client.ObjectKeyFromObject(e.Object), false)
	t.EventHandler.Create(ctx, e, q)
}

// Update notes the job, then passes the event on.
func (t touchRecorder) Update(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	t.r.finished.touch(client.ObjectKeyFromObject(e.ObjectNew), false)
	t.EventHandler.Update(ctx, e, q)
}

// Delete notes the job's end, then passes the event on.
func (t touchRecorder) Delete(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	t.r.forgetJob(client.ObjectKeyFromObject(e.Object))
	t.EventHandler.Delete(ctx, e, q)
}
