package controllers

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// TestQueueTimeout is a plain table test of the pure rule; it needs no API server.
func TestQueueTimeout(t *testing.T) {
	created := time.Date(2026, 12, 2, 18, 0, 0, 0, time.UTC)
	secs := func(n int64) *int64 { return &n }
	newJob := func(timeout *int64, mutate func(*diagv1.DiagnosticJob)) *diagv1.DiagnosticJob {
		j := &diagv1.DiagnosticJob{
			ObjectMeta: metav1.ObjectMeta{Name: "j", CreationTimestamp: metav1.NewTime(created)},
			Spec:       diagv1.DiagnosticJobSpec{QueueTimeoutSeconds: timeout},
			Status:     diagv1.DiagnosticJobStatus{Phase: diagv1.JobQueued, Reason: diagv1.ReasonQueued},
		}
		if mutate != nil {
			mutate(j)
		}
		return j
	}
	deleted := metav1.NewTime(created)
	for _, tc := range []struct {
		name        string
		job         *diagv1.DiagnosticJob
		now         time.Time
		wantExpired bool
		wantWake    time.Time
	}{
		{"unset: never", newJob(nil, nil), created.Add(time.Hour), false, time.Time{}},
		{"queued, before the limit: wake at the limit", newJob(secs(30), nil), created.Add(10 * time.Second), false, created.Add(30 * time.Second)},
		{"queued, at the limit", newJob(secs(30), nil), created.Add(30 * time.Second), true, time.Time{}},
		{"queued, past the limit", newJob(secs(30), nil), created.Add(time.Minute), true, time.Time{}},
		{"pending (new), past the limit", newJob(secs(5), func(j *diagv1.DiagnosticJob) { j.Status.Phase = "" }), created.Add(6 * time.Second), true, time.Time{}},
		{"scheduled: not queued any more", newJob(secs(5), func(j *diagv1.DiagnosticJob) {
			j.Status.Phase, j.Status.ECU, j.Status.Agent = diagv1.JobScheduled, "engine", "a0"
		}), created.Add(time.Minute), false, time.Time{}},
		{"queued again after a retry: was scheduled once", newJob(secs(5), func(j *diagv1.DiagnosticJob) {
			j.Annotations = map[string]string{diagv1.FirstScheduledAnnotation: created.Add(time.Second).Format(time.RFC3339)}
		}), created.Add(time.Minute), false, time.Time{}},
		{"already succeeded", newJob(secs(5), func(j *diagv1.DiagnosticJob) { j.Status.Phase = diagv1.JobSucceeded }), created.Add(time.Minute), false, time.Time{}},
		{"already failed by queue timeout", newJob(secs(5), func(j *diagv1.DiagnosticJob) {
			j.Status.Phase, j.Status.Reason = diagv1.JobFailed, "QueueTimeout"
		}), created.Add(time.Minute), false, time.Time{}},
		{"being deleted", newJob(secs(5), func(j *diagv1.DiagnosticJob) { j.DeletionTimestamp = &deleted }), created.Add(time.Minute), false, time.Time{}},
		{"no creation time yet", newJob(secs(5), func(j *diagv1.DiagnosticJob) { j.CreationTimestamp = metav1.Time{} }), created.Add(time.Minute), false, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expired, wake := queueTimeout(tc.job, tc.now)
			if expired != tc.wantExpired || !wake.Equal(tc.wantWake) {
				t.Errorf("queueTimeout = (%v, %v), want (%v, %v)", expired, wake, tc.wantExpired, tc.wantWake)
			}
		})
	}
}
