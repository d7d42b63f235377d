package controllers

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// jobMeta.changes answers, without copying, what applying it and comparing says: for every
// combination of wanted metadata and a job's current labels, annotations and finalizers.
func TestJobMetaChangesIsWhatApplyChanges(t *testing.T) {
	wants := []jobMeta{}
	for _, agent := range []struct{ set, drop bool }{{false, false}, {true, false}, {false, true}} {
		for _, fin := range []bool{false, true} {
			for _, mark := range []struct {
				first  string
				unmark bool
			}{{"", false}, {"2026-12-04T10:00:00Z", false}, {"", true}} {
				wants = append(wants, jobMeta{agent: "rack-1", setAgent: agent.set, dropAgent: agent.drop,
					finalizer: fin, firstStarted: mark.first, unmark: mark.unmark})
			}
		}
	}
	var jobs []*diagv1.DiagnosticJob
	for _, label := range []map[string]string{nil, {"team": "a"}, {diagv1.AgentLabel: "rack-1"}, {diagv1.AgentLabel: "rack-2"}} {
		for _, fins := range [][]string{nil, {diagv1.JobFinalizer}, {"other/finalizer"}} {
			for _, ann := range []map[string]string{nil, {diagv1.FirstScheduledAnnotation: "2026-12-04T10:00:00Z"}, {diagv1.FirstScheduledAnnotation: "2026-12-01T00:00:00Z"}} {
				jobs = append(jobs, &diagv1.DiagnosticJob{ObjectMeta: metav1.ObjectMeta{Name: "j", Labels: label, Finalizers: fins, Annotations: ann}})
			}
		}
	}
	for _, m := range wants {
		for _, j := range jobs {
			u := j.DeepCopy()
			m.apply(u)
			changed := !maps.Equal(u.Labels, j.Labels) || !maps.Equal(u.Annotations, j.Annotations) || !slices.Equal(u.Finalizers, j.Finalizers)
			name := fmt.Sprintf("%+v on labels %v, finalizers %v, annotations %v", m, j.Labels, j.Finalizers, j.Annotations)
			if got := m.changes(j); got != changed {
				t.Errorf("%s: changes = %v, but apply changed: %v", name, got, changed)
			}
			if m.changes(u) {
				t.Errorf("%s: still changes after apply", name)
			}
		}
	}
}
