package controllers

import (
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
)

// queueWorld is a namespace as decideQueues sees it: ECUs, one agent, and waiting jobs.
type queueWorld struct {
	now       time.Time
	ecus      []*diagv1.ECU
	jobs      []*diagv1.DiagnosticJob
	agentLive bool
	agentMax  int32
	running   int32
}

// input builds decideQueues' input from the world, as a pass builds it from its snapshot.
func (w *queueWorld) input(remembered map[string]rememberedWait) queueInput {
	f := &fleet{agents: map[string]*agentView{"a0": {
		obj:    builders.MakeAgent("a0").MaxConcurrentJobs(w.agentMax).Obj(),
		health: agentHealth{live: w.agentLive}, running: w.running,
	}}, names: []string{"a0"}}
	ready := map[string]ecuReadiness{}
	for _, e := range w.ecus {
		ready[e.Name] = assessECU(e, f)
	}
	waiting := slices.Clone(w.jobs)
	slices.SortFunc(waiting, queueOrder)
	return queueInput{now: w.now, waiting: waiting, ecus: w.ecus, ready: ready, remembered: remembered}
}

// apply stores the decided statuses in the world's jobs as the API server would: each write
// gives the job a new resourceVersion.
func (w *queueWorld) apply(d queueDecision) {
	for _, s := range slices.Concat(d.transitions, d.positions) {
		st, _ := statusAfter(s.job, s.mutate, w.now)
		s.job.Status = st
		rv, _ := strconv.Atoi(s.job.ResourceVersion)
		s.job.ResourceVersion = strconv.Itoa(rv + 1)
	}
}

// settle decides and applies until nothing is left to write, and returns what the last
// decision remembers.
func (w *queueWorld) settle(t *testing.T) map[string]rememberedWait {
	t.Helper()
	var remembered map[string]rememberedWait
	for range 5 {
		d := decideQueues(w.input(remembered))
		if len(d.transitions)+len(d.positions) == 0 {
			return d.current
		}
		w.apply(d)
		remembered = d.current
	}
	t.Fatal("the queue statuses did not settle in 5 decisions")
	return nil
}

// writesOf lists a decision's status writes as the statuses they produce, in a stable order.
func writesOf(d queueDecision, now time.Time) []string {
	var out []string
	for kind, ws := range map[string][]statusWrite{"transition": d.transitions, "position": d.positions} {
		for _, s := range ws {
			st, _ := statusAfter(s.job, s.mutate, now)
			out = append(out, fmt.Sprintf("%s %s: %s/%s #%d %q", kind, s.job.Name, st.Phase, st.Reason, st.QueuePosition, st.Message))
		}
	}
	slices.Sort(out)
	return out
}

// publishNow is the clock of the queue worlds.
var publishNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// waitingJob is a job for ecuName created age before publishNow, as the API server returns it.
func waitingJob(name string, age time.Duration, ecuName string) *diagv1.DiagnosticJob {
	j := builders.MakeJob(name, "publish").ECU(ecuName).Obj()
	j.CreationTimestamp = metav1.NewTime(publishNow.Add(-age))
	j.ResourceVersion, j.Generation = "1", 1
	return j
}

// newQueueWorld is three jobs waiting for e0 (locked by a running job) and one for e1
// (cordoned), served by one live agent with room.
func newQueueWorld() *queueWorld {
	ecu := func(name string) *builders.ECUWrapper {
		return builders.MakeECU(name, "publish").Condition(diagv1.ConditionReachable, metav1.ConditionTrue, diagv1.ReasonReachable)
	}
	return &queueWorld{
		now:  publishNow,
		ecus: []*diagv1.ECU{ecu("e0").ActiveJob("running").Obj(), ecu("e1").Unschedulable().Obj()},
		jobs: []*diagv1.DiagnosticJob{
			waitingJob("j1", 3*time.Minute, "e0"), waitingJob("j2", 2*time.Minute, "e0"), waitingJob("j3", time.Minute, "e0"),
			waitingJob("k1", time.Minute, "e1"),
		},
		agentLive: true, agentMax: 4,
	}
}

