package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestControllerFlags(t *testing.T) {
	f := &controllerFlags{}
	fs := pflag.NewFlagSet("controller", pflag.ContinueOnError)
	f.bind(fs)
	if err := fs.Parse([]string{"--leader-elect", "--leader-elect-lease-duration", "6s", "--lease-namespace", "labs",
		"--metrics-bind-address", "0", "--health-probe-bind-address", "127.0.0.1:9440", "--pprof-bind-address", "127.0.0.1:6060"}); err != nil {
		t.Fatal(err)
	}
	mo, err := f.managerOptions()
	if err != nil {
		t.Fatal(err)
	}
	if !mo.LeaderElection || mo.LeaderElectionID != "ecufleet-controller" || mo.LeaderElectionNamespace != "labs" || !mo.LeaderElectionReleaseOnCancel {
		t.Errorf("leader election options %+v", mo)
	}
	if *mo.LeaseDuration != 6*time.Second || *mo.RenewDeadline != 4*time.Second || *mo.RetryPeriod != 800*time.Millisecond {
		t.Errorf("lease %v, renew deadline %v, retry period %v; want 6s, 4s, 800ms", *mo.LeaseDuration, *mo.RenewDeadline, *mo.RetryPeriod)
	}
	if mo.Metrics.BindAddress != "0" || mo.HealthProbeBindAddress != "127.0.0.1:9440" || mo.PprofBindAddress != "127.0.0.1:6060" {
		t.Errorf("metrics %q, probes %q, pprof %q", mo.Metrics.BindAddress, mo.HealthProbeBindAddress, mo.PprofBindAddress)
	}
}

func TestControllerFlagDefaults(t *testing.T) {
	f := &controllerFlags{}
	fs := pflag.NewFlagSet("controller", pflag.ContinueOnError)
	f.bind(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	mo, err := f.managerOptions()
	if err != nil {
		t.Fatal(err)
	}
	// controller-runtime's own defaults, so that --leader-elect alone behaves as everywhere else.
	if mo.LeaderElection || *mo.LeaseDuration != 15*time.Second || *mo.RenewDeadline != 10*time.Second || *mo.RetryPeriod != 2*time.Second {
		t.Errorf("defaults: leader election %v, lease %v, renew %v, retry %v", mo.LeaderElection, *mo.LeaseDuration, *mo.RenewDeadline, *mo.RetryPeriod)
	}
	if mo.Metrics.BindAddress != ":8080" || mo.HealthProbeBindAddress != ":8081" || mo.LeaderElectionNamespace != "ecufleet-system" || mo.PprofBindAddress != "" {
		t.Errorf("defaults: metrics %q, probes %q, namespace %q, pprof %q", mo.Metrics.BindAddress, mo.HealthProbeBindAddress, mo.LeaderElectionNamespace, mo.PprofBindAddress)
	}
}

func TestControllerRefusesBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"controller", "--leader-elect-lease-duration", "1s"}, "--leader-elect-lease-duration 1s: want at least 3s"},
		{[]string{"controller", "--lease-namespace", ""}, "--lease-namespace is empty"},
		{[]string{"controller", "--log-format", "xml"}, `--log-format "xml"`},
		{[]string{"controller", "--kubeconfig", filepath.Join(t.TempDir(), "missing"), "--metrics-bind-address", "0", "--health-probe-bind-address", "0"}, "load --kubeconfig"},
	} {
		root := newRootCmd()
		root.SetArgs(tc.args)
		root.SetOut(&bytes.Buffer{})
		root.SetErr(&bytes.Buffer{})
		err := root.Execute()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}
