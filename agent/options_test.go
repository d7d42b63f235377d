package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestOptionsDefaults(t *testing.T) {
	o, err := Options{Name: "rack-a"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if o.MaxConcurrentJobs != 4 || o.LeaseNamespace != "ecufleet-system" || o.LeaseDuration != 40*time.Second ||
		o.RenewInterval != 10*time.Second || o.DiscoverInterval != 30*time.Second || o.Version == "" ||
		o.ImageCacheSize != 512<<20 || o.ImageCacheDir != filepath.Join(os.TempDir(), "ecufleet-images", "rack-a") {
		t.Fatalf("defaults not applied: %+v", o)
	}
	if o.Logger.GetSink() == nil {
		t.Fatal("no default logger")
	}
}

func TestOptionsCopiesLabels(t *testing.T) {
	labels := map[string]string{"rack": "a"}
	o, err := Options{Name: "rack-a", Labels: labels}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	labels["rack"] = "b"
	if o.Labels["rack"] != "a" {
		t.Fatal("options share the caller's label map")
	}
}

func TestOptionsRejects(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{}, "agent name is empty"},
		{Options{Name: "Rack_A"}, "not a valid object name"},
		{Options{Name: strings.Repeat("a", 64)}, "cannot be a label value"},
		{Options{Name: "a", Labels: map[string]string{"bad key!": "x"}}, `label key "bad key!"`},
		{Options{Name: "a", Labels: map[string]string{"rack": "no spaces"}}, "agent label rack"},
		{Options{Name: "a", MaxConcurrentJobs: -1}, "at least 1"},
		{Options{Name: "a", LeaseNamespace: "Not-A-Namespace"}, "lease namespace"},
		{Options{Name: "a", LeaseDuration: 5 * time.Second, RenewInterval: 5 * time.Second}, "longer than the renew interval"},
		{Options{Name: "a", LeaseDuration: 500 * time.Millisecond, RenewInterval: 100 * time.Millisecond}, "at least 1s"},
		{Options{Name: "a", DiscoverInterval: -time.Second}, "discover interval"},
		{Options{Name: "a", ImageCacheSize: -1}, "image cache size"},
	} {
		if _, err := tc.o.withDefaults(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want an error containing %q", tc.o, err, tc.want)
		}
	}
}
