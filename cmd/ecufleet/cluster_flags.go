package main

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/go-logr/logr"
	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/config"
)

// clusterFlags are the flags every command that talks to the API server shares, so the agent
// and the controller find the cluster and log the same way.
type clusterFlags struct {
	kubeconfig string
	logFormat  string
	verbosity  int
}

// bind registers the shared flags on fs.
func (f *clusterFlags) bind(fs *pflag.FlagSet) {
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default: in-cluster config, then $KUBECONFIG, then ~/.kube/config)")
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fs.IntVarP(&f.verbosity, "v", "v", 0, "log verbosity: 0 for changes of state, 1 and up for every probe, connection and controller-runtime detail")
}

// connect sets up logging to w (also as controller-runtime's logger) and finds the cluster.
func (f *clusterFlags) connect(w io.Writer) (logr.Logger, *rest.Config, error) {
	logger, err := newLogger(w, f.logFormat, f.verbosity)
	if err != nil {
		return logr.Logger{}, nil, err
	}
	ctrl.SetLogger(logger)
	cfg, err := restConfig(f.kubeconfig)
	return logger, cfg, err
}

// restConfig loads --kubeconfig when given, else the usual chain (in-cluster, $KUBECONFIG,
// ~/.kube/config).
func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		cfg, err := config.GetConfig()
		if err != nil {
			return nil, fmt.Errorf("find the cluster: %w (pass --kubeconfig)", err)
		}
		return cfg, nil
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("load --kubeconfig %s: %w", kubeconfig, err)
	}
	// As controller-runtime's GetConfig does: the API server's priority and fairness limits
	// ecufleet, not client-go's default of 5 requests per second.
	cfg.QPS = -1
	return cfg, nil
}

// newLogger writes structured logs through log/slog (go.mod pins no zap): one line per
// event, text or JSON, with logr's V levels mapped to slog levels below Info.
func newLogger(w io.Writer, format string, verbosity int) (logr.Logger, error) {
	opts := &slog.HandlerOptions{Level: slog.Level(-verbosity)}
	switch format {
	case "text":
		return logr.FromSlogHandler(slog.NewTextHandler(w, opts)), nil
	case "json":
		return logr.FromSlogHandler(slog.NewJSONHandler(w, opts)), nil
	}
	return logr.Logger{}, fmt.Errorf("--log-format %q: want text or json", format)
}
