package e2e

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/ecufleet/ecufleet/internal/proctest"
)

// proc is one ecufleet process of the suite; its stdout and stderr go to a log file.
type proc = proctest.Proc

// procs starts the suite's processes and keeps every one of them, running or not, so that all
// are stopped at the end and all logs can be shown when a spec fails.
type procs struct{ proctest.Group }

// start runs the binary with args as a process called name. deathSignal reaches the process if
// the test binary dies without cleaning up (the control plane gets SIGTERM, so that it can stop
// etcd and kube-apiserver; the others SIGKILL).
func (ps *procs) start(name string, deathSignal syscall.Signal, args ...string) *proc {
	GinkgoHelper()
	p, err := ps.Start(name, deathSignal, args...)
	Expect(err).NotTo(HaveOccurred())
	fmt.Fprintf(GinkgoWriter, "Started %s (pid %d): ecufleet %s\n", name, p.Pid(), strings.Join(args, " "))
	return p
}

// kill ends the process at once (SIGKILL), as a crash or a power cut would, and waits for it.
func kill(p *proc) {
	GinkgoHelper()
	Expect(p.Kill()).To(Succeed())
	fmt.Fprintf(GinkgoWriter, "Killed %s (pid %d)\n", p.Name, p.Pid())
}

// waitForLog waits (at most two minutes) until the process's log contains text; it fails at
// once, showing the log, if the process exited first.
func waitForLog(ctx context.Context, p *proc, text string) {
	GinkgoHelper()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	Expect(p.AwaitLog(ctx, text)).To(Succeed())
}

// stopAll stops every running process, agents and simulators first and the control plane last.
func (ps *procs) stopAll() {
	ps.StopAll(func(format string, args ...any) { fmt.Fprintf(GinkgoWriter, format+"\n", args...) })
}

// dumpLogs writes the end of every process's log to the spec's output.
func (ps *procs) dumpLogs() {
	for _, p := range ps.All() {
		state := "running"
		if p.Exited() {
			state = fmt.Sprintf("exited: %v", p.Err())
		}
		fmt.Fprintf(GinkgoWriter, "\n===== %s (%s), last lines of %s =====\n%s", p.Name, state, p.Log, proctest.Tail(p.Log, 60))
	}
}
