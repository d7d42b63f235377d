package proctest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Proc is one running (or ended) process whose stdout and stderr go to the file Log.
type Proc struct {
	Name string
	Log  string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process exited
	err  error         // Wait's result, once done is closed
}

// start runs cmd with its output to the file at log; deathSignal reaches the process if the
// test binary dies without cleaning up.
func start(name, log string, cmd *exec.Cmd, deathSignal syscall.Signal) (*Proc, error) {
	file, err := os.Create(log)
	if err != nil {
		return nil, fmt.Errorf("log of %s: %w", name, err)
	}
	cmd.Stdout, cmd.Stderr = file, file
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: deathSignal}
	if err := cmd.Start(); err != nil {
		file.Close()
		return nil, fmt.Errorf("starting %s (%s): %w", name, cmd.Path, err)
	}
	p := &Proc{Name: name, Log: log, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		file.Close()
		close(p.done)
	}()
	return p, nil
}

// Pid is the process's id, for /proc and for naming it in a failure.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Done is closed once the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err is how the process ended (Wait's result); nil while it runs and after a clean exit.
func (p *Proc) Err() error {
	if !p.Exited() {
		return nil
	}
	return p.err
}

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Kill ends the process at once (SIGKILL), as a crash or a power cut would, and waits for it.
func (p *Proc) Kill() error {
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("killing %s (pid %d): %w", p.Name, p.Pid(), err)
	}
	<-p.done
	return nil
}

// Stop asks the process to end (SIGTERM) and kills it when it has not within grace; it reports
// whether it ended on its own.
func (p *Proc) Stop(grace time.Duration) bool {
	if p.Exited() {
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

// AwaitLog waits until the process's log contains text, or returns an error with the end of
// the log when the process exited first or ctx ended.
func (p *Proc) AwaitLog(ctx context.Context, text string) error {
	for {
		if data, err := os.ReadFile(p.Log); err == nil && bytes.Contains(data, []byte(text)) {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited (%v) before logging %q:\n%s", p.Name, p.err, text, Tail(p.Log, 40))
		case <-ctx.Done():
			return fmt.Errorf("%s did not log %q: %w\n%s", p.Name, text, ctx.Err(), Tail(p.Log, 40))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Tail is the last n lines of a file, for a failure message; an unreadable file gives the error.
func Tail(path string, n int) string {
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
