package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestParseAgentLabels(t *testing.T) {
	got, err := parseAgentLabels([]string{"rack=a", "bus=doip0", "empty="})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got["rack"] != "a" || got["bus"] != "doip0" || got["empty"] != "" {
		t.Fatalf("got %v", got)
	}
	for _, bad := range [][]string{{"rack"}, {"=a"}, {"rack=a", "rack=b"}} {
		if _, err := parseAgentLabels(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestAgentFlags(t *testing.T) {
	f := &agentFlags{}
	fs := pflag.NewFlagSet("agent", pflag.ContinueOnError)
	f.bind(fs)
	if err := fs.Parse([]string{"--name", "rack-a", "--label", "rack=a", "--label", "bus=doip0", "--max-concurrent-jobs", "2",
		"--lease-namespace", "labs", "--node-name", "n1", "--discover-interface", "eth1", "--renew-interval", "2s",
		"--image-cache-dir", "/var/cache/ecufleet", "--image-cache-size", "2Gi"}); err != nil {
		t.Fatal(err)
	}
	opts, err := f.options()
	if err != nil {
		t.Fatal(err)
	}
	if opts.Name != "rack-a" || len(opts.Labels) != 2 || opts.Labels["bus"] != "doip0" || opts.MaxConcurrentJobs != 2 ||
		opts.LeaseNamespace != "labs" || opts.NodeName != "n1" || opts.DiscoverInterface != "eth1" ||
		opts.RenewInterval != 2*time.Second || opts.LeaseDuration != 40*time.Second || opts.DiscoverInterval != 30*time.Second ||
		opts.ImageCacheDir != "/var/cache/ecufleet" || opts.ImageCacheSize != 2<<30 {
		t.Fatalf("options %+v", opts)
	}
	for _, bad := range []string{"lots", "0", "-1Gi"} {
		f.imageCacheSize = bad
		if _, err := f.options(); err == nil || !strings.Contains(err.Error(), "--image-cache-size") {
			t.Errorf("--image-cache-size %s: got %v, want an error naming the flag", bad, err)
		}
	}
	f.imageCacheSize = "512Mi"
	f.labels = append(f.labels, "broken")
	if _, err := f.options(); err == nil {
		t.Fatal("a malformed --label was accepted")
	}
}

func TestAgentNeedsName(t *testing.T) {
	root := newRootCmd()
	root.SetArgs([]string{"agent"})
	root.SetOut(&bytes.Buffer{})
	root.SetErr(&bytes.Buffer{})
	err := root.Execute()
	if err == nil || !strings.Contains(err.Error(), `"name" not set`) {
		t.Fatalf("got %v, want the missing --name error", err)
	}
}

func TestAgentLogger(t *testing.T) {
	var buf bytes.Buffer
	log, err := newLogger(&buf, "json", 0)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("Job started", "job", "default/read-vin")
	log.V(1).Info("Probe failed")
	out := buf.String()
	if !strings.Contains(out, `"msg":"Job started"`) || !strings.Contains(out, `"job":"default/read-vin"`) {
		t.Fatalf("structured line missing: %s", out)
	}
	if strings.Contains(out, "Probe failed") {
		t.Fatalf("V(1) logged at verbosity 0: %s", out)
	}
	if _, err := newLogger(&buf, "xml", 0); err == nil {
		t.Fatal("unknown format accepted")
	}
}
