package controllers

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
)

func TestHealthJobName(t *testing.T) {
	due := time.Unix(1767225600, 0)
	if got, want := healthJobName("brakes", due), "brakes-health-1767225600"; got != want {
		t.Errorf("healthJobName = %q, want %q", got, want)
	}
	long := strings.Repeat("a", 60) + "." + strings.Repeat("b", 60)
	other := strings.Repeat("a", 60) + "." + strings.Repeat("c", 60)
	for _, name := range []string{healthJobName(long, due), healthLabelValue(long)} {
		if len(name) > maxNameLength {
			t.Errorf("%q is %d characters, more than %d", name, len(name), maxNameLength)
		}
		if errs := validation.IsDNS1123Label(strings.ReplaceAll(name, ".", "-")); len(errs) > 0 {
			t.Errorf("%q is not a valid name: %v", name, errs)
		}
		if errs := validation.IsValidLabelValue(name); len(errs) > 0 {
			t.Errorf("%q is not a valid label value: %v", name, errs)
		}
	}
	if healthJobName(long, due) == healthJobName(other, due) {
		t.Errorf("two long ECU names with a common prefix share the health job name %q", healthJobName(long, due))
	}
	if healthJobName(long, due) != healthJobName(long, due) {
		t.Error("healthJobName is not deterministic")
	}
}

func TestHealthVerdict(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ecu := func(threshold int32) *builders.ECUWrapper {
		return builders.MakeECU("e0", "ns").HealthCheck(60, threshold, builders.ReadDID("vin", 0xF190))
	}
	// check is a finished health job of e0 that ended ago.
	check := func(ago time.Duration, phase diagv1.JobPhase) *diagv1.DiagnosticJob {
		j := newHealthJob(ecu(1).Obj(), now.Add(-ago-time.Minute))
		j.Status.Phase = phase
		j.Status.Reason = string(phase)
		if phase == diagv1.JobFailed {
			j.Status.Reason = diagv1.ReasonStepFailed
			j.Status.Steps = []diagv1.StepStatus{
				{Name: "session", Phase: diagv1.StepPassed},
				{Name: "vin", Phase: diagv1.StepFailed, NRC: "0x22 conditionsNotCorrect", Message: "want a positive response"},
			}
		}
		j.Status.CompletionTime = &metav1.Time{Time: now.Add(-ago)}
		return j
	}
	cases := map[string]struct {
		ecu         *builders.ECUWrapper
		jobs        []*diagv1.DiagnosticJob
		wantStatus  metav1.ConditionStatus
		wantReason  string
		wantMessage []string
	}{
		"no check yet": {
			ecu: ecu(1), wantStatus: metav1.ConditionUnknown, wantReason: diagv1.ReasonHealthCheckPending,
		},
		"the newest check passed": {
			ecu:        ecu(1),
			jobs:       []*diagv1.DiagnosticJob{check(time.Hour, diagv1.JobFailed), check(time.Minute, diagv1.JobSucceeded)},
			wantStatus: metav1.ConditionTrue, wantReason: diagv1.ReasonHealthCheckPassed,
		},
		"one failure reaches threshold 1, naming the step and its NRC": {
			ecu:        ecu(1).Condition(diagv1.ConditionHealthy, metav1.ConditionTrue, diagv1.ReasonHealthCheckPassed),
			jobs:       []*diagv1.DiagnosticJob{check(time.Hour, diagv1.JobSucceeded), check(time.Minute, diagv1.JobFailed)},
			wantStatus: metav1.ConditionFalse, wantReason: diagv1.ReasonHealthCheckFailed,
			wantMessage: []string{"step vin", "0x22 conditionsNotCorrect", "want a positive response", "1 failed in a row"},
		},
		"one failure under threshold 2 keeps Healthy": {
			ecu:        ecu(2).Condition(diagv1.ConditionHealthy, metav1.ConditionTrue, diagv1.ReasonHealthCheckPassed),
			jobs:       []*diagv1.DiagnosticJob{check(time.Hour, diagv1.JobSucceeded), check(time.Minute, diagv1.JobFailed)},
			wantStatus: metav1.ConditionTrue, wantReason: diagv1.ReasonHealthCheckPassed,
		},
		"two failures in a row reach threshold 2; a cancelled check counts neither way": {
			ecu: ecu(2).Condition(diagv1.ConditionHealthy, metav1.ConditionTrue, diagv1.ReasonHealthCheckPassed),
			jobs: []*diagv1.DiagnosticJob{
				check(3*time.Hour, diagv1.JobSucceeded), check(2*time.Hour, diagv1.JobFailed),
				check(time.Hour, diagv1.JobCancelled), check(time.Minute, diagv1.JobFailed),
			},
			wantStatus: metav1.ConditionFalse, wantReason: diagv1.ReasonHealthCheckFailed, wantMessage: []string{"2 failed in a row"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := tc.ecu.Obj()
			got := healthVerdict(e, newHealthHistory(e.Name, tc.jobs), now)
			if got.Type != diagv1.ConditionHealthy || got.Status != tc.wantStatus || got.Reason != tc.wantReason {
				t.Errorf("verdict = %s=%s (%s), want %s (%s)", got.Type, got.Status, got.Reason, tc.wantStatus, tc.wantReason)
			}
			for _, want := range tc.wantMessage {
				if !strings.Contains(got.Message, want) {
					t.Errorf("message %q does not contain %q", got.Message, want)
				}
			}
		})
	}
}

func TestHealthHistoryDueAndExpired(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	e := builders.MakeECU("e0", "ns").HealthCheck(60, 1, builders.TesterPresent("tp")).Obj()
	e.CreationTimestamp = metav1.NewTime(now.Add(-time.Hour))
	if due, ok := newHealthHistory("e0", nil).due(e); !ok || !due.Equal(e.CreationTimestamp.Time) {
		t.Errorf("first check due = %v, %v; want the ECU's creation %v", due, ok, e.CreationTimestamp.Time)
	}
	var jobs []*diagv1.DiagnosticJob
	for i := range 5 {
		j := newHealthJob(e, now.Add(-time.Duration(10-i)*time.Minute))
		j.Status.Phase = diagv1.JobSucceeded
		j.Status.CompletionTime = &metav1.Time{Time: now.Add(-time.Duration(9-i) * time.Minute)}
		jobs = append(jobs, j)
	}
	user := builders.MakeJob("user", "ns").ECU("e0").Label(diagv1.HealthCheckLabel, "e0").Obj() // not owned: not a check
	h := newHealthHistory("e0", append(jobs, user))
	if due, ok := h.due(e); !ok || !due.Equal(now.Add(-5*time.Minute+time.Minute)) {
		t.Errorf("due = %v, %v; want a period after the newest check ended", due, ok)
	}
	expired := h.expired(e)
	if len(expired) != 2 || expired[0] != jobs[1] || expired[1] != jobs[0] {
		t.Errorf("expired = %d jobs, want the 2 oldest of 5 (3 kept)", len(expired))
	}
	e.Spec.HealthCheck.FailureThreshold = 4
	if n := len(h.expired(e)); n != 1 {
		t.Errorf("with failureThreshold 4, %d expired, want 1 (4 kept to count failures)", n)
	}
	pending := newHealthJob(e, now)
	if _, ok := newHealthHistory("e0", append(jobs, pending)).due(e); ok {
		t.Error("a check is due while another is unfinished")
	}
}
