package controllers

import (
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
)

// These specs check the pure parts of the controllers (no API server involved); they run in the
// suite of the external test package.

// findCondition picks one condition, or a zero one.
func findCondition(conds []metav1.Condition, t string) metav1.Condition {
	if c := meta.FindStatusCondition(conds, t); c != nil {
		return *c
	}
	return metav1.Condition{}
}

var _ = Describe("leaseHealth", func() {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	lease := func(renewedAgo time.Duration, seconds int32) *coordinationv1.Lease {
		t := metav1.NewMicroTime(now.Add(-renewedAgo))
		return &coordinationv1.Lease{Spec: coordinationv1.LeaseSpec{RenewTime: &t, LeaseDurationSeconds: &seconds}}
	}
	DescribeTable("judges an agent by renewTime + leaseDurationSeconds",
		func(l *coordinationv1.Lease, live bool, reason string) {
			h := leaseHealth(l, now)
			Expect(h.live).To(Equal(live))
			Expect(h.reason).To(Equal(reason))
			if live {
				Expect(h.expiry).To(Equal(l.Spec.RenewTime.Add(time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second)))
			}
		},
		Entry("no Lease", nil, false, diagv1.ReasonNoLease),
		Entry("never renewed", &coordinationv1.Lease{}, false, diagv1.ReasonLeaseExpired),
		Entry("renewed 10s ago, 40s duration", lease(10*time.Second, 40), true, diagv1.ReasonLeaseRenewed),
		Entry("renewed 41s ago, 40s duration", lease(41*time.Second, 40), false, diagv1.ReasonLeaseExpired),
		Entry("expiring right now", lease(40*time.Second, 40), false, diagv1.ReasonLeaseExpired),
	)
	It("notices only the renewals that change liveness", func() {
		Expect(leaseLivenessChanged(lease(39*time.Second, 40), lease(0, 40), now)).To(BeFalse())
		Expect(leaseLivenessChanged(lease(50*time.Second, 40), lease(0, 40), now)).To(BeTrue())
		Expect(leaseLivenessChanged(nil, lease(0, 40), now)).To(BeTrue())
	})
})

var _ = Describe("queueOrder", func() {
	It("puts higher priority first, then older, then the smaller name", func() {
		t0 := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		t1 := metav1.NewTime(t0.Add(time.Second))
		job := func(name string, prio int32, created metav1.Time) *diagv1.DiagnosticJob {
			j := builders.MakeJob(name, "ns").Priority(prio).Obj()
			j.CreationTimestamp = created
			return j
		}
		jobs := []*diagv1.DiagnosticJob{
			job("b", 0, t0), job("a", 0, t1), job("z", 9, t1), job("c", 0, t0), job("y", 9, t0),
		}
		slices.SortFunc(jobs, queueOrder)
		var names []string
		for _, j := range jobs {
			names = append(names, j.Name)
		}
		Expect(names).To(Equal([]string{"y", "z", "b", "c", "a"}))
	})
})

var _ = Describe("ecuIndex.candidates and the queues", func() {
	ecus := []*diagv1.ECU{
		builders.MakeECU("a", "ns").Label("rack", "1").Obj(),
		builders.MakeECU("b", "ns").Label("rack", "1").Obj(),
		builders.MakeECU("c", "ns").Label("rack", "2").Obj(),
	}
	ref := func(name, ecu string) *diagv1.DiagnosticJob { return builders.MakeJob(name, "ns").ECU(ecu).Obj() }
	sel := func(name string, labels map[string]string) *diagv1.DiagnosticJob {
		return builders.MakeJob(name, "ns").ECUSelector(labels).Obj()
	}

	It("finds the named ECU, or says it does not exist", func() {
		got, reason, _ := indexECUs(ecus).candidates(ref("j", "b"))
		Expect(got).To(ConsistOf(ecus[1]))
		Expect(reason).To(BeEmpty())
		got, reason, msg := indexECUs(ecus).candidates(ref("j", "x"))
		Expect(got).To(BeEmpty())
		Expect(reason).To(Equal(diagv1.ReasonEcuNotFound))
		Expect(msg).To(ContainSubstring("x"))
	})
	It("finds every matching ECU by name, or says none matches", func() {
		got, _, _ := indexECUs(ecus).candidates(sel("j", map[string]string{"rack": "1"}))
		Expect(got).To(Equal(ecus[:2]))
		_, reason, _ := indexECUs(ecus).candidates(sel("j", map[string]string{"rack": "9"}))
		Expect(reason).To(Equal(diagv1.ReasonNoMatchingEcu))
		bad := sel("j", nil)
		bad.Spec.ECUSelector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "rack", Operator: "Bogus"}}
		_, reason, msg := indexECUs(ecus).candidates(bad)
		Expect(reason).To(Equal(diagv1.ReasonNoMatchingEcu))
		Expect(msg).To(ContainSubstring("Invalid spec.ecuSelector"))
	})
	It("gives each job its best position over the ECUs it waits for", func() {
		first, second, third := ref("first", "a"), sel("second", map[string]string{"rack": "1"}), ref("third", "b")
		jobs := []*diagv1.DiagnosticJob{first, second, third}
		cands := make([][]*diagv1.ECU, len(jobs))
		for i, j := range jobs {
			cands[i], _, _ = indexECUs(ecus).candidates(j)
		}
		q := buildQueues(jobs, cands)
		Expect(q.jobs["a"]).To(Equal([]*diagv1.DiagnosticJob{first, second}))
		Expect(q.jobs["b"]).To(Equal([]*diagv1.DiagnosticJob{second, third}))
		Expect(q.jobs).NotTo(HaveKey("c"))
		pos, best := q.bestPosition(second, ecus[:2])
		Expect(pos).To(Equal(int32(1)))
		Expect(best.Name).To(Equal("b"))
		pos, _ = q.bestPosition(third, ecus[1:2])
		Expect(pos).To(Equal(int32(2)))
	})
})

