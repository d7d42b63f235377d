package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDemoRefusesABrokenRackBeforeStarting(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "sims"), 0o755); err != nil {
		t.Fatal(err)
	}
	job := "apiVersion: diag.ecufleet.io/v1alpha1\nkind: DiagnosticJob\nmetadata:\n  name: j\nspec:\n  ecuRef:\n    name: e\n  steps:\n  - name: a\n    delay:\n      duration: 1s\n"
	if err := os.WriteFile(filepath.Join(dir, "job.yaml"), []byte(job), 0o644); err != nil {
		t.Fatal(err)
	}
	kc := filepath.Join(dir, "kubeconfig")
	for _, tc := range []struct{ samples, want string }{
		{filepath.Join(dir, "missing"), "--samples: stat"},
		{dir, "spec.ecuRef names ECU e, which the rack does not define"},
	} {
		root := newRootCmd()
		var out bytes.Buffer
		root.SetArgs([]string{"demo", "--samples", tc.samples, "--kubeconfig-out", kc, "--log-file", "-"})
		root.SetOut(&out)
		root.SetErr(&out)
		err := root.Execute()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("--samples %s: got %v, want an error containing %q", tc.samples, err, tc.want)
		}
		if strings.Contains(out.String(), "Starting etcd") {
			t.Errorf("--samples %s: the control plane was started for a broken rack:\n%s", tc.samples, out.String())
		}
	}
}

// TestDemoCommand runs `ecufleet demo` as `make demo` does: on a real local control plane with
// the rack built into the binary; it must exit 0, print the tables and remove its kubeconfig.
func TestDemoCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd and kube-apiserver")
	}
	dir := t.TempDir()
	kc, logFile := filepath.Join(dir, "kubeconfig"), filepath.Join(dir, "demo.log")
	root := newRootCmd()
	var out bytes.Buffer
	root.SetArgs([]string{"demo", "--kubeconfig-out", kc, "--log-file", logFile, "--timeout", "2m"})
	root.SetOut(&out)
	root.SetErr(&out)
	if err := root.Execute(); err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	for _, want := range []string{"Simulator gateway on 127.0.0.1:", "JOB", "flash-high", "All 11 sample jobs ended as expected."} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if _, err := os.Stat(kc); !os.IsNotExist(err) {
		t.Errorf("kubeconfig %s left behind (%v)", kc, err)
	}
	if b, err := os.ReadFile(logFile); err != nil || !strings.Contains(string(b), "Job started") {
		t.Errorf("log file %s lacks the agents' logs (%v)", logFile, err)
	}
}
