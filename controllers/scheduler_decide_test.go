package controllers

import (
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
)

func TestDecideClaims(t *testing.T) {
	const ns = "decide"
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	type agent struct {
		name    string
		live    bool
		max     int32
		running int32
	}
	ecu := func(name string) *builders.ECUWrapper {
		return builders.MakeECU(name, ns).Condition(diagv1.ConditionReachable, metav1.ConditionTrue, diagv1.ReasonReachable)
	}
	job := func(name string, age time.Duration) *builders.JobWrapper {
		j := builders.MakeJob(name, ns)
		j.CreationTimestamp = metav1.NewTime(now.Add(-age))
		return j
	}
	// backedOff is a job queued again after an EcuUnreachable attempt that ended ago.
	backedOff := func(name string, ago time.Duration) *builders.JobWrapper {
		j := job(name, time.Hour).ECU("e0").Phase(diagv1.JobQueued).Attempts(1)
		j.Status.Reason = diagv1.ReasonEcuUnreachable
		j.Status.SetConditions(1, now.Add(-ago))
		return j
	}
	// healthJob is the health check of ECU e0, as the health checker creates it.
	healthJob := func(age time.Duration) *builders.JobWrapper {
		e := builders.MakeECU("e0", ns).HealthCheck(10, 1, builders.TesterPresent("tp")).Obj()
		j := &builders.JobWrapper{DiagnosticJob: *newHealthJob(e, now.Add(-age))}
		j.CreationTimestamp = metav1.NewTime(now.Add(-age))
		return j
	}
	// unhealthy is ECU e0 after a failed health check.
	unhealthy := func() *builders.ECUWrapper {
		return ecu("e0").HealthCheck(10, 1, builders.TesterPresent("tp")).
			Condition(diagv1.ConditionHealthy, metav1.ConditionFalse, diagv1.ReasonHealthCheckFailed)
	}
	live2 := []agent{{"a0", true, 2, 0}}
	cases := map[string]struct {
		jobs       []*builders.JobWrapper // in any order: the test sorts them by queueOrder
		ecus       []*builders.ECUWrapper // by name
		agents     []agent                // by name
		stale      map[string]staleLock
		wantClaims []string // "job→ecu@agent"
		wantWake   time.Time
	}{
		"queue order: priority, then creation, then name": {
			jobs: []*builders.JobWrapper{
				job("old", time.Hour).ECU("e0"), job("b", time.Minute).ECU("e0"), job("a", time.Minute).ECU("e0"),
				job("urgent", time.Second).ECU("e0").Priority(10),
			},
			ecus: []*builders.ECUWrapper{ecu("e0")}, agents: live2,
			wantClaims: []string{"urgent→e0@a0"},
		},
		"creation before name": {
			jobs: []*builders.JobWrapper{job("b", time.Minute).ECU("e0"), job("a", time.Second).ECU("e0")},
			ecus: []*builders.ECUWrapper{ecu("e0")}, agents: live2,
			wantClaims: []string{"b→e0@a0"},
		},
		"name breaks a tie": {
			jobs: []*builders.JobWrapper{job("b", time.Minute).ECU("e0"), job("a", time.Minute).ECU("e0")},
			ecus: []*builders.ECUWrapper{ecu("e0")}, agents: live2,
			wantClaims: []string{"a→e0@a0"},
		},
		"selector jobs take the first free matching ECU": {
			jobs: []*builders.JobWrapper{
				job("s1", 3*time.Minute).ECUSelector(map[string]string{"rig": "x"}),
				job("s2", 2*time.Minute).ECUSelector(map[string]string{"rig": "x"}),
				job("s3", time.Minute).ECUSelector(map[string]string{"rig": "x"}),
			},
			ecus: []*builders.ECUWrapper{
				ecu("e0").Label("rig", "x").ActiveJob("busy"), ecu("e1").Label("rig", "x"), ecu("e2"), ecu("e3").Label("rig", "x"),
			},
			agents:     []agent{{"a0", true, 4, 0}},
			wantClaims: []string{"s1→e1@a0", "s2→e3@a0"},
		},
		"cordoned ECU is skipped": {
			jobs:   []*builders.JobWrapper{job("j", time.Minute).ECUSelector(map[string]string{"rig": "x"})},
			ecus:   []*builders.ECUWrapper{ecu("e0").Label("rig", "x").Unschedulable(), ecu("e1").Label("rig", "x")},
			agents: live2, wantClaims: []string{"j→e1@a0"},
		},
		"not-Ready ECUs are skipped": {
			jobs: []*builders.JobWrapper{job("j", time.Minute).ECUSelector(map[string]string{"rig": "x"})},
			ecus: []*builders.ECUWrapper{
				builders.MakeECU("e0", ns).Label("rig", "x").Condition(diagv1.ConditionReachable, metav1.ConditionFalse, diagv1.ReasonUnreachable),
				builders.MakeECU("e1", ns).Label("rig", "x"), // not probed yet
				ecu("e2").Label("rig", "x"),
			},
			agents: live2, wantClaims: []string{"j→e2@a0"},
		},
		"no live agent: nothing starts": {
			jobs:   []*builders.JobWrapper{job("j", time.Minute).ECU("e0")},
			ecus:   []*builders.ECUWrapper{ecu("e0")},
			agents: []agent{{"a0", false, 2, 0}},
		},
		"agent with fewest running jobs, then by name": {
			jobs: []*builders.JobWrapper{
				job("j0", 3*time.Minute).ECU("e0"), job("j1", 2*time.Minute).ECU("e1"), job("j2", time.Minute).ECU("e2"),
			},
			ecus:       []*builders.ECUWrapper{ecu("e0"), ecu("e1"), ecu("e2")},
			agents:     []agent{{"a0", true, 4, 1}, {"a1", true, 4, 1}, {"a2", true, 4, 2}},
			wantClaims: []string{"j0→e0@a0", "j1→e1@a1", "j2→e2@a0"},
		},
		"full agent takes no job": {
			jobs: []*builders.JobWrapper{
				job("j0", 3*time.Minute).ECU("e0"), job("j1", 2*time.Minute).ECU("e1"), job("j2", time.Minute).ECU("e2"),
			},
			ecus:       []*builders.ECUWrapper{ecu("e0"), ecu("e1"), ecu("e2")},
			agents:     []agent{{"a0", true, 2, 1}, {"a1", true, 1, 1}},
			wantClaims: []string{"j0→e0@a0"},
		},
		"a stale lock counts as free, a live one does not": {
			jobs:       []*builders.JobWrapper{job("j0", 2*time.Minute).ECU("e0"), job("j1", time.Minute).ECU("e1")},
			ecus:       []*builders.ECUWrapper{ecu("e0").ActiveJob("done"), ecu("e1").ActiveJob("running")},
			agents:     live2,
			stale:      map[string]staleLock{"e0": {holder: "done", why: "finished"}, "e1": {holder: "someone-else"}},
			wantClaims: []string{"j0→e0@a0"},
		},
		"EcuUnreachable backoff waits and sets the wake time; the next job goes first": {
			jobs: []*builders.JobWrapper{backedOff("retry", 2*time.Second), job("next", time.Minute).ECU("e0")},
			ecus: []*builders.ECUWrapper{ecu("e0")}, agents: live2,
			wantClaims: []string{"next→e0@a0"},
			wantWake:   now.Add(-2 * time.Second).Add(unreachableBackoffBase),
		},
		"the health job goes first, ahead of older and higher-priority jobs": {
			jobs: []*builders.JobWrapper{
				job("old", time.Hour).ECU("e0"), job("urgent", time.Minute).ECU("e0").Priority(100), healthJob(time.Second),
			},
			ecus: []*builders.ECUWrapper{ecu("e0").HealthCheck(10, 1, builders.TesterPresent("tp"))}, agents: live2,
			wantClaims: []string{healthJobName("e0", now.Add(-time.Second)) + "→e0@a0"},
		},
		"the health job waits for a running job: no preemption": {
			jobs:   []*builders.JobWrapper{healthJob(time.Second)},
			ecus:   []*builders.ECUWrapper{ecu("e0").HealthCheck(10, 1, builders.TesterPresent("tp")).ActiveJob("running")},
			agents: live2,
		},
		"a user job does not start on an unhealthy ECU": {
			jobs:   []*builders.JobWrapper{job("user", time.Minute).ECU("e0")},
			ecus:   []*builders.ECUWrapper{unhealthy()},
			agents: live2,
		},
		"a selector job passes an unhealthy ECU for a healthy one": {
			jobs:       []*builders.JobWrapper{job("user", time.Minute).ECUSelector(map[string]string{"rig": "x"})},
			ecus:       []*builders.ECUWrapper{unhealthy().Label("rig", "x"), ecu("e1").Label("rig", "x")},
			agents:     live2,
			wantClaims: []string{"user→e1@a0"},
		},
		"the health job runs on its unhealthy ECU": {
			jobs:       []*builders.JobWrapper{job("user", time.Hour).ECU("e0"), healthJob(time.Second)},
			ecus:       []*builders.ECUWrapper{unhealthy()},
			agents:     live2,
			wantClaims: []string{healthJobName("e0", now.Add(-time.Second)) + "→e0@a0"},
		},
		"a job with the health-check label but no owner is a user job": {
			jobs: []*builders.JobWrapper{
				job("old", time.Hour).ECU("e0"), job("sneaky", time.Minute).ECU("e0").Label(diagv1.HealthCheckLabel, "e0"),
			},
			ecus: []*builders.ECUWrapper{ecu("e0")}, agents: live2,
			wantClaims: []string{"old→e0@a0"},
		},
		"a backoff that has run out claims": {
			jobs: []*builders.JobWrapper{backedOff("retry", time.Minute), job("next", time.Minute).ECU("e0")},
			ecus: []*builders.ECUWrapper{ecu("e0")}, agents: live2,
			wantClaims: []string{"retry→e0@a0"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := &fleet{agents: map[string]*agentView{}}
			for _, a := range tc.agents {
				f.agents[a.name] = &agentView{obj: builders.MakeAgent(a.name).MaxConcurrentJobs(a.max).Obj(), health: agentHealth{live: a.live}, running: a.running}
				f.names = append(f.names, a.name)
			}
			var ecus []*diagv1.ECU
			ready := map[string]ecuReadiness{}
			for _, w := range tc.ecus {
				e := w.Obj()
				ecus = append(ecus, e)
				ready[e.Name] = assessECU(e, f)
			}
			var waiting []*diagv1.DiagnosticJob
			for _, w := range tc.jobs {
				waiting = append(waiting, w.Obj())
			}
			slices.SortFunc(waiting, queueOrder)
			running := map[string]int32{}
			for n, a := range f.agents {
				running[n] = a.running
			}

			d := decideClaims(claimInput{now: now, waiting: waiting, ecus: ecus, ready: ready, stale: tc.stale})

			var got []string
			for _, c := range d.claims {
				got = append(got, c.job.Name+"→"+c.ecu.Name+"@"+c.agent)
			}
			if !slices.Equal(got, tc.wantClaims) {
				t.Errorf("claims = %q, want %q", got, tc.wantClaims)
			}
			if !d.wake.Equal(tc.wantWake) {
				t.Errorf("wake = %v, want %v", d.wake, tc.wantWake)
			}
			for n, a := range f.agents {
				if a.running != running[n] {
					t.Errorf("agent %s: running changed from %d to %d; the decision must write nothing", n, running[n], a.running)
				}
			}
		})
	}
}
