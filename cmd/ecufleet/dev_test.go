package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// flagValue reads a flag's value as the user would see it in --help.
func flagValue(t *testing.T, cmd *cobra.Command, name string) string {
	t.Helper()
	f := cmd.Flags().Lookup(name)
	if f == nil {
		t.Fatalf("%s has no --%s", cmd.Name(), name)
	}
	return f.Value.String()
}

func TestDevAndDemoDefaults(t *testing.T) {
	dev, demo := newDevCmd(), newDemoCmd()
	for name, want := range map[string]string{"agents": "2", "sims": "2", "kubeconfig-out": "bin/dev/kubeconfig", "log-file": "bin/dev/dev.log", "no-controller": "false"} {
		if got := flagValue(t, dev, name); got != want {
			t.Errorf("dev --%s defaults to %q, want %q", name, got, want)
		}
	}
	for name, want := range map[string]string{"agents": "2", "kubeconfig-out": "bin/dev/kubeconfig", "log-file": "bin/dev/demo.log", "timeout": "3m0s", "keep": "false", "samples": ""} {
		if got := flagValue(t, demo, name); got != want {
			t.Errorf("demo --%s defaults to %q, want %q", name, got, want)
		}
	}
}

func TestOpenLog(t *testing.T) {
	var stderr bytes.Buffer
	w, closeLog, err := openLog("-", &stderr)
	if err != nil || w != &stderr {
		t.Fatalf("openLog(-) = %v, %v; want stderr", w, err)
	}
	if err := closeLog(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "new", "dir", "dev.log")
	w, closeLog, err = openLog(path, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("Started\n")); err != nil {
		t.Fatal(err)
	}
	if err := closeLog(); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "Started\n" {
		t.Fatalf("log file holds %q, %v", b, err)
	}
}

func TestDevRefusesBadCounts(t *testing.T) {
	for _, args := range [][]string{{"dev", "--sims", "-1"}, {"dev", "--agents", "1000"}} {
		root := newRootCmd()
		root.SetArgs(append(args, "--kubeconfig-out", filepath.Join(t.TempDir(), "kc"), "--log-file", "-"))
		root.SetOut(&bytes.Buffer{})
		root.SetErr(&bytes.Buffer{})
		if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "want 0..") {
			t.Errorf("%v: got %v, want a range error", args, err)
		}
	}
}
