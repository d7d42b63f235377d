package controllers

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// The rules of ECU health checks, as pure functions of an ECU and its health jobs, so that the
// health checker, the queue and the table tests read them the same way.

// healthJobsKept is how many finished health jobs of an ECU are kept at least (more when
// failureThreshold needs them to count failures in a row); older ones are deleted.
const healthJobsKept = 3

// maxNameLength keeps generated names valid as label values and DNS labels.
const maxNameLength = 63

// shortName returns base+suffix, or, when that is longer than 63 characters, base cut and
// followed by a hash of base, so that distinct long bases never share a name.
func shortName(base, suffix string) string {
	if len(base)+len(suffix) <= maxNameLength {
		return base + suffix
	}
	sum := sha256.Sum256([]byte(base))
	suffix = "-" + hex.EncodeToString(sum[:4]) + suffix
	return strings.TrimRight(base[:maxNameLength-len(suffix)], "-.") + suffix
}

// healthLabelValue is the diag.ecufleet.io/health-check label value of an ECU's health jobs.
func healthLabelValue(ecu string) string { return shortName(ecu, "") }

// healthJobName names the health job of an ECU that falls due at due, so that a controller
// restarted (or reading a lagging cache) creates the same job again and gets AlreadyExists
// instead of a second check.
func healthJobName(ecu string, due time.Time) string {
	return shortName(ecu, fmt.Sprintf("-health-%d", due.Unix()))
}

// isHealthJob reports whether a job is the health check of the ECU it names: labelled for that
// ECU and controlled by it, so that the label alone does not let a user job jump the queue.
func isHealthJob(j *diagv1.DiagnosticJob) bool {
	ref := j.Spec.ECURef
	if ref == nil {
		return false
	}
	// The label first: a pass's queue order asks this of thousands of user jobs.
	if v, ok := j.Labels[diagv1.HealthCheckLabel]; !ok || v != healthLabelValue(ref.Name) {
		return false
	}
	owner := metav1.GetControllerOfNoCopy(j)
	return owner != nil && owner.Kind == "ECU" && owner.Name == ref.Name &&
		strings.HasPrefix(owner.APIVersion, diagv1.GroupName+"/")
}

// isHealthJobOf reports whether a job is the health check of the named ECU.
func isHealthJobOf(j *diagv1.DiagnosticJob, ecu string) bool {
	return isHealthJob(j) && j.Spec.ECURef.Name == ecu
}

// unhealthy reports whether an ECU takes no user jobs (it has a health check and its Healthy
// condition is False), and why.
func unhealthy(e *diagv1.ECU) (bool, string) {
	if e.Spec.HealthCheck == nil {
		return false, ""
	}
	c := meta.FindStatusCondition(e.Status.Conditions, diagv1.ConditionHealthy)
	if c == nil || c.Status != metav1.ConditionFalse {
		return false, ""
	}
	return true, c.Message
}

// healthHistory is an ECU's health jobs: the unfinished ones, and the finished ones newest
// first (by finish time, then name).
type healthHistory struct {
	unfinished []*diagv1.DiagnosticJob
	finished   []*diagv1.DiagnosticJob
}

