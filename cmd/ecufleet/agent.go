package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/ecufleet/ecufleet/agent"
)

// agentFlags are the command-line values of `ecufleet agent`, kept apart from agent.Options
// so that parsing can be tested without a cluster.
type agentFlags struct {
	name              string
	labels            []string
	nodeName          string
	discoverInterface string
	discoverInterval  time.Duration
	maxConcurrentJobs int
	leaseNamespace    string
	leaseDuration     time.Duration
	renewInterval     time.Duration
	imageCacheDir     string
	imageCacheSize    string
	clusterFlags
}

func newAgentCmd() *cobra.Command {
	f := &agentFlags{}
	cmd := &cobra.Command{
		Use:   "agent --name NAME",
		Short: "Run a node agent: run the diagnostic jobs bound to it and probe its ECUs",
		Long: `Run a node agent on a host cabled to a vehicle network. The agent registers a
DiagnosticAgent named --name (labels from --label, so that ECU agentSelectors can match it),
renews its heartbeat Lease, runs the DiagnosticJobs the controller binds to it over DoIP, probes
the ECUs it serves and, with --discover-interface, lists the DoIP entities answering a vehicle
identification broadcast on that interface. It runs until interrupted.`,
		Example: `  ecufleet agent --name rack-a --label rack=a --label bus=doip0
  ecufleet agent --name bench-1 --kubeconfig ~/.kube/config --discover-interface eth1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := f.options()
			if err != nil {
				return err
			}
			logger, cfg, err := f.connect(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			opts.Logger = logger.WithName("agent")
			a, err := agent.New(cfg, opts)
			if err != nil {
				return err
			}
			return a.Run(cmd.Context())
		},
	}
	f.bind(cmd.Flags())
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

// bind registers the flags on fs.
func (f *agentFlags) bind(fs *pflag.FlagSet) {
	fs.StringVar(&f.name, "name", "", "name of the DiagnosticAgent and of its Lease (required, unique per agent)")
	fs.StringArrayVar(&f.labels, "label", nil, "label k=v of the DiagnosticAgent, matched by ECU agentSelectors (repeatable)")
	fs.StringVar(&f.nodeName, "node-name", os.Getenv("NODE_NAME"), "Kubernetes node the agent runs on (default $NODE_NAME)")
	fs.StringVar(&f.discoverInterface, "discover-interface", "", "network interface to broadcast DoIP vehicle identification requests on")
	fs.DurationVar(&f.discoverInterval, "discover-interval", agent.DefaultDiscoverInterval, "time between two discovery broadcasts")
	fs.IntVar(&f.maxConcurrentJobs, "max-concurrent-jobs", agent.DefaultMaxConcurrentJobs, "jobs (DoIP connections) run at once")
	fs.StringVar(&f.leaseNamespace, "lease-namespace", agent.DefaultLeaseNamespace, "namespace of the heartbeat Lease (created when missing)")
	fs.DurationVar(&f.leaseDuration, "lease-duration", agent.DefaultLeaseDuration, "how long the controller trusts one heartbeat")
	fs.DurationVar(&f.renewInterval, "renew-interval", agent.DefaultRenewInterval, "time between two heartbeats")
	fs.StringVar(&f.imageCacheDir, "image-cache-dir", "", "directory of the download images cached by digest (default ecufleet-images/NAME under the temp dir)")
	fs.StringVar(&f.imageCacheSize, "image-cache-size", "512Mi", "bound of the image cache, a quantity such as 512Mi or 2Gi")
	f.clusterFlags.bind(fs)
}

// options turns the flags into agent options; agent.New validates the values.
func (f *agentFlags) options() (agent.Options, error) {
	labels, err := parseAgentLabels(f.labels)
	if err != nil {
		return agent.Options{}, err
	}
	size, err := resource.ParseQuantity(f.imageCacheSize)
	if err != nil || size.Sign() <= 0 {
		return agent.Options{}, fmt.Errorf("--image-cache-size %q: want a positive quantity such as 512Mi or 2Gi", f.imageCacheSize)
	}
	return agent.Options{
		Name:              f.name,
		Labels:            labels,
		NodeName:          f.nodeName,
		MaxConcurrentJobs: f.maxConcurrentJobs,
		LeaseNamespace:    f.leaseNamespace,
		LeaseDuration:     f.leaseDuration,
		RenewInterval:     f.renewInterval,
		DiscoverInterface: f.discoverInterface,
		DiscoverInterval:  f.discoverInterval,
		ImageCacheDir:     f.imageCacheDir,
		ImageCacheSize:    size.Value(),
	}, nil
}

// parseLabels reads repeated --label k=v flags; a key given twice is refused rather than
// silently overwritten.
func parseAgentLabels(flags []string) (map[string]string, error) {
	labels := make(map[string]string, len(flags))
	for _, kv := range flags {
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("--label %q: want key=value, e.g. --label rack=a", kv)
		}
		if _, dup := labels[k]; dup {
			return nil, fmt.Errorf("--label %q: key %q given twice", kv, k)
		}
		labels[k] = v
	}
	return labels, nil
}
