package soak

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"time"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/ctxtime"
)

// The kinds of fault the soak injects, each a SIGKILL and a restart.
const (
	faultAgent      = "agent"
	faultSimulator  = "simulator"
	faultController = "controller"
)

// faultKinds in the order the figures print them.
var faultKinds = []string{faultAgent, faultSimulator, faultController}

// injector kills and restarts the rig's processes at random times from a seeded source.
type injector struct {
	r     *rig
	rng   *rand.Rand
	every time.Duration // mean time between two faults
	busy  func() []busyJob

	mu     sync.Mutex
	counts map[string]int
	log    []string // one line per fault, for the figures
}

// busyJob is a job running now: faults prefer its agent or its ECU, so that they land mid-job.
type busyJob struct {
	name, agent, ecu string
	kind             jobKind
}

// run injects faults until ctx ends; each fault is complete (the process restarted) before
// the next wait begins, so every process runs again when run returns.
func (f *injector) run(ctx context.Context) {
	for {
		wait := f.every/2 + time.Duration(f.rng.Int64N(int64(f.every)))
		if ctxtime.Sleep(ctx, wait) != nil {
			return
		}
		f.inject(ctx, faultKinds[f.rng.IntN(len(faultKinds))])
	}
}

// inject kills one process of the kind and starts it again after a random pause.
func (f *injector) inject(ctx context.Context, kind string) {
	r := f.r
	busy := f.busy()
	var victim busyJob
	if len(busy) > 0 {
		victim = busy[f.rng.IntN(len(busy))]
	}
	var what string
	switch kind {
	case faultAgent:
		a := r.agents[f.rng.IntN(len(r.agents))]
		if i := slices.IndexFunc(r.agents, func(a *agent) bool { return a.name == victim.agent }); i >= 0 {
			a = r.agents[i]
		}
		f.kill(a.proc)
		pause := time.Duration(f.rng.Int64N(int64(10 * time.Second)))
		_ = ctxtime.Sleep(ctx, pause)
		r.startAgent(a)
		what = a.name + " restarted after " + pause.Round(time.Millisecond).String()
	case faultSimulator:
		s := r.sims[f.rng.IntN(len(r.sims))]
		if i := slices.IndexFunc(r.sims, func(s *sim) bool { return s.ecu == victim.ecu }); i >= 0 {
			s = r.sims[i]
		}
		from := time.Now()
		f.kill(s.proc)
		pause := time.Duration(f.rng.Int64N(int64(5 * time.Second)))
		_ = ctxtime.Sleep(ctx, pause)
		r.launch(s, filepath.Join(r.ps.Dir, "sim.yaml"))
		if err := s.proc.AwaitLog(context.Background(), simReadyLog); err != nil {
			r.t.Errorf("Restarting the simulator of ECU %s: %v", s.ecu, err)
		}
		s.down = append(s.down, window{from: from, to: time.Now()})
		what = "simulator of " + s.ecu + " restarted after " + pause.Round(time.Millisecond).String()
	case faultController:
		f.kill(r.controller)
		r.startController()
		what = "controller restarted at once"
	}
	if victim.name != "" {
		what += ", while " + victim.name + " (" + string(victim.kind) + ") ran on " + victim.ecu + " with " + victim.agent
	}
	f.mu.Lock()
	f.counts[kind]++
	f.log = append(f.log, time.Now().Format(time.TimeOnly)+" "+what)
	f.mu.Unlock()
	r.t.Logf("Fault injected: SIGKILL, %s", what)
}

// kill SIGKILLs p; a process that cannot be killed fails the soak.
func (f *injector) kill(p *proc) {
	if err := p.Kill(); err != nil {
		f.r.t.Error(err)
	}
}

// snapshot is the faults injected so far, by kind.
func (f *injector) snapshot() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]int, len(f.counts))
	for k, v := range f.counts {
		out[k] = v
	}
	return out
}

// running reports whether a job state holds an ECU and an agent now.
func running(phase diagv1.JobPhase) bool {
	return phase == diagv1.JobScheduled || phase == diagv1.JobRunning
}