// newHealthHistory sorts the health jobs of the named ECU out of jobs.
func newHealthHistory(ecu string, jobs []*diagv1.DiagnosticJob) healthHistory {
	var h healthHistory
	for _, j := range jobs {
		switch {
		case !isHealthJobOf(j, ecu):
		case j.Status.IsFinal():
			h.finished = append(h.finished, j)
		default:
			h.unfinished = append(h.unfinished, j)
		}
	}
	slices.SortFunc(h.finished, func(a, b *diagv1.DiagnosticJob) int {
		ta, _ := a.Status.FinishTime()
		tb, _ := b.Status.FinishTime()
		if c := tb.Compare(ta); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return h
}

// due is when the next check falls due: a period after the last one ended, or, before any
// check, at the ECU's creation; ok is false while a check is unfinished.
func (h healthHistory) due(e *diagv1.ECU) (time.Time, bool) {
	if len(h.unfinished) > 0 {
		return time.Time{}, false
	}
	if len(h.finished) == 0 {
		return e.CreationTimestamp.Time, true
	}
	end, _ := h.finished[0].Status.FinishTime()
	return end.Add(time.Duration(e.Spec.HealthCheck.PeriodSeconds) * time.Second), true
}

// expired are the finished jobs beyond the ones kept: healthJobsKept, or failureThreshold when
// that is more, so that failures in a row can still be counted.
func (h healthHistory) expired(e *diagv1.ECU) []*diagv1.DiagnosticJob {
	keep := max(healthJobsKept, int(e.Spec.HealthCheck.FailureThreshold))
	if len(h.finished) <= keep {
		return nil
	}
	return h.finished[keep:]
}

// healthVerdict is the Healthy condition an ECU should have after its finished checks: True
// when the newest passed, False when the newest failureThreshold (or more) failed in a row,
// and otherwise the current condition (fewer failures than the threshold change nothing), or
// Unknown before any check ended. Cancelled checks count neither way.
func healthVerdict(e *diagv1.ECU, h healthHistory, now time.Time) metav1.Condition {
	cond := func(status metav1.ConditionStatus, reason, message string) metav1.Condition {
		return metav1.Condition{Type: diagv1.ConditionHealthy, Status: status, Reason: reason, Message: message,
			ObservedGeneration: e.Generation, LastTransitionTime: metav1.NewTime(now)}
	}
	var streak int
	var newest *diagv1.DiagnosticJob
	for _, j := range h.finished {
		if j.Status.Phase == diagv1.JobCancelled {
			continue
		}
		if newest == nil {
			newest = j
		}
		if j.Status.Phase != diagv1.JobFailed {
			break
		}
		streak++
	}
	threshold := max(1, int(e.Spec.HealthCheck.FailureThreshold))
	switch {
	case newest != nil && newest.Status.Phase == diagv1.JobSucceeded:
		return cond(metav1.ConditionTrue, diagv1.ReasonHealthCheckPassed, fmt.Sprintf("Health check %s passed", newest.Name))
	case streak >= threshold:
		return cond(metav1.ConditionFalse, diagv1.ReasonHealthCheckFailed,
			fmt.Sprintf("%s (%d failed in a row, failureThreshold %d)", failedCheckMessage(newest), streak, threshold))
	}
	if c := meta.FindStatusCondition(e.Status.Conditions, diagv1.ConditionHealthy); c != nil && c.Status != metav1.ConditionUnknown {
		return *c
	}
	if newest != nil {
		return cond(metav1.ConditionUnknown, diagv1.ReasonHealthCheckPending,
			fmt.Sprintf("%s (%d of failureThreshold %d failed in a row)", failedCheckMessage(newest), streak, threshold))
	}
	return cond(metav1.ConditionUnknown, diagv1.ReasonHealthCheckPending, "Waiting for the first health check to finish")
}

// failedCheckMessage says which step of a failed health job failed and how (its NRC and the
// agent's expectation message), or the job's own reason when no step failed (e.g. a deadline).
func failedCheckMessage(j *diagv1.DiagnosticJob) string {
	for _, s := range j.Status.Steps {
		if s.Phase != diagv1.StepFailed {
			continue
		}
		msg := fmt.Sprintf("Health check %s failed at step %s", j.Name, s.Name)
		if s.NRC != "" {
			msg += ": NRC " + s.NRC
		}
		if s.Message != "" {
			msg += ": " + s.Message
		}
		return msg
	}
	return fmt.Sprintf("Health check %s failed (%s): %s", j.Name, j.Status.Reason, j.Status.Message)
}

// newHealthJob is the health job of an ECU that falls due at due: its healthCheck steps on
// that ECU, labelled for it and controlled by it (so it is deleted with the ECU).
func newHealthJob(e *diagv1.ECU, due time.Time) *diagv1.DiagnosticJob {
	yes := true
	j := &diagv1.DiagnosticJob{
		ObjectMeta: metav1.ObjectMeta{
			Name:      healthJobName(e.Name, due),
			Namespace: e.Namespace,
			Labels:    map[string]string{diagv1.HealthCheckLabel: healthLabelValue(e.Name)},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: diagv1.GroupVersion.String(), Kind: "ECU", Name: e.Name, UID: e.UID,
				Controller: &yes,
			}},
		},
		Spec: diagv1.DiagnosticJobSpec{
			ECURef: &diagv1.ECUReference{Name: e.Name},
			Steps:  make([]diagv1.Step, 0, len(e.Spec.HealthCheck.Steps)),
		},
	}
	for i := range e.Spec.HealthCheck.Steps {
		j.Spec.Steps = append(j.Spec.Steps, *e.Spec.HealthCheck.Steps[i].DeepCopy())
	}
	return j
}
