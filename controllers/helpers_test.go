package controllers_test

import (
	"context"
	"slices"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
)

// poolLabel ties a spec's agents to its ECUs (agentSelector), so that agents of other specs,
// which are cluster-scoped, never serve them.
const poolLabel = "test.ecufleet.io/pool"

// newAgent starts a test agent in the pool of namespace ns; it stops when the spec ends.
func newAgent(ctx context.Context, ns, name string, maxJobs int32, occ *occupancy) *testAgent {
	GinkgoHelper()
	a, err := startTestAgent(ctx, k8s, name, map[string]string{poolLabel: ns}, maxJobs, testLeaseSeconds, occ)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() {
		a.stop()
		Expect(a.problems()).To(BeEmpty(), "agent %s met unexpected API errors", name)
	})
	return a
}

// newECU creates an ECU served by the pool of ns and marks it Reachable, as a prober would.
func newECU(ctx context.Context, ns, name string, labels map[string]string, modify ...func(*builders.ECUWrapper)) {
	GinkgoHelper()
	w := builders.MakeECU(name, ns).AgentSelector(map[string]string{poolLabel: ns})
	for k, v := range labels {
		w.Label(k, v)
	}
	for _, m := range modify {
		m(w)
	}
	Expect(k8s.Create(ctx, w.Obj())).To(Succeed())
	setReachable(ctx, ns, name, metav1.ConditionTrue)
}

// setReachable writes the Reachable condition as the agent's prober does, with the ECU's
// resourceVersion as a precondition (retried on conflict).
func setReachable(ctx context.Context, ns, name string, status metav1.ConditionStatus) {
	GinkgoHelper()
	reason := diagv1.ReasonProbeSucceeded
	if status != metav1.ConditionTrue {
		reason = diagv1.ReasonProbeFailed
	}
	Eventually(func() error {
		var e diagv1.ECU
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &e); err != nil {
			return err
		}
		u := e.DeepCopy()
		meta.SetStatusCondition(&u.Status.Conditions, metav1.Condition{Type: diagv1.ConditionReachable, Status: status, Reason: reason, Message: "test prober"})
		return k8s.Status().Patch(ctx, u, client.MergeFromWithOptions(&e, client.MergeFromWithOptimisticLock{}))
	}).Should(Succeed())
}

// updateECU changes an ECU's spec, retried on conflict.
func updateECU(ctx context.Context, ns, name string, mutate func(*diagv1.ECU)) {
	GinkgoHelper()
	Eventually(func() error {
		var e diagv1.ECU
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &e); err != nil {
			return err
		}
		mutate(&e)
		return k8s.Update(ctx, &e)
	}).Should(Succeed())
}

// updateJob changes a job's spec or metadata, retried on conflict.
func updateJob(ctx context.Context, ns, name string, mutate func(*diagv1.DiagnosticJob)) {
	GinkgoHelper()
	Eventually(func() error {
		var j diagv1.DiagnosticJob
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &j); err != nil {
			return err
		}
		mutate(&j)
		return k8s.Update(ctx, &j)
	}).Should(Succeed())
}

// readVIN is a job on one ECU with one step; the controllers never look at the steps.
func readVIN(ns, name, ecu string) *builders.JobWrapper {
	return builders.MakeJob(name, ns).ECU(ecu).Step(builders.ReadDID("vin", 0xF190))
}

// createJob creates a job and returns it as stored.
func createJob(ctx context.Context, w *builders.JobWrapper) *diagv1.DiagnosticJob {
	GinkgoHelper()
	j := w.Obj()
	Expect(k8s.Create(ctx, j)).To(Succeed())
	return j
}

// jobOf returns a function that reads a job, for Eventually.
func jobOf(ctx context.Context, ns, name string) func(g Gomega) *diagv1.DiagnosticJob {
	return func(g Gomega) *diagv1.DiagnosticJob {
		var j diagv1.DiagnosticJob
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &j)).To(Succeed())
		return &j
	}
}

// ecuOf returns a function that reads an ECU, for Eventually.
func ecuOf(ctx context.Context, ns, name string) func(g Gomega) *diagv1.ECU {
	return func(g Gomega) *diagv1.ECU {
		var e diagv1.ECU
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &e)).To(Succeed())
		return &e
	}
}

// conditionOf picks one condition, for matchers.
func conditionOf(conds []metav1.Condition, t string) metav1.Condition {
	if c := meta.FindStatusCondition(conds, t); c != nil {
		return *c
	}
	return metav1.Condition{}
}

// eventReasons lists the reasons of the Events recorded about an object, oldest first.
func eventReasons(ctx context.Context, ns, kind, name string) []string {
	GinkgoHelper()
	var list eventsv1.EventList
	Expect(k8s.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
	slices.SortFunc(list.Items, func(a, b eventsv1.Event) int { return a.EventTime.Compare(b.EventTime.Time) })
	var out []string
	for _, e := range list.Items {
		if e.Regarding.Kind == kind && e.Regarding.Name == name {
			out = append(out, e.Reason)
		}
	}
	return out
}

// relatedOf names the related object ("Kind/name") of the Event with reason on a job.
func relatedOf(ctx context.Context, ns, job, reason string) string {
	GinkgoHelper()
	var list eventsv1.EventList
	Expect(k8s.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
	for _, e := range list.Items {
		if e.Regarding.Kind == "DiagnosticJob" && e.Regarding.Name == job && e.Reason == reason && e.Related != nil {
			return e.Related.Kind + "/" + e.Related.Name
		}
	}
	return ""
}
