package scale

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
)

// fleet plays the node agents through the API, as the scheduler benchmark's test agents do:
// it renews their Leases and finishes every job bound to one of them at once (one status write),
// and it notes when each job was first seen Scheduled.
type fleet struct {
	c      client.WithWatch
	ns     string
	agents []string
	pool   map[string]string

	mu        sync.Mutex
	scheduled map[string]time.Time
	waiters   map[string]chan struct{}
}

const leaseSeconds = 40

// parallel runs fn(i) for i in [0, n) on 8 goroutines, reporting progress every 10 s.
func parallel(ctx context.Context, b *testing.B, what string, n int, fn func(i int) error) {
	b.Helper()
	next := make(chan int)
	var wg sync.WaitGroup
	var errOnce sync.Once
	var firstErr error
	var done sync.WaitGroup
	done.Add(n)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				if err := fn(i); err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("%s %d: %w", what, i, err) })
				}
				done.Done()
			}
		})
	}
	start := time.Now()
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	for i := 0; i < n && ctx.Err() == nil; i++ {
		select {
		case next <- i:
		case <-tick.C:
			logf("  %s: %d of %d (%.0f/s)", what, i, n, float64(i)/time.Since(start).Seconds())
			next <- i
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	logf("  %s: %d in %v (%.0f/s)", what, n, time.Since(start).Round(time.Second), float64(n)/time.Since(start).Seconds())
}

// startAgents registers n agents labelled pool and renews their Leases every 10 s.
func (f *fleet) startAgents(ctx context.Context, b *testing.B, n int) {
	for i := range n {
		f.agents = append(f.agents, fmt.Sprintf("%s-agent-%03d", f.ns, i))
	}
	parallel(ctx, b, "agents registered", n, func(i int) error {
		a := builders.MakeAgent(f.agents[i]).MaxConcurrentJobs(1000)
		for k, v := range f.pool {
			a.Label(k, v)
		}
		if err := f.c.Create(ctx, a.Obj()); err != nil {
			return err
		}
		return f.renew(ctx, f.agents[i])
	})
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(10 * time.Second):
			}
			for _, a := range f.agents {
				if err := f.renew(ctx, a); err != nil && ctx.Err() == nil {
					logf("Renewing the Lease of %s: %v", a, err)
				}
			}
		}
	}()
}

func (f *fleet) renew(ctx context.Context, name string) error {
	now := metav1.NewMicroTime(time.Now())
	var lease coordinationv1.Lease
	err := f.c.Get(ctx, client.ObjectKey{Namespace: diagv1.DefaultLeaseNamespace, Name: name}, &lease)
	if apierrors.IsNotFound(err) {
		d := int32(leaseSeconds)
		lease = coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Namespace: diagv1.DefaultLeaseNamespace, Name: name},
			Spec:       coordinationv1.LeaseSpec{HolderIdentity: &name, LeaseDurationSeconds: &d, AcquireTime: &now, RenewTime: &now},
		}
		return f.c.Create(ctx, &lease)
	}
	if err != nil {
		return err
	}
	lease.Spec.RenewTime = &now
	return f.c.Update(ctx, &lease)
}

// ecuName is the i-th ECU of the fleet.
func ecuName(i int) string { return fmt.Sprintf("ecu-%05d", i) }

// createECUs creates n ECUs without probes, served by the pool's agents.
func (f *fleet) createECUs(ctx context.Context, b *testing.B, n int) {
	parallel(ctx, b, "ECUs created", n, func(i int) error {
		return f.c.Create(ctx, builders.MakeECU(ecuName(i), f.ns).Probe(diagv1.ProbeNone).AgentSelector(f.pool).Obj())
	})
}

// waitReady waits until n ECUs of the namespace are Ready.
func (f *fleet) waitReady(ctx context.Context, b *testing.B, n int) time.Duration {
	start := time.Now()
	for last := time.Now(); ; {
		var list diagv1.ECUList
		if err := f.c.List(ctx, &list, client.InNamespace(f.ns)); err != nil {
			b.Fatal(err)
		}
		ready := 0
		for _, e := range list.Items {
			if meta.IsStatusConditionTrue(e.Status.Conditions, diagv1.ConditionReady) {
				ready++
			}
		}
		if ready >= n {
			return time.Since(start)
		}
		if time.Since(last) > 10*time.Second {
			logf("  ECUs Ready: %d of %d", ready, n)
			last = time.Now()
		}
		if time.Since(start) > 20*time.Minute {
			b.Fatalf("only %d of %d ECUs became Ready in 20 minutes", ready, n)
		}
		time.Sleep(time.Second)
	}
}

