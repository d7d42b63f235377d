package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/ecufleet/ecufleet/internal/devcluster"
)

// localFlags are the flags `ecufleet dev` and `ecufleet demo` share: how many agents, where the
// kubeconfig and the logs go.
type localFlags struct {
	agents        int
	kubeconfigOut string
	logFile       string
}

// bind registers the shared flags; logName is the default log file's name next to the kubeconfig.
func (f *localFlags) bind(fs *pflag.FlagSet, logName string) {
	fs.IntVar(&f.agents, "agents", 2, fmt.Sprintf("node agents to run in-process, named dev-agent-0... (0..%d)", devcluster.MaxAgents))
	fs.StringVar(&f.kubeconfigOut, "kubeconfig-out", devcluster.DefaultKubeconfig, "where to write the kubeconfig of the local API server (removed on exit)")
	fs.StringVar(&f.logFile, "log-file", filepath.Join(filepath.Dir(devcluster.DefaultKubeconfig), logName),
		`where the controller, agents and simulators log ("-" for stderr)`)
}

// devFlags are the command-line values of `ecufleet dev`.
type devFlags struct {
	localFlags
	sims         int
	noController bool
}

func newDevCmd() *cobra.Command {
	f := &devFlags{}
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a local control plane with the controller, agents and simulated ECUs until interrupted",
		Long: `Run everything ecufleet needs on this machine, in one process: etcd and kube-apiserver with
the ecufleet CRDs (built from Go source on first use), the controller, --agents node agents
(dev-agent-0, ...) and --sims simulated ECUs on 127.0.0.1 with their ECU objects (sim-0, ...) in
namespace default. It writes a kubeconfig for kubectl and runs until interrupted (Ctrl-C), then
stops everything it started and removes the kubeconfig.`,
		Example: `  ecufleet dev
  ecufleet dev --agents 3 --sims 10
  ecufleet dev --agents 0 --sims 0 --no-controller --kubeconfig-out /tmp/kc   # a bare control plane`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			c, stop, err := f.start(cmd, devcluster.Options{Sims: f.sims, Controller: !f.noController})
			if err != nil {
				return err
			}
			printKubectlHelp(out, c, f.logFile, f.sims > 0)
			err = c.Wait(cmd.Context())
			fmt.Fprintln(out, "Stopping the local control plane ...")
			return errors.Join(err, stop())
		},
	}
	f.bind(cmd.Flags(), "dev.log")
	cmd.Flags().IntVar(&f.sims, "sims", 2, fmt.Sprintf("simulated ECUs, with ECU objects sim-0... in namespace default (0..%d)", devcluster.MaxSims))
	cmd.Flags().BoolVar(&f.noController, "no-controller", false, "do not run the controller (run `ecufleet controller` separately)")
	cmd.AddCommand(newExecChildCmd())
	return cmd
}

// newExecChildCmd is devcluster.ExecChildCommand: how `ecufleet dev` starts etcd and
// kube-apiserver so that they die with it. Hidden: only the dev cluster runs it.
func newExecChildCmd() *cobra.Command {
	return &cobra.Command{
		Use:                devcluster.ExecChildCommand[len(devcluster.ExecChildCommand)-1],
		Short:              "Run a control plane binary that dies with its parent (used by ecufleet dev)",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE:               func(_ *cobra.Command, args []string) error { return devcluster.ExecChild(args) },
	}
}

// launcher is the binary that devcluster runs etcd and kube-apiserver through, on Linux, where
// the parent-death signal exists; elsewhere none. A `go test` binary running these commands
// in-process has no exec-child command (it would run its tests again): none either.
func launcher() (string, error) {
	if runtime.GOOS != "linux" {
		return "", nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("locating the ecufleet binary to start etcd and kube-apiserver through: %w", err)
	}
	if strings.HasSuffix(exe, ".test") {
		return "", nil
	}
	return exe, nil
}

// start opens the log, starts the local cluster with opts (agents, kubeconfig and progress
// from the flags) and returns it with the function that stops it and closes the log.
func (f *localFlags) start(cmd *cobra.Command, opts devcluster.Options) (*devcluster.Cluster, func() error, error) {
	logw, closeLog, err := openLog(f.logFile, cmd.ErrOrStderr())
	if err != nil {
		return nil, nil, err
	}
	logger, err := newLogger(logw, "text", 0)
	if err != nil {
		return nil, nil, errors.Join(err, closeLog())
	}
	ctrl.SetLogger(logger)
	if opts.Launcher, err = launcher(); err != nil {
		return nil, nil, errors.Join(err, closeLog())
	}
	opts.Agents, opts.KubeconfigOut, opts.Progress, opts.Logger = f.agents, f.kubeconfigOut, cmd.OutOrStdout(), logger
	c, err := devcluster.Start(cmd.Context(), opts)
	if err != nil {
		return nil, nil, errors.Join(err, closeLog())
	}
	return c, func() error { return errors.Join(c.Stop(), closeLog()) }, nil
}

// openLog opens the log file ("-" is stderr), creating its directory.
func openLog(path string, stderr io.Writer) (io.Writer, func() error, error) {
	if path == "-" {
		return stderr, func() error { return nil }, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, nil, fmt.Errorf("creating the directory of --log-file: %w", err)
	}
	file, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("opening --log-file: %w (or pass --log-file - for stderr)", err)
	}
	return file, file.Close, nil
}

// printKubectlHelp tells the user how to look at the cluster, with absolute paths so that the
// lines can be pasted into any shell.
func printKubectlHelp(w io.Writer, c *devcluster.Cluster, logFile string, sims bool) {
	kc := absPath(c.Kubeconfig())
	fmt.Fprintf(w, "\nLocal control plane ready. Kubeconfig: %s\n", kc)
	if logFile != "-" {
		fmt.Fprintf(w, "Logs of the controller, agents and simulators: %s\n", absPath(logFile))
	}
	fmt.Fprintf(w, "\nIn another shell:\n  export KUBECONFIG=%s\n  kubectl get ecus,dj,dagent\n", kc)
	if sims {
		fmt.Fprint(w, `  kubectl apply -f - <<EOF
apiVersion: diag.ecufleet.io/v1alpha1
kind: DiagnosticJob
metadata:
  name: read-vin
spec:
  ecuRef:
    name: sim-0
  steps:
  - name: vin
    uds:
      readDataByIdentifier:
        did: 0xF190
EOF
  kubectl get dj read-vin -o jsonpath='{.status.steps[0].value}{"\n"}'
`)
	}
	fmt.Fprintln(w, "\nPress Ctrl-C to stop; everything started here is stopped and the kubeconfig removed.")
}

func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}
