package v1alpha1_test

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// rulesJob is a job in phase with conditions derived at scheduled, bound when ecu is set.
func rulesJob(phase diagv1.JobPhase, reason, ecu string, scheduled time.Time) *diagv1.DiagnosticJob {
	j := &diagv1.DiagnosticJob{Status: diagv1.DiagnosticJobStatus{Phase: phase, Reason: reason, ECU: ecu}}
	j.Status.SetConditions(1, scheduled)
	return j
}

func TestIsBound(t *testing.T) {
	cases := map[string]struct {
		status diagv1.DiagnosticJobStatus
		want   bool
	}{
		"queued":                     {diagv1.DiagnosticJobStatus{Phase: diagv1.JobQueued}, false},
		"scheduled with an ECU":      {diagv1.DiagnosticJobStatus{Phase: diagv1.JobScheduled, ECU: "e"}, true},
		"agent only":                 {diagv1.DiagnosticJobStatus{Phase: diagv1.JobRunning, Agent: "a"}, true},
		"retryable failure: pending": {diagv1.DiagnosticJobStatus{Phase: diagv1.JobFailed, Reason: diagv1.ReasonEcuUnreachable, ECU: "e"}, true},
		"final keeps no claim":       {diagv1.DiagnosticJobStatus{Phase: diagv1.JobSucceeded, ECU: "e", Agent: "a"}, false},
	}
	for name, tc := range cases {
		if got := tc.status.IsBound(); got != tc.want {
			t.Errorf("%s: IsBound() = %v, want %v", name, got, tc.want)
		}
	}
}

func TestDeadline(t *testing.T) {
	first := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	now := first.Add(time.Hour)
	secs := int64(60)
	annotated := func(j *diagv1.DiagnosticJob, v string) *diagv1.DiagnosticJob {
		j.Annotations = map[string]string{diagv1.FirstScheduledAnnotation: v}
		return j
	}
	cases := map[string]struct {
		job       *diagv1.DiagnosticJob
		wantStart time.Time // zero: no start
	}{
		"annotation wins over the current scheduling": {
			annotated(rulesJob(diagv1.JobRunning, diagv1.ReasonScheduled, "e", now), first.Format(time.RFC3339)), first},
		"bound without annotation: the Scheduled condition": {
			rulesJob(diagv1.JobScheduled, diagv1.ReasonScheduled, "e", now), now},
		"unparsable annotation falls back to the condition": {
			annotated(rulesJob(diagv1.JobScheduled, diagv1.ReasonScheduled, "e", now), "yesterday"), now},
		"queued, never scheduled": {
			rulesJob(diagv1.JobQueued, diagv1.ReasonQueued, "", now), time.Time{}},
		"retryable failure without annotation: the condition is False": {
			rulesJob(diagv1.JobFailed, diagv1.ReasonEcuUnreachable, "e", now), time.Time{}},
		"queued again keeps the first scheduling": {
			annotated(rulesJob(diagv1.JobQueued, diagv1.ReasonAgentLost, "", now), first.Format(time.RFC3339)), first},
	}
	for name, tc := range cases {
		start, ok := tc.job.DeadlineStart()
		if ok != !tc.wantStart.IsZero() || !start.Equal(tc.wantStart) {
			t.Errorf("%s: DeadlineStart() = %v, %v; want %v", name, start, ok, tc.wantStart)
		}
		if _, ok := tc.job.Deadline(); ok {
			t.Errorf("%s: Deadline() without activeDeadlineSeconds reports one", name)
		}
		tc.job.Spec.ActiveDeadlineSeconds = &secs
		due, ok := tc.job.Deadline()
		if ok != !tc.wantStart.IsZero() || ok && !due.Equal(tc.wantStart.Add(time.Minute)) {
			t.Errorf("%s: Deadline() = %v, %v; want %v + 60 s", name, due, ok, tc.wantStart)
		}
		if d, ok := tc.job.ActiveDeadline(); !ok || d != time.Minute {
			t.Errorf("%s: ActiveDeadline() = %v, %v; want 1m", name, d, ok)
		}
	}
}

func TestFinishTime(t *testing.T) {
	done := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	completion := metav1.NewTime(done.Add(-time.Minute))
	cases := map[string]struct {
		job  *diagv1.DiagnosticJob
		want time.Time // zero: not finished
	}{
		"completionTime wins": {func() *diagv1.DiagnosticJob {
			j := rulesJob(diagv1.JobSucceeded, "", "", done)
			j.Status.CompletionTime = &completion
			return j
		}(), completion.Time},
		"Complete condition":    {rulesJob(diagv1.JobSucceeded, diagv1.ReasonSucceeded, "", done), done},
		"Failed condition":      {rulesJob(diagv1.JobFailed, diagv1.ReasonStepFailed, "", done), done},
		"running: not finished": {rulesJob(diagv1.JobRunning, diagv1.ReasonScheduled, "e", done), time.Time{}},
		"retryable: no verdict": {rulesJob(diagv1.JobFailed, diagv1.ReasonEcuUnreachable, "e", done), time.Time{}},
	}
	for name, tc := range cases {
		got, ok := tc.job.Status.FinishTime()
		if ok != !tc.want.IsZero() || !got.Equal(tc.want) {
			t.Errorf("%s: FinishTime() = %v, %v; want %v", name, got, ok, tc.want)
		}
	}
}

func TestBackoffLimit(t *testing.T) {
	three := int32(3)
	if got := (&diagv1.DiagnosticJob{}).BackoffLimit(); got != 0 {
		t.Errorf("unset backoffLimit = %d, want the API default 0", got)
	}
	j := &diagv1.DiagnosticJob{Spec: diagv1.DiagnosticJobSpec{BackoffLimit: &three}}
	if got := j.BackoffLimit(); got != 3 {
		t.Errorf("backoffLimit 3 = %d", got)
	}
}
