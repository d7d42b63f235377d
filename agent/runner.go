package agent

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/ecufleet/ecufleet/agent/image"
	"github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/patch"
)

// jobRunner runs the attempts of the jobs bound to this agent, at most MaxConcurrentJobs at
// once, each in its own goroutine over its own DoIP connection; the job loop starts, cancels
// and releases them.
type jobRunner struct {
	opts          Options
	log           logr.Logger
	client        client.Client // reads from the agent's caches, writes to the API server
	reader        client.Reader // reads from the API server: fresh state after a conflict, the ECU, TLS Secrets
	recorder      events.EventRecorder
	statusChanged func()                  // the count of running jobs changed: the reporter recomputes the status
	wake          chan event.GenericEvent // jobs that waited for a free slot
	base          context.Context         // Run's context, set before the manager starts: every attempt derives from it
	fetcher       *image.Fetcher          // fetches the images of download steps, one cache for the agent

	mu      sync.Mutex
	running map[types.NamespacedName]*attempt      // attempts running in this process
	waiting map[types.NamespacedName]struct{}      // Scheduled jobs waiting for a free slot
	fenced  map[types.NamespacedName]fencedAttempt // attempts cut off by fence, until the job says how they ended
	wg      sync.WaitGroup                         // the attempts' goroutines, waited for when Run returns
}

// newJobRunner prepares the job runner; statusChanged is called whenever an attempt starts or ends.
func newJobRunner(c client.Client, r client.Reader, rec events.EventRecorder, opts Options, log logr.Logger,
	statusChanged func()) *jobRunner {
	return &jobRunner{
		opts:          opts,
		log:           log,
		client:        c,
		reader:        r,
		recorder:      rec,
		statusChanged: statusChanged,
		wake:          make(chan event.GenericEvent, wakeBuffer),
		base:          context.Background(),
		fetcher:       newFetcher(opts, r, log),
		running:       make(map[types.NamespacedName]*attempt),
		waiting:       make(map[types.NamespacedName]struct{}),
		fenced:        make(map[types.NamespacedName]fencedAttempt),
	}
}

// fencedAttempt identifies an attempt that fence cancelled: it wrote no result, so the job
// loop ends it (reason AgentLost) once the API server answers again.
type fencedAttempt struct {
	uid      types.UID
	attempts int32 // status.attempts of the job when the attempt started
}

// Timing of the job loop.
const (
	// slotRetry re-checks a job that waits for a free slot, in case a wake-up was dropped.
	slotRetry = 5 * time.Second
	// cleanupWait bounds how long the loop waits for a cancelled runner to write its results and
	// close its connection before it removes the finalizer anyway.
	cleanupWait = 10 * time.Second
)