var _ = Describe("freshCopies", func() {
	withRV := func(rv, phase string) *diagv1.DiagnosticJob {
		j := builders.MakeJob("j", "ns").Obj()
		j.ResourceVersion, j.Status.Phase = rv, diagv1.JobPhase(phase)
		return j
	}
	It("prefers a remembered write over an older cached copy until the cache catches up", func() {
		var f freshCopies
		f.remember(withRV("120", "Scheduled"))
		Expect(newest(&f, withRV("99", "Queued")).Status.Phase).To(Equal(diagv1.JobScheduled), "99 < 120 by number, not by text")
		Expect(newest(&f, withRV("121", "Running")).Status.Phase).To(Equal(diagv1.JobRunning))
		Expect(newest(&f, withRV("99", "Queued")).Status.Phase).To(Equal(diagv1.JobQueued), "forgotten once the cache caught up")
	})
	It("freshens a pass's objects as newest does each, leaving other kinds and namespaces", func() {
		var f freshCopies
		f.remember(withRV("120", "Scheduled"))
		other := withRV("130", "Running")
		other.Namespace = "other"
		f.remember(other)
		f.remember(builders.MakeECU("j", "ns").Obj()) // another kind with the same name
		jobs := map[string]*diagv1.DiagnosticJob{"j": withRV("99", "Queued")}
		freshen(&f, "ns", jobs)
		Expect(jobs["j"].Status.Phase).To(Equal(diagv1.JobScheduled), "99 < 120 by number, not by text")
		Expect(jobs["j"].ResourceVersion).To(Equal("120"))
		jobs = map[string]*diagv1.DiagnosticJob{"j": withRV("121", "Running")}
		freshen(&f, "ns", jobs)
		Expect(jobs["j"].Status.Phase).To(Equal(diagv1.JobRunning))
		jobs = map[string]*diagv1.DiagnosticJob{"j": withRV("99", "Queued")}
		freshen(&f, "ns", jobs)
		Expect(jobs["j"].Status.Phase).To(Equal(diagv1.JobQueued), "forgotten once the cache caught up")
		Expect(rememberedOf[*diagv1.DiagnosticJob](&f)).To(ConsistOf(other), "the other namespace's copy stays")
		Expect(rememberedOf[*diagv1.ECU](&f)).To(HaveLen(1), "the ECU's copy stays")
	})
	It("trusts the cache when resource versions are not comparable integers", func() {
		var f freshCopies
		f.remember(withRV("abc", "Scheduled"))
		Expect(newest(&f, withRV("1", "Queued")).Status.Phase).To(Equal(diagv1.JobQueued))
	})
	It("forgets objects that are gone", func() {
		var f freshCopies
		f.remember(withRV("5", "Scheduled"))
		f.forgetAbsent(&diagv1.DiagnosticJob{}, "ns", isKey(map[string]bool{}))
		Expect(rememberedOf[*diagv1.DiagnosticJob](&f)).To(BeEmpty())
	})
})

