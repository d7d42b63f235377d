package soak

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/history"
)

var (
	soakDuration = flag.Duration("soak.duration", 0, "how long to create jobs and inject faults (0: skip the soak)")
	soakSeed     = flag.Uint64("soak.seed", 0, "seed of the job mix and the faults (0: from the clock; printed)")
	soakAgents   = flag.Int("soak.agents", 4, "agent processes")
	soakECUs     = flag.Int("soak.ecus", 6, "simulator processes, one ECU each")
	soakFaults   = flag.Duration("soak.fault-interval", 20*time.Second, "mean time between two faults (each between half and 1.5 times it)")
	soakFlash    = flag.Float64("soak.flash-share", 0.15, "share of the jobs that flash (the rest write a tag and read it back)")
	soakPerECU   = flag.Int("soak.queue-per-ecu", 2, "unfinished jobs kept per ECU")
	soakGrace    = flag.Duration("soak.grace", 3*time.Minute, "how long the last jobs may take to finish after the soak stopped creating them")
)

// progressEvery is how often the soak prints a progress line.
const progressEvery = 30 * time.Second

// TestSoak runs the fleet for -soak.duration: a steady stream of tagged and flash jobs on
// -soak.ecus simulators, served by -soak.agents agents and one controller, while agents,
// simulators and the controller are SIGKILLed and restarted at random. It fails on any double
// booking, lost or duplicated step result or write, unexplained failure or job left unfinished.
func TestSoak(t *testing.T) {
	if *soakDuration <= 0 {
		t.Skip("the soak runs only when asked: make soak (SOAK_DURATION=20m), or " +
			"go test ./test/soak -run TestSoak -count=1 -timeout 3h -v -args -soak.duration=3m")
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Log("KUBEBUILDER_ASSETS is not set: ecufleet dev uses (or builds) bin/k8s")
	}
	seed := *soakSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	fmt.Printf("Soak seed %d (rerun with -soak.seed=%d)\n", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	faultRng := rand.New(rand.NewPCG(seed+1, seed^0xfa17))

	dir, err := os.MkdirTemp("", "ecufleet-soak-")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r := newRig(ctx, t, dir)
	defer func() {
		r.ps.StopAll(t.Logf)
		if t.Failed() {
			fmt.Printf("Soak logs kept in %s\n", dir)
			return
		}
		os.RemoveAll(dir)
	}()
	rec := history.Record(ctx, r.k8s, namespace)
	defer rec.Stop()

	im := newImage(rng)
	if err := r.k8s.Create(ctx, im.configMap()); err != nil {
		t.Fatal(err)
	}
	r.startSims(ctx, *soakECUs)
	r.startController()
	r.startAgents(ctx, *soakAgents)
	r.waitECUsReady(ctx, 2*time.Minute)

	s := &stream{r: r, rec: rec, im: im, rng: rng}
	inj := &injector{r: r, rng: faultRng, every: *soakFaults, busy: s.busy, counts: map[string]int{}}
	began := time.Now()
	runCtx, stopRun := context.WithTimeout(ctx, *soakDuration)
	defer stopRun()
	done := make(chan struct{})
	go func() { inj.run(runCtx); close(done) }()
	s.run(runCtx, began, inj)
	<-done // every killed process runs again
	created := time.Since(began)

	fmt.Printf("Soak stopped creating jobs after %v; waiting up to %v for the last ones\n", created.Round(time.Second), *soakGrace)
	final := s.awaitFinal(ctx, *soakGrace)
	settled := time.Since(began)
	writes, err := countWrites(r.ps.Logs("sim-"))
	if err != nil {
		t.Fatal(err)
	}
	f := check(s.jobs, final, writes, rec, r.sims)
	report(os.Stdout, seed, created, settled, r, inj, f)
	if n := f.bad(); n > 0 {
		t.Errorf("the soak found %d problems (listed above)", n)
	}
}

// stream keeps a steady stream of jobs going: at most -soak.queue-per-ecu unfinished per ECU.
type stream struct {
	r    *rig
	rec  *history.Recorder
	im   image
	rng  *rand.Rand
	jobs []created
}

// run creates jobs until ctx ends, and prints a progress line every progressEvery.
func (s *stream) run(ctx context.Context, began time.Time, inj *injector) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	next := began.Add(progressEvery)
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			s.top(ctx)
			if now.After(next) {
				next = next.Add(progressEvery)
				s.progress(now.Sub(began), inj)
			}
		}
	}
}