func TestDecideQueuesSkipsOnlyUnchangedJobs(t *testing.T) {
	job, world := waitingJob, newQueueWorld
	replaceECU := func(w *queueWorld, name string, mutate func(*diagv1.ECU)) {
		for i, e := range w.ecus {
			if e.Name == name {
				c := e.DeepCopy()
				mutate(c)
				w.ecus[i] = c
			}
		}
	}
	changeJob := func(w *queueWorld, name string, mutate func(*diagv1.DiagnosticJob)) {
		for _, j := range w.jobs {
			if j.Name == name {
				mutate(j)
				rv, _ := strconv.Atoi(j.ResourceVersion)
				j.ResourceVersion = strconv.Itoa(rv + 1)
			}
		}
	}
	cases := map[string]struct {
		change func(w *queueWorld)
		// wantDerived is how many statuses the decision with the remembered inputs derives.
		wantDerived int
		wantWrites  int
	}{
		"nothing changes: no job is derived again":  {change: func(*queueWorld) {}},
		"the agent's clock moves on: still nothing": {change: func(w *queueWorld) { w.now = w.now.Add(time.Hour) }},
		"e0 is cordoned": {
			change:      func(w *queueWorld) { replaceECU(w, "e0", func(e *diagv1.ECU) { e.Spec.Unschedulable = true }) },
			wantDerived: 3, wantWrites: 3,
		},
		"e1 is uncordoned": {
			change:      func(w *queueWorld) { replaceECU(w, "e1", func(e *diagv1.ECU) { e.Spec.Unschedulable = false }) },
			wantDerived: 1, wantWrites: 1,
		},
		"e0 is no longer Reachable": {
			change: func(w *queueWorld) {
				replaceECU(w, "e0", func(e *diagv1.ECU) { e.Status.Conditions[0].Status = metav1.ConditionFalse })
			},
			wantDerived: 3, wantWrites: 3,
		},
		"the agent is full (a note in the message)": {
			change:      func(w *queueWorld) { w.running = 4 },
			wantDerived: 4, wantWrites: 3, // k1's cordon says more than the note, which it lacks before and after
		},
		"the agent is lost": {
			change:      func(w *queueWorld) { w.agentLive = false },
			wantDerived: 4, wantWrites: 3, // k1's ECU is cordoned, which blocker names first

		},
		"the head leaves (started elsewhere): the rest move up": {
			change: func(w *queueWorld) {
				w.jobs = slices.DeleteFunc(w.jobs, func(j *diagv1.DiagnosticJob) bool { return j.Name == "j1" })
			},
			wantDerived: 2, wantWrites: 2,
		},
		"a job joins at the back: the message of each ahead counts it": {
			change:      func(w *queueWorld) { w.jobs = append(w.jobs, job("j4", 0, "e0")) },
			wantDerived: 4, wantWrites: 4,
		},
		"an urgent job joins at the front": {
			change: func(w *queueWorld) {
				j := job("urgent", 0, "e0")
				j.Spec.Priority = 10
				w.jobs = append(w.jobs, j)
			},
			wantDerived: 4, wantWrites: 4,
		},
		"e1 is deleted": {
			change:      func(w *queueWorld) { w.ecus = w.ecus[:1] },
			wantDerived: 1, wantWrites: 1,
		},
		"j2 is suspended: it leaves the queue, j3 moves up": {
			change:      func(w *queueWorld) { changeJob(w, "j2", func(j *diagv1.DiagnosticJob) { j.Spec.Suspend = true }) },
			wantDerived: 3, wantWrites: 3,
		},
		"another writer changes j3's status: it is derived again, and put back": {
			change: func(w *queueWorld) {
				changeJob(w, "j3", func(j *diagv1.DiagnosticJob) { j.Status.Message = "someone else" })
			},
			wantDerived: 1, wantWrites: 1,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			w := world()
			remembered := w.settle(t)
			if len(remembered) != len(w.jobs) {
				t.Fatalf("settled: %d jobs remembered, want all %d", len(remembered), len(w.jobs))
			}
			tc.change(w)

			fromScratch := decideQueues(w.input(nil))
			d := decideQueues(w.input(remembered))

			if got, want := writesOf(d, w.now), writesOf(fromScratch, w.now); !slices.Equal(got, want) {
				t.Errorf("with the remembered inputs the writes are\n%q\nwithout them\n%q", got, want)
			}
			if got := len(d.transitions) + len(d.positions); got != tc.wantWrites {
				t.Errorf("%d writes, want %d: %q", got, tc.wantWrites, writesOf(d, w.now))
			}
			if d.derived != tc.wantDerived {
				t.Errorf("derived %d statuses, want %d", d.derived, tc.wantDerived)
			}
			if fromScratch.derived != len(w.jobs) {
				t.Errorf("with nothing remembered, derived %d statuses, want every one of %d", fromScratch.derived, len(w.jobs))
			}
		})
	}
}

func TestDecideQueuesDerivesMultiECUJobsEachTime(t *testing.T) {
	const ns = "publish"
	now := publishNow
	rig := map[string]string{"rig": "x"}
	w := &queueWorld{
		now: now,
		ecus: []*diagv1.ECU{
			builders.MakeECU("e0", ns).Label("rig", "x").Unschedulable().Obj(),
			builders.MakeECU("e1", ns).Label("rig", "x").Unschedulable().Obj(),
		},
		jobs:      []*diagv1.DiagnosticJob{builders.MakeJob("s", ns).ECUSelector(rig).Obj()},
		agentLive: true, agentMax: 1,
	}
	w.jobs[0].ResourceVersion = "1"
	remembered := w.settle(t)
	if len(remembered) != 0 {
		t.Errorf("remembered %v; a job that may use several ECUs depends on all of them and must not be", remembered)
	}
	if d := decideQueues(w.input(remembered)); d.derived != 1 || len(d.transitions)+len(d.positions) != 0 {
		t.Errorf("derived %d, writes %q; want 1 derived and no write", d.derived, writesOf(d, now))
	}
}

func TestDecideQueuesRemembersPositionWritesWaitingForTheirBatch(t *testing.T) {
	w := newQueueWorld()
	remembered := w.settle(t)
	w.jobs = append(w.jobs, waitingJob("j4", 0, "e0")) // each job ahead now reads "of 4"
	d := decideQueues(w.input(remembered))
	if len(d.transitions) != 1 || len(d.positions) != 3 {
		t.Fatalf("writes %q; want j4's first status and the three position-only rewrites", writesOf(d, w.now))
	}
	// Only the transition is written: the position batch is not due yet.
	w.apply(queueDecision{transitions: d.transitions})

	next := decideQueues(w.input(d.current))
	if got, want := writesOf(next, w.now), writesOf(decideQueues(w.input(nil)), w.now); !slices.Equal(got, want) {
		t.Errorf("with the remembered writes\n%q\nderived afresh\n%q", got, want)
	}
	if len(next.positions) != 3 {
		t.Errorf("positions %q; want the three rewrites still pending", writesOf(next, w.now))
	}
	if next.derived != 1 {
		t.Errorf("derived %d statuses, want 1 (j4, written since)", next.derived)
	}
}
