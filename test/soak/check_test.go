package soak

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
	"github.com/ecufleet/ecufleet/internal/history"
)

// infrastructureReasons are the reasons a job may fail with because of a fault: no verdict of
// the ECU, the retries used up.
var infrastructureReasons = []string{
	diagv1.ReasonAgentLost, diagv1.ReasonAgentRestarted, diagv1.ReasonEcuUnreachable,
	diagv1.ReasonConnectionLost, diagv1.ReasonDeadlineExceeded, diagv1.ReasonBackoffLimitExceeded,
	diagv1.ReasonImageUnavailable,
}

// findings are the soak's figures, gathered at the end from the jobs, the watch history and
// the simulators' request logs.
type findings struct {
	jobs      int
	byKind    map[jobKind]int
	finished  map[string]int // "Phase" or "Phase/Reason" -> jobs
	attempts  int            // attempts of every job together
	retried   int            // jobs with more than one attempt
	retries   map[string]int // attempts that ended for a retry, by reason (from the history)
	flashRetr int            // flash jobs with more than one attempt
	writes    int            // 2E writes of a tag the simulators answered positively
	double    []string       // double bookings, each explained
	lost      []string       // step results missing from a Succeeded job, writes that never arrived
	duplicate []string       // step results reported twice, writes applied more often than attempts ran
	stuck     []string       // jobs not final at the end of the grace period
	unexplain []string       // failures that are not explained by a fault
	faulted   []string       // StepFailed jobs whose simulator was killed while they ran
	gaps      []string       // watch errors: the history may have holes
}

// bad counts the findings that must be zero.
func (f *findings) bad() int {
	return len(f.double) + len(f.lost) + len(f.duplicate) + len(f.stuck) + len(f.unexplain) + len(f.gaps)
}

// writeLine is the simulator's log line of a 2E write of DID F198 that it accepted.
var writeLine = regexp.MustCompile(`"request"="2E F1 98 ((?:[0-9A-F]{2} ?){10})" "response"="6E F1 98"`)

// countWrites reads the request logs of the simulator processes (every restart included) and
// counts the accepted writes of each tag.
func countWrites(logs []string) (map[string]int, error) {
	out := map[string]int{}
	for _, path := range logs {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			m := writeLine.FindStringSubmatch(sc.Text())
			if m == nil {
				continue
			}
			b, err := hex.DecodeString(strings.ReplaceAll(m[1], " ", ""))
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("%s: %q: %w", path, m[1], err)
			}
			out[string(b)]++
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
	}
	return out, nil
}

// watched is what check reads of the watch history (*history.Recorder).
type watched interface {
	Gaps() []string
	DoubleBookings() []history.DoubleBooking
	Holders(ecu string) []string
	Job(name string) []history.JobState
}

// check judges every created job by its final object, and the ECUs by the watch history.
func check(jobs []created, final map[string]*diagv1.DiagnosticJob, writes map[string]int, rec watched, sims []*sim) *findings {
	f := &findings{jobs: len(jobs), byKind: map[jobKind]int{}, finished: map[string]int{}, retries: map[string]int{}, gaps: rec.Gaps()}
	for _, d := range rec.DoubleBookings() {
		f.double = append(f.double, d.String())
	}
	owner := map[string]string{} // job -> its ECU
	for _, c := range jobs {
		owner[c.name] = c.sim.ecu
	}
	for _, s := range sims {
		for _, j := range rec.Holders(s.ecu) {
			if owner[j] != s.ecu {
				f.double = append(f.double, fmt.Sprintf("ECU %s was locked by job %s, which targets ECU %q", s.ecu, j, owner[j]))
			}
		}
	}
	for _, c := range jobs {
		f.byKind[c.kind]++
		j := final[c.name]
		if j == nil {
			f.lost = append(f.lost, fmt.Sprintf("job %s is gone", c.name))
			continue
		}
		st := j.Status
		f.attempts += int(st.Attempts)
		if st.Attempts > 1 {
			f.retried++
			if c.kind == kindFlash {
				f.flashRetr++
			}
		}
		f.countRetries(rec.Job(c.name))
		switch st.Phase {
		case diagv1.JobSucceeded, diagv1.JobFailed, diagv1.JobCancelled:
			f.finished[string(st.Phase)+"/"+st.Reason]++
		default:
			f.stuck = append(f.stuck, fmt.Sprintf("job %s is %s (%s) on ECU %s with agent %s, attempt %d: %s", c.name, st.Phase, st.Reason, st.ECU, st.Agent, st.Attempts, st.Message))
			continue
		}
		f.checkSteps(c, j)
		if c.kind == kindTagged {
			n := writes[c.tag]
			f.writes += n
			if n > int(st.Attempts) {
				f.duplicate = append(f.duplicate, fmt.Sprintf("job %s: the ECU accepted its write %d times in %d attempts", c.name, n, st.Attempts))
			}
			if st.Phase == diagv1.JobSucceeded && n == 0 {
				f.lost = append(f.lost, fmt.Sprintf("job %s succeeded, but no simulator logged its write", c.name))
			}
		}
		if st.Phase == diagv1.JobFailed && !slices.Contains(infrastructureReasons, st.Reason) {
			line := fmt.Sprintf("job %s (%s) failed with %s after %d attempts: %s", c.name, c.kind, st.Reason, st.Attempts, st.Message)
			if st.Reason == diagv1.ReasonStepFailed && c.sim.downWhile(j) {
				f.faulted = append(f.faulted, line)
			} else {
				f.unexplain = append(f.unexplain, line)
			}
		}
		if st.Phase == diagv1.JobCancelled {
			f.unexplain = append(f.unexplain, fmt.Sprintf("job %s was cancelled, which the soak never asks for", c.name))
		}
	}
	return f
}

