// Package report turns finished DiagnosticJobs into what a CI pipeline reads: one exit code
// for the whole run and a JUnit XML report, so the rules live in one place for run, wait and
// results.
package report

import (
	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// Exit codes of `ecufleet run`, `wait` and `results`; the highest that applies wins.
const (
	// ExitSucceeded: every job Succeeded.
	ExitSucceeded = 0
	// ExitStepFailed: a job Failed because a step failed (the ECU answered, wrongly).
	ExitStepFailed = 1
	// ExitNoVerdict: a job ended without the ECU's verdict (infrastructure, deadline, queue
	// timeout, cancelled or deleted), or --timeout passed before every job ended.
	ExitNoVerdict = 2
	// ExitNothingRun: nothing was run: an invalid or refused document, or a wrong command line.
	ExitNothingRun = 3
	// ExitSIGINT and ExitSIGTERM: the run was interrupted and deleted its jobs (128 + signal).
	ExitSIGINT  = 130
	ExitSIGTERM = 143
)

// JobExitCode is the exit code one job contributes. A job that has not ended (the wait gave
// up) and a job that ended without the ECU's verdict give ExitNoVerdict; only a step failure
// (reason StepFailed) gives ExitStepFailed.
func JobExitCode(s *diagv1.DiagnosticJobStatus) int {
	switch {
	case s.Phase == diagv1.JobSucceeded:
		return ExitSucceeded
	case s.Phase == diagv1.JobFailed && s.Reason == diagv1.ReasonStepFailed:
		return ExitStepFailed
	}
	return ExitNoVerdict
}

// ExitCode is the exit code of a run over jobs: the highest any job contributes, and
// ExitNoVerdict when timedOut (the wait ended before every job did). No jobs and no timeout
// is ExitSucceeded.
func ExitCode(jobs []diagv1.DiagnosticJob, timedOut bool) int {
	code := ExitSucceeded
	if timedOut {
		code = ExitNoVerdict
	}
	for i := range jobs {
		code = max(code, JobExitCode(&jobs[i].Status))
	}
	return code
}

// NoVerdict reports whether the job ended, or stopped being waited for, without the ECU
// answering every step it ran: its unfinished and unanswered steps are JUnit errors, not
// failures.
func NoVerdict(s *diagv1.DiagnosticJobStatus) bool {
	return JobExitCode(s) == ExitNoVerdict
}