// reconcileJob drives one job bound to this agent: it starts Scheduled attempts, ends attempts
// a previous run of this agent left Running, and cancels attempts that were deleted, suspended,
// ended by the controller or taken away. The finalizer is removed once this agent is done with
// the job and its connection is closed: on deletion, on suspension (the controller then ends
// the attempt), and when the job has finished for good.
func (jr *jobRunner) reconcileJob(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	job := &v1alpha1.DiagnosticJob{}
	if err := jr.client.Get(ctx, req.NamespacedName, job); err != nil {
		if apierrors.IsNotFound(err) {
			// Deleted, or no longer labelled for this agent: nothing of ours may keep running.
			jr.cancelAttempt(req.NamespacedName, "", errJobReleased)
			jr.mu.Lock()
			delete(jr.waiting, req.NamespacedName)
			delete(jr.fenced, req.NamespacedName)
			jr.mu.Unlock()
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, err
	}
	if at := jr.attemptOf(req.NamespacedName); at != nil && at.uid != job.UID {
		jr.cancelAttempt(req.NamespacedName, at.uid, errJobReleased) // the job was recreated under the same name
	}
	st := &job.Status
	if st.Phase != v1alpha1.JobRunning {
		jr.forgetFenced(req.NamespacedName) // its attempt ended some other way, or never began
	}
	switch {
	case !job.DeletionTimestamp.IsZero():
		return reconcile.Result{}, jr.release(ctx, job, errJobDeleted)
	case st.Agent != jr.opts.Name:
		// Queued again or bound elsewhere: the controller owns the finalizer now.
		jr.cancelAttempt(req.NamespacedName, job.UID, errJobReleased)
		return reconcile.Result{}, nil
	case job.Spec.Suspend && (st.Phase == v1alpha1.JobScheduled || st.Phase == v1alpha1.JobRunning):
		return reconcile.Result{}, jr.release(ctx, job, errJobSuspended)
	}
	switch st.Phase {
	case v1alpha1.JobScheduled:
		switch at := jr.attemptOf(req.NamespacedName); {
		case at == nil && !jr.start(job):
			jr.log.V(1).Info("Job waits for a free slot", "job", req.NamespacedName, "maxConcurrentJobs", jr.opts.MaxConcurrentJobs)
			return reconcile.Result{RequeueAfter: slotRetry}, nil
		case at != nil && at.uid != job.UID:
			return reconcile.Result{RequeueAfter: time.Second}, nil // the old job's runner is still closing
		}
	case v1alpha1.JobRunning:
		if jr.attemptOf(req.NamespacedName) == nil {
			return reconcile.Result{}, jr.endOrphan(ctx, job)
		}
	case v1alpha1.JobSucceeded, v1alpha1.JobFailed, v1alpha1.JobCancelled:
		if st.Phase == v1alpha1.JobFailed && v1alpha1.IsRetryableReason(st.Reason) {
			return reconcile.Result{}, nil // the controller retries or fails the job, then moves the finalizer
		}
		// Finished by this agent, or ended by the controller (deadline, cancel) while running.
		return reconcile.Result{}, jr.release(ctx, job, errJobFinished)
	default:
		jr.cancelAttempt(req.NamespacedName, job.UID, errJobReleased)
	}
	return reconcile.Result{}, nil
}

// release cancels the job's attempt with cause, waits until its runner has written what it
// writes and closed the connection, then removes the finalizer so that the controller (and a
// deletion) can go on.
func (jr *jobRunner) release(ctx context.Context, job *v1alpha1.DiagnosticJob, cause error) error {
	if at := jr.attemptOf(types.NamespacedName{Namespace: job.Namespace, Name: job.Name}); at != nil && at.uid == job.UID {
		at.cancel(cause)
		select {
		case <-at.done:
		case <-time.After(cleanupWait):
			jr.log.Info("Runner did not stop in time; removing the finalizer anyway", "job", job.Name, "namespace", job.Namespace)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if !controllerutil.ContainsFinalizer(job, v1alpha1.JobFinalizer) {
		return nil
	}
	_, err := patch.Mutate(ctx, jr.client, jr.reader, job, patch.Options{}, func(j *v1alpha1.DiagnosticJob) (bool, error) {
		return controllerutil.RemoveFinalizer(j, v1alpha1.JobFinalizer), nil
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err == nil {
		jr.log.Info("Released job", "job", job.Name, "namespace", job.Namespace, "cause", cause.Error())
	}
	return err
}

// endOrphan ends an attempt that claims to run on this agent while no runner of this process
// holds it: an earlier run of the agent started it and stopped (crash, restart), or fence cut
// it off while the Lease could not be renewed and the API server could not be told. The steps
// may have changed the ECU, so they are not run again here: the attempt fails with reason
// AgentRestarted (or AgentLost after a fence) and the controller decides whether to retry.
// Only Running attempts can be orphans: a runner writes Running (with every step Pending)
// before its first step starts.
func (jr *jobRunner) endOrphan(ctx context.Context, job *v1alpha1.DiagnosticJob) error {
	key := types.NamespacedName{Namespace: job.Namespace, Name: job.Name}
	jr.mu.Lock()
	f, fenced := jr.fenced[key]
	jr.mu.Unlock()
	fenced = fenced && f.uid == job.UID && f.attempts == job.Status.Attempts
	reason, why := v1alpha1.ReasonAgentRestarted, "the agent restarted"
	msg := fmt.Sprintf("Agent %s restarted during the attempt; its steps are not run again on this connection", jr.opts.Name)
	if fenced {
		reason, why = v1alpha1.ReasonAgentLost, errLeaseLost.Error()
		msg = fmt.Sprintf("Agent %s could not renew its Lease within %v and stopped the attempt, so that another agent may take the ECU; its steps are not run again on this connection",
			jr.opts.Name, jr.opts.LeaseDuration)
	}
	wrote, err := patch.Mutate(ctx, jr.client, jr.reader, job, patch.Options{Status: true}, func(j *v1alpha1.DiagnosticJob) (bool, error) {
		st := &j.Status
		if st.Phase != v1alpha1.JobRunning || st.Agent != jr.opts.Name || st.Reason == v1alpha1.ReasonSuspended || j.Spec.Suspend ||
			!j.DeletionTimestamp.IsZero() || jr.attemptOf(key) != nil || fenced && st.Attempts != f.attempts {
			return false, nil // the cache was stale, or the job moved on
		}
		now := metav1.Now()
		for i := range st.Steps {
			switch st.Steps[i].Phase {
			case v1alpha1.StepRunning:
				st.Steps[i].Phase, st.Steps[i].Message = v1alpha1.StepFailed, "interrupted: "+why+" during this step"
			case v1alpha1.StepPending, "":
				st.Steps[i].Phase, st.Steps[i].Message = v1alpha1.StepSkipped, "not run: "+why
			}
		}
		st.Phase, st.Reason, st.CompletionTime = v1alpha1.JobFailed, reason, &now
		st.Progress = progressOf(st.Steps)
		st.Message = msg
		st.SetConditions(j.Generation, now.Time)
		return true, nil
	})
	if err != nil {
		return err
	}
	if fenced {
		jr.forgetFenced(key)
	}
	if wrote {
		if fenced {
			jr.log.Info("Ended an attempt cut off while the Lease could not be renewed", "job", key)
		} else {
			jr.log.Info("Ended an attempt interrupted by an agent restart", "job", key)
		}
		recordEvent(jr.recorder, job, true, reason, "Run", msg)
	}
	return nil
}

// forgetFenced drops the note that fence cut off key's attempt.
func (jr *jobRunner) forgetFenced(key types.NamespacedName) {
	jr.mu.Lock()
	defer jr.mu.Unlock()
	delete(jr.fenced, key)
}

// attemptOf returns the attempt of key running in this process, or nil.
func (jr *jobRunner) attemptOf(key types.NamespacedName) *attempt {
	jr.mu.Lock()
	defer jr.mu.Unlock()
	return jr.running[key]
}

// cancelAttempt cancels the attempt of key (of that uid, when uid is set) with cause.
func (jr *jobRunner) cancelAttempt(key types.NamespacedName, uid types.UID, cause error) {
	jr.mu.Lock()
	defer jr.mu.Unlock()
	if at := jr.running[key]; at != nil && (uid == "" || at.uid == uid) {
		at.cancel(cause)
	}
}

// cancelAll cancels every running attempt with cause; their goroutines close the connections.
func (jr *jobRunner) cancelAll(cause error) {
	jr.mu.Lock()
	defer jr.mu.Unlock()
	for _, at := range jr.running {
		at.cancel(cause)
	}
}

// fence cancels every running attempt because the Lease may have expired: the controller will
// hand their ECUs to other agents, and two testers must never talk to one ECU at once. Such an
// attempt writes nothing; once its goroutine ends, finish hands its job back to the job loop,
// which ends the attempt (AgentLost) when the API server answers, unless the controller ended
// it first. Without that, a job whose agent renews its Lease again before the controller looks
// would stay Running, holding its ECU, until its deadline.
func (jr *jobRunner) fence() {
	jr.mu.Lock()
	defer jr.mu.Unlock()
	for key, at := range jr.running {
		jr.fenced[key] = fencedAttempt{uid: at.uid, attempts: at.attempts}
		at.cancel(errLeaseLost)
	}
}

// holdsECU tells whether one of this process's attempts is connected to the ECU, so the prober
// keeps off its sockets.
func (jr *jobRunner) holdsECU(ecu types.NamespacedName) bool {
	jr.mu.Lock()
	defer jr.mu.Unlock()
	for _, at := range jr.running {
		if at.ecu == ecu {
			return true
		}
	}
	return false
}

// runningJobs counts the attempts running in this process.
func (jr *jobRunner) runningJobs() int {
	jr.mu.Lock()
	defer jr.mu.Unlock()
	return len(jr.running)
}

// start starts an attempt of job when a slot is free; false means the job must wait.
func (jr *jobRunner) start(job *v1alpha1.DiagnosticJob) bool {
	key := types.NamespacedName{Namespace: job.Namespace, Name: job.Name}
	jr.mu.Lock()
	defer jr.mu.Unlock()
	if len(jr.running) >= jr.opts.MaxConcurrentJobs || jr.base.Err() != nil {
		jr.waiting[key] = struct{}{}
		return false
	}
	delete(jr.waiting, key)
	ctx, cancel := context.WithCancelCause(jr.base)
	at := newAttempt(jr, job.DeepCopy(), cancel)
	jr.running[key] = at
	jr.wg.Add(1)
	go func() {
		defer jr.wg.Done()
		defer jr.finish(at)
		at.run(ctx)
	}()
	jr.statusChanged()
	return true
}

// finish forgets a finished attempt and wakes the jobs that waited for its slot.
func (jr *jobRunner) finish(at *attempt) {
	at.cancel(nil)
	jr.mu.Lock()
	if jr.running[at.key] == at {
		delete(jr.running, at.key)
	}
	waiting := make([]types.NamespacedName, 0, len(jr.waiting)+1)
	for k := range jr.waiting {
		waiting = append(waiting, k)
	}
	if f, ok := jr.fenced[at.key]; ok && f.uid == at.uid {
		waiting = append(waiting, at.key) // the job loop ends the attempt fence cut off
	}
	jr.mu.Unlock()
	close(at.done)
	for _, k := range waiting {
		wake(jr.wake, &v1alpha1.DiagnosticJob{ObjectMeta: metav1.ObjectMeta{Namespace: k.Namespace, Name: k.Name}})
	}
	jr.statusChanged()
}

// stop cancels every attempt because the agent stops.
func (jr *jobRunner) stop() {
	jr.cancelAll(errAgentStopping)
}

// wait returns once every attempt's goroutine has closed its connection and returned.
func (jr *jobRunner) wait() {
	jr.wg.Wait()
}