// countRetries counts, from a job's watched states, each attempt that ended with a retry
// (queued again with an infrastructure reason), once per attempt.
func (f *findings) countRetries(states []history.JobState) {
	counted := map[int32]bool{}
	for _, st := range states {
		if st.Phase == diagv1.JobQueued && st.Attempts > 0 && slices.Contains(infrastructureReasons, st.Reason) && !counted[st.Attempts] {
			counted[st.Attempts] = true
			f.retries[st.Reason]++
		}
	}
}

// checkSteps looks at a final job's step results: each step of the spec at most once and in
// spec order, and every one of them Passed when the job Succeeded.
func (f *findings) checkSteps(c created, j *diagv1.DiagnosticJob) {
	want := make([]string, len(j.Spec.Steps))
	for i, s := range j.Spec.Steps {
		want[i] = s.Name
	}
	seen := map[string]int{}
	var got []string
	for _, s := range j.Status.Steps {
		seen[s.Name]++
		got = append(got, s.Name)
	}
	for name, n := range seen {
		if n > 1 {
			f.duplicate = append(f.duplicate, fmt.Sprintf("job %s: step %s reported %d times: %v", c.name, name, n, got))
		}
	}
	if len(got) > len(want) || !slices.Equal(got, want[:min(len(got), len(want))]) {
		if len(seen) == len(got) { // not already reported as a duplicate
			f.duplicate = append(f.duplicate, fmt.Sprintf("job %s: step results %v, not in the spec's order %v", c.name, got, want))
		}
	}
	if j.Status.Phase != diagv1.JobSucceeded {
		return
	}
	if c.kind == kindTagged && !slices.Equal(want, builders.TaggedSteps) {
		f.lost = append(f.lost, fmt.Sprintf("job %s: spec steps %v are not the tagged job's", c.name, want))
	}
	for i, name := range want {
		if i >= len(j.Status.Steps) || j.Status.Steps[i].Name != name {
			f.lost = append(f.lost, fmt.Sprintf("job %s succeeded without a result for step %s: %v", c.name, name, got))
			break
		}
		if p := j.Status.Steps[i].Phase; p != diagv1.StepPassed {
			f.lost = append(f.lost, fmt.Sprintf("job %s succeeded with step %s %s", c.name, name, p))
		}
	}
}

// downWhile reports whether the simulator was killed, or not yet back, at some time between
// the job's creation and its end (a second either side: the API's times are whole seconds).
func (s *sim) downWhile(j *diagv1.DiagnosticJob) bool {
	from := j.CreationTimestamp.Add(-time.Second)
	to := time.Now()
	if j.Status.CompletionTime != nil {
		to = j.Status.CompletionTime.Add(time.Second)
	}
	for _, w := range s.down {
		if w.from.Before(to) && w.to.After(from) {
			return true
		}
	}
	return false
}
