package scale

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// proc is one ecufleet process of the benchmark, logging to a file in the work directory.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// startProc runs bin with args; the process dies with the benchmark (Pdeathsig).
func startProc(b *testing.B, dir, bin, kubeconfig, name string, args ...string) *proc {
	b.Helper()
	log := filepath.Join(dir, name+".log")
	f, err := os.Create(log)
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		b.Fatalf("starting %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: log, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); f.Close(); close(p.done) }()
	return p
}

// stop sends SIGTERM and waits up to grace, then kills.
func (p *proc) stop(grace time.Duration) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// waitForLog waits until the process's log holds text.
func (p *proc) waitForLog(ctx context.Context, b *testing.B, text string) {
	b.Helper()
	for ctx.Err() == nil {
		if data, _ := os.ReadFile(p.log); strings.Contains(string(data), text) {
			return
		}
		select {
		case <-p.done:
			data, _ := os.ReadFile(p.log)
			b.Fatalf("%s exited before logging %q:\n%s", p.name, text, data)
		case <-time.After(100 * time.Millisecond):
		}
	}
	b.Fatalf("%s: %q not logged: %v", p.name, text, ctx.Err())
}

// memory is a process's resident set now and at its peak, from /proc/PID/status.
type memory struct{ rss, peak int64 } // bytes

func (p *proc) memory() memory {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return memory{}
	}
	defer f.Close()
	var m memory
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(fields[1], 10, 64)
		switch fields[0] {
		case "VmRSS:":
			m.rss = kb << 10
		case "VmHWM:":
			m.peak = kb << 10
		}
	}
	return m
}

// cpu is the process's user plus system CPU time so far, from /proc/PID/stat.
func (p *proc) cpu() time.Duration { return pidCPU(p.cmd.Process.Pid) }

// treeCPU is cpu of the process and every live process below it: the control plane's
// kube-apiserver and etcd are children of `ecufleet dev`.
func (p *proc) treeCPU() time.Duration {
	root := p.cmd.Process.Pid
	parents := map[int]int{} // pid -> parent pid, of every process
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if f := statFields(pid); len(f) > 1 {
			parents[pid], _ = strconv.Atoi(f[1])
		}
	}
	var total time.Duration
	for pid := range parents {
		for a := pid; a > 1; a = parents[a] {
			if a == root {
				total += pidCPU(pid)
				break
			}
		}
	}
	return total
}

// pidCPU is a process's user plus system CPU time so far (0: gone).
func pidCPU(pid int) time.Duration {
	f := statFields(pid)
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticks
}

// statFields is /proc/PID/stat after the command name, which may hold spaces: its fields from
// the state on (f[1] is the parent's pid, f[11] and f[12] utime and stime); nil when gone.
func statFields(pid int) []string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	return strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
}

// freeAddr is a free 127.0.0.1 port, for the controller's metrics and probes.
func freeAddr(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }
