package controllers_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
)

// testAgent plays a node agent through the API, as agent/ does: it registers a
// DiagnosticAgent, renews its Lease, watches the jobs labelled for it, sets a Scheduled job
// Running and then Succeeded (unless hold is set) with the final Event, acknowledges a
// suspension with reason Suspended, and removes the finalizer of deleted and finished jobs. It speaks no DoIP: the controllers
// only see the API.
type testAgent struct {
	name         string
	c            client.WithWatch
	leaseSeconds int32
	occ          *occupancy // optional: checks that no ECU runs two jobs

	// hold leaves started jobs Running until finish is called.
	hold atomic.Bool
	// direct finishes a Scheduled job with one write, without reporting Running first or
	// removing the finalizer afterwards: the cheapest possible agent, for the benchmark.
	direct atomic.Bool
	// lingering keeps the finalizer of finished jobs, like an agent still closing a connection.
	lingering atomic.Bool
	// writes counts the API writes the agent made (Lease renewals aside).
	writes atomic.Int64

	stopBeat, stopServe context.CancelFunc
	wg                  sync.WaitGroup

	mu      sync.Mutex
	runs    map[types.NamespacedName]string // job -> ECU, while Running here
	started []types.NamespacedName          // every job it set Running, in order
	errs    []error                         // unexpected API errors
}

// startTestAgent registers an agent with labels and maxConcurrentJobs, renews its Lease every
// leaseSeconds/4 and serves its jobs until stop.
func startTestAgent(ctx context.Context, c client.WithWatch, name string, labels map[string]string, maxJobs int32, leaseSeconds int32, occ *occupancy) (*testAgent, error) {
	w := builders.MakeAgent(name).MaxConcurrentJobs(maxJobs)
	for k, v := range labels {
		w.Label(k, v)
	}
	if err := c.Create(ctx, w.Obj()); err != nil {
		return nil, fmt.Errorf("registering agent %s: %w", name, err)
	}
	a := &testAgent{name: name, c: c, leaseSeconds: leaseSeconds, occ: occ, runs: map[types.NamespacedName]string{}}
	if err := a.renew(ctx); err != nil {
		return nil, err
	}
	beatCtx, stopBeat := context.WithCancel(context.WithoutCancel(ctx))
	serveCtx, stopServe := context.WithCancel(context.WithoutCancel(ctx))
	a.stopBeat, a.stopServe = stopBeat, stopServe
	a.wg.Go(func() { a.beat(beatCtx) })
	a.wg.Go(func() { a.serve(serveCtx) })
	return a, nil
}

// stopHeartbeat stops renewing the Lease: the agent is lost leaseSeconds later. It keeps
// serving, like an agent cut off from the API server that still holds its connections.
func (a *testAgent) stopHeartbeat() { a.stopBeat() }

// stop stops the heartbeat and the job loop and waits for both.
func (a *testAgent) stop() {
	a.stopBeat()
	a.stopServe()
	a.wg.Wait()
}

// problems returns the unexpected API errors the agent met.
func (a *testAgent) problems() []error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]error(nil), a.errs...)
}

// startedJobs returns the jobs the agent set Running, in order.
func (a *testAgent) startedJobs() []types.NamespacedName {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]types.NamespacedName(nil), a.started...)
}

func (a *testAgent) beat(ctx context.Context) {
	t := time.NewTicker(time.Duration(a.leaseSeconds) * time.Second / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := a.renew(ctx); err != nil && ctx.Err() == nil {
				a.problem(err)
			}
		}
	}
}

// renew writes the Lease as the agent's heartbeat does.
func (a *testAgent) renew(ctx context.Context) error {
	now := metav1.NewMicroTime(time.Now())
	var lease coordinationv1.Lease
	err := a.c.Get(ctx, client.ObjectKey{Namespace: diagv1.DefaultLeaseNamespace, Name: a.name}, &lease)
	if apierrors.IsNotFound(err) {
		lease = coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Namespace: diagv1.DefaultLeaseNamespace, Name: a.name},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity: &a.name, LeaseDurationSeconds: &a.leaseSeconds, AcquireTime: &now, RenewTime: &now,
			},
		}
		return a.c.Create(ctx, &lease)
	}
	if err != nil {
		return err
	}
	lease.Spec.RenewTime, lease.Spec.LeaseDurationSeconds = &now, &a.leaseSeconds
	return a.c.Update(ctx, &lease)
}

