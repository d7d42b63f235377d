package agent

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"k8s.io/utils/ptr"

	"github.com/ecufleet/ecufleet/api/v1alpha1"
)

func TestJudge(t *testing.T) {
	vin := []byte("\x62\xF1\x90ECUFLEETSIM000001")
	positive := stepAnswer{kind: answerUDS, request: []byte{0x22, 0xF1, 0x90}, response: vin, value: "ECUFLEETSIM000001"}
	nrc31 := byte(0x31)
	negative := stepAnswer{kind: answerUDS, request: []byte{0x22, 0x12, 0x34}, response: []byte{0x7F, 0x22, 0x31}, negative: true, nrc: &nrc31}
	denied := stepAnswer{kind: answerDoIP, response: []byte{0x02, 0xFD, 0x00, 0x06}, negative: true, value: "unsupported activation type (0x06)"}
	entity := stepAnswer{kind: answerDoIP, response: []byte{0x02, 0xFD, 0x40, 0x02}, value: "nodeType=Node maxSockets=4 openSockets=1"}
	for _, tc := range []struct {
		name   string
		expect *v1alpha1.Expectation
		o      stepAnswer
		pass   bool
		msg    string // a substring of the message
	}{
		{"no expectation, positive UDS", nil, positive, true, ""},
		{"no expectation, negative UDS", nil, negative, false, "0x31 requestOutOfRange"},
		{"empty expectation acts as none", &v1alpha1.Expectation{}, negative, false, "negative answer"},
		{"no expectation, DoIP answer", nil, entity, true, ""},
		{"no expectation, activation denied", nil, denied, false, "unsupported activation type"},
		{"transport error always fails", &v1alpha1.Expectation{Positive: ptr.To(false)},
			stepAnswer{kind: answerUDS, err: errors.New("no response within P2")}, false, "no response within P2"},
		{"expected NRC matches", &v1alpha1.Expectation{NRC: ptr.To(int32(0x31))}, negative, true, ""},
		{"expected NRC differs", &v1alpha1.Expectation{NRC: ptr.To(int32(0x33))}, negative, false, "expected NRC 0x33 securityAccessDenied, got NRC 0x31 requestOutOfRange"},
		{"expected NRC, got positive", &v1alpha1.Expectation{NRC: ptr.To(int32(0x31))}, positive, false, "expected NRC 0x31 requestOutOfRange, got positive answer 62 F1 90"},
		{"NRC on a DoIP step", &v1alpha1.Expectation{NRC: ptr.To(int32(0x31))}, entity, false, "applies only to UDS steps"},
		{"expected negative", &v1alpha1.Expectation{Positive: ptr.To(false)}, negative, true, ""},
		{"expected negative, got positive", &v1alpha1.Expectation{Positive: ptr.To(false)}, positive, false, "expected a negative answer"},
		{"expected positive, got negative", &v1alpha1.Expectation{Positive: ptr.To(true)}, negative, false, "expected a positive answer, got NRC 0x31"},
		{"expected denial", &v1alpha1.Expectation{Positive: ptr.To(false)}, denied, true, ""},
		{"whole response equal", &v1alpha1.Expectation{Response: "7F 22 31"}, negative, true, ""},
		{"whole response differs", &v1alpha1.Expectation{Response: "7F 22 33"}, negative, false, "expected response 7F 22 33, got 7F 22 31"},
		{"prefix", &v1alpha1.Expectation{ResponsePrefix: "62 f1 90"}, positive, true, ""},
		{"prefix longer than response", &v1alpha1.Expectation{ResponsePrefix: "7F 22 31 00"}, negative, false, "expected a response starting with 7F 22 31 00"},
		{"value equal", &v1alpha1.Expectation{Value: ptr.To("ECUFLEETSIM000001")}, positive, true, ""},
		{"value differs", &v1alpha1.Expectation{Value: ptr.To("WVW")}, positive, false, `expected value "WVW", got "ECUFLEETSIM000001"`},
		{"every member must hold", &v1alpha1.Expectation{Positive: ptr.To(true), Value: ptr.To("X")}, positive, false, `expected value "X"`},
		{"invalid hex is reported, not a panic", &v1alpha1.Expectation{Response: "7"}, negative, false, "expect.response"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := judgeStep(tc.expect, tc.o)
			if v.passed != tc.pass {
				t.Fatalf("passed = %v, want %v (message %q)", v.passed, tc.pass, v.message)
			}
			if !strings.Contains(v.message, tc.msg) {
				t.Fatalf("message %q does not contain %q", v.message, tc.msg)
			}
		})
	}
}

func TestJudgeKeepsNote(t *testing.T) {
	o := stepAnswer{kind: answerUDS, response: []byte{0x7E, 0x00}, note: reconnectedNote}
	if v := judgeStep(nil, o); !v.passed || v.message != reconnectedNote {
		t.Fatalf("got %+v, want a pass carrying the reconnect note", v)
	}
	o.err = errors.New("boom")
	if v := judgeStep(nil, o); v.passed || v.message != "boom ("+reconnectedNote+")" {
		t.Fatalf("got %+v, want the error with the note", v)
	}
}

func TestCutHex(t *testing.T) {
	if got := cutHex([]byte{0x22, 0xF1, 0x90}, maxResponseBytes); got != "22 F1 90" {
		t.Fatalf("short: got %q", got)
	}
	big := make([]byte, maxResponseBytes+10)
	got := cutHex(big, maxResponseBytes)
	if !strings.HasSuffix(got, " ... (cut, 4106 bytes)") {
		t.Fatalf("long: suffix of %q", got[len(got)-40:])
	}
	if want := maxResponseBytes*3 - 1 + len(" ... (cut, 4106 bytes)"); len(got) != want {
		t.Fatalf("long: %d characters, want %d (4 KiB of bytes kept)", len(got), want)
	}
	if got := cutHex(nil, 4); got != "" {
		t.Fatalf("empty: got %q", got)
	}
}

func TestRecordSpendsStatusBudget(t *testing.T) {
	at := &attempt{steps: make([]v1alpha1.StepStatus, 200)}
	resp := make([]byte, 3*maxResponseBytes)
	for i := range at.steps {
		at.record(i, stepAnswer{kind: answerUDS, request: []byte{0x22, 0xF1, 0x90}, response: resp}, stepVerdict{passed: true}, 0)
	}
	first, last := at.steps[0].Response, at.steps[len(at.steps)-1].Response
	if !strings.Contains(first, "(cut, 12288 bytes)") || len(first) < maxResponseBytes*3-1 {
		t.Fatalf("first response should keep 4 KiB: %d characters", len(first))
	}
	if len(last) > maxMessageBytes*3+40 {
		t.Fatalf("responses past the budget should keep %d bytes, kept %d characters", maxMessageBytes, len(last))
	}
	total := 0
	for _, s := range at.steps {
		total += len(s.Request) + len(s.Response)
	}
	if total > 3*(statusByteBudget+2*maxResponseBytes)+200*80 {
		t.Fatalf("status holds %d characters of hex, above the budget", total)
	}
	if at.steps[0].Phase != v1alpha1.StepPassed || progressOf(at.steps) != "200/200" {
		t.Fatalf("phase %s, progress %s", at.steps[0].Phase, progressOf(at.steps))
	}
}

func TestRecordCutsLongValues(t *testing.T) {
	long := strings.Repeat("AB ", 40<<10) // the hex of a 40 KiB DID
	at := &attempt{steps: make([]v1alpha1.StepStatus, 100)}
	for i := range at.steps {
		o := stepAnswer{kind: answerUDS, request: []byte{0x22, 0x01, 0x00}, response: []byte{0x62, 0x01, 0x00}, value: long}
		at.record(i, o, judgeStep(&v1alpha1.Expectation{Value: &long}, o), 0)
	}
	first, last := at.steps[0], at.steps[len(at.steps)-1]
	if first.Phase != v1alpha1.StepPassed {
		t.Fatalf("the whole value equals expect.value, yet the step %s: %s", first.Phase, first.Message)
	}
	if want := long[:maxResponseBytes] + fmt.Sprintf(" ... (cut, %d characters)", len(long)); first.Value != want {
		t.Fatalf("first value: %d characters ending %q, want 4096 kept and the cut marked", len(first.Value), first.Value[len(first.Value)-40:])
	}
	if !strings.HasPrefix(last.Value, long[:maxMessageBytes]+" ... (cut") {
		t.Fatalf("values past the budget should keep %d characters, kept %d", maxMessageBytes, len(last.Value))
	}
	total := 0
	for _, s := range at.steps {
		total += len(s.Value)
	}
	if total > statusByteBudget+2*maxResponseBytes+100*40 {
		t.Fatalf("status holds %d characters of values, above the budget", total)
	}
}

func TestJudgeQuotesValuesShort(t *testing.T) {
	got, want := strings.Repeat("X", 5000), "WAUZZZ8V5KA000001"
	v := judgeStep(&v1alpha1.Expectation{Value: &want}, stepAnswer{kind: answerUDS, response: []byte{0x62}, value: got})
	if v.passed || len(v.message) > 4*maxMessageBytes || !strings.Contains(v.message, "cut, 5000 characters") {
		t.Fatalf("got a %d-character message %q, want a failure quoting a cut value", len(v.message), v.message)
	}
}

// An attempt owns its job only while the job is this attempt on this agent, not yet finished:
// a late write of an ended attempt must not land on the next attempt, even on the same agent.
func TestAttemptOwns(t *testing.T) {
	r := &jobRunner{opts: Options{Name: "agent-a"}}
	at := &attempt{r: r, uid: "uid-1", attempts: 2}
	job := func(mut func(*v1alpha1.DiagnosticJob)) *v1alpha1.DiagnosticJob {
		j := &v1alpha1.DiagnosticJob{}
		j.UID, j.Status.Agent, j.Status.Attempts, j.Status.Phase = "uid-1", "agent-a", 2, v1alpha1.JobRunning
		mut(j)
		return j
	}
	for _, tc := range []struct {
		name string
		mut  func(*v1alpha1.DiagnosticJob)
		want bool
	}{
		{"running", func(*v1alpha1.DiagnosticJob) {}, true},
		{"scheduled", func(j *v1alpha1.DiagnosticJob) { j.Status.Phase = v1alpha1.JobScheduled }, true},
		{"the next attempt on this agent", func(j *v1alpha1.DiagnosticJob) { j.Status.Attempts = 3 }, false},
		{"another agent", func(j *v1alpha1.DiagnosticJob) { j.Status.Agent = "agent-b" }, false},
		{"recreated", func(j *v1alpha1.DiagnosticJob) { j.UID = "uid-2" }, false},
		{"queued again", func(j *v1alpha1.DiagnosticJob) { j.Status.Phase = v1alpha1.JobQueued }, false},
		{"finished", func(j *v1alpha1.DiagnosticJob) { j.Status.Phase = v1alpha1.JobFailed }, false},
	} {
		if got := at.owns(job(tc.mut)); got != tc.want {
			t.Errorf("%s: owns = %v, want %v", tc.name, got, tc.want)
		}
	}
}
