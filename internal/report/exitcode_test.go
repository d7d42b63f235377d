package report

import (
	"testing"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

func job(phase diagv1.JobPhase, reason string) diagv1.DiagnosticJob {
	return diagv1.DiagnosticJob{Status: diagv1.DiagnosticJobStatus{Phase: phase, Reason: reason}}
}

func TestExitCode(t *testing.T) {
	ok := job(diagv1.JobSucceeded, diagv1.ReasonSucceeded)
	stepFailed := job(diagv1.JobFailed, diagv1.ReasonStepFailed)
	for _, tc := range []struct {
		name     string
		jobs     []diagv1.DiagnosticJob
		timedOut bool
		want     int
	}{
		{"no jobs", nil, false, ExitSucceeded},
		{"all succeeded", []diagv1.DiagnosticJob{ok, ok}, false, ExitSucceeded},
		{"a step failed", []diagv1.DiagnosticJob{ok, stepFailed}, false, ExitStepFailed},
		{"agent lost after retries", []diagv1.DiagnosticJob{job(diagv1.JobFailed, diagv1.ReasonAgentLost)}, false, ExitNoVerdict},
		{"ECU unreachable", []diagv1.DiagnosticJob{job(diagv1.JobFailed, diagv1.ReasonEcuUnreachable)}, false, ExitNoVerdict},
		{"backoff limit exceeded", []diagv1.DiagnosticJob{job(diagv1.JobFailed, diagv1.ReasonBackoffLimitExceeded)}, false, ExitNoVerdict},
		{"deadline exceeded", []diagv1.DiagnosticJob{job(diagv1.JobFailed, diagv1.ReasonDeadlineExceeded)}, false, ExitNoVerdict},
		{"queue timeout", []diagv1.DiagnosticJob{job(diagv1.JobFailed, diagv1.ReasonQueueTimeout)}, false, ExitNoVerdict},
		{"cancelled", []diagv1.DiagnosticJob{job(diagv1.JobCancelled, diagv1.ReasonCancelled)}, false, ExitNoVerdict},
		{"still queued", []diagv1.DiagnosticJob{job(diagv1.JobQueued, diagv1.ReasonQueued)}, false, ExitNoVerdict},
		{"timeout with all succeeded", []diagv1.DiagnosticJob{ok}, true, ExitNoVerdict},
		{"timeout outranks a step failure", []diagv1.DiagnosticJob{stepFailed}, true, ExitNoVerdict},
		{"no verdict outranks a step failure", []diagv1.DiagnosticJob{stepFailed, job(diagv1.JobCancelled, "")}, false, ExitNoVerdict},
		{"failed without a reason is no verdict", []diagv1.DiagnosticJob{job(diagv1.JobFailed, "")}, false, ExitNoVerdict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ExitCode(tc.jobs, tc.timedOut); got != tc.want {
				t.Errorf("ExitCode = %d, want %d", got, tc.want)
			}
		})
	}
}