// serve lists and then watches the jobs labelled for this agent, handling each change.
func (a *testAgent) serve(ctx context.Context) {
	for ctx.Err() == nil {
		var list diagv1.DiagnosticJobList
		sel := client.MatchingLabels{diagv1.AgentLabel: a.name}
		if err := a.c.List(ctx, &list, sel); err != nil {
			pause(ctx)
			continue
		}
		for i := range list.Items {
			a.handle(ctx, &list.Items[i])
		}
		w, err := a.c.Watch(ctx, &diagv1.DiagnosticJobList{}, sel, &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: list.ResourceVersion}})
		if err != nil {
			pause(ctx)
			continue
		}
		for ev := range w.ResultChan() {
			if ev.Type == watch.Error {
				break
			}
			j, ok := ev.Object.(*diagv1.DiagnosticJob)
			switch {
			case !ok:
			case ev.Type == watch.Deleted: // deleted, or no longer labelled for this agent
				a.endRun(client.ObjectKeyFromObject(j))
			default:
				a.handle(ctx, j)
			}
		}
		w.Stop()
	}
}

// handle acts on a job as the watch delivered it, and on the API server's current copy after
// a conflict.
func (a *testAgent) handle(ctx context.Context, j *diagv1.DiagnosticJob) {
	key := client.ObjectKeyFromObject(j)
	for range 10 {
		err := a.act(ctx, j)
		if err == nil || ctx.Err() != nil || apierrors.IsNotFound(err) {
			return
		}
		if !apierrors.IsConflict(err) {
			a.problem(fmt.Errorf("agent %s on job %s: %w", a.name, key, err))
			return
		}
		j = &diagv1.DiagnosticJob{}
		if err := a.c.Get(ctx, key, j); err != nil {
			a.endRun(key)
			return
		}
	}
}

func (a *testAgent) act(ctx context.Context, j *diagv1.DiagnosticJob) error {
	key := client.ObjectKeyFromObject(j)
	st := j.Status
	switch {
	case j.DeletionTimestamp != nil:
		a.endRun(key)
		if !controllerutil.ContainsFinalizer(j, diagv1.JobFinalizer) {
			return nil
		}
		return a.dropFinalizer(ctx, j)
	case st.Agent != a.name:
		a.endRun(key)
	case st.Phase == diagv1.JobSucceeded || st.Phase == diagv1.JobFailed || st.Phase == diagv1.JobCancelled:
		a.endRun(key)
		if a.direct.Load() || a.lingering.Load() || !controllerutil.ContainsFinalizer(j, diagv1.JobFinalizer) || !j.Status.IsFinal() {
			return nil
		}
		return a.dropFinalizer(ctx, j)
	case j.Spec.Suspend:
		if st.Phase == diagv1.JobRunning && st.Reason != diagv1.ReasonSuspended {
			a.endRun(key)
			_, err := a.patchStatus(ctx, j, func(s *diagv1.DiagnosticJobStatus) {
				s.Reason, s.Message = diagv1.ReasonSuspended, "Suspended; the connection to the ECU is closed"
			})
			return err
		}
	case st.Phase == diagv1.JobScheduled && a.direct.Load():
		a.beginRun(key, st.ECU)
		return a.end(ctx, j, diagv1.JobSucceeded, diagv1.ReasonSucceeded)
	case st.Phase == diagv1.JobScheduled:
		a.beginRun(key, st.ECU)
		now := metav1.Now()
		running, err := a.patchStatus(ctx, j, func(s *diagv1.DiagnosticJobStatus) {
			s.Phase, s.Message, s.CompletionTime = diagv1.JobRunning, "Running", nil
			if s.StartTime == nil {
				s.StartTime = &now
			}
		})
		if err != nil {
			a.endRun(key)
			return err
		}
		if !a.hold.Load() {
			return a.end(ctx, running, diagv1.JobSucceeded, diagv1.ReasonSucceeded)
		}
	}
	return nil
}

// patchStatus writes a job's status as this agent, with the conditions that follow from the
// phase, as agent/ does; it counts the write.
func (a *testAgent) patchStatus(ctx context.Context, j *diagv1.DiagnosticJob, mutate func(*diagv1.DiagnosticJobStatus)) (*diagv1.DiagnosticJob, error) {
	a.writes.Add(1)
	return patchStatus(ctx, a.c, j, func(st *diagv1.DiagnosticJobStatus) {
		mutate(st)
		st.SetConditions(j.Generation, time.Now())
	})
}

// end writes the final phase of the attempt this agent runs and records its Event, as agent/
// does after the last step.
func (a *testAgent) end(ctx context.Context, j *diagv1.DiagnosticJob, phase diagv1.JobPhase, reason string) error {
	a.endRun(client.ObjectKeyFromObject(j))
	if _, err := a.patchStatus(ctx, j, done(phase, reason)); err != nil {
		return err
	}
	kind := corev1.EventTypeNormal
	if phase != diagv1.JobSucceeded {
		kind = corev1.EventTypeWarning
	}
	now := metav1.NowMicro()
	return a.c.Create(ctx, &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{GenerateName: j.Name + "-", Namespace: j.Namespace},
		EventTime:           now,
		ReportingController: "test-agent",
		ReportingInstance:   a.name,
		Action:              "Run",
		Reason:              reason,
		Type:                kind,
		Note:                "Done",
		Regarding:           corev1.ObjectReference{APIVersion: diagv1.GroupVersion.String(), Kind: "DiagnosticJob", Namespace: j.Namespace, Name: j.Name, UID: j.UID},
	})
}

