package controllers

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// maxScheduleNameLength keeps run ids and job names within 63 characters, the limit of a
// label value (the run id is one) and of the names the agent derives from a job's (<job>-trace).
const maxScheduleNameLength = 63

// runTimeFormat writes a tick into run ids: UTC to the second, sortable, lower case.
const runTimeFormat = "20060102t150405"

// ScheduleRunID is the run id of a schedule's tick, <schedule>-<tick>: the same tick always
// gives the same id, so a restarted controller finds the run it started instead of a new one.
func ScheduleRunID(schedule string, tick time.Time) string {
	return boundedName(schedule + "-" + tick.UTC().Format(runTimeFormat))
}

// scheduleJobName is the name of a run's job: the run id, and with forEachECU -<ecu> after it.
func scheduleJobName(runID, ecu string) string {
	if ecu == "" {
		return runID
	}
	return boundedName(runID + "-" + ecu)
}

// boundedName returns full when it fits in 63 characters, else its head cut to fit
// "-<8 hex digits of its SHA-256>", which keeps different long names different.
func boundedName(full string) string {
	if len(full) <= maxScheduleNameLength {
		return full
	}
	sum := sha256.Sum256([]byte(full))
	suffix := "-" + hex.EncodeToString(sum[:4])
	head := strings.TrimRight(full[:maxScheduleNameLength-len(suffix)], "-.")
	return head + suffix
}

// ScheduleRunJobs builds the jobs of one run of s for tick: one job from the template, or with
// ecus one job per ECU with ecuRef set to it. Each is labelled with the schedule and run,
// annotated with the tick and owned by the schedule, so the schedule finds, counts and
// garbage-collects its runs; `ecufleet run --from schedule/NAME` builds its run the same way.
func ScheduleRunJobs(s *diagv1.DiagnosticSchedule, tick time.Time, ecus []string) []*diagv1.DiagnosticJob {
	id := ScheduleRunID(s.Name, tick)
	owner := metav1.NewControllerRef(s, diagv1.GroupVersion.WithKind("DiagnosticSchedule"))
	build := func(ecu string) *diagv1.DiagnosticJob {
		t := s.Spec.JobTemplate.DeepCopy()
		j := &diagv1.DiagnosticJob{
			ObjectMeta: metav1.ObjectMeta{
				Name:            scheduleJobName(id, ecu),
				Namespace:       s.Namespace,
				Labels:          t.Metadata.Labels,
				Annotations:     t.Metadata.Annotations,
				OwnerReferences: []metav1.OwnerReference{*owner},
			},
			Spec: t.Spec,
		}
		if j.Labels == nil {
			j.Labels = map[string]string{}
		}
		j.Labels[diagv1.ScheduleLabel] = s.Name
		j.Labels[diagv1.RunLabel] = id
		if j.Annotations == nil {
			j.Annotations = map[string]string{}
		}
		j.Annotations[diagv1.ScheduledTimeAnnotation] = tick.UTC().Format(time.RFC3339)
		if ecu != "" {
			j.Spec.ECURef = &diagv1.ECUReference{Name: ecu}
			j.Spec.ECUSelector = nil
		}
		return j
	}
	if s.Spec.ForEachECU == nil {
		return []*diagv1.DiagnosticJob{build("")}
	}
	jobs := make([]*diagv1.DiagnosticJob, 0, len(ecus))
	for _, e := range ecus {
		jobs = append(jobs, build(e))
	}
	return jobs
}
