package controllers_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/controllers"
	"github.com/ecufleet/ecufleet/internal/benchstat"
	"github.com/ecufleet/ecufleet/internal/builders"
)

// Sizes of BenchmarkScheduler, settable with -args -bench.ecus=N ...
var (
	benchECUs    = flag.Int("bench.ecus", 10, "ECUs of the scheduler benchmark")
	benchAgents  = flag.Int("bench.agents", 3, "test agents of the scheduler benchmark (each finishes its jobs at once)")
	benchJobs    = flag.Int("bench.jobs", 500, "jobs created at once in the throughput round")
	benchSerial  = flag.Int("bench.serial", 50, "jobs created one at a time on idle ECUs in the latency round")
	benchRawRuns = flag.Int("bench.writes", 1000, "status writes of the raw write-rate round")
)

// BenchmarkScheduler measures the scheduler on a real API server (run it with -benchtime 1x):
//   - throughput: bench.jobs jobs created at once for bench.ecus ECUs and bench.agents agents
//     that finish each job as soon as it is Running; jobs/s from the first create to the last
//     Succeeded, and the create-to-Scheduled latency (mostly queueing);
//   - latency while an ECU is free: bench.serial jobs created one at a time, each once the
//     previous has finished;
//   - the raw rate of comparable writes on the same API server, with the controller and the
//     agents stopped: DiagnosticJob status merge patches with the resourceVersion precondition,
//     one at a time and 8 at a time.
func BenchmarkScheduler(b *testing.B) {
	ctrl.SetLogger(logr.Discard())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cfg, c, e, err := startAPIServer(ctx, os.Stderr)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = e.Stop() }()
	for b.Loop() {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "bench-"}}
		if err := c.Create(ctx, ns); err != nil {
			b.Fatal(err)
		}
		mgr, err := newManager(cfg, controllers.Options{})
		if err != nil {
			b.Fatal(err)
		}
		mctx, stopMgr := context.WithCancel(ctx)
		mgrDone := make(chan error, 1)
		go func() { mgrDone <- mgr.Start(mctx) }()

		r := &benchRig{b: b, c: c, ns: ns.Name, occ: newOccupancy()}
		r.setUp(ctx)
		before, agentBefore := requestCounts(), r.agentWrites()
		through := r.run(ctx, *benchJobs, 0, "load")
		after, agentAfter := requestCounts(), r.agentWrites()
		jobs := float64(*benchJobs)
		agentPerJob := float64(agentAfter-agentBefore) / jobs
		ctrlPerJob := (after["PATCH/200"]-before["PATCH/200"])/jobs - agentPerJob
		eventsPerJob := (after["POST/201"]-before["POST/201"])/jobs - 1 // every job is created once
		serial := r.run(ctx, *benchSerial, 1, "serial")
		r.tearDown()
		stopMgr()
		if err := <-mgrDone; err != nil {
			b.Fatal(err)
		}
		if v := r.occ.problems(); len(v) > 0 {
			b.Fatalf("ECUs were double-booked: %v", v)
		}
		// The raw rate is measured with the controller and the agents stopped, so that the
		// API server and the two cores do nothing else.
		seq := r.rawWrites(ctx, 1)
		par := r.rawWrites(ctx, 8)

		jobsPerSec := float64(*benchJobs) / through.elapsed.Seconds()
		b.ReportMetric(jobsPerSec, "jobs/s")
		b.ReportMetric(benchstat.Millis(benchstat.Percentile(serial.latency, 50)), "free-p50-ms")
		b.ReportMetric(benchstat.Millis(benchstat.Percentile(serial.latency, 99)), "free-p99-ms")
		b.ReportMetric(benchstat.Millis(benchstat.Percentile(through.latency, 50)), "load-p50-ms")
		b.ReportMetric(benchstat.Millis(benchstat.Percentile(through.latency, 99)), "load-p99-ms")
		b.ReportMetric(seq, "raw-writes/s")
		b.ReportMetric(par, "raw8-writes/s")
		fmt.Fprintf(os.Stderr, "\nScheduler benchmark: %d ECUs, %d agents, %d jobs at once, %d jobs one at a time\n", *benchECUs, *benchAgents, *benchJobs, *benchSerial)
		fmt.Fprintf(os.Stderr, "  throughput           %8.1f jobs/s (%d jobs in %v)\n", jobsPerSec, *benchJobs, through.elapsed.Round(time.Millisecond))
		fmt.Fprintf(os.Stderr, "  create->Scheduled    p50 %7.1f ms  p99 %7.1f ms  (ECU free)\n", benchstat.Millis(benchstat.Percentile(serial.latency, 50)), benchstat.Millis(benchstat.Percentile(serial.latency, 99)))
		fmt.Fprintf(os.Stderr, "  create->Scheduled    p50 %7.1f ms  p99 %7.1f ms  (all jobs at once, queueing included)\n", benchstat.Millis(benchstat.Percentile(through.latency, 50)), benchstat.Millis(benchstat.Percentile(through.latency, 99)))
		fmt.Fprintf(os.Stderr, "  writes per job       controller %.1f, Events %.1f, agent %.1f, create 1 (all requests:%s)\n",
			ctrlPerJob, eventsPerJob, agentPerJob, requestsPerJob(before, after, *benchJobs))
		fmt.Fprintf(os.Stderr, "  raw status writes    %8.1f /s one at a time, %8.1f /s 8 at a time\n", seq, par)
		fmt.Fprintf(os.Stderr, "  jobs/s : raw writes/s = 1 : %.1f (goal: at most 4)\n\n", seq/jobsPerSec)
	}
}

