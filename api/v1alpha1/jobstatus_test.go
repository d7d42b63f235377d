package v1alpha1_test

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

func TestSetConditionsFollowsPhaseAndReason(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		phase     diagv1.JobPhase
		reason    string
		scheduled metav1.ConditionStatus
		final     string // the True final condition, or none
	}{
		{"queued", diagv1.JobQueued, diagv1.ReasonEcuCordoned, metav1.ConditionFalse, ""},
		{"scheduled", diagv1.JobScheduled, diagv1.ReasonScheduled, metav1.ConditionTrue, ""},
		{"running", diagv1.JobRunning, diagv1.ReasonScheduled, metav1.ConditionTrue, ""},
		{"succeeded", diagv1.JobSucceeded, diagv1.ReasonSucceeded, metav1.ConditionFalse, diagv1.ConditionComplete},
		{"failed", diagv1.JobFailed, diagv1.ReasonStepFailed, metav1.ConditionFalse, diagv1.ConditionFailed},
		{"failed retryably: no verdict yet", diagv1.JobFailed, diagv1.ReasonEcuUnreachable, metav1.ConditionFalse, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := diagv1.DiagnosticJobStatus{Phase: tc.phase, Reason: tc.reason}
			st.SetConditions(1, now)
			if c := meta.FindStatusCondition(st.Conditions, diagv1.ConditionScheduled); c == nil || c.Status != tc.scheduled {
				t.Errorf("Scheduled condition = %+v, want status %s", c, tc.scheduled)
			}
			for _, typ := range []string{diagv1.ConditionComplete, diagv1.ConditionFailed} {
				c := meta.FindStatusCondition(st.Conditions, typ)
				switch {
				case typ == tc.final && (c == nil || c.Status != metav1.ConditionTrue || c.Reason != tc.reason):
					t.Errorf("%s condition = %+v, want True with reason %s", typ, c, tc.reason)
				case typ != tc.final && c != nil:
					t.Errorf("unexpected %s condition %+v", typ, c)
				}
			}
		})
	}
}

func TestSetConditionsDropsTheFinalConditionWhenAJobRunsAgain(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	st := diagv1.DiagnosticJobStatus{Phase: diagv1.JobFailed, Reason: diagv1.ReasonStepFailed}
	st.SetConditions(1, now)
	st.Phase, st.Reason = diagv1.JobQueued, diagv1.ReasonQueued
	st.SetConditions(1, now)
	if c := meta.FindStatusCondition(st.Conditions, diagv1.ConditionFailed); c != nil {
		t.Errorf("Failed condition survived a requeue: %+v", c)
	}
}

func TestSetConditionsIsStableWhileTheAgentRewritesTheMessage(t *testing.T) {
	st := diagv1.DiagnosticJobStatus{Phase: diagv1.JobRunning, ECU: "ecu-0", Agent: "a", Message: "step 1"}
	st.SetConditions(1, time.Unix(100, 0))
	before := st.DeepCopy().Conditions
	st.Message = "step 2"
	st.SetConditions(1, time.Unix(200, 0))
	if len(st.Conditions) != len(before) || st.Conditions[0] != before[0] {
		t.Errorf("conditions changed with the message: %+v, was %+v", st.Conditions, before)
	}
}
