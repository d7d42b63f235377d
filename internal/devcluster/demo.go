package devcluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// DefaultDemoTimeout bounds the wait for the rack's jobs; they need about half a minute on a
// loaded two-core machine.
const DefaultDemoTimeout = 3 * time.Minute

// Pacing of the demo's wait: how often it reads the jobs, and how often it repeats an unchanged
// progress line so that a slow run never looks hung.
const (
	demoPoll      = 500 * time.Millisecond
	demoHeartbeat = 15 * time.Second
)

// DemoOptions tunes RunDemo.
type DemoOptions struct {
	// Namespace receives the rack's ECUs and jobs; "" means default.
	Namespace string
	// Timeout bounds the wait for the jobs to finish; 0 means DefaultDemoTimeout.
	Timeout time.Duration
}

// DemoResult is how every job of the rack ended, read once they all finished or the time ran out.
type DemoResult struct {
	// Namespace holds the rack's objects.
	Namespace string
	// Jobs are the rack's jobs in rack order, each with its verdict.
	Jobs []DemoJob
	// ECUs are the rack's ECUs as last read.
	ECUs []diagv1.ECU
	// Unfinished names the jobs still running or queued when the time ran out.
	Unfinished []string
	// Timeout is the wait that ran out, when Unfinished is not empty.
	Timeout time.Duration
}

// DemoJob is one rack job and whether it ended as its annotations say.
type DemoJob struct {
	// Job is the job as last read.
	Job *diagv1.DiagnosticJob
	// Expected is the phase AnnotationExpect asks for.
	Expected diagv1.JobPhase
	// Problems are the mismatches with the expectation; none means the job ended as expected.
	Problems []string
}

// Err is nil when every job ended as expected, else an error naming each one that did not.
func (r *DemoResult) Err() error {
	var lines []string
	for _, j := range r.Jobs {
		for _, p := range j.Problems {
			lines = append(lines, fmt.Sprintf("job %s: %s", j.Job.Name, p))
		}
	}
	if len(r.Unfinished) > 0 {
		lines = append(lines, fmt.Sprintf("jobs %s did not finish within %s (look at `kubectl get ecus` and the log)",
			strings.Join(r.Unfinished, ", "), r.Timeout))
	}
	if len(lines) == 0 {
		return nil
	}
	return fmt.Errorf("the demo did not go as expected:\n  %s", strings.Join(lines, "\n  "))
}

// RunDemo creates the namespace if needed, starts the rack's simulators on free ports of 127.0.0.1, creates its ECUs (pointed
// at those ports), its ConfigMaps and then its jobs, waits until every job finished, and judges each against
// its annotations. The error is non-nil when the rack could not be set up; a demo that ran but
// did not go as expected returns its result, whose Err says why.
func (c *Cluster) RunDemo(ctx context.Context, rack *Rack, opts DemoOptions) (*DemoResult, error) {
	if opts.Namespace == "" {
		opts.Namespace = SimNamespace
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultDemoTimeout
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: opts.Namespace}}
	if err := c.client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("creating namespace %s: %w", ns.Name, err)
	}
	ports, err := c.startRackSims(ctx, rack)
	if err != nil {
		return nil, err
	}
	for i, e := range rack.ECUs {
		obj := rack.ecuObjs[i].DeepCopy()
		port := int64(ports[e.Annotations[AnnotationSim]])
		if err := errors.Join(unstructured.SetNestedField(obj.Object, SimHost, "spec", "address"),
			unstructured.SetNestedField(obj.Object, port, "spec", "port")); err != nil {
			return nil, fmt.Errorf("pointing ECU %s at its simulator: %w", e.Name, err)
		}
		if err := c.create(ctx, obj, opts.Namespace); err != nil {
			return nil, err
		}
	}
	for _, obj := range rack.cmObjs {
		if err := c.create(ctx, obj.DeepCopy(), opts.Namespace); err != nil {
			return nil, err
		}
	}
	for _, obj := range rack.jobObjs {
		if err := c.create(ctx, obj.DeepCopy(), opts.Namespace); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(c.progress, "Created %d ECUs and %d jobs in namespace %s; waiting for the jobs (at most %s)\n",
		len(rack.ECUs), len(rack.Jobs), opts.Namespace, opts.Timeout)
	return c.awaitDemo(ctx, rack, opts)
}

// create creates a rack object in ns, refusing fields the API server does not know.
func (c *Cluster) create(ctx context.Context, obj *unstructured.Unstructured, ns string) error {
	obj.SetNamespace(ns)
	if err := c.client.Create(ctx, obj, client.FieldValidation(metav1.FieldValidationStrict)); err != nil {
		return fmt.Errorf("creating %s %s/%s: %w", obj.GetKind(), ns, obj.GetName(), err)
	}
	return nil
}

// startRackSims starts every simulator of the rack and returns their ports by name.
func (c *Cluster) startRackSims(ctx context.Context, rack *Rack) (map[string]int32, error) {
	ports := map[string]int32{}
	for _, name := range rack.simNames() {
		cfg := rack.Sims[name]
		cfg.Listen = net.JoinHostPort(SimHost, "0")
		cfg.Logger = c.log.WithName("sim-" + name)
		sim, err := c.StartSim(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("starting simulator %s (sims/%s.yaml): %w", name, name, err)
		}
		ports[name] = SimPort(sim)
		var serves []string
		for _, e := range rack.ECUs {
			if e.Annotations[AnnotationSim] == name {
				serves = append(serves, fmt.Sprintf("%s 0x%04X", e.Name, e.Spec.LogicalAddress))
			}
		}
		fmt.Fprintf(c.progress, "Simulator %s on %s for ECU %s\n", name, sim.Addr(), strings.Join(serves, ", "))
	}
	return ports, nil
}