// benchRig is the benchmark's rack: ECUs and agents in one namespace.
type benchRig struct {
	b      *testing.B
	c      client.WithWatch
	ns     string
	occ    *occupancy
	agents []*testAgent
}

func (r *benchRig) setUp(ctx context.Context) {
	pool := map[string]string{"bench": r.ns}
	for i := range *benchAgents {
		a, err := startTestAgent(ctx, r.c, fmt.Sprintf("%s-agent-%d", r.ns, i), pool, int32(*benchECUs), 10, r.occ)
		if err != nil {
			r.b.Fatal(err)
		}
		a.direct.Store(true)
		r.agents = append(r.agents, a)
	}
	for i := range *benchECUs {
		ecu := builders.MakeECU(fmt.Sprintf("ecu-%02d", i), r.ns).Probe(diagv1.ProbeNone).AgentSelector(pool).Obj()
		if err := r.c.Create(ctx, ecu); err != nil {
			r.b.Fatal(err)
		}
	}
	// Wait until the controller calls every ECU Ready.
	for deadline := time.Now().Add(time.Minute); ; {
		var list diagv1.ECUList
		if err := r.c.List(ctx, &list, client.InNamespace(r.ns)); err != nil {
			r.b.Fatal(err)
		}
		ready := 0
		for _, e := range list.Items {
			if meta.IsStatusConditionTrue(e.Status.Conditions, diagv1.ConditionReady) {
				ready++
			}
		}
		if ready == *benchECUs {
			return
		}
		if time.Now().After(deadline) {
			r.b.Fatalf("only %d of %d ECUs became Ready", ready, *benchECUs)
		}
		pause(ctx)
	}
}

// agentWrites counts the writes of all agents so far.
func (r *benchRig) agentWrites() int64 {
	var n int64
	for _, a := range r.agents {
		n += a.writes.Load()
	}
	return n
}

func (r *benchRig) tearDown() {
	for _, a := range r.agents {
		a.stop()
		if p := a.problems(); len(p) > 0 {
			r.b.Errorf("agent %s: %v", a.name, p)
		}
	}
}

// describe summarises the rack for a failure message: jobs by phase and reason, ECU locks.
func (r *benchRig) describe(ctx context.Context) string {
	var jobs diagv1.DiagnosticJobList
	var ecus diagv1.ECUList
	if err := r.c.List(ctx, &jobs, client.InNamespace(r.ns)); err != nil {
		return err.Error()
	}
	if err := r.c.List(ctx, &ecus, client.InNamespace(r.ns)); err != nil {
		return err.Error()
	}
	phases := map[string]int{}
	for _, j := range jobs.Items {
		phases[fmt.Sprintf("%s/%s/agent=%s", j.Status.Phase, j.Status.Reason, j.Status.Agent)]++
	}
	locks := map[string]string{}
	for _, e := range ecus.Items {
		locks[e.Name] = e.Status.ActiveJob
	}
	return fmt.Sprintf("jobs %v; locks %v", phases, locks)
}

// roundResult is one round's wall time and per-job create-to-Scheduled latencies.
type roundResult struct {
	elapsed time.Duration
	latency []time.Duration
}