var _ = Describe("assessECU", func() {
	now := time.Now()
	live := func(name string, labels map[string]string) *agentView {
		w := builders.MakeAgent(name).MaxConcurrentJobs(1)
		for k, v := range labels {
			w.Label(k, v)
		}
		return &agentView{obj: w.Obj(), health: agentHealth{live: true, expiry: now.Add(time.Minute)}}
	}
	fleetOf := func(agents ...*agentView) *fleet {
		f := &fleet{agents: map[string]*agentView{}}
		for _, a := range agents {
			f.agents[a.obj.Name] = a
			f.names = append(f.names, a.obj.Name)
		}
		slices.Sort(f.names)
		return f
	}
	reachable := func(s metav1.ConditionStatus) *builders.ECUWrapper {
		return builders.MakeECU("e", "ns").AgentSelector(map[string]string{"site": "x"}).Condition(diagv1.ConditionReachable, s, "test")
	}
	DescribeTable("is Ready only when reachable (or never probed) and served by a live matching agent",
		func(ecu *builders.ECUWrapper, f *fleet, ready bool, reason string) {
			r := assessECU(ecu.Obj(), f)
			Expect(r.ready).To(Equal(ready))
			Expect(r.reason).To(Equal(reason))
		},
		Entry("reachable, agent", reachable("True"), fleetOf(live("a", map[string]string{"site": "x"})), true, diagv1.ReasonReachable),
		Entry("reachable, only a non-matching agent", reachable("True"), fleetOf(live("a", map[string]string{"site": "y"})), false, diagv1.ReasonNoAgent),
		Entry("unreachable", reachable("False"), fleetOf(live("a", map[string]string{"site": "x"})), false, diagv1.ReasonUnreachable),
		Entry("no verdict yet", builders.MakeECU("e", "ns"), fleetOf(live("a", nil)), false, diagv1.ReasonProbing),
		Entry("never probed", builders.MakeECU("e", "ns").Probe(diagv1.ProbeNone), fleetOf(live("a", nil)), true, diagv1.ReasonReachable),
	)
	It("keeps the serving agent while it is live, else takes the first by name", func() {
		a, b := live("a", nil), live("b", nil)
		Expect(servingAgent("b", []*agentView{a, b})).To(Equal("b"))
		Expect(servingAgent("gone", []*agentView{a, b})).To(Equal("a"))
		Expect(servingAgent("b", nil)).To(BeEmpty())
	})
	It("picks the least busy agent with room", func() {
		a, b := live("a", nil), live("b", nil)
		a.running = 1
		Expect(leastBusy([]*agentView{a, b})).To(BeIdenticalTo(b))
		b.running = 1
		Expect(leastBusy([]*agentView{a, b})).To(BeNil(), "both at maxConcurrentJobs 1")
	})
})

var _ = Describe("retryNotBefore", func() {
	requeued := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	job := func(phase diagv1.JobPhase, reason string, attempts int32, scheduled metav1.ConditionStatus) *diagv1.DiagnosticJob {
		j := builders.MakeJob("j", "ns").ECU("e").Obj()
		j.Status.Phase, j.Status.Reason, j.Status.Attempts = phase, reason, attempts
		j.Status.Conditions = []metav1.Condition{{Type: diagv1.ConditionScheduled, Status: scheduled,
			Reason: reason, LastTransitionTime: metav1.NewTime(requeued)}}
		return j
	}
	DescribeTable("backs off after EcuUnreachable only: 5 s doubled per attempt, at most 2 min",
		func(j *diagv1.DiagnosticJob, wantWait time.Duration, wantOK bool) {
			t, ok := retryNotBefore(j)
			Expect(ok).To(Equal(wantOK))
			if ok {
				Expect(t.Sub(requeued)).To(Equal(wantWait))
			}
		},
		Entry("first retry", job(diagv1.JobQueued, diagv1.ReasonEcuUnreachable, 1, metav1.ConditionFalse), 5*time.Second, true),
		Entry("second retry", job(diagv1.JobQueued, diagv1.ReasonEcuUnreachable, 2, metav1.ConditionFalse), 10*time.Second, true),
		Entry("fifth retry", job(diagv1.JobQueued, diagv1.ReasonEcuUnreachable, 5, metav1.ConditionFalse), 80*time.Second, true),
		Entry("capped", job(diagv1.JobQueued, diagv1.ReasonEcuUnreachable, 30, metav1.ConditionFalse), 2*time.Minute, true),
		Entry("a lost agent retries at once", job(diagv1.JobQueued, diagv1.ReasonAgentLost, 1, metav1.ConditionFalse), time.Duration(0), false),
		Entry("a restarted agent retries at once", job(diagv1.JobQueued, diagv1.ReasonAgentRestarted, 1, metav1.ConditionFalse), time.Duration(0), false),
		Entry("not queued", job(diagv1.JobFailed, diagv1.ReasonEcuUnreachable, 1, metav1.ConditionFalse), time.Duration(0), false),
		Entry("still scheduled", job(diagv1.JobQueued, diagv1.ReasonEcuUnreachable, 1, metav1.ConditionTrue), time.Duration(0), false),
	)
})