// awaitDemo polls the rack's jobs until all are final or the timeout passes, printing a line
// whenever the picture changes, then judges them.
func (c *Cluster) awaitDemo(ctx context.Context, rack *Rack, opts DemoOptions) (*DemoResult, error) {
	began := time.Now()
	wctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	tick := time.NewTicker(demoPoll)
	defer tick.Stop()
	var last string
	var lastAt time.Time
	for {
		jobs, ecus, err := c.readRack(wctx, rack, opts.Namespace)
		if err == nil {
			line := demoProgress(jobs, ecus)
			if line != last || time.Since(lastAt) >= demoHeartbeat {
				fmt.Fprintf(c.progress, "[%3.0fs] %s\n", time.Since(began).Seconds(), line)
				last, lastAt = line, time.Now()
			}
			if len(unfinished(rack, jobs)) == 0 {
				return judgeDemo(rack, opts, jobs, ecus), nil
			}
		}
		select {
		case <-tick.C:
		case <-wctx.Done():
			if ctx.Err() != nil {
				return nil, fmt.Errorf("demo interrupted: %w", ctx.Err())
			}
			// One last read with the caller's context, so that the tables show where it stuck.
			jobs, ecus, rerr := c.readRack(ctx, rack, opts.Namespace)
			if rerr != nil {
				return nil, errors.Join(fmt.Errorf("the demo's jobs did not finish within %s", opts.Timeout), rerr)
			}
			res := judgeDemo(rack, opts, jobs, ecus)
			res.Unfinished, res.Timeout = unfinished(rack, jobs), opts.Timeout
			return res, nil
		}
	}
}

// readRack reads the rack's jobs (by name) and ECUs from the namespace.
func (c *Cluster) readRack(ctx context.Context, rack *Rack, ns string) (map[string]*diagv1.DiagnosticJob, []diagv1.ECU, error) {
	var jl diagv1.DiagnosticJobList
	if err := c.client.List(ctx, &jl, client.InNamespace(ns)); err != nil {
		return nil, nil, err
	}
	var el diagv1.ECUList
	if err := c.client.List(ctx, &el, client.InNamespace(ns)); err != nil {
		return nil, nil, err
	}
	jobs := map[string]*diagv1.DiagnosticJob{}
	for i := range jl.Items {
		if _, ours := rack.expect[jl.Items[i].Name]; ours {
			jobs[jl.Items[i].Name] = &jl.Items[i]
		}
	}
	var ecus []diagv1.ECU
	for _, e := range el.Items {
		if slices.ContainsFunc(rack.ECUs, func(r *diagv1.ECU) bool { return r.Name == e.Name }) {
			ecus = append(ecus, e)
		}
	}
	return jobs, ecus, nil
}

// unfinished names the rack's jobs that have not reached a final phase, in rack order.
func unfinished(rack *Rack, jobs map[string]*diagv1.DiagnosticJob) []string {
	var out []string
	for _, j := range rack.Jobs {
		if got := jobs[j.Name]; got == nil || !finalPhase(got.Status.Phase) {
			out = append(out, j.Name)
		}
	}
	return out
}

func finalPhase(p diagv1.JobPhase) bool {
	return p == diagv1.JobSucceeded || p == diagv1.JobFailed || p == diagv1.JobCancelled
}

// demoProgress is one line: how many ECUs are Ready and how many jobs are in each phase.
func demoProgress(jobs map[string]*diagv1.DiagnosticJob, ecus []diagv1.ECU) string {
	ready := 0
	for i := range ecus {
		if meta.IsStatusConditionTrue(ecus[i].Status.Conditions, diagv1.ConditionReady) {
			ready++
		}
	}
	counts := map[diagv1.JobPhase]int{}
	for _, j := range jobs {
		counts[orPending(j.Status.Phase)]++
	}
	order := []diagv1.JobPhase{diagv1.JobSucceeded, diagv1.JobFailed, diagv1.JobCancelled, diagv1.JobRunning,
		diagv1.JobScheduled, diagv1.JobQueued, diagv1.JobPending}
	var parts []string
	for _, p := range order {
		if counts[p] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[p], p))
		}
	}
	return fmt.Sprintf("ECUs ready %d/%d; jobs: %s", ready, len(ecus), strings.Join(parts, ", "))
}

func orPending(p diagv1.JobPhase) diagv1.JobPhase {
	if p == "" {
		return diagv1.JobPending
	}
	return p
}

// judgeDemo checks every rack job against its expectation.
func judgeDemo(rack *Rack, opts DemoOptions, jobs map[string]*diagv1.DiagnosticJob, ecus []diagv1.ECU) *DemoResult {
	res := &DemoResult{Namespace: opts.Namespace, ECUs: ecus}
	for _, j := range rack.Jobs {
		e := rack.expect[j.Name]
		got := jobs[j.Name]
		if got == nil {
			got = &diagv1.DiagnosticJob{ObjectMeta: metav1.ObjectMeta{Name: j.Name, Namespace: opts.Namespace}, Spec: j.Spec}
		}
		res.Jobs = append(res.Jobs, DemoJob{Job: got, Expected: e.phase, Problems: e.check(got, jobs)})
	}
	return res
}