// run creates n jobs named prefix-i (all at once when concurrency is 0, else one at a time,
// each after the previous finished) and waits until all have Succeeded.
func (r *benchRig) run(ctx context.Context, n, concurrency int, prefix string) roundResult {
	var list diagv1.DiagnosticJobList
	if err := r.c.List(ctx, &list, client.InNamespace(r.ns)); err != nil {
		r.b.Fatal(err)
	}
	var mu sync.Mutex
	created := map[string]time.Time{}
	scheduled := map[string]time.Time{}
	succeeded := make(chan string, n)
	seen := map[string]bool{}
	observe := func(j *diagv1.DiagnosticJob) {
		now := time.Now()
		mu.Lock()
		defer mu.Unlock()
		if _, mine := created[j.Name]; !mine { // a job of an earlier round
			return
		}
		if _, ok := scheduled[j.Name]; !ok && j.Status.ECU != "" {
			scheduled[j.Name] = now
		}
		if j.Status.Phase == diagv1.JobSucceeded && !seen[j.Name] {
			seen[j.Name] = true
			succeeded <- j.Name
		}
	}
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go func() {
		// Follow every change from the list on, resuming where a closed watch stopped.
		rv := list.ResourceVersion
		for wctx.Err() == nil {
			w, err := r.c.Watch(wctx, &diagv1.DiagnosticJobList{}, client.InNamespace(r.ns), &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: rv}})
			if err != nil {
				pause(wctx)
				continue
			}
			for ev := range w.ResultChan() {
				if j, ok := ev.Object.(*diagv1.DiagnosticJob); ok && ev.Type != watch.Deleted {
					rv = j.ResourceVersion
					observe(j)
				}
			}
			w.Stop()
			pause(wctx)
		}
	}()
	create := func(i int) {
		name := fmt.Sprintf("%s-%04d", prefix, i)
		job := builders.MakeJob(name, r.ns).ECU(fmt.Sprintf("ecu-%02d", i%*benchECUs)).Step(builders.ReadDID("vin", 0xF190)).Obj()
		mu.Lock()
		created[name] = time.Now()
		mu.Unlock()
		if err := r.c.Create(ctx, job); err != nil {
			r.b.Error(err)
		}
	}
	wait := func(count int) {
		timeout := time.After(10 * time.Minute)
		for range count {
			select {
			case <-succeeded:
			case <-timeout:
				r.b.Fatalf("%s round: jobs did not all succeed within 10 minutes: %s", prefix, r.describe(ctx))
			}
		}
	}

	start := time.Now()
	if concurrency == 0 {
		var wg sync.WaitGroup
		next := make(chan int)
		for range 8 {
			wg.Go(func() {
				for i := range next {
					create(i)
				}
			})
		}
		for i := range n {
			next <- i
		}
		close(next)
		wg.Wait()
		wait(n)
	} else {
		for i := range n {
			create(i)
			wait(1)
		}
	}
	res := roundResult{elapsed: time.Since(start)}
	mu.Lock()
	defer mu.Unlock()
	for name, t := range created {
		if s, ok := scheduled[name]; ok {
			res.latency = append(res.latency, s.Sub(t))
		}
	}
	if len(res.latency) != n {
		r.b.Fatalf("%s round: saw %d of %d jobs scheduled", prefix, len(res.latency), n)
	}
	return res
}

// rawWrites measures status merge patches with the resourceVersion precondition, sent from
// in-memory copies as the scheduler sends them, on this namespace's finished jobs: each of the
// writers owns its own jobs and patches them round-robin. It returns writes per second.
func (r *benchRig) rawWrites(ctx context.Context, writers int) float64 {
	var list diagv1.DiagnosticJobList
	if err := r.c.List(ctx, &list, client.InNamespace(r.ns)); err != nil {
		r.b.Fatal(err)
	}
	if len(list.Items) < writers {
		r.b.Fatalf("need at least %d jobs for %d writers", writers, writers)
	}
	total := *benchRawRuns
	var wg sync.WaitGroup
	start := time.Now()
	for wi := range writers {
		wg.Go(func() {
			own := len(list.Items) / writers
			for k := range total / writers {
				j := &list.Items[wi+writers*(k%own)]
				u := j.DeepCopy()
				u.Status.Progress = fmt.Sprintf("%d/1", k)
				if err := r.c.Status().Patch(ctx, u, client.MergeFromWithOptions(j, client.MergeFromWithOptimisticLock{})); err != nil {
					r.b.Error(err)
					return
				}
				*j = *u
			}
		})
	}
	wg.Wait()
	return float64(total/writers*writers) / time.Since(start).Seconds()
}

// requestCounts reads client-go's request counter (every client of this process: the
// controller's and the test agents') by method and response code.
func requestCounts() map[string]float64 {
	out := map[string]float64{}
	families, err := metrics.Registry.Gather()
	if err != nil {
		return out
	}
	for _, f := range families {
		if f.GetName() != "rest_client_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			key := map[string]string{}
			for _, l := range m.GetLabel() {
				key[l.GetName()] = l.GetValue()
			}
			out[key["method"]+"/"+key["code"]] += m.GetCounter().GetValue()
		}
	}
	return out
}

// requestsPerJob formats the requests sent between two counts, per job, method and code.
func requestsPerJob(before, after map[string]float64, jobs int) string {
	var methods []string
	for m := range after {
		methods = append(methods, m)
	}
	slices.Sort(methods)
	out := ""
	for _, m := range methods {
		if d := after[m] - before[m]; d > 0 {
			out += fmt.Sprintf(" %s %.1f", m, d/float64(jobs))
		}
	}
	return out
}
