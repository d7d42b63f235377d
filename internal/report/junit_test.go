package report

import (
	"bytes"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func at(sec int) *metav1.Time {
	t := metav1.NewTime(time.Date(2026, 12, 2, 18, 0, sec, 0, time.UTC))
	return &t
}

func steps(names ...string) []diagv1.Step {
	var s []diagv1.Step
	for _, n := range names {
		s = append(s, diagv1.Step{Name: n, AliveCheck: &diagv1.AliveCheckAction{}})
	}
	return s
}

// goldenJobs are one job of each kind of ending: passed, failed by a step (with a skip behind
// it), ended by a lost agent mid-run, and cancelled while still queued.
func goldenJobs() []diagv1.DiagnosticJob {
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Namespace: "ci", Name: name, CreationTimestamp: *at(0),
			Labels: map[string]string{"diag.ecufleet.io/run": "r1", "suite": "smoke"}}
	}
	return []diagv1.DiagnosticJob{
		{
			ObjectMeta: meta("vin-abcde"),
			Spec:       diagv1.DiagnosticJobSpec{Steps: steps("session", "vin")},
			Status: diagv1.DiagnosticJobStatus{Phase: diagv1.JobSucceeded, Reason: diagv1.ReasonSucceeded,
				ECU: "engine", Agent: "agent-0", Attempts: 1, StartTime: at(1), CompletionTime: at(3),
				Steps: []diagv1.StepStatus{
					{Name: "session", Phase: diagv1.StepPassed, Request: "10 03", Response: "50 03 00 32 01 F4", DurationMillis: 12},
					{Name: "vin", Phase: diagv1.StepPassed, Request: "22 F1 90", Response: "62 F1 90 57 30 4C", Value: "W0L", DurationMillis: 8},
				}},
		},
		{
			ObjectMeta: meta("dtc-fghij"),
			Spec:       diagv1.DiagnosticJobSpec{Steps: steps("write", "read", "reset")},
			Status: diagv1.DiagnosticJobStatus{Phase: diagv1.JobFailed, Reason: diagv1.ReasonStepFailed,
				ECU: "engine", Agent: "agent-0", Attempts: 1, StartTime: at(4), CompletionTime: at(5),
				Steps: []diagv1.StepStatus{
					{Name: "write", Phase: diagv1.StepFailed, Request: "2E F1 90 00", Response: "7F 2E 31", NRC: "0x31 requestOutOfRange", DurationMillis: 5, Message: "negative response"},
					{Name: "read", Phase: diagv1.StepFailed, Request: "22 F1 90", Response: "62 F1 90 41", DurationMillis: 4, Message: "value \"A\" is not \"B\""},
					{Name: "reset", Phase: diagv1.StepSkipped, Message: "an earlier step failed"},
				}},
		},
		{
			ObjectMeta: meta("lost-klmno"),
			Spec:       diagv1.DiagnosticJobSpec{Steps: steps("a", "b")},
			Status: diagv1.DiagnosticJobStatus{Phase: diagv1.JobFailed, Reason: diagv1.ReasonAgentLost,
				ECU: "brake", Agent: "agent-1", Attempts: 1, StartTime: at(2), CompletionTime: at(12),
				Message: "agent agent-1 stopped renewing its Lease",
				Steps: []diagv1.StepStatus{
					{Name: "a", Phase: diagv1.StepPassed, Request: "3E 00", Response: "7E 00", DurationMillis: 3},
					{Name: "b", Phase: diagv1.StepRunning, Request: "31 01 FF 00"},
				}},
		},
		{
			ObjectMeta: meta("queued-pqrst"),
			Spec:       diagv1.DiagnosticJobSpec{Steps: steps("only")},
			Status:     diagv1.DiagnosticJobStatus{Phase: diagv1.JobCancelled, Reason: diagv1.ReasonCancelled, Message: "deleted while waiting"},
		},
	}
}

func TestWriteJUnitGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, goldenJobs(), VINs{"ci/engine": "W0L000051T2123456"}); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "junit.golden.xml")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read %s: %v (run go test ./internal/report -update to create it)", golden, err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("JUnit output differs from %s:\n%s", golden, buf.String())
	}
}

// TestJUnitCounts parses the output back and checks what CI tools count.
func TestJUnitCounts(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, goldenJobs(), nil); err != nil {
		t.Fatal(err)
	}
	var got TestSuites
	if err := xml.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("parse own output: %v", err)
	}
	type counts struct{ tests, failures, errors, skipped int }
	want := []counts{{2, 0, 0, 0}, {3, 2, 0, 1}, {2, 0, 1, 0}, {1, 0, 1, 0}}
	if len(got.Suites) != len(want) {
		t.Fatalf("%d suites, want %d", len(got.Suites), len(want))
	}
	for i, s := range got.Suites {
		c := counts{s.Tests, s.Failures, s.Errors, s.Skipped}
		if c != want[i] {
			t.Errorf("suite %s: %+v, want %+v", s.Name, c, want[i])
		}
		if len(s.Cases) != s.Tests {
			t.Errorf("suite %s: %d testcases, tests=%d", s.Name, len(s.Cases), s.Tests)
		}
	}
	if got.Tests != 8 || got.Failures != 2 || got.Errors != 2 || got.Skipped != 1 {
		t.Errorf("totals tests=%d failures=%d errors=%d skipped=%d, want 8 2 2 1", got.Tests, got.Failures, got.Errors, got.Skipped)
	}
	if m := got.Suites[1].Cases[0].Failure.Message; m != "0x31 requestOutOfRange" {
		t.Errorf("failure message %q, want the NRC", m)
	}
	if m := got.Suites[1].Cases[1].Failure.Message; m != `value "A" is not "B"` {
		t.Errorf("failure message %q, want the expectation", m)
	}
	if got.Suites[0].Hostname != "engine" || got.Suites[0].Timestamp != "2026-12-02T18:00:01" || got.Suites[0].Time != "2.000" {
		t.Errorf("suite 0 hostname=%q timestamp=%q time=%q", got.Suites[0].Hostname, got.Suites[0].Timestamp, got.Suites[0].Time)
	}
}
