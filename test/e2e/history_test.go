package e2e

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// history is every state the API server reported for the ECUs and jobs of one namespace, in
// order, from a watch started before the spec created them: the evidence that no ECU was held
// by a foreign job and that a retried job went through AgentLost.
type history struct {
	mu        sync.Mutex
	holders   map[string][]string                 // ECU -> status.activeJob values, repeats collapsed
	reachable map[string][]metav1.ConditionStatus // ECU -> Reachable condition, repeats collapsed
	jobs      map[string][]jobState               // job -> states, repeats collapsed
	gaps      []string                            // watch errors: the history may have holes
}

// jobState is the part of a job's status that tells its attempts apart.
type jobState struct {
	Phase    diagv1.JobPhase
	Reason   string
	Agent    string
	Attempts int32
}

// record starts watching the namespace's ECUs and jobs until the spec ends.
func record(ns string) *history {
	h := &history{holders: map[string][]string{}, reachable: map[string][]metav1.ConditionStatus{}, jobs: map[string][]jobState{}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		h.follow(ctx, &diagv1.ECUList{}, ns, func(obj client.Object) {
			e := obj.(*diagv1.ECU)
			h.holders[e.Name] = appendNew(h.holders[e.Name], e.Status.ActiveJob)
			if c := meta.FindStatusCondition(e.Status.Conditions, diagv1.ConditionReachable); c != nil {
				h.reachable[e.Name] = appendNew(h.reachable[e.Name], c.Status)
			}
		})
	})
	wg.Go(func() {
		h.follow(ctx, &diagv1.DiagnosticJobList{}, ns, func(obj client.Object) {
			j := obj.(*diagv1.DiagnosticJob)
			h.jobs[j.Name] = appendNew(h.jobs[j.Name], jobState{j.Status.Phase, j.Status.Reason, j.Status.Agent, j.Status.Attempts})
		})
	})
	DeferCleanup(func() { cancel(); wg.Wait() })
	return h
}

// follow applies every watch event to the history, resuming from the last resourceVersion when
// the API server ends a watch; an error event (such as 410 Gone) is recorded as a gap.
func (h *history) follow(ctx context.Context, list client.ObjectList, ns string, apply func(client.Object)) {
	rv := ""
	for ctx.Err() == nil {
		w, err := k8s.Watch(ctx, list, &client.ListOptions{Namespace: ns, Raw: &metav1.ListOptions{ResourceVersion: rv}})
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
			apply(obj)
			h.mu.Unlock()
		}
		w.Stop()
	}
}

func (h *history) gap(msg string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.gaps = append(h.gaps, msg)
}

// appendNew appends v unless it repeats the last value.
func appendNew[T comparable](s []T, v T) []T {
	if len(s) > 0 && s[len(s)-1] == v {
		return s
	}
	return append(s, v)
}

// Gaps are the watch errors seen so far; none means the history is complete.
func (h *history) Gaps() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.gaps)
}

// Holders are the jobs that held the ECU, in order of first hold, each once.
func (h *history) Holders(ecu string) []string {
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
func (h *history) Holds(ecu, job string) int {
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
func (h *history) Held(ecu string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s := h.holders[ecu]; len(s) > 0 {
		return s[len(s)-1]
	}
	return ""
}

// Reachable is the sequence of the ECU's Reachable condition.
func (h *history) Reachable(ecu string) []metav1.ConditionStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.reachable[ecu])
}

// Job is the sequence of the job's states.
func (h *history) Job(name string) []jobState {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.jobs[name])
}
