package devcluster

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// maxCell keeps table cells to one readable line; full values stay in `kubectl get dj -o yaml`.
const maxCell = 60

// Print writes the demo's outcome as three tables (ECUs, jobs, steps) and a verdict line, the
// way a lab engineer would read them after `kubectl get`; Err has the details of a failure.
func (r *DemoResult) Print(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ECU\tADDRESS\tLOGICAL\tREADY\tAGENT\tVIN")
	for _, e := range r.ECUs {
		fmt.Fprintf(tw, "%s\t%s:%d\t0x%04X\t%s\t%s\t%s\n", e.Name, e.Spec.Address, e.Spec.Port, e.Spec.LogicalAddress,
			conditionStatus(e.Status.Conditions, diagv1.ConditionReady), dash(e.Status.Agent), dash(e.Status.VIN))
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "JOB\tECU\tAGENT\tPRIORITY\tATTEMPTS\tSTEPS\tPHASE\tEXPECTED\tCHECK")
	for _, j := range r.Jobs {
		st := j.Job.Status
		check := "ok"
		if len(j.Problems) > 0 {
			check = "MISMATCH"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\n", j.Job.Name, dash(st.ECU), dash(st.Agent), j.Job.Spec.Priority,
			st.Attempts, dash(st.Progress), orPending(st.Phase), j.Expected, check)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "JOB\tSTEP\tPHASE\tMS\tRESULT")
	for _, j := range r.Jobs {
		for _, s := range j.Job.Status.Steps {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", j.Job.Name, s.Name, s.Phase, s.DurationMillis, cell(stepResult(s)))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	bad := len(r.Unfinished)
	for _, j := range r.Jobs {
		if len(j.Problems) > 0 && !slices.Contains(r.Unfinished, j.Job.Name) {
			bad++
		}
	}
	var err error
	if bad == 0 {
		_, err = fmt.Fprintf(w, "\nAll %d sample jobs ended as expected.\n", len(r.Jobs))
	} else {
		_, err = fmt.Fprintf(w, "\n%d of %d sample jobs did not end as expected (the error below says how).\n", bad, len(r.Jobs))
	}
	return err
}

// stepResult is the most telling part of a step's result: its decoded value, else its NRC,
// else the raw response, and for a step that did not pass, why.
func stepResult(s diagv1.StepStatus) string {
	var parts []string
	switch {
	case s.Value != "":
		parts = append(parts, strconv.Quote(s.Value))
	case s.NRC != "":
		parts = append(parts, "NRC "+s.NRC)
	case s.Response != "":
		parts = append(parts, s.Response)
	}
	if s.Phase != diagv1.StepPassed && s.Message != "" {
		parts = append(parts, s.Message)
	}
	return strings.Join(parts, ": ")
}

func conditionStatus(conds []metav1.Condition, typ string) string {
	if c := meta.FindStatusCondition(conds, typ); c != nil {
		return string(c.Status)
	}
	return "Unknown"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// cell cuts s to maxCell runes and keeps tabs and newlines out of the table.
func cell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > maxCell {
		return string(r[:maxCell-3]) + "..."
	}
	return s
}
