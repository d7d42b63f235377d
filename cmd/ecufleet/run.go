package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/report"
	"github.com/ecufleet/ecufleet/internal/scheme"
)

// ciFlags are the flags run, wait and results share.
type ciFlags struct {
	kubeconfig string
	namespace  string
	timeout    time.Duration
	output     string
	junit      string
}

func (f *ciFlags) bind(cmd *cobra.Command, wait bool) {
	fs := cmd.Flags()
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)")
	fs.StringVarP(&f.namespace, "namespace", "n", "", "namespace of the jobs (default: the kubeconfig context's, else default)")
	if wait {
		fs.DurationVar(&f.timeout, "timeout", 0, "give up waiting after this long (exit 2); 0: wait until every job ended")
	}
}

// ciClient is the API server connection of run, wait and results.
type ciClient struct {
	client.WithWatch
	host      string
	namespace string
}

// connect builds the client. An unreachable server shows on the first request, where
// unreachable() names the address and what to check.
func (f *ciFlags) connect() (*ciClient, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if f.kubeconfig != "" {
		rules.ExplicitPath = f.kubeconfig
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{})
	cfg, err := cc.ClientConfig()
	if err != nil {
		if cfg, err = rest.InClusterConfig(); err != nil {
			return nil, exitf(report.ExitNothingRun, "find the cluster: %v (pass --kubeconfig or set KUBECONFIG)", err)
		}
	}
	cfg.QPS, cfg.Burst = 50, 100
	cfg.Timeout = 15 * time.Second // one request; the watch is bounded by the context instead
	s, err := scheme.New()
	if err != nil {
		return nil, err
	}
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: s})
	if err != nil {
		return nil, exitf(report.ExitNoVerdict, "connect to the API server at %s: %v", cfg.Host, err)
	}
	ns := f.namespace
	if ns == "" {
		if ns, _, err = cc.Namespace(); err != nil || ns == "" {
			ns = "default"
		}
	}
	return &ciClient{WithWatch: c, host: cfg.Host, namespace: ns}, nil
}

// unreachable turns an error that is not an API server answer into exit 2 naming the server.
func (c *ciClient) unreachable(what string, err error) error {
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		return nil
	}
	return exitf(report.ExitNoVerdict, "%s: the API server at %s did not answer: %v (check that the cluster is up and that --kubeconfig or $KUBECONFIG points at it)", what, c.host, err)
}

type runFlags struct {
	ciFlags
	files  []string
	from   string
	detach bool
}

func newRunCmd() *cobra.Command {
	f := &runFlags{}
	cmd := &cobra.Command{
		Use:   "run -f PATH [-f PATH]... | --from schedule/NAME",
		Short: "Create DiagnosticJobs from files, follow them to the end and exit 0, 1, 2 or 3 for CI",
		Long: `Validate every DiagnosticJob document of the files (a directory: its *.yaml and *.yml,
sorted; "-": stdin) with a server-side dry run, then create each under a new name
(metadata.generateName, else metadata.name + "-") labelled ` + diagv1.RunLabel + `=<run id>, print the
names, and follow the jobs: a line per finished step, a line when a queue position changes,
and a summary table. Ctrl-C (SIGINT) or SIGTERM deletes the jobs of this run, which frees
their ECUs, and exits 130 or 143.

Exit codes, the highest that applies: 0 every job Succeeded; 1 a job Failed because a step
failed; 2 a job ended without the ECU's verdict (AgentLost, EcuUnreachable,
DeadlineExceeded, QueueTimeout, Cancelled or deleted) or --timeout passed; 3 nothing was run
(an invalid document, refused by the API server, or a wrong command line).

--from schedule/NAME starts a run of the DiagnosticSchedule NAME now instead: its jobTemplate
(one job per matching ECU with forEachECU), named, labelled and owned as the schedule's own
runs with the run id <schedule>-<now>, followed the same way.`,
		Example: `  {{.CommandPath}} -f suite/ --junit report.xml --timeout 10m
  cat job.yaml | {{.CommandPath}} -f - -n lab
  {{.CommandPath}} -f job.yaml --detach
  {{.CommandPath}} --from schedule/nightly-dtcs -n lab`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError(fmt.Errorf("unexpected arguments %q: pass files with -f", args))
			}
			if (len(f.files) == 0) == (f.from == "") {
				return usageError(errors.New("pass -f PATH (job files, a directory, or - for stdin) or --from schedule/NAME, not both and not neither"))
			}
			return checkOutput(f.output, false)
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.from != "" {
				return f.runSchedule(cmd)
			}
			return f.run(cmd)
		},
	}
	cmd.Example = examples(cmd.Example, "run")
	f.bind(cmd, true)
	cmd.Flags().StringArrayVarP(&f.files, "filename", "f", nil, "job file, directory of *.yaml/*.yml, or - for stdin (repeatable)")
	cmd.Flags().StringVar(&f.from, "from", "", "start a run of a DiagnosticSchedule now: schedule/NAME")
	cmd.Flags().StringVar(&f.junit, "junit", "", "write a JUnit XML report of the jobs to this file at the end")
	cmd.Flags().StringVarP(&f.output, "output", "o", "table", "summary format: table or json (json: progress lines go to stderr)")
	cmd.Flags().BoolVar(&f.detach, "detach", false, "create the jobs, print their names and the run id, and exit 0 without waiting")
	return cmd
}