// serve finishes every job the controller binds, and notes when each was first Scheduled.
func (f *fleet) serve(ctx context.Context) {
	f.scheduled, f.waiters = map[string]time.Time{}, map[string]chan struct{}{}
	work := make(chan *diagv1.DiagnosticJob, 1024)
	for range 8 {
		go func() {
			for j := range work {
				f.finish(ctx, j)
			}
		}()
	}
	go func() {
		defer close(work)
		rv := ""
		for ctx.Err() == nil {
			w, err := f.c.Watch(ctx, &diagv1.DiagnosticJobList{}, client.InNamespace(f.ns), &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: rv}})
			if err != nil {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			for ev := range w.ResultChan() {
				j, ok := ev.Object.(*diagv1.DiagnosticJob)
				if !ok {
					continue
				}
				rv = j.ResourceVersion
				if j.Status.Phase == diagv1.JobScheduled && j.Status.Agent != "" {
					f.noteScheduled(j.Name)
					work <- j
				}
				if j.Status.Phase == diagv1.JobSucceeded {
					f.noteDone(j.Name)
				}
			}
			w.Stop()
		}
	}()
}

func (f *fleet) noteScheduled(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.scheduled[name]; !ok {
		f.scheduled[name] = time.Now()
	}
}

func (f *fleet) noteDone(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ch, ok := f.waiters[name]; ok {
		close(ch)
		delete(f.waiters, name)
	}
}

// finish writes a bound job's end: Succeeded with its one step passed and its conditions.
func (f *fleet) finish(ctx context.Context, j *diagv1.DiagnosticJob) {
	u := j.DeepCopy()
	succeed(u, time.Now())
	if err := f.c.Status().Patch(ctx, u, client.MergeFromWithOptions(j, client.MergeFromWithOptimisticLock{})); err != nil && ctx.Err() == nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
		logf("Finishing %s: %v", j.Name, err)
	}
}

// succeed makes a job's status that of a job whose one step passed.
func succeed(j *diagv1.DiagnosticJob, now time.Time) {
	st := &j.Status
	t := metav1.NewTime(now)
	if st.StartTime == nil {
		st.StartTime = &t
	}
	st.Phase, st.Reason, st.Message, st.Progress = diagv1.JobSucceeded, diagv1.ReasonSucceeded, "All 1 steps passed", "1/1"
	st.CompletionTime = &t
	st.Steps = []diagv1.StepStatus{{Name: j.Spec.Steps[0].Name, Phase: diagv1.StepPassed, Request: "22 F1 90", Response: "62 F1 90 57 41 55", DurationMillis: 2}}
	st.ObservedGeneration = j.Generation
	st.SetConditions(j.Generation, now)
}

// latency creates n jobs one at a time on free ECUs (the i-th on ECU first+i), each after the
// previous succeeded, and returns their create-to-Scheduled times.
func (f *fleet) latency(ctx context.Context, b *testing.B, prefix string, n, first int) []time.Duration {
	var out []time.Duration
	for i := range n {
		name := fmt.Sprintf("%s-%03d", prefix, i)
		done := make(chan struct{})
		f.mu.Lock()
		f.waiters[name] = done
		f.mu.Unlock()
		start := time.Now()
		job := builders.MakeJob(name, f.ns).ECU(ecuName(first + i)).Step(builders.ReadDID("vin", 0xF190)).Obj()
		if err := f.c.Create(ctx, job); err != nil {
			b.Fatal(err)
		}
		select {
		case <-done:
		case <-time.After(2 * time.Minute):
			b.Fatalf("%s was not done within 2 minutes", name)
		}
		f.mu.Lock()
		out = append(out, f.scheduled[name].Sub(start))
		f.mu.Unlock()
	}
	return out
}
