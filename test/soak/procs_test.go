package soak

import (
	"path/filepath"
	"syscall"
	"testing"

	"github.com/ecufleet/ecufleet/internal/proctest"
)

// proc is one ecufleet process of the soak; its stdout and stderr go to a log file of its own.
type proc = proctest.Proc

// procs starts the soak's processes, all with KUBECONFIG set to the soak's cluster, and keeps
// them all, so that every one is stopped at the end.
type procs struct {
	proctest.Group
	kubeconfig string
}

// newProcs runs bin's processes with their logs and the kubeconfig in dir.
func newProcs(bin, dir string) *procs {
	kubeconfig := filepath.Join(dir, "kubeconfig")
	return &procs{Group: proctest.Group{Bin: bin, Dir: dir, Env: []string{"KUBECONFIG=" + kubeconfig}}, kubeconfig: kubeconfig}
}

// start runs the binary with args as a process called name; deathSignal reaches it if the
// test binary dies without cleaning up. A process that cannot start fails the soak.
func (ps *procs) start(t *testing.T, name string, deathSignal syscall.Signal, args ...string) *proc {
	t.Helper()
	p, err := ps.Start(name, deathSignal, args...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
