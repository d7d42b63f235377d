package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// progress prints what changed in the jobs: a line per ended step, per queue position and per
// job phase; on a terminal also a self-overwriting elapsed-time line, plain lines otherwise
// (CI logs).
type progress struct {
	w     io.Writer
	tty   bool
	start time.Time
	dirty bool             // the elapsed line is on screen
	steps map[string]bool  // "job/step" printed
	queue map[string]int32 // last printed queue position per job
	phase map[string]diagv1.JobPhase
}

func newProgress(w io.Writer) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	return &progress{w: w, tty: tty, start: time.Now(), steps: map[string]bool{}, queue: map[string]int32{}, phase: map[string]diagv1.JobPhase{}}
}

// ticker drives the elapsed line; it never fires off a terminal.
func (p *progress) ticker() *time.Ticker {
	t := time.NewTicker(time.Second)
	if !p.tty {
		t.Stop()
	}
	return t
}

func (p *progress) clear() {
	if p.dirty {
		fmt.Fprint(p.w, "\r\033[K")
		p.dirty = false
	}
}

func (p *progress) elapsed(ended, total int) {
	if !p.tty {
		return
	}
	fmt.Fprintf(p.w, "\r\033[K%s elapsed, %d/%d jobs ended", time.Since(p.start).Truncate(time.Second), ended, total)
	p.dirty = true
}

func (p *progress) printf(format string, a ...any) {
	p.clear()
	fmt.Fprintf(p.w, format, a...)
}

// job prints the new step results, queue position and phase of j.
func (p *progress) job(j *diagv1.DiagnosticJob) {
	st := &j.Status
	for _, s := range st.Steps {
		key := j.Name + "/" + s.Name
		if p.steps[key] || (s.Phase != diagv1.StepPassed && s.Phase != diagv1.StepFailed && s.Phase != diagv1.StepSkipped) {
			continue
		}
		p.steps[key] = true
		detail := s.Value
		if s.NRC != "" {
			detail = "NRC " + s.NRC
		}
		if s.Phase != diagv1.StepPassed && s.Message != "" {
			detail = joinNonEmpty(detail, s.Message)
		}
		p.printf("%s  %s  %s  %dms  %s\n", j.Name, s.Name, s.Phase, s.DurationMillis, detail)
	}
	if st.Phase == diagv1.JobQueued && st.QueuePosition > 0 && p.queue[j.Name] != st.QueuePosition {
		p.queue[j.Name] = st.QueuePosition
		p.printf("%s  queued: %s for %s\n", j.Name, ordinal(st.QueuePosition), queueTarget(j))
	}
	if st.Phase != "" && p.phase[j.Name] != st.Phase {
		p.phase[j.Name] = st.Phase
		switch {
		case st.Phase == diagv1.JobRunning:
			p.printf("%s  Running on %s (agent %s)\n", j.Name, st.ECU, st.Agent)
		case st.IsFinal():
			p.printf("%s  %s  %s\n", j.Name, st.Phase, joinNonEmpty(st.Reason, st.Message))
		}
	}
}

// queueTarget names what the job queues for: its ECU, or its selector.
func queueTarget(j *diagv1.DiagnosticJob) string {
	if j.Spec.ECURef != nil {
		return j.Spec.ECURef.Name
	}
	if j.Spec.ECUSelector != nil {
		return "ECUs matching " + formatSelector(j.Spec.ECUSelector.MatchLabels)
	}
	return "an ECU"
}

func formatSelector(m map[string]string) string {
	s := ""
	for k, v := range m {
		s = joinNonEmpty(s, k+"="+v)
	}
	return s
}

func joinNonEmpty(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + ": " + b
}

// ordinal is 1st, 2nd, 3rd, 4th, 11th, 21st.
func ordinal(n int32) string {
	suffix := "th"
	if n%100 < 11 || n%100 > 13 {
		switch n % 10 {
		case 1:
			suffix = "st"
		case 2:
			suffix = "nd"
		case 3:
			suffix = "rd"
		}
	}
	return fmt.Sprintf("%d%s", n, suffix)
}
