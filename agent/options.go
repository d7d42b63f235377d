package agent

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/util/validation"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/version"
)

// Defaults of Options, from the design: a DaemonSet agent needs no flags but its name.
const (
	// DefaultMaxConcurrentJobs bounds the DoIP connections one agent holds open at once.
	DefaultMaxConcurrentJobs = 4
	// DefaultLeaseNamespace holds every agent's heartbeat Lease.
	DefaultLeaseNamespace = v1alpha1.DefaultLeaseNamespace
	// DefaultLeaseDuration is how long the controller trusts a heartbeat.
	DefaultLeaseDuration = 40 * time.Second
	// DefaultRenewInterval leaves three renewals inside one lease duration.
	DefaultRenewInterval = 10 * time.Second
	// DefaultDiscoverInterval paces vehicle identification broadcasts.
	DefaultDiscoverInterval = 30 * time.Second
	// DefaultImageCacheSize bounds the images kept on disk: several application images of a
	// typical ECU, far below a node's disk.
	DefaultImageCacheSize = 512 << 20
)

// Options configure an Agent; the same struct serves `ecufleet agent`, `ecufleet dev` and the
// tests, so that every way of running an agent runs the same code.
type Options struct {
	// Name is the DiagnosticAgent's and the Lease's name, and the value of the job label the
	// agent watches.
	Name string
	// Labels are set on the DiagnosticAgent so that ECU agentSelectors can match it.
	Labels map[string]string
	// NodeName is the Kubernetes node the agent runs on, for operators reading `kubectl get dagent`.
	NodeName string
	// MaxConcurrentJobs caps the jobs (and DoIP connections) run at once.
	MaxConcurrentJobs int
	// LeaseNamespace holds the heartbeat Lease; it is created when missing.
	LeaseNamespace string
	// LeaseDuration is written into the Lease: the controller declares the agent lost after it.
	LeaseDuration time.Duration
	// RenewInterval is the heartbeat period; it must be shorter than LeaseDuration.
	RenewInterval time.Duration
	// DiscoverInterface, when set, is the network interface whose broadcast address receives
	// vehicle identification requests.
	DiscoverInterface string
	// DiscoverInterval paces discovery broadcasts.
	DiscoverInterval time.Duration
	// ImageCacheDir holds fetched download images by digest (default: ecufleet-images/<name>
	// under os.TempDir, so several agents of one process keep apart).
	ImageCacheDir string
	// ImageCacheSize bounds the image cache in bytes; the least recently used images go first.
	ImageCacheSize int64
	// Version is reported in the DiagnosticAgent status so rollouts can be followed.
	Version string
	// Logger receives the agent's structured logs; the zero value uses controller-runtime's
	// global logger, as `ecufleet agent` configures it.
	Logger logr.Logger
}

// withDefaults validates o and fills the zero fields, so the rest of the package never has to
// guess a value.
func (o Options) withDefaults() (Options, error) {
	if o.Name == "" {
		return o, fmt.Errorf("agent name is empty: give every agent a unique name (--name)")
	}
	if errs := validation.IsDNS1123Subdomain(o.Name); len(errs) > 0 {
		return o, fmt.Errorf("agent name %q is not a valid object name: %v", o.Name, errs)
	}
	if errs := validation.IsValidLabelValue(o.Name); len(errs) > 0 {
		return o, fmt.Errorf("agent name %q cannot be a label value (jobs are labelled with it): %v", o.Name, errs)
	}
	o.Labels = maps.Clone(o.Labels)
	for k, v := range o.Labels {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return o, fmt.Errorf("agent label key %q: %v", k, errs)
		}
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			return o, fmt.Errorf("agent label %s=%q: %v", k, v, errs)
		}
	}
	if o.MaxConcurrentJobs == 0 {
		o.MaxConcurrentJobs = DefaultMaxConcurrentJobs
	}
	if o.MaxConcurrentJobs < 1 {
		return o, fmt.Errorf("max concurrent jobs is %d: it must be at least 1", o.MaxConcurrentJobs)
	}
	if o.LeaseNamespace == "" {
		o.LeaseNamespace = DefaultLeaseNamespace
	}
	if errs := validation.IsDNS1123Label(o.LeaseNamespace); len(errs) > 0 {
		return o, fmt.Errorf("lease namespace %q: %v", o.LeaseNamespace, errs)
	}
	if o.LeaseDuration == 0 {
		o.LeaseDuration = DefaultLeaseDuration
	}
	if o.RenewInterval == 0 {
		o.RenewInterval = DefaultRenewInterval
	}
	if o.LeaseDuration < time.Second || o.RenewInterval <= 0 || o.RenewInterval >= o.LeaseDuration {
		return o, fmt.Errorf("lease duration %v and renew interval %v: the lease must last at least 1s and longer than the renew interval",
			o.LeaseDuration, o.RenewInterval)
	}
	if o.DiscoverInterval == 0 {
		o.DiscoverInterval = DefaultDiscoverInterval
	}
	if o.DiscoverInterval < 0 {
		return o, fmt.Errorf("discover interval %v is negative", o.DiscoverInterval)
	}
	if o.ImageCacheDir == "" {
		o.ImageCacheDir = filepath.Join(os.TempDir(), "ecufleet-images", o.Name)
	}
	if o.ImageCacheSize == 0 {
		o.ImageCacheSize = DefaultImageCacheSize
	}
	if o.ImageCacheSize < 0 {
		return o, fmt.Errorf("image cache size %d is negative: give a size such as 512Mi", o.ImageCacheSize)
	}
	if o.Version == "" {
		o.Version = version.Version
	}
	if o.Logger.GetSink() == nil {
		o.Logger = ctrllog.Log.WithName("agent")
	}
	o.Logger = o.Logger.WithValues("agent", o.Name)
	return o, nil
}