// top creates a job for every ECU below its share of unfinished jobs.
func (s *stream) top(ctx context.Context) {
	open := map[string]int{}
	for _, c := range s.jobs {
		if st := s.latest(c.name); !final(st.Phase) {
			open[c.sim.ecu]++
		}
	}
	for _, sim := range s.r.sims {
		for open[sim.ecu] < *soakPerECU {
			c, job := newJob(len(s.jobs), sim, s.im, s.rng, *soakFlash)
			if err := s.r.k8s.Create(ctx, job); err != nil {
				if ctx.Err() == nil {
					s.r.t.Errorf("Creating job %s: %v", c.name, err)
				}
				return
			}
			s.r.mu.Lock()
			s.jobs = append(s.jobs, c)
			s.r.mu.Unlock()
			open[sim.ecu]++
		}
	}
}

// latest is the job's last state in the watch history (zero before the first event).
func (s *stream) latest(name string) history.JobState {
	states := s.rec.Job(name)
	if len(states) == 0 {
		return history.JobState{}
	}
	return states[len(states)-1]
}

// final reports whether a job phase is an end.
func final(p diagv1.JobPhase) bool {
	return p == diagv1.JobSucceeded || p == diagv1.JobFailed || p == diagv1.JobCancelled
}

// busy lists the jobs that hold an ECU and an agent now, for the injector.
func (s *stream) busy() []busyJob {
	var out []busyJob
	for _, c := range s.snapshotJobs() {
		if st := s.latest(c.name); running(st.Phase) && st.Agent != "" {
			out = append(out, busyJob{name: c.name, agent: st.Agent, ecu: st.ECU, kind: c.kind})
		}
	}
	return out
}

// snapshotJobs is the jobs created so far; the stream appends only from its own goroutine, and
// the injector reads a prefix that is never rewritten.
func (s *stream) snapshotJobs() []created {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	return s.jobs[:len(s.jobs):len(s.jobs)]
}

// progress prints one line: time, jobs, phases, faults, double bookings so far.
func (s *stream) progress(elapsed time.Duration, inj *injector) {
	phases := map[diagv1.JobPhase]int{}
	for _, c := range s.snapshotJobs() {
		phases[s.latest(c.name).Phase]++
	}
	faults := inj.snapshot()
	fmt.Printf("Soak %v/%v: %d jobs created; Succeeded %d, Failed %d, Running %d, Scheduled %d, Queued %d, other %d; faults agent %d, simulator %d, controller %d; double bookings %d\n",
		elapsed.Round(time.Second), *soakDuration, len(s.jobs), phases[diagv1.JobSucceeded], phases[diagv1.JobFailed],
		phases[diagv1.JobRunning], phases[diagv1.JobScheduled], phases[diagv1.JobQueued],
		len(s.jobs)-phases[diagv1.JobSucceeded]-phases[diagv1.JobFailed]-phases[diagv1.JobRunning]-phases[diagv1.JobScheduled]-phases[diagv1.JobQueued],
		faults[faultAgent], faults[faultSimulator], faults[faultController], len(s.rec.DoubleBookings()))
}

// awaitFinal waits until every created job is final or grace passed, and returns the jobs as
// the API server has them, by name.
func (s *stream) awaitFinal(ctx context.Context, grace time.Duration) map[string]*diagv1.DiagnosticJob {
	deadline := time.Now().Add(grace)
	for {
		var list diagv1.DiagnosticJobList
		if err := s.r.k8s.List(ctx, &list, client.InNamespace(namespace)); err != nil {
			s.r.t.Fatalf("Listing the jobs: %v", err)
		}
		out := make(map[string]*diagv1.DiagnosticJob, len(list.Items))
		open := 0
		for i := range list.Items {
			out[list.Items[i].Name] = &list.Items[i]
			if !final(list.Items[i].Status.Phase) {
				open++
			}
		}
		if open == 0 || time.Now().After(deadline) {
			return out
		}
		time.Sleep(time.Second)
	}
}

// command runs a command and returns its combined output.
func command(ctx context.Context, name string, args ...string) ([]byte, error) {
	return exec.CommandContext(ctx, name, args...).CombinedOutput()
}

// joinCounts prints "a 1, b 2" in key order.
func joinCounts(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
