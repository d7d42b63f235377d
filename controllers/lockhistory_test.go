package controllers_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// lockHistory records every change of ECU.status.activeJob in a namespace and every change of
// its jobs, from two watches on the API server (each delivers every change, in order), and
// checks the claim protocol against them:
//   - a job never holds two ECUs;
//   - an ECU leaves a job (released, or handed over to the next job in one write) only after
//     that job stopped claiming the ECU in its status (finished, requeued, suspended, deleted,
//     or never bound to it), so that no ECU ever has two jobs.
//
// The two watches are put in one order by resourceVersion: the API server's resource versions
// are comparable integers (k8s.io/apimachinery/pkg/util/resourceversion), and on envtest's
// single etcd they are the etcd revision, one counter for all objects.
type lockHistory struct {
	mu         sync.Mutex
	current    map[string]string     // ECU -> job holding it
	sequence   map[string][]string   // ECU -> jobs that locked it, in order
	locked     map[string][]string   // job -> ECUs it locked, in order
	claims     map[string][]jobClaim // job -> the ECU its status claims, each time it changed
	leaves     []lockLeave           // every time an ECU left a job
	jobsSeen   uint64                // revision of the newest job event
	violations []string
	stop       context.CancelFunc
	done       sync.WaitGroup
}

// jobClaim is the ECU a job's status claimed from a revision on ("" for none).
type jobClaim struct {
	rev uint64
	ecu string
}

// lockLeave is an ECU leaving job at revision rev.
type lockLeave struct {
	rev      uint64
	ecu, job string
	to       string // the next holder ("" for a release)
}

// watchLocks starts recording the locks and jobs of namespace ns until the spec ends.
func watchLocks(ctx context.Context, ns string) *lockHistory {
	GinkgoHelper()
	h := &lockHistory{current: map[string]string{}, sequence: map[string][]string{}, locked: map[string][]string{}, claims: map[string][]jobClaim{}}
	var ecus diagv1.ECUList
	Expect(k8s.List(ctx, &ecus, client.InNamespace(ns))).To(Succeed())
	for _, e := range ecus.Items {
		h.applyECU(h.revision(&e), e.Name, e.Status.ActiveJob)
	}
	var jobs diagv1.DiagnosticJobList
	Expect(k8s.List(ctx, &jobs, client.InNamespace(ns))).To(Succeed())
	for _, j := range jobs.Items {
		h.applyJob(h.revision(&j), j.Name, claimedECU(&j))
	}
	wctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	h.stop = stop
	h.done.Go(func() {
		follow(wctx, ns, &diagv1.ECUList{}, ecus.ResourceVersion, func(ev watch.Event) {
			if e, ok := ev.Object.(*diagv1.ECU); ok {
				job := e.Status.ActiveJob
				if ev.Type == watch.Deleted {
					job = ""
				}
				h.applyECU(h.revision(e), e.Name, job)
			}
		})
	})
	h.done.Go(func() {
		follow(wctx, ns, &diagv1.DiagnosticJobList{}, jobs.ResourceVersion, func(ev watch.Event) {
			if j, ok := ev.Object.(*diagv1.DiagnosticJob); ok {
				ecu := claimedECU(j)
				if ev.Type == watch.Deleted {
					ecu = ""
				}
				h.applyJob(h.revision(j), j.Name, ecu)
			}
		})
	})
	DeferCleanup(func() {
		h.stop()
		h.done.Wait()
	})
	return h
}

// follow hands every watch event of a list type in ns to apply, resuming from the last
// resourceVersion seen if the watch ends.
func follow(ctx context.Context, ns string, list client.ObjectList, rv string, apply func(watch.Event)) {
	for ctx.Err() == nil {
		w, err := k8s.Watch(ctx, list, client.InNamespace(ns), &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: rv}})
		if err != nil {
			pause(ctx)
			continue
		}
		for ev := range w.ResultChan() {
			if o, ok := ev.Object.(client.Object); ok && ev.Type != watch.Error {
				rv = o.GetResourceVersion()
				apply(ev)
			}
		}
		w.Stop()
	}
}

// claimedECU is the ECU a job's status claims for its current attempt, as the agent reads it.
func claimedECU(j *diagv1.DiagnosticJob) string {
	done := j.Status.IsFinal() || j.DeletionTimestamp != nil && !controllerutil.ContainsFinalizer(j, diagv1.JobFinalizer)
	if done {
		return ""
	}
	return j.Status.ECU
}

// revision is an object's resourceVersion as the etcd revision it is on envtest; one that is
// not a number is a violation, because then the checks cannot be made.
func (h *lockHistory) revision(o client.Object) uint64 {
	rev, err := strconv.ParseUint(o.GetResourceVersion(), 10, 64)
	if err != nil {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.violations = append(h.violations, fmt.Sprintf("resourceVersion %q of %s is not an etcd revision", o.GetResourceVersion(), o.GetName()))
	}
	return rev
}

func (h *lockHistory) applyECU(rev uint64, ecu, job string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	from := h.current[ecu]
	if from == job {
		return
	}
	if from != "" {
		h.leaves = append(h.leaves, lockLeave{rev: rev, ecu: ecu, job: from, to: job})
	}
	if job != "" {
		for other, holder := range h.current {
			if holder == job && other != ecu {
				h.violations = append(h.violations, fmt.Sprintf("job %s locked ECU %s while holding ECU %s", job, ecu, other))
			}
		}
		h.sequence[ecu] = append(h.sequence[ecu], job)
		h.locked[job] = append(h.locked[job], ecu)
	}
	h.current[ecu] = job
}

func (h *lockHistory) applyJob(rev uint64, job, ecu string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.jobsSeen = max(h.jobsSeen, rev)
	c := h.claims[job]
	if len(c) == 0 || c[len(c)-1].ecu != ecu {
		h.claims[job] = append(c, jobClaim{rev: rev, ecu: ecu})
	}
}

// problems returns the violations seen so far. It first waits (a few seconds at most) until
// the job watch has passed the last time an ECU left a job: the end of that job's claim is
// older than that, so it is then known.
func (h *lockHistory) problems() []string {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !h.jobsCaughtUp(); {
		time.Sleep(50 * time.Millisecond)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	out := slices.Clone(h.violations)
	for _, l := range h.leaves {
		if c, ok := h.claimAt(l.job, l.rev); ok && c.ecu == l.ecu {
			out = append(out, fmt.Sprintf("ECU %s left job %s for %q at revision %d while the job still claimed it (since revision %d)",
				l.ecu, l.job, l.to, l.rev, c.rev))
		}
	}
	return out
}

// jobsCaughtUp reports whether the job watch has seen past every lock change so far.
func (h *lockHistory) jobsCaughtUp() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.leaves) == 0 || h.jobsSeen > h.leaves[len(h.leaves)-1].rev
}

// claimAt is the newest claim of job before revision rev.
func (h *lockHistory) claimAt(job string, rev uint64) (jobClaim, bool) {
	var last jobClaim
	found := false
	for _, c := range h.claims[job] {
		if c.rev >= rev {
			break
		}
		last, found = c, true
	}
	return last, found
}

// order returns the jobs that locked an ECU, in order.
func (h *lockHistory) order(ecu string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.sequence[ecu])
}

// ecusOf returns the ECUs a job locked, in order.
func (h *lockHistory) ecusOf(job string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.locked[job])
}

// holder returns the job an ECU is locked for now ("" when free).
func (h *lockHistory) holder(ecu string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.current[ecu]
}
