package soak

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
	"github.com/ecufleet/ecufleet/internal/history"
)

// fakeHistory is a watch history written by hand, for TestCheckFindsEachProblem.
type fakeHistory struct {
	gaps    []string
	doubles []history.DoubleBooking
	holders map[string][]string
	jobs    map[string][]history.JobState
}

func (h fakeHistory) Gaps() []string                          { return h.gaps }
func (h fakeHistory) DoubleBookings() []history.DoubleBooking { return h.doubles }
func (h fakeHistory) Holders(ecu string) []string             { return h.holders[ecu] }
func (h fakeHistory) Job(name string) []history.JobState      { return h.jobs[name] }

// TestCheckFindsEachProblem runs without -soak.duration: the soak's judge must see each kind
// of problem it reports, and pass a clean run, or a 20-minute soak proves nothing.
func TestCheckFindsEachProblem(t *testing.T) {
	s0 := &sim{ecu: "ecu-0", vin: "ECUFLEETSOAK00000"}
	s1 := &sim{ecu: "ecu-1", vin: "ECUFLEETSOAK00001"}
	now := time.Now()
	s1.down = []window{{from: now.Add(-time.Minute), to: now.Add(-50 * time.Second)}}
	tagged := func(name, tag string, s *sim, phase diagv1.JobPhase, reason string, attempts int32, steps ...string) (created, *diagv1.DiagnosticJob) {
		j := builders.TaggedJob(name, namespace, s.ecu, s.vin, tag, time.Second).Obj()
		j.CreationTimestamp = metav1.NewTime(now.Add(-2 * time.Minute))
		done := metav1.NewTime(now.Add(-40 * time.Second))
		j.Status = diagv1.DiagnosticJobStatus{Phase: phase, Reason: reason, Attempts: attempts, ECU: s.ecu, CompletionTime: &done}
		for _, n := range steps {
			j.Status.Steps = append(j.Status.Steps, diagv1.StepStatus{Name: n, Phase: diagv1.StepPassed})
		}
		return created{name: name, kind: kindTagged, sim: s, tag: tag}, j
	}
	all := builders.TaggedSteps
	var jobs []created
	final := map[string]*diagv1.DiagnosticJob{}
	add := func(c created, j *diagv1.DiagnosticJob) { jobs = append(jobs, c); final[c.name] = j }
	add(tagged("ok", "SOAK000000", s0, diagv1.JobSucceeded, diagv1.ReasonSucceeded, 2, all...))
	add(tagged("retried-out", "SOAK000001", s0, diagv1.JobFailed, diagv1.ReasonBackoffLimitExceeded, 4, all[:2]...))
	writes := map[string]int{"SOAK000000": 2, "SOAK000001": 4}
	h := fakeHistory{holders: map[string][]string{"ecu-0": {"ok", "retried-out"}}, jobs: map[string][]history.JobState{
		"ok": {{Phase: diagv1.JobRunning, Attempts: 1}, {Phase: diagv1.JobQueued, Reason: diagv1.ReasonAgentLost, Attempts: 1}, {Phase: diagv1.JobSucceeded, Attempts: 2}},
	}}
	clean := check(jobs, final, writes, h, []*sim{s0, s1})
	if clean.bad() != 0 || clean.retries[diagv1.ReasonAgentLost] != 1 || clean.finished["Succeeded/Succeeded"] != 1 {
		t.Fatalf("a clean run: %+v", clean)
	}

	add(tagged("lost-step", "SOAK000002", s0, diagv1.JobSucceeded, diagv1.ReasonSucceeded, 1, all[:6]...))
	add(tagged("twice", "SOAK000003", s0, diagv1.JobSucceeded, diagv1.ReasonSucceeded, 1, append(all, "default")...))
	add(tagged("write-twice", "SOAK000004", s0, diagv1.JobSucceeded, diagv1.ReasonSucceeded, 1, all...))
	add(tagged("no-write", "SOAK000005", s0, diagv1.JobSucceeded, diagv1.ReasonSucceeded, 1, all...))
	add(tagged("stuck", "SOAK000006", s0, diagv1.JobRunning, diagv1.ReasonScheduled, 1, all[:3]...))
	add(tagged("wrong-answer", "SOAK000007", s0, diagv1.JobFailed, diagv1.ReasonStepFailed, 1, all[:4]...))
	add(tagged("sim-restarted", "SOAK000008", s1, diagv1.JobFailed, diagv1.ReasonStepFailed, 1, all[:4]...))
	for _, tag := range []string{"SOAK000002", "SOAK000003", "SOAK000006", "SOAK000007", "SOAK000008"} {
		writes[tag] = 1
	}
	writes["SOAK000004"] = 2
	h.doubles = []history.DoubleBooking{{ECU: "ecu-0", Job: "ok", Other: "twice", ResourceVersion: "7"}}
	h.holders["ecu-1"] = []string{"ok"}
	h.gaps = []string{"watch: 410 Gone"}
	f := check(jobs, final, writes, h, []*sim{s0, s1})
	for _, tc := range []struct {
		what  string
		lines []string
		want  []string
	}{
		{"double bookings", f.double, []string{"ECU ecu-0 bound to job ok while job twice", "ECU ecu-1 was locked by job ok"}},
		{"lost", f.lost, []string{"job lost-step succeeded without a result for step default", "job no-write succeeded, but no simulator logged its write"}},
		{"duplicated", f.duplicate, []string{"job twice: step default reported 2 times", "job write-twice: the ECU accepted its write 2 times in 1 attempts"}},
		{"stuck", f.stuck, []string{"job stuck is Running"}},
		{"unexplained", f.unexplain, []string{"job wrong-answer (tagged) failed with StepFailed"}},
		{"fault-made", f.faulted, []string{"job sim-restarted (tagged) failed with StepFailed"}},
		{"gaps", f.gaps, []string{"410 Gone"}},
	} {
		if len(tc.lines) != len(tc.want) {
			t.Errorf("%s: %d findings %q, want %d", tc.what, len(tc.lines), tc.lines, len(tc.want))
			continue
		}
		for i, w := range tc.want {
			if !strings.Contains(tc.lines[i], w) {
				t.Errorf("%s[%d] = %q, want it to contain %q", tc.what, i, tc.lines[i], w)
			}
		}
	}
	if n := f.bad(); n != 9 {
		t.Errorf("bad() = %d, want 9 (every finding but the fault-made failure)", n)
	}
}
