package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// proc is one ecufleet process of the suite; its stdout and stderr go to a log file.
type proc struct {
	name string
	args []string
	log  string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process exited
	err  error         // Wait's result, once done is closed
}

// procs starts the suite's processes and keeps every one of them, running or not, so that all
// are stopped at the end and all logs can be shown when a spec fails.
type procs struct {
	bin    string
	logDir string

	mu  sync.Mutex
	all []*proc
	seq map[string]int
}

// start runs the binary with args as a process called name. deathSignal reaches the process if
// the test binary dies without cleaning up (the control plane gets SIGTERM, so that it can stop
// etcd and kube-apiserver; the others SIGKILL).
func (ps *procs) start(name string, deathSignal syscall.Signal, args ...string) *proc {
	GinkgoHelper()
	ps.mu.Lock()
	if ps.seq == nil {
		ps.seq = map[string]int{}
	}
	ps.seq[name]++
	logPath := filepath.Join(ps.logDir, fmt.Sprintf("%s.%d.log", name, ps.seq[name]))
	ps.mu.Unlock()
	file, err := os.Create(logPath)
	Expect(err).NotTo(HaveOccurred())
	cmd := exec.Command(ps.bin, args...)
	cmd.Stdout, cmd.Stderr = file, file
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: deathSignal}
	Expect(cmd.Start()).To(Succeed(), "starting %s", name)
	p := &proc{name: name, args: args, log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		file.Close()
		close(p.done)
	}()
	ps.mu.Lock()
	ps.all = append(ps.all, p)
	ps.mu.Unlock()
	fmt.Fprintf(GinkgoWriter, "Started %s (pid %d): ecufleet %s\n", name, cmd.Process.Pid, strings.Join(args, " "))
	return p
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill ends the process at once (SIGKILL), as a crash or a power cut would, and waits for it.
func (p *proc) kill() {
	GinkgoHelper()
	if !p.exited() {
		Expect(p.cmd.Process.Signal(syscall.SIGKILL)).To(Succeed())
	}
	<-p.done
	fmt.Fprintf(GinkgoWriter, "Killed %s (pid %d)\n", p.name, p.cmd.Process.Pid)
}

// stop asks the process to end (SIGTERM) and kills it when it has not within grace; it reports
// whether it ended on its own.
func (p *proc) stop(grace time.Duration) bool {
	if p.exited() {
		return true
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		fmt.Fprintf(GinkgoWriter, "Signalling %s: %v\n", p.name, err)
	}
	select {
	case <-p.done:
		return true
	case <-time.After(grace):
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
		return false
	}
}

// waitForLog waits (at most two minutes) until the process's log contains text; it fails at
// once, showing the log, if the process exited first.
func (p *proc) waitForLog(ctx context.Context, text string) {
	GinkgoHelper()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	Expect(p.awaitLog(ctx, text)).To(Succeed())
}

// awaitLog waits until the process's log contains text, or returns an error with the log when
// the process exited first or ctx ended.
func (p *proc) awaitLog(ctx context.Context, text string) error {
	for {
		data, err := os.ReadFile(p.log)
		if err == nil && bytes.Contains(data, []byte(text)) {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited (%v) before logging %q:\n%s", p.name, p.err, text, tail(p.log, 40))
		case <-ctx.Done():
			return fmt.Errorf("%s did not log %q: %w\n%s", p.name, text, ctx.Err(), tail(p.log, 40))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stopAll stops every running process, agents and simulators first and the control plane last.
func (ps *procs) stopAll() {
	ps.mu.Lock()
	all := append([]*proc(nil), ps.all...)
	ps.mu.Unlock()
	var plane []*proc
	var wg sync.WaitGroup
	for _, p := range all {
		if p.name == "dev" {
			plane = append(plane, p)
			continue
		}
		wg.Go(func() {
			if !p.stop(15 * time.Second) {
				fmt.Fprintf(GinkgoWriter, "%s did not stop within 15 s of SIGTERM and was killed\n", p.name)
			}
		})
	}
	wg.Wait()
	for _, p := range plane {
		if !p.stop(90 * time.Second) {
			fmt.Fprintf(GinkgoWriter, "%s did not stop within 90 s of SIGTERM and was killed: etcd or kube-apiserver may be left running\n", p.name)
		}
	}
}

// dumpLogs writes the end of every process's log to the spec's output.
func (ps *procs) dumpLogs() {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for _, p := range ps.all {
		state := "running"
		if p.exited() {
			state = fmt.Sprintf("exited: %v", p.err)
		}
		fmt.Fprintf(GinkgoWriter, "\n===== %s (%s), last lines of %s =====\n%s", p.name, state, p.log, tail(p.log, 60))
	}
}

// tail is the last n lines of a file.
func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error() + "\n"
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n") + "\n"
}
