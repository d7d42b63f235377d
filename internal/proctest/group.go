package proctest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ControlPlane is the name of the `ecufleet dev` process: StopAll stops it last and gives it
// longer, so that it can stop etcd and kube-apiserver after everything that talks to them.
const ControlPlane = "dev"

// Grace periods of StopAll, between SIGTERM and SIGKILL.
const (
	stopGrace         = 15 * time.Second
	controlPlaneGrace = 90 * time.Second
)

// Group starts one binary's processes and keeps every one, running or not, so all are stopped
// at the end, all logs can be shown on a failure, and each restart of a name gets a log of its
// own (name.1.log, name.2.log, ...).
type Group struct {
	Bin string   // the binary every process runs
	Dir string   // where the logs go
	Env []string // added to this process's environment, e.g. KUBECONFIG=...

	mu  sync.Mutex
	all []*Proc
	seq map[string]int
}

// Start runs the binary with args as a process called name. deathSignal reaches it if the test
// binary dies without cleaning up: SIGTERM for the control plane, so that it stops etcd and
// kube-apiserver, SIGKILL for the others.
func (g *Group) Start(name string, deathSignal syscall.Signal, args ...string) (*Proc, error) {
	g.mu.Lock()
	if g.seq == nil {
		g.seq = map[string]int{}
	}
	g.seq[name]++
	log := filepath.Join(g.Dir, fmt.Sprintf("%s.%d.log", name, g.seq[name]))
	g.mu.Unlock()
	cmd := exec.Command(g.Bin, args...)
	cmd.Env = append(os.Environ(), g.Env...)
	p, err := start(name, log, cmd, deathSignal)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	g.all = append(g.all, p)
	g.mu.Unlock()
	return p, nil
}

// All is every process started so far, in order.
func (g *Group) All() []*Proc {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.all)
}

// Logs are the log files of every process whose name starts with prefix, restarts included.
func (g *Group) Logs(prefix string) []string {
	var out []string
	for _, p := range g.All() {
		if strings.HasPrefix(p.Name, prefix) {
			out = append(out, p.Log)
		}
	}
	return out
}

// StopAll stops every running process, all but the control plane at once and the control
// plane last; logf hears of each that had to be killed.
func (g *Group) StopAll(logf func(format string, args ...any)) {
	var plane []*Proc
	var wg sync.WaitGroup
	for _, p := range g.All() {
		if p.Name == ControlPlane {
			plane = append(plane, p)
			continue
		}
		wg.Go(func() {
			if !p.Stop(stopGrace) {
				logf("%s did not stop within %v of SIGTERM and was killed", p.Name, stopGrace)
			}
		})
	}
	wg.Wait()
	for _, p := range plane {
		if !p.Stop(controlPlaneGrace) {
			logf("%s did not stop within %v of SIGTERM and was killed: etcd or kube-apiserver may be left running", p.Name, controlPlaneGrace)
		}
	}
}
