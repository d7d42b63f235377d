package soak

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// proc is one ecufleet process of the soak; its stdout and stderr go to a log file of its own.
type proc struct {
	name string
	log  string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process exited
	err  error         // Wait's result, once done is closed
}

// procs starts the soak's processes and keeps them all, so that every one is stopped at the
// end and each restart gets a log file of its own (name.1.log, name.2.log, ...).
type procs struct {
	bin, dir, kubeconfig string

	mu  sync.Mutex
	all []*proc
	seq map[string]int
}

// start runs the binary with args as a process called name, with KUBECONFIG set to the soak's
// cluster. deathSignal reaches it if the test binary dies without cleaning up.
func (ps *procs) start(t *testing.T, name string, deathSignal syscall.Signal, args ...string) *proc {
	t.Helper()
	ps.mu.Lock()
	if ps.seq == nil {
		ps.seq = map[string]int{}
	}
	ps.seq[name]++
	logPath := filepath.Join(ps.dir, fmt.Sprintf("%s.%d.log", name, ps.seq[name]))
	ps.mu.Unlock()
	file, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(ps.bin, args...)
	cmd.Stdout, cmd.Stderr = file, file
	cmd.Env = append(os.Environ(), "KUBECONFIG="+ps.kubeconfig)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: deathSignal}
	if err := cmd.Start(); err != nil {
		file.Close()
		t.Fatalf("starting %s: %v", name, err)
	}
	p := &proc{name: name, log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		file.Close()
		close(p.done)
	}()
	ps.mu.Lock()
	ps.all = append(ps.all, p)
	ps.mu.Unlock()
	return p
}

// logs are the log files of every process whose name starts with prefix, restarts included.
func (ps *procs) logs(prefix string) []string {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	var out []string
	for _, p := range ps.all {
		if strings.HasPrefix(p.name, prefix) {
			out = append(out, p.log)
		}
	}
	return out
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
func (p *proc) kill() error {
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("killing %s (pid %d): %w", p.name, p.cmd.Process.Pid, err)
	}
	<-p.done
	return nil
}

// stop asks the process to end (SIGTERM) and kills it when it has not within grace; it reports
// whether it ended on its own.
func (p *proc) stop(grace time.Duration) bool {
	if p.exited() {
		return true
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return true
	case <-time.After(grace):
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
		return false
	}
}

// awaitLog waits until the process's log contains text, or returns an error with the end of
// the log when the process exited first or ctx ended.
func (p *proc) awaitLog(ctx context.Context, text string) error {
	for {
		if data, err := os.ReadFile(p.log); err == nil && strings.Contains(string(data), text) {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited (%v) before logging %q:\n%s", p.name, p.err, text, tail(p.log, 30))
		case <-ctx.Done():
			return fmt.Errorf("%s did not log %q: %w\n%s", p.name, text, ctx.Err(), tail(p.log, 30))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stopAll stops every running process, the control plane ("dev") last.
func (ps *procs) stopAll(t *testing.T) {
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
				t.Logf("%s did not stop within 15 s of SIGTERM and was killed", p.name)
			}
		})
	}
	wg.Wait()
	for _, p := range plane {
		if !p.stop(90 * time.Second) {
			t.Logf("%s did not stop within 90 s of SIGTERM and was killed: etcd or kube-apiserver may be left running", p.name)
		}
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