// dropFinalizer says, as agent/ does, that the agent is done with a job and its connection.
func (a *testAgent) dropFinalizer(ctx context.Context, j *diagv1.DiagnosticJob) error {
	a.writes.Add(1)
	return patchMeta(ctx, a.c, j, func(u *diagv1.DiagnosticJob) { controllerutil.RemoveFinalizer(u, diagv1.JobFinalizer) })
}

// closeConnection ends the lingering of a finished job: the finalizer goes.
func (a *testAgent) closeConnection(ctx context.Context, key types.NamespacedName) error {
	var j diagv1.DiagnosticJob
	if err := a.c.Get(ctx, key, &j); err != nil {
		return err
	}
	return a.dropFinalizer(ctx, &j)
}

// finish ends a job this agent runs (held) with phase and reason, as the agent does after the
// last step.
func (a *testAgent) finish(ctx context.Context, key types.NamespacedName, phase diagv1.JobPhase, reason string) error {
	a.endRun(key)
	var j diagv1.DiagnosticJob
	if err := a.c.Get(ctx, key, &j); err != nil {
		return err
	}
	if j.Status.Agent != a.name || j.Status.Phase != diagv1.JobRunning {
		return fmt.Errorf("job %s is not running on agent %s (phase %q, agent %q)", key, a.name, j.Status.Phase, j.Status.Agent)
	}
	return a.end(ctx, &j, phase, reason)
}

// done is the final status write of an attempt.
func done(phase diagv1.JobPhase, reason string) func(*diagv1.DiagnosticJobStatus) {
	now := metav1.Now()
	return func(s *diagv1.DiagnosticJobStatus) {
		s.Phase, s.Reason, s.Message, s.CompletionTime, s.Progress = phase, reason, "Done", &now, "1/1"
	}
}

func (a *testAgent) beginRun(key types.NamespacedName, ecu string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.runs[key] = ecu
	a.started = append(a.started, key)
	if a.occ != nil {
		a.occ.begin(key.Namespace+"/"+ecu, key.Name)
	}
}

func (a *testAgent) endRun(key types.NamespacedName) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ecu, ok := a.runs[key]
	if !ok {
		return
	}
	delete(a.runs, key)
	if a.occ != nil {
		a.occ.end(key.Namespace+"/"+ecu, key.Name)
	}
}

func (a *testAgent) problem(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.errs = append(a.errs, err)
}

// occupancy is the ground truth of which job runs on which ECU, as agents start and end
// them: the physical double-booking the claim protocol must prevent.
type occupancy struct {
	mu         sync.Mutex
	running    map[string]string // namespace/ECU -> job
	violations []string
}

func newOccupancy() *occupancy { return &occupancy{running: map[string]string{}} }

func (o *occupancy) begin(ecu, job string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if cur := o.running[ecu]; cur != "" && cur != job {
		o.violations = append(o.violations, fmt.Sprintf("job %s started on ECU %s while job %s ran there", job, ecu, cur))
	}
	o.running[ecu] = job
}

func (o *occupancy) end(ecu, job string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.running[ecu] == job {
		delete(o.running, ecu)
	}
}

func (o *occupancy) problems() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.violations...)
}

// patchStatus changes a job's status with its resourceVersion as precondition and returns the
// job as stored.
func patchStatus(ctx context.Context, c client.Client, j *diagv1.DiagnosticJob, mutate func(*diagv1.DiagnosticJobStatus)) (*diagv1.DiagnosticJob, error) {
	u := j.DeepCopy()
	mutate(&u.Status)
	return u, c.Status().Patch(ctx, u, client.MergeFromWithOptions(j, client.MergeFromWithOptimisticLock{}))
}

// patchMeta changes a job's metadata with its resourceVersion as precondition.
func patchMeta(ctx context.Context, c client.Client, j *diagv1.DiagnosticJob, mutate func(*diagv1.DiagnosticJob)) error {
	u := j.DeepCopy()
	mutate(u)
	return c.Patch(ctx, u, client.MergeFromWithOptions(j, client.MergeFromWithOptimisticLock{}))
}

// pause waits a moment before a retry of a failed list or watch, or until ctx ends.
func pause(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(100 * time.Millisecond):
	}
}
