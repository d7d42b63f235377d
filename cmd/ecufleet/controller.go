package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/controllers"
)

// leaderElectionID names the Lease the controller replicas compete for.
const leaderElectionID = "ecufleet-controller"

// minLeaderLease keeps the derived renew deadline and retry period above what an API server
// round trip takes.
const minLeaderLease = 3 * time.Second

// controllerFlags are the command-line values of `ecufleet controller`, kept apart from the
// manager so that parsing can be tested without a cluster.
type controllerFlags struct {
	leaderElect    bool
	leaderLease    time.Duration
	metricsAddr    string
	probeAddr      string
	pprofAddr      string
	leaseNamespace string
	clusterFlags
}

func newControllerCmd() *cobra.Command {
	f := &controllerFlags{}
	cmd := &cobra.Command{
		Use:   "controller",
		Short: "Run the controller: queue DiagnosticJobs per ECU and bind them to agents",
		Long: `Run ecufleet's controller: the scheduler (per-ECU queues and the claim protocol that never
gives one ECU two jobs), the ECU status roll-up and the agent liveness check. With --leader-elect
several replicas may run; one schedules, the others wait for its Lease (` + leaderElectionID + `
in --lease-namespace) to expire. It serves /metrics on --metrics-bind-address and /healthz and
/readyz on --health-probe-bind-address, and runs until interrupted.`,
		Example: `  ecufleet controller --kubeconfig ~/.kube/config
  ecufleet controller --leader-elect --metrics-bind-address :8080 --health-probe-bind-address :8081`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			mo, err := f.managerOptions()
			if err != nil {
				return err
			}
			logger, cfg, err := f.connect(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			mgr, err := controllers.NewManager(cfg, mo, controllers.Options{LeaseNamespace: f.leaseNamespace})
			if err != nil {
				return err
			}
			if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
				return fmt.Errorf("adding the health check: %w", err)
			}
			if err := mgr.AddReadyzCheck("caches", cachesSynced(mgr)); err != nil {
				return fmt.Errorf("adding the readiness check: %w", err)
			}
			logger.Info("Starting the controller", "leaderElect", f.leaderElect, "leaseNamespace", f.leaseNamespace,
				"metrics", f.metricsAddr, "healthProbes", f.probeAddr)
			if err := mgr.Start(cmd.Context()); err != nil {
				return fmt.Errorf("controller: %w", err)
			}
			logger.Info("Controller stopped")
			return nil
		},
	}
	f.bind(cmd.Flags())
	return cmd
}

// bind registers the flags on fs; the logging flags are the agent's.
func (f *controllerFlags) bind(fs *pflag.FlagSet) {
	fs.BoolVar(&f.leaderElect, "leader-elect", false, "compete for the "+leaderElectionID+" Lease so that only one replica schedules")
	fs.DurationVar(&f.leaderLease, "leader-elect-lease-duration", 15*time.Second,
		"how long a standby waits for a silent leader before taking over (renew deadline 2/3, retry period 2/15 of it)")
	fs.StringVar(&f.metricsAddr, "metrics-bind-address", ":8080", `address of the Prometheus /metrics endpoint ("0" turns it off)`)
	fs.StringVar(&f.probeAddr, "health-probe-bind-address", ":8081", `address of the /healthz and /readyz endpoints ("0" turns them off)`)
	fs.StringVar(&f.pprofAddr, "pprof-bind-address", "", `address of Go's /debug/pprof endpoints, to profile a slow controller (default: off)`)
	fs.StringVar(&f.leaseNamespace, "lease-namespace", diagv1.DefaultLeaseNamespace,
		"namespace of the agents' heartbeat Leases and of the leader election Lease")
	f.clusterFlags.bind(fs)
}

// managerOptions turns the flags into manager options: leader election timing derived from one
// lease duration, so that the three values can never contradict each other.
func (f *controllerFlags) managerOptions() (ctrl.Options, error) {
	if f.leaderLease < minLeaderLease {
		return ctrl.Options{}, fmt.Errorf("--leader-elect-lease-duration %s: want at least %s", f.leaderLease, minLeaderLease)
	}
	if f.leaseNamespace == "" {
		return ctrl.Options{}, errors.New("--lease-namespace is empty: name the namespace of the agents' Leases (default " + diagv1.DefaultLeaseNamespace + ")")
	}
	lease, renew, retry := f.leaderLease, f.leaderLease*2/3, f.leaderLease*2/15
	return ctrl.Options{
		LeaderElection:                f.leaderElect,
		LeaderElectionID:              leaderElectionID,
		LeaderElectionNamespace:       f.leaseNamespace,
		LeaderElectionReleaseOnCancel: true, // a stopped leader hands over at once, not after the lease
		LeaseDuration:                 &lease,
		RenewDeadline:                 &renew,
		RetryPeriod:                   &retry,
		Metrics:                       metricsserver.Options{BindAddress: f.metricsAddr},
		HealthProbeBindAddress:        f.probeAddr,
		PprofBindAddress:              f.pprofAddr,
	}, nil
}

// cachesSynced is ready once the manager's informers have listed everything, so that a fresh
// replica is not sent traffic (or counted ready by a rollout) before it knows the cluster.
func cachesSynced(mgr ctrl.Manager) healthz.Checker {
	return func(req *http.Request) error {
		ctx, cancel := context.WithTimeout(req.Context(), time.Second)
		defer cancel()
		if !mgr.GetCache().WaitForCacheSync(ctx) {
			return errors.New("the informer caches have not synced yet")
		}
		return nil
	}
}
