package controllers

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
)

func TestAttemptEnd(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	expiry := now.Add(30 * time.Second)
	f := &fleet{agents: map[string]*agentView{
		"live": {obj: builders.MakeAgent("live").Obj(), health: agentHealth{live: true, expiry: expiry}},
		"lost": {obj: builders.MakeAgent("lost").Obj(), health: agentHealth{message: "Lease expired at noon"}},
	}, names: []string{"live", "lost"}}
	// bound is a job in phase on ECU e0 with agent, scheduled ago, with a 60 s deadline.
	bound := func(phase diagv1.JobPhase, reason, agent string, ago time.Duration) *builders.JobWrapper {
		j := builders.MakeJob("j", "ns").ECU("e0").Deadline(60).Phase(phase).BoundTo("e0", agent).Attempts(1)
		j.Status.Reason = reason
		j.Status.Message = "step 2 timed out"
		j.Status.SetConditions(1, now.Add(-ago))
		j.Finalizers = []string{diagv1.JobFinalizer}
		return j
	}
	withSuspend := func(j *builders.JobWrapper) *builders.JobWrapper { j.Spec.Suspend = true; return j }
	// waiting is a queued job created ago with a 60 s queue timeout.
	waiting := func(ago time.Duration) *builders.JobWrapper {
		j := builders.MakeJob("j", "ns").ECU("e0").Phase(diagv1.JobQueued).QueueTimeout(60)
		j.CreationTimestamp = metav1.NewTime(now.Add(-ago))
		return j
	}
	cases := map[string]struct {
		job        *builders.JobWrapper
		want       endKind
		wantReason string
		wantCause  string
		wantWake   time.Time
	}{
		"scheduled past the deadline": {
			job: bound(diagv1.JobScheduled, diagv1.ReasonScheduled, "live", 61*time.Second), want: endDeadline,
		},
		"running with a live agent gets the grace": {
			job: bound(diagv1.JobRunning, diagv1.ReasonScheduled, "live", 61*time.Second), want: endNone,
			wantWake: now.Add(-time.Second).Add(deadlineGrace),
		},
		"running past the grace": {
			job: bound(diagv1.JobRunning, diagv1.ReasonScheduled, "live", 63*time.Second), want: endDeadline,
		},
		"running on a live agent: wake at the Lease expiry": {
			job: bound(diagv1.JobRunning, diagv1.ReasonScheduled, "live", time.Second), want: endNone, wantWake: expiry,
		},
		"retryable failure reported by the agent (no annotation: no deadline start)": {
			job: bound(diagv1.JobFailed, diagv1.ReasonEcuUnreachable, "live", time.Second), want: endRetry,
			wantReason: diagv1.ReasonEcuUnreachable, wantCause: "agent live reported: step 2 timed out",
		},
		"lost agent": {
			job: bound(diagv1.JobRunning, diagv1.ReasonScheduled, "lost", time.Second), want: endRetry,
			wantReason: diagv1.ReasonAgentLost, wantCause: "agent lost was lost: Lease expired at noon",
			wantWake: now.Add(-time.Second).Add(time.Minute),
		},
		"deleted agent": {
			job: bound(diagv1.JobRunning, diagv1.ReasonScheduled, "gone", time.Second), want: endRetry,
			wantReason: diagv1.ReasonAgentLost, wantCause: "agent gone was lost: the DiagnosticAgent no longer exists",
			wantWake: now.Add(-time.Second).Add(time.Minute),
		},
		"agent acknowledged a cancel": {
			job: bound(diagv1.JobRunning, diagv1.ReasonSuspended, "live", time.Second), want: endSuspend,
			wantWake: now.Add(-time.Second).Add(time.Minute).Add(deadlineGrace),
		},
		"suspended before the agent started": {
			job: withSuspend(bound(diagv1.JobScheduled, diagv1.ReasonScheduled, "live", time.Second)), want: endSuspend,
			wantWake: now.Add(-time.Second).Add(time.Minute),
		},
		"suspended while running: wait for the agent": {
			job: withSuspend(bound(diagv1.JobRunning, diagv1.ReasonScheduled, "live", time.Second)), want: endNone, wantWake: expiry,
		},
		"queued within its queue timeout: wake when it runs out": {
			job: waiting(59 * time.Second), want: endNone, wantWake: now.Add(time.Second),
		},
		"queued past its queue timeout": {
			job: waiting(60 * time.Second), want: endQueueTimeout,
		},
		"queued: nothing to end, no timer": {
			job: builders.MakeJob("j", "ns").ECU("e0").Phase(diagv1.JobQueued), want: endNone,
		},
	}
	for name, tc := range cases {
		got := attemptEnd(tc.job.Obj(), now, f)
		if got.kind != tc.want || got.reason != tc.wantReason || got.cause != tc.wantCause || !got.wake.Equal(tc.wantWake) {
			t.Errorf("%s: attemptEnd = {kind %d, reason %q, cause %q, wake %v}, want {kind %d, reason %q, cause %q, wake %v}",
				name, got.kind, got.reason, got.cause, got.wake, tc.want, tc.wantReason, tc.wantCause, tc.wantWake)
		}
	}
}
