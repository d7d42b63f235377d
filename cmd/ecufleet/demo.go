package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/ecufleet/ecufleet/config/samples"
	"github.com/ecufleet/ecufleet/internal/devcluster"
)

// demoFlags are the command-line values of `ecufleet demo`.
type demoFlags struct {
	localFlags
	samplesDir string
	timeout    time.Duration
	keep       bool
}

func newDemoCmd() *cobra.Command {
	f := &demoFlags{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the sample rack on a local control plane and check every sample job ends as it says",
		Long: `Start a local control plane as ` + "`ecufleet dev`" + ` does (no sim-N ECUs), then the demo rack of
config/samples: its simulated ECUs (sims/*.yaml) on free ports of 127.0.0.1, its ECU objects
pointed at those ports, and its DiagnosticJobs. Wait until every job finished (at most
--timeout), print the ECUs, the jobs and every step result as tables, and exit 0 only if each
job ended as its annotation ` + devcluster.AnnotationExpect + ` says. docs/demo.md explains the rack.`,
		Example: `  ecufleet demo
  ecufleet demo --keep                            # then explore with kubectl until Ctrl-C
  ecufleet demo --samples ./my-rack --timeout 5m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rack, err := f.loadRack() // before anything starts: a broken rack fails at once
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			c, stop, err := f.start(cmd, devcluster.Options{Controller: true})
			if err != nil {
				return err
			}
			res, err := c.RunDemo(cmd.Context(), rack, devcluster.DemoOptions{Timeout: f.timeout})
			if err != nil {
				return errors.Join(err, stop())
			}
			fmt.Fprintln(out)
			if err := res.Print(out); err != nil {
				return errors.Join(err, stop())
			}
			if f.keep {
				printKubectlHelp(out, c, f.logFile, false)
				if err := c.Wait(cmd.Context()); err != nil {
					return errors.Join(err, stop())
				}
			}
			return errors.Join(res.Err(), stop())
		},
	}
	f.bind(cmd.Flags(), "demo.log")
	cmd.Flags().StringVar(&f.samplesDir, "samples", "", "directory of the rack (*.yaml objects and sims/*.yaml); default: config/samples built into the binary")
	cmd.Flags().DurationVar(&f.timeout, "timeout", devcluster.DefaultDemoTimeout, "how long to wait for the jobs to finish")
	cmd.Flags().BoolVar(&f.keep, "keep", false, "keep the control plane running after the tables, until Ctrl-C, to explore it with kubectl")
	return cmd
}

// loadRack reads --samples, or the rack built into the binary.
func (f *demoFlags) loadRack() (*devcluster.Rack, error) {
	if f.samplesDir == "" {
		return devcluster.LoadRack(samples.FS())
	}
	if _, err := os.Stat(f.samplesDir); err != nil {
		return nil, fmt.Errorf("--samples: %w", err)
	}
	return devcluster.LoadRack(os.DirFS(f.samplesDir))
}
