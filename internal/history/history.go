// Package history records, from watches, every state the API server reported for the ECUs and
// DiagnosticJobs of one namespace, in order, so that the end-to-end tests and the soak check
// the ECU locks and job attempts from outside the processes that wrote them.
package history

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// Recorder is the watched history of one namespace's ECUs and jobs; it is the evidence that no
// ECU was held by two jobs at once and that a retried job went through its attempts in order.
type Recorder struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	holders   map[string][]string                 // ECU -> status.activeJob values, repeats collapsed
	reachable map[string][]metav1.ConditionStatus // ECU -> Reachable condition, repeats collapsed
	jobs      map[string][]JobState               // job -> states, repeats collapsed
	bound     map[string][]string                 // ECU -> jobs Scheduled or Running on it now
	doubles   []DoubleBooking                     // every moment two jobs were bound to one ECU
	gaps      []string                            // watch errors: the history may have holes
}

// JobState is the part of a job's status that tells its attempts apart.
type JobState struct {
	Phase    diagv1.JobPhase
	Reason   string
	ECU      string
	Agent    string
	Attempts int32
}

// holds reports whether the state binds the job to its ECU: the claim was written and the
// attempt has not ended.
func (s JobState) holds() bool {
	return s.ECU != "" && (s.Phase == diagv1.JobScheduled || s.Phase == diagv1.JobRunning)
}

// DoubleBooking is a moment, in the order of the watch, when a job became bound to an ECU that
// another unfinished job was still bound to.
type DoubleBooking struct {
	ECU             string
	Job, Other      string
	ResourceVersion string // of the job's update that made the overlap
}

// String names both jobs and the ECU, for a test failure.
func (d DoubleBooking) String() string {
	return fmt.Sprintf("ECU %s bound to job %s while job %s still held it (resourceVersion %s)", d.ECU, d.Job, d.Other, d.ResourceVersion)
}

// Record starts watching the namespace's ECUs and jobs with c until Stop (or ctx ends).
// Start it before creating the objects, so that it sees every state.
func Record(ctx context.Context, c client.WithWatch, ns string) *Recorder {
	ctx, cancel := context.WithCancel(ctx)
	h := &Recorder{
		cancel:  cancel,
		holders: map[string][]string{}, reachable: map[string][]metav1.ConditionStatus{},
		jobs: map[string][]JobState{}, bound: map[string][]string{},
	}
	h.wg.Go(func() {
		h.follow(ctx, c, &diagv1.ECUList{}, ns, func(_ watch.EventType, obj client.Object) {
			e := obj.(*diagv1.ECU)
			h.holders[e.Name] = AppendNew(h.holders[e.Name], e.Status.ActiveJob)
			if cond := meta.FindStatusCondition(e.Status.Conditions, diagv1.ConditionReachable); cond != nil {
				h.reachable[e.Name] = AppendNew(h.reachable[e.Name], cond.Status)
			}
		})
	})
	h.wg.Go(func() {
		h.follow(ctx, c, &diagv1.DiagnosticJobList{}, ns, func(ev watch.EventType, obj client.Object) {
			j := obj.(*diagv1.DiagnosticJob)
			st := JobState{j.Status.Phase, j.Status.Reason, j.Status.ECU, j.Status.Agent, j.Status.Attempts}
			if ev == watch.Deleted {
				st = JobState{} // a deleted job holds nothing
			} else {
				h.jobs[j.Name] = AppendNew(h.jobs[j.Name], st)
			}
			h.rebind(j.Name, st, j.ResourceVersion)
		})
	})
	return h
}

// Stop ends the watches and waits for them.
func (h *Recorder) Stop() {
	h.cancel()
	h.wg.Wait()
}

// rebind moves the job in the table of bound jobs and records a double booking when its ECU
// already had another. The job watch delivers every job's updates in one order (the API
// server's), so the table is the cluster's state after each update.
func (h *Recorder) rebind(job string, st JobState, rv string) {
	for ecu, jobs := range h.bound {
		if i := slices.Index(jobs, job); i >= 0 && (!st.holds() || st.ECU != ecu) {
			h.bound[ecu] = slices.Delete(jobs, i, i+1)
		}
	}
	if !st.holds() || slices.Contains(h.bound[st.ECU], job) {
		return
	}
	for _, other := range h.bound[st.ECU] {
		h.doubles = append(h.doubles, DoubleBooking{ECU: st.ECU, Job: job, Other: other, ResourceVersion: rv})
	}
	h.bound[st.ECU] = append(h.bound[st.ECU], job)
}

// follow applies every watch event to the history, resuming from the last resourceVersion when
// the API server ends a watch; an error event (such as 410 Gone) is recorded as a gap.
func (h *Recorder) follow(ctx context.Context, c client.WithWatch, list client.ObjectList, ns string, apply func(watch.EventType, client.Object)) {
	rv := ""
	for ctx.Err() == nil {
		w, err := c.Watch(ctx, list, &client.ListOptions{Namespace: ns, Raw: &metav1.ListOptions{ResourceVersion: rv}})
		if err != nil {
			if ctx.Err() == nil {
				h.gap(fmt.Sprintf("watch %T: %v", list, err))
				time.Sleep(time.Second)
			}
			continue
		}
		for ev := range w.ResultChan() {
			if ev.Type == watch.Error {
				h.gap(fmt.Sprintf("watch %T: %v", list, apierrors.FromObject(ev.Object)))
				rv = "" // start over from the current state
				break
			}
			obj, ok := ev.Object.(client.Object)
			if !ok || ev.Type == watch.Bookmark {
				continue
			}
			rv = obj.GetResourceVersion()
			h.mu.Lock()
			apply(ev.Type, obj)
			h.mu.Unlock()
		}
		w.Stop()
	}
}

func (h *Recorder) gap(msg string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.gaps = append(h.gaps, msg)
}

// AppendNew appends v unless it repeats the last value, so that a history keeps transitions only.
func AppendNew[T comparable](s []T, v T) []T {
	if len(s) > 0 && s[len(s)-1] == v {
		return s
	}
	return append(s, v)
}

// Gaps are the watch errors seen so far; none means the history is complete.
func (h *Recorder) Gaps() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.gaps)
}

// Holders are the jobs that held the ECU, in order of first hold, each once.
func (h *Recorder) Holders(ecu string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, j := range h.holders[ecu] {
		if j != "" && !slices.Contains(out, j) {
			out = append(out, j)
		}
	}
	return out
}

// Holds counts the separate times the job held the ECU: the runs of its name in the ECU's
// activeJob sequence. A job holds an ECU once per attempt at most; a watch gap can merge two
// holds into one, never split one.
func (h *Recorder) Holds(ecu, job string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, j := range h.holders[ecu] { // repeats are collapsed: each element starts a run
		if j == job {
			n++
		}
	}
	return n
}

// Held reports the ECU's latest activeJob as the watch saw it.
func (h *Recorder) Held(ecu string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s := h.holders[ecu]; len(s) > 0 {
		return s[len(s)-1]
	}
	return ""
}

// Reachable is the sequence of the ECU's Reachable condition.
func (h *Recorder) Reachable(ecu string) []metav1.ConditionStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.reachable[ecu])
}

// Job is the sequence of the job's states.
func (h *Recorder) Job(name string) []JobState {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.jobs[name])
}

// DoubleBookings are the moments a job was bound to an ECU another unfinished job was bound
// to; a correct scheduler never makes one.
func (h *Recorder) DoubleBookings() []DoubleBooking {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.doubles)
}