func (f *runFlags) run(cmd *cobra.Command) error {
	loaded, err := loadJobs(f.files, cmd.InOrStdin())
	if err != nil {
		return usageError(err)
	}
	c, err := f.connect()
	if err != nil {
		return err
	}
	runID, err := newRunID()
	if err != nil {
		return err
	}
	for _, l := range loaded {
		if err := prepareJob(l, c.namespace, f.namespace, runID); err != nil {
			return usageError(err)
		}
	}
	jobs := make([]*diagv1.DiagnosticJob, len(loaded))
	where := make([]string, len(loaded))
	for i, l := range loaded {
		jobs[i], where[i] = l.job, l.where()
	}
	return f.createAndFollow(cmd, c, runID, jobs, where)
}

// createAndFollow validates every job with a server-side dry run, creates them, and unless
// --detach follows them to the end; where[i] names jobs[i] in errors.
func (f *runFlags) createAndFollow(cmd *cobra.Command, c *ciClient, runID string, jobs []*diagv1.DiagnosticJob, where []string) error {
	ctx := cmd.Context()
	reqCtx := ctx
	if f.timeout > 0 {
		var cancel context.CancelFunc
		reqCtx, cancel = context.WithTimeout(ctx, f.timeout)
		defer cancel()
	}
	// Every document first, with a server-side dry run: one refused job means none is created.
	for i, job := range jobs {
		if err := c.Create(reqCtx, job.DeepCopy(), client.DryRunAll); err != nil {
			if e := c.unreachable("validate "+where[i], err); e != nil {
				return e
			}
			return exitf(report.ExitNothingRun, "%s refused by the API server, nothing was created: %v", where[i], err)
		}
	}
	out := cmd.OutOrStdout()
	var created []diagv1.DiagnosticJob
	for i, job := range jobs {
		j := job.DeepCopy()
		if err := c.Create(reqCtx, j); err != nil {
			cleanupErr := deleteJobs(context.WithoutCancel(ctx), c, created)
			if e := c.unreachable("create "+where[i], err); e != nil {
				return errors.Join(e, cleanupErr)
			}
			return errors.Join(exitf(report.ExitNothingRun, "%s refused by the API server; the %d jobs of this run created before it were deleted: %v",
				where[i], len(created), err), cleanupErr)
		}
		created = append(created, *j)
		fmt.Fprintf(out, "diagnosticjob/%s created (run %s)\n", j.Name, runID)
	}
	if f.detach {
		fmt.Fprintf(out, "Detached. Follow with: %s wait -n %s -l %s=%s\n", cmd.Root().DisplayName(), c.namespace, diagv1.RunLabel, runID)
		return nil
	}
	w := &waiter{c: c, out: cmd.OutOrStdout(), errOut: cmd.ErrOrStderr(), flags: &f.ciFlags,
		selector: client.MatchingLabels{diagv1.RunLabel: runID}, owned: true}
	for _, j := range created {
		w.names = append(w.names, j.Name)
	}
	return w.wait(ctx)
}

// prepareJob gives the job its namespace, a generated name and the run label.
func prepareJob(l loadedJob, namespace, flagNamespace, runID string) error {
	j := l.job
	if j.Namespace != "" && flagNamespace != "" && j.Namespace != flagNamespace {
		return fmt.Errorf("%s: metadata.namespace %q differs from -n %s", l.where(), j.Namespace, flagNamespace)
	}
	if j.Namespace == "" {
		j.Namespace = namespace
	}
	if j.GenerateName == "" {
		j.GenerateName = j.Name + "-"
	}
	j.Name, j.ResourceVersion, j.UID = "", "", ""
	j.Status = diagv1.DiagnosticJobStatus{}
	if j.Labels == nil {
		j.Labels = map[string]string{}
	}
	j.Labels[diagv1.RunLabel] = runID
	return nil
}

// newRunID is a label value unique per run and sortable by time: 20261202t183000-1a2b3c.
func newRunID() (string, error) {
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make a run id: %w", err)
	}
	return time.Now().UTC().Format("20060102t150405") + "-" + hex.EncodeToString(b), nil
}

// deleteJobs deletes jobs with background propagation; the agent cancels and frees the ECU.
func deleteJobs(ctx context.Context, c client.Client, jobs []diagv1.DiagnosticJob) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	var errs []error
	for i := range jobs {
		err := c.Delete(ctx, &jobs[i], client.PropagationPolicy(metav1.DeletePropagationBackground))
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete diagnosticjob %s/%s: %w (delete it with kubectl)", jobs[i].Namespace, jobs[i].Name, err))
		}
	}
	return errors.Join(errs...)
}

// checkOutput validates -o.
func checkOutput(o string, junit bool) error {
	switch o {
	case "table", "json":
		return nil
	case "junit":
		if junit {
			return nil
		}
	}
	want := "table or json"
	if junit {
		want = "table, json or junit"
	}
	return usageError(fmt.Errorf("-o %q: want %s", o, want))
}
