package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/report"
)

// selectFlags pick existing jobs: names as arguments, or -l SELECTOR.
type selectFlags struct {
	ciFlags
	selector string
}

// pick validates the names and the selector (exactly one of the two).
func (f *selectFlags) pick(args []string) (client.ListOption, error) {
	if (len(args) > 0) == (f.selector != "") {
		return nil, usageError(errors.New("name the jobs, or select them with -l SELECTOR, not both and not neither"))
	}
	if f.selector == "" {
		return nil, nil
	}
	sel, err := labels.Parse(f.selector)
	if err != nil {
		return nil, usageError(fmt.Errorf("-l %q: %w", f.selector, err))
	}
	return client.MatchingLabelsSelector{Selector: sel}, nil
}

func (f *selectFlags) bind(cmd *cobra.Command, wait bool) {
	f.ciFlags.bind(cmd, wait)
	cmd.Flags().StringVarP(&f.selector, "selector", "l", "", "label selector of the jobs, e.g. "+diagv1.RunLabel+"=<run id>")
}

func newWaitCmd() *cobra.Command {
	f := &selectFlags{}
	cmd := &cobra.Command{
		Use:   "wait JOB... | -l SELECTOR",
		Short: "Follow existing DiagnosticJobs to their end, with the progress and exit codes of run",
		Example: `  {{.CommandPath}} -l ` + diagv1.RunLabel + `=20261202t183000-1a2b3c --timeout 10m
  {{.CommandPath}} -n lab read-vin-x7k2p`,
		RunE: func(cmd *cobra.Command, args []string) error {
			sel, err := f.pick(args)
			if err != nil {
				return err
			}
			if err := checkOutput(f.output, false); err != nil {
				return err
			}
			c, err := f.connect()
			if err != nil {
				return err
			}
			w := &waiter{c: c, out: cmd.OutOrStdout(), errOut: cmd.ErrOrStderr(), flags: &f.ciFlags, selector: sel, names: args}
			return w.wait(cmd.Context())
		},
	}
	cmd.Example = examples(cmd.Example, "wait")
	f.bind(cmd, true)
	cmd.Flags().StringVar(&f.junit, "junit", "", "write a JUnit XML report of the jobs to this file at the end")
	cmd.Flags().StringVarP(&f.output, "output", "o", "table", "summary format: table or json")
	return cmd
}

// waiter follows a set of jobs through one watch until each has ended.
type waiter struct {
	c        *ciClient
	out      io.Writer // summary
	errOut   io.Writer
	flags    *ciFlags
	selector client.ListOption // nil: the jobs named
	names    []string          // the jobs, in output order; with a selector, filled from the first list
	owned    bool              // the jobs were created by this run: a signal deletes them

	jobs     map[string]*diagv1.DiagnosticJob
	progress *progress
}

// wait follows the jobs and returns the exit code as an exitError (nil for 0).
func (w *waiter) wait(ctx context.Context) error {
	// main's context ends on SIGINT and SIGTERM too; the signal itself is handled here, so
	// that the jobs are deleted with a context that still works.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	base := context.WithoutCancel(ctx)
	wctx, cancel := base, context.CancelFunc(func() {})
	if w.flags.timeout > 0 {
		wctx, cancel = context.WithTimeout(base, w.flags.timeout)
	}
	defer cancel()

	pw := w.out
	if w.flags.output == "json" {
		pw = w.errOut
	}
	w.progress = newProgress(pw)
	w.jobs = map[string]*diagv1.DiagnosticJob{}
	rv, err := w.list(wctx)
	if err != nil {
		return err
	}
	tick := w.progress.ticker()
	defer tick.Stop()
	timedOut := false
	for !w.allEnded() && !timedOut {
		opts := []client.ListOption{client.InNamespace(w.c.namespace), &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true}}}
		if w.selector != nil {
			opts = append(opts, w.selector)
		}
		wi, err := w.c.Watch(wctx, &diagv1.DiagnosticJobList{}, opts...)
		if err != nil {
			if wctx.Err() != nil {
				timedOut = true
				break
			}
			if e := w.c.unreachable("watch the jobs", err); e != nil {
				return e
			}
			return fmt.Errorf("watch the jobs in %s: %w", w.c.namespace, err)
		}
		rv, timedOut, err = w.follow(wctx, wi, sigs, tick.C, rv)
		wi.Stop()
		if err != nil {
			return err
		}
		if rv == "" && !timedOut && !w.allEnded() { // the watch expired: list again
			if rv, err = w.list(wctx); err != nil {
				return err
			}
		}
	}
	w.progress.clear()
	if timedOut {
		fmt.Fprintf(w.progress.w, "Timed out after %s: %d of %d jobs did not end\n", w.flags.timeout, w.unended(), len(w.names))
	}
	return w.finish(base, timedOut)
}

// list reads the jobs once (the start of every watch) and returns its resourceVersion.
func (w *waiter) list(ctx context.Context) (string, error) {
	var l diagv1.DiagnosticJobList
	opts := []client.ListOption{client.InNamespace(w.c.namespace)}
	if w.selector != nil {
		opts = append(opts, w.selector)
	}
	if err := w.c.List(ctx, &l, opts...); err != nil {
		if e := w.c.unreachable("list the jobs", err); e != nil {
			return "", e
		}
		return "", exitf(report.ExitNothingRun, "list the jobs in %s: %v", w.c.namespace, err)
	}
	first := len(w.jobs) == 0
	if first && w.selector != nil && len(w.names) == 0 {
		for _, j := range l.Items {
			w.names = append(w.names, j.Name)
		}
		if len(w.names) == 0 {
			return "", exitf(report.ExitNothingRun, "no DiagnosticJob in %s matches the selector", w.c.namespace)
		}
	}
	seen := map[string]bool{}
	for i := range l.Items {
		seen[l.Items[i].Name] = true
		w.update(&l.Items[i])
	}
	for _, n := range w.names {
		if seen[n] {
			continue
		}
		if first && !w.owned && w.selector == nil {
			return "", exitf(report.ExitNothingRun, "diagnosticjob %s/%s not found", w.c.namespace, n)
		}
		w.gone(n)
	}
	return l.ResourceVersion, nil
}

