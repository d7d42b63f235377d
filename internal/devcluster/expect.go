package devcluster

import (
	"fmt"
	"strings"
	"time"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// Annotations by which a sample job says how it must end, so that `ecufleet demo` can tell a
// job that fails on purpose (a negative ECU) from a broken demo.
const (
	// AnnotationExpect is the final phase the job must reach: Succeeded, Failed or Cancelled.
	AnnotationExpect = diagv1.GroupName + "/demo-expect"
	// AnnotationExpectSteps lists step phases the job must show: "vin=Failed, tester-present=Skipped".
	AnnotationExpectSteps = diagv1.GroupName + "/demo-expect-steps"
	// AnnotationFinishesBefore names a job that must not start before this one finished, which
	// shows priority winning over creation order.
	AnnotationFinishesBefore = diagv1.GroupName + "/demo-finishes-before"
)

// expectation is a job's parsed demo annotations.
type expectation struct {
	phase          diagv1.JobPhase
	steps          []stepExpectation
	finishesBefore string
}

// stepExpectation is one entry of AnnotationExpectSteps.
type stepExpectation struct {
	name  string
	phase diagv1.StepPhase
}

// parseExpectation reads and validates a job's demo annotations against its spec.
func parseExpectation(job *diagv1.DiagnosticJob) (expectation, error) {
	var e expectation
	switch p := diagv1.JobPhase(job.Annotations[AnnotationExpect]); p {
	case diagv1.JobSucceeded, diagv1.JobFailed, diagv1.JobCancelled:
		e.phase = p
	case "":
		return e, fmt.Errorf("annotation %s is missing: say how the job must end (Succeeded, Failed or Cancelled)", AnnotationExpect)
	default:
		return e, fmt.Errorf("annotation %s is %q: want Succeeded, Failed or Cancelled", AnnotationExpect, p)
	}
	if list := strings.TrimSpace(job.Annotations[AnnotationExpectSteps]); list != "" {
		for item := range strings.SplitSeq(list, ",") {
			name, phase, ok := strings.Cut(strings.TrimSpace(item), "=")
			name, phase = strings.TrimSpace(name), strings.TrimSpace(phase)
			if !ok || name == "" {
				return e, fmt.Errorf("annotation %s: %q is not step=Phase (e.g. vin=Failed)", AnnotationExpectSteps, item)
			}
			if !hasStep(job, name) {
				return e, fmt.Errorf("annotation %s names step %q, which spec.steps does not have", AnnotationExpectSteps, name)
			}
			switch p := diagv1.StepPhase(phase); p {
			case diagv1.StepPassed, diagv1.StepFailed, diagv1.StepSkipped:
				e.steps = append(e.steps, stepExpectation{name: name, phase: p})
			default:
				return e, fmt.Errorf("annotation %s: step %s phase %q: want Passed, Failed or Skipped", AnnotationExpectSteps, name, phase)
			}
		}
	}
	e.finishesBefore = strings.TrimSpace(job.Annotations[AnnotationFinishesBefore])
	if e.finishesBefore == job.Name {
		return e, fmt.Errorf("annotation %s names the job itself", AnnotationFinishesBefore)
	}
	return e, nil
}

func hasStep(job *diagv1.DiagnosticJob, name string) bool {
	for _, s := range job.Spec.Steps {
		if s.Name == name {
			return true
		}
	}
	return false
}

// check compares a job's status with the expectation; jobs holds the other jobs of the rack by
// name, as last read. It returns one line per mismatch, none when the job ended as expected.
func (e expectation) check(job *diagv1.DiagnosticJob, jobs map[string]*diagv1.DiagnosticJob) []string {
	var problems []string
	if job.Status.Phase != e.phase {
		why := job.Status.Message
		if why == "" {
			why = "no message"
		}
		problems = append(problems, fmt.Sprintf("phase is %s, expected %s (%s)", orNone(string(job.Status.Phase)), e.phase, why))
	}
	for _, want := range e.steps {
		got := stepStatus(job, want.name)
		switch {
		case got == nil:
			problems = append(problems, fmt.Sprintf("step %s has no result, expected %s", want.name, want.phase))
		case got.Phase != want.phase:
			problems = append(problems, fmt.Sprintf("step %s is %s, expected %s (%s)", want.name, orNone(string(got.Phase)), want.phase, orNone(got.Message)))
		}
	}
	if e.finishesBefore != "" {
		if p := finishedBefore(job, jobs[e.finishesBefore]); p != "" {
			problems = append(problems, p)
		}
	}
	return problems
}

// finishedBefore checks that job completed no later than other started. Both times have
// one-second resolution, so equal times pass: the sample jobs run for more than a second, so a
// wrong order always shows as a later completion.
func finishedBefore(job, other *diagv1.DiagnosticJob) string {
	switch {
	case other == nil:
		return "the job it must finish before does not exist"
	case job.Status.CompletionTime == nil:
		return fmt.Sprintf("has no completionTime, so it cannot be shown to finish before %s", other.Name)
	case other.Status.StartTime == nil:
		return fmt.Sprintf("%s has no startTime, so this job cannot be shown to finish before it", other.Name)
	}
	done, start := job.Status.CompletionTime.Time, other.Status.StartTime.Time
	if done.After(start) {
		return fmt.Sprintf("finished at %s, after %s started at %s: expected it to run first (priority %d vs %d)",
			done.Format(time.TimeOnly), other.Name, start.Format(time.TimeOnly), job.Spec.Priority, other.Spec.Priority)
	}
	return ""
}

func stepStatus(job *diagv1.DiagnosticJob, name string) *diagv1.StepStatus {
	for i := range job.Status.Steps {
		if job.Status.Steps[i].Name == name {
			return &job.Status.Steps[i]
		}
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
