package agent

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/patch"
)

// run is an attempt running in this process, as the job loop sees it.
type run struct {
	uid    types.UID
	ecu    types.NamespacedName
	cancel context.CancelCauseFunc
	done   chan struct{} // closed when the runner has closed its connection and returned
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
func (a *Agent) reconcileJob(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	job := &v1alpha1.DiagnosticJob{}
	if err := a.client.Get(ctx, req.NamespacedName, job); err != nil {
		if apierrors.IsNotFound(err) {
			// Deleted, or no longer labelled for this agent: nothing of ours may keep running.
			a.cancelRun(req.NamespacedName, "", errJobReleased)
			a.mu.Lock()
			delete(a.waiting, req.NamespacedName)
			a.mu.Unlock()
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, err
	}
	if r := a.runOf(req.NamespacedName); r != nil && r.uid != job.UID {
		a.cancelRun(req.NamespacedName, r.uid, errJobReleased) // the job was recreated under the same name
	}
	st := &job.Status
	switch {
	case !job.DeletionTimestamp.IsZero():
		return reconcile.Result{}, a.release(ctx, job, errJobDeleted)
	case st.Agent != a.opts.Name:
		// Queued again or bound elsewhere: the controller owns the finalizer now.
		a.cancelRun(req.NamespacedName, job.UID, errJobReleased)
		return reconcile.Result{}, nil
	case job.Spec.Suspend && (st.Phase == v1alpha1.JobScheduled || st.Phase == v1alpha1.JobRunning):
		return reconcile.Result{}, a.release(ctx, job, errJobSuspended)
	}
	switch st.Phase {
	case v1alpha1.JobScheduled:
		switch r := a.runOf(req.NamespacedName); {
		case r == nil && !a.startRun(job):
			a.log.V(1).Info("Job waits for a free slot", "job", req.NamespacedName, "maxConcurrentJobs", a.opts.MaxConcurrentJobs)
			return reconcile.Result{RequeueAfter: slotRetry}, nil
		case r != nil && r.uid != job.UID:
			return reconcile.Result{RequeueAfter: time.Second}, nil // the old job's runner is still closing
		}
	case v1alpha1.JobRunning:
		if a.runOf(req.NamespacedName) == nil {
			return reconcile.Result{}, a.endOrphan(ctx, job)
		}
	case v1alpha1.JobSucceeded, v1alpha1.JobFailed, v1alpha1.JobCancelled:
		if st.Phase == v1alpha1.JobFailed && v1alpha1.IsRetryableReason(st.Reason) {
			return reconcile.Result{}, nil // the controller retries or fails the job, then moves the finalizer
		}
		// Finished by this agent, or ended by the controller (deadline, cancel) while running.
		return reconcile.Result{}, a.release(ctx, job, errJobFinished)
	default:
		a.cancelRun(req.NamespacedName, job.UID, errJobReleased)
	}
	return reconcile.Result{}, nil
}

// release cancels the job's attempt with cause, waits until its runner has written what it
// writes and closed the connection, then removes the finalizer so that the controller (and a
// deletion) can go on.
func (a *Agent) release(ctx context.Context, job *v1alpha1.DiagnosticJob, cause error) error {
	if r := a.runOf(types.NamespacedName{Namespace: job.Namespace, Name: job.Name}); r != nil && r.uid == job.UID {
		r.cancel(cause)
		select {
		case <-r.done:
		case <-time.After(cleanupWait):
			a.log.Info("Runner did not stop in time; removing the finalizer anyway", "job", job.Name, "namespace", job.Namespace)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if !controllerutil.ContainsFinalizer(job, v1alpha1.JobFinalizer) {
		return nil
	}
	_, err := patch.Mutate(ctx, a.client, a.reader, job, patch.Options{}, func(j *v1alpha1.DiagnosticJob) (bool, error) {
		return controllerutil.RemoveFinalizer(j, v1alpha1.JobFinalizer), nil
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err == nil {
		a.log.Info("Released job", "job", job.Name, "namespace", job.Namespace, "cause", cause.Error())
	}
	return err
}

// endOrphan ends an attempt that claims to run on this agent while no runner of this process
// holds it: an earlier run of the agent started it and stopped (crash, restart). The steps may
// have changed the ECU, so they are not run again here: the attempt fails with reason
// AgentRestarted and the controller decides whether to retry. Only Running attempts can be
// orphans: a runner writes Running (with every step Pending) before its first step starts.
func (a *Agent) endOrphan(ctx context.Context, job *v1alpha1.DiagnosticJob) error {
	key := types.NamespacedName{Namespace: job.Namespace, Name: job.Name}
	wrote, err := patch.Mutate(ctx, a.client, a.reader, job, patch.Options{Status: true}, func(j *v1alpha1.DiagnosticJob) (bool, error) {
		st := &j.Status
		if st.Phase != v1alpha1.JobRunning || st.Agent != a.opts.Name || st.Reason == v1alpha1.ReasonSuspended || j.Spec.Suspend ||
			!j.DeletionTimestamp.IsZero() || a.runOf(key) != nil {
			return false, nil // the cache was stale, or the job moved on
		}
		now := metav1.Now()
		for i := range st.Steps {
			switch st.Steps[i].Phase {
			case v1alpha1.StepRunning:
				st.Steps[i].Phase, st.Steps[i].Message = v1alpha1.StepFailed, "interrupted: the agent restarted during this step"
			case v1alpha1.StepPending, "":
				st.Steps[i].Phase, st.Steps[i].Message = v1alpha1.StepSkipped, "not run: the agent restarted"
			}
		}
		st.Phase, st.Reason, st.CompletionTime = v1alpha1.JobFailed, v1alpha1.ReasonAgentRestarted, &now
		st.Progress = progressOf(st.Steps)
		st.Message = fmt.Sprintf("Agent %s restarted during the attempt; its steps are not run again on this connection", a.opts.Name)
		st.SetConditions(j.Generation, now.Time)
		return true, nil
	})
	if err == nil && wrote {
		a.log.Info("Ended an attempt interrupted by an agent restart", "job", key)
		a.event(job, true, v1alpha1.ReasonAgentRestarted, "Run", job.Status.Message)
	}
	return err
}

// runOf returns the attempt of key running in this process, or nil.
func (a *Agent) runOf(key types.NamespacedName) *run {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.runs[key]
}

// cancelRun cancels the attempt of key (of that uid, when uid is set) with cause.
func (a *Agent) cancelRun(key types.NamespacedName, uid types.UID, cause error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if r := a.runs[key]; r != nil && (uid == "" || r.uid == uid) {
		r.cancel(cause)
	}
}

// holdsECU tells whether one of this process's attempts is connected to the ECU, so the prober
// keeps off its sockets.
func (a *Agent) holdsECU(ecu types.NamespacedName) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range a.runs {
		if r.ecu == ecu {
			return true
		}
	}
	return false
}

// runningJobs counts the attempts running in this process.
func (a *Agent) runningJobs() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.runs)
}

// startRun starts a runner for job when a slot is free; false means the job must wait.
func (a *Agent) startRun(job *v1alpha1.DiagnosticJob) bool {
	key := types.NamespacedName{Namespace: job.Namespace, Name: job.Name}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.runs) >= a.opts.MaxConcurrentJobs || a.baseCtx.Err() != nil {
		a.waiting[key] = struct{}{}
		return false
	}
	delete(a.waiting, key)
	ctx, cancel := context.WithCancelCause(a.baseCtx)
	r := &run{uid: job.UID, ecu: types.NamespacedName{Namespace: job.Namespace, Name: job.Status.ECU}, cancel: cancel, done: make(chan struct{})}
	a.runs[key] = r
	a.runWG.Add(1)
	go func() {
		defer a.runWG.Done()
		defer a.finishRun(key, r)
		a.runAttempt(ctx, job.DeepCopy())
	}()
	a.wakeStatus()
	return true
}

// finishRun forgets a finished runner and wakes the jobs that waited for its slot.
func (a *Agent) finishRun(key types.NamespacedName, r *run) {
	r.cancel(nil)
	a.mu.Lock()
	if a.runs[key] == r {
		delete(a.runs, key)
	}
	waiting := make([]types.NamespacedName, 0, len(a.waiting))
	for k := range a.waiting {
		waiting = append(waiting, k)
	}
	a.mu.Unlock()
	close(r.done)
	for _, k := range waiting {
		wake(a.jobWake, &v1alpha1.DiagnosticJob{ObjectMeta: metav1.ObjectMeta{Namespace: k.Namespace, Name: k.Name}})
	}
	a.wakeStatus()
}
