package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/report"
)

func newResultsCmd() *cobra.Command {
	f := &selectFlags{}
	cmd := &cobra.Command{
		Use:   "results JOB... | -l SELECTOR",
		Short: "Print the results of existing DiagnosticJobs as a table, JSON or JUnit XML; exit as run would",
		Example: `  {{.CommandPath}} -l ` + diagv1.RunLabel + `=20261202t183000-1a2b3c -o junit > report.xml
  {{.CommandPath}} -n lab read-vin-x7k2p -o json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			sel, err := f.pick(args)
			if err != nil {
				return err
			}
			if err := checkOutput(f.output, true); err != nil {
				return err
			}
			c, err := f.connect()
			if err != nil {
				return err
			}
			jobs, err := getJobs(cmd.Context(), c, args, sel)
			if err != nil {
				return err
			}
			code := report.ExitCode(jobs, false)
			out := cmd.OutOrStdout()
			if f.output == "junit" {
				if err := report.WriteJUnit(out, jobs, vinsOf(cmd.Context(), c, jobs)); err != nil {
					return err
				}
				return exitCode(code)
			}
			if err := printSummary(out, f.output, jobs, code); err != nil {
				return err
			}
			if f.output == "table" {
				printSteps(out, jobs)
			}
			return exitCode(code)
		},
	}
	cmd.Example = examples(cmd.Example, "results")
	f.bind(cmd, false)
	cmd.Flags().StringVarP(&f.output, "output", "o", "table", "table, json or junit")
	return cmd
}

// getJobs reads the named jobs, or those matching sel.
func getJobs(ctx context.Context, c *ciClient, names []string, sel client.ListOption) ([]diagv1.DiagnosticJob, error) {
	if sel != nil {
		var l diagv1.DiagnosticJobList
		if err := c.List(ctx, &l, client.InNamespace(c.namespace), sel); err != nil {
			if e := c.unreachable("list the jobs", err); e != nil {
				return nil, e
			}
			return nil, exitf(report.ExitNothingRun, "list the jobs in %s: %v", c.namespace, err)
		}
		if len(l.Items) == 0 {
			return nil, exitf(report.ExitNothingRun, "no DiagnosticJob in %s matches the selector", c.namespace)
		}
		return l.Items, nil
	}
	var jobs []diagv1.DiagnosticJob
	for _, n := range names {
		j := diagv1.DiagnosticJob{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: c.namespace, Name: n}, &j); err != nil {
			if e := c.unreachable("get job "+n, err); e != nil {
				return nil, e
			}
			return nil, exitf(report.ExitNothingRun, "diagnosticjob %s/%s: %v", c.namespace, n, err)
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
}

// jobSummary is one job in -o json.
type jobSummary struct {
	Namespace string              `json:"namespace"`
	Name      string              `json:"name"`
	Phase     diagv1.JobPhase     `json:"phase"`
	Reason    string              `json:"reason,omitempty"`
	Message   string              `json:"message,omitempty"`
	ECU       string              `json:"ecu,omitempty"`
	Agent     string              `json:"agent,omitempty"`
	Attempts  int32               `json:"attempts"`
	ExitCode  int                 `json:"exitCode"`
	Steps     []diagv1.StepStatus `json:"steps"`
}

// printSummary prints the jobs as a table, or as JSON {"exitCode", "jobs"}.
func printSummary(w io.Writer, output string, jobs []diagv1.DiagnosticJob, code int) error {
	if output == "json" {
		doc := struct {
			ExitCode int          `json:"exitCode"`
			Jobs     []jobSummary `json:"jobs"`
		}{ExitCode: code, Jobs: []jobSummary{}}
		for _, j := range jobs {
			doc.Jobs = append(doc.Jobs, jobSummary{Namespace: j.Namespace, Name: j.Name, Phase: j.Status.Phase,
				Reason: j.Status.Reason, Message: j.Status.Message, ECU: j.Status.ECU, Agent: j.Status.Agent,
				Attempts: j.Status.Attempts, ExitCode: report.JobExitCode(&j.Status), Steps: j.Status.Steps})
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tECU\tPHASE\tREASON\tSTEPS\tATTEMPTS\tTIME")
	for _, j := range jobs {
		st := &j.Status
		d := "-"
		if st.StartTime != nil && st.CompletionTime != nil {
			d = st.CompletionTime.Sub(st.StartTime.Time).Round(time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", j.Name, dash(st.ECU), dash(string(st.Phase)), dash(st.Reason),
			stepsPassed(&j), st.Attempts, d)
	}
	return tw.Flush()
}

// printSteps is the step table of results: every step of every job.
func printSteps(w io.Writer, jobs []diagv1.DiagnosticJob) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nJOB\tSTEP\tPHASE\tMS\tREQUEST\tRESPONSE\tVALUE/NRC")
	for _, j := range jobs {
		for _, s := range j.Status.Steps {
			detail := s.Value
			if s.NRC != "" {
				detail = s.NRC
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", j.Name, s.Name, s.Phase, s.DurationMillis, dash(s.Request), dash(s.Response), dash(detail))
		}
	}
	tw.Flush()
}

func stepsPassed(j *diagv1.DiagnosticJob) string {
	n := 0
	for _, s := range j.Status.Steps {
		if s.Phase == diagv1.StepPassed {
			n++
		}
	}
	return fmt.Sprintf("%d/%d", n, len(j.Spec.Steps))
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// vinsOf reads the VIN of each job's ECU for the JUnit vin property; an ECU that cannot be
// read leaves it empty.
func vinsOf(ctx context.Context, c client.Client, jobs []diagv1.DiagnosticJob) report.VINs {
	vins := report.VINs{}
	for _, j := range jobs {
		key := j.Namespace + "/" + j.Status.ECU
		if _, done := vins[key]; done || j.Status.ECU == "" {
			continue
		}
		e := diagv1.ECU{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: j.Namespace, Name: j.Status.ECU}, &e); err == nil {
			vins[key] = e.Status.VIN
		}
	}
	return vins
}

// writeJUnitFile writes --junit FILE.
func writeJUnitFile(ctx context.Context, c client.Client, path string, jobs []diagv1.DiagnosticJob) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--junit: %w", err)
	}
	if err := report.WriteJUnit(f, jobs, vinsOf(ctx, c, jobs)); err != nil {
		f.Close()
		return fmt.Errorf("--junit %s: %w", path, err)
	}
	return f.Close()
}
