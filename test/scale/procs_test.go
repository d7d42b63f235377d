package scale

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ecufleet/ecufleet/internal/proctest"
)

// proc is one ecufleet process of the benchmark, logging to a file in the work directory.
type proc = proctest.Proc

// start runs the group's binary with args as a process called name; it dies with the
// benchmark (SIGTERM for the control plane, so that it stops etcd and kube-apiserver).
func start(b *testing.B, g *proctest.Group, name string, args ...string) *proc {
	b.Helper()
	sig := syscall.SIGKILL
	if name == proctest.ControlPlane {
		sig = syscall.SIGTERM
	}
	p, err := g.Start(name, sig, args...)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// await fails the benchmark when p exits or ctx ends before p logs text.
func await(ctx context.Context, b *testing.B, p *proc, text string) {
	b.Helper()
	if err := p.AwaitLog(ctx, text); err != nil {
		b.Fatal(err)
	}
}

// memory is a process's resident set now and at its peak, from /proc/PID/status.
type memory struct{ rss, peak int64 } // bytes

func memoryOf(p *proc) memory {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.Pid()))
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

// cpuOf is the process's user plus system CPU time so far, from /proc/PID/stat.
func cpuOf(p *proc) time.Duration { return pidCPU(p.Pid()) }

// treeCPU is cpuOf the process and every live process below it: the control plane's
// kube-apiserver and etcd are children of `ecufleet dev`.
func treeCPU(p *proc) time.Duration {
	root := p.Pid()
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