// follow handles the events of one watch. It returns the last resourceVersion ("" when the
// watch ended and must be listed again), whether the timeout passed, and an error for a
// signal (the exit code 130 or 143).
func (w *waiter) follow(ctx context.Context, wi watch.Interface, sigs <-chan os.Signal, tick <-chan time.Time, rv string) (string, bool, error) {
	for !w.allEnded() {
		select {
		case <-ctx.Done():
			return rv, true, nil
		case s := <-sigs:
			return rv, false, w.interrupted(s)
		case <-tick:
			w.progress.elapsed(w.ended(), len(w.names))
		case ev, ok := <-wi.ResultChan():
			if !ok {
				return "", false, nil
			}
			switch ev.Type {
			case watch.Error:
				return "", false, nil // e.g. 410 Gone: list again
			case watch.Deleted:
				if j, ok := ev.Object.(*diagv1.DiagnosticJob); ok {
					w.gone(j.Name)
				}
			case watch.Added, watch.Modified, watch.Bookmark:
				if j, ok := ev.Object.(*diagv1.DiagnosticJob); ok {
					rv = j.ResourceVersion
					if ev.Type != watch.Bookmark {
						w.update(j)
					}
				}
			}
		}
	}
	return rv, false, nil
}

// update records a job's new state and prints what changed.
func (w *waiter) update(j *diagv1.DiagnosticJob) {
	if !w.wanted(j.Name) {
		return
	}
	if old, ok := w.jobs[j.Name]; ok && old.Status.IsFinal() {
		return // ended (or deleted) already: keep the verdict we printed
	}
	w.jobs[j.Name] = j.DeepCopy()
	w.progress.job(j)
}

// gone marks a job deleted while it was waited for: Cancelled, as no ECU verdict came.
func (w *waiter) gone(name string) {
	j, ok := w.jobs[name]
	if !ok {
		j = &diagv1.DiagnosticJob{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.c.namespace}}
		w.jobs[name] = j
	}
	if j.Status.IsFinal() {
		return
	}
	j.Status.Phase, j.Status.Reason = diagv1.JobCancelled, diagv1.ReasonCancelled
	j.Status.Message = "the job was deleted while it was waited for"
	w.progress.job(j)
}

func (w *waiter) wanted(name string) bool {
	for _, n := range w.names {
		if n == name {
			return true
		}
	}
	return false
}

func (w *waiter) ended() int {
	n := 0
	for _, name := range w.names {
		if j, ok := w.jobs[name]; ok && j.Status.IsFinal() {
			n++
		}
	}
	return n
}

func (w *waiter) unended() int { return len(w.names) - w.ended() }

func (w *waiter) allEnded() bool { return w.unended() == 0 }

// interrupted deletes the jobs of this run on SIGINT or SIGTERM and waits briefly until they
// are gone (the agent has cancelled and closed the ECU connection), so the ECU is free.
func (w *waiter) interrupted(s os.Signal) error {
	w.progress.clear()
	code, name := report.ExitSIGINT, "SIGINT"
	if s == syscall.SIGTERM {
		code, name = report.ExitSIGTERM, "SIGTERM"
	}
	if !w.owned {
		return exitf(code, "interrupted by %s; the jobs keep running", name)
	}
	var jobs []diagv1.DiagnosticJob
	for _, n := range w.names {
		jobs = append(jobs, diagv1.DiagnosticJob{ObjectMeta: metav1.ObjectMeta{Namespace: w.c.namespace, Name: n}})
	}
	fmt.Fprintf(w.progress.w, "Interrupted by %s: deleting the %d jobs of this run\n", name, len(jobs))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := deleteJobs(ctx, w.c, jobs); err != nil {
		return &exitError{code: code, err: err}
	}
	for _, j := range jobs {
		for ctx.Err() == nil {
			err := w.c.Get(ctx, client.ObjectKeyFromObject(&j), &diagv1.DiagnosticJob{})
			if apierrors.IsNotFound(err) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	fmt.Fprintf(w.progress.w, "Deleted the jobs of this run; their ECUs are free\n")
	return exitCode(code)
}

// finish prints the summary, writes --junit and returns the exit code.
func (w *waiter) finish(ctx context.Context, timedOut bool) error {
	jobs := w.ordered()
	if err := printSummary(w.out, w.flags.output, jobs, report.ExitCode(jobs, timedOut)); err != nil {
		return err
	}
	if w.flags.junit != "" {
		if err := writeJUnitFile(ctx, w.c, w.flags.junit, jobs); err != nil {
			return &exitError{code: max(report.ExitCode(jobs, timedOut), report.ExitNoVerdict), err: err}
		}
	}
	return exitCode(report.ExitCode(jobs, timedOut))
}

// ordered are the jobs in the order they were named or created.
func (w *waiter) ordered() []diagv1.DiagnosticJob {
	var out []diagv1.DiagnosticJob
	for _, n := range w.names {
		if j, ok := w.jobs[n]; ok {
			out = append(out, *j)
		}
	}
	return out
}
