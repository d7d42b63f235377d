package doipbench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// envCPUs makes the test binary a launcher: it binds itself to these CPUs (a comma-separated
// list) and execs its arguments, so every thread of the program it becomes runs on them.
const envCPUs = "DOIPBENCH_CPUS"

// A placement is where the two processes of a pair run. On a virtual machine it decides more
// than the code does: a wake-up on the same CPU is a context switch, one on a CPU that has
// gone idle costs the hypervisor's interrupt, and unpinned processes land either way from
// run to run. Each pair runs in every placement, so stack and raw are compared placed alike.
type placement struct {
	name           string
	server, client []int // CPUs; nil: wherever the kernel puts the process
}

// placements are one CPU for both processes, one CPU each, and the kernel's choice (as users
// run them); the pinned ones only where the benchmark may use two CPUs.
func placements() ([]placement, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, fmt.Errorf("read the CPUs this benchmark may use: %w", err)
	}
	var cpus []int
	for cpu := 0; cpu < 1024 && len(cpus) < 2; cpu++ {
		if set.IsSet(cpu) {
			cpus = append(cpus, cpu)
		}
	}
	all := []placement{{name: "as scheduled"}}
	if len(cpus) < 2 {
		return all, nil
	}
	return append([]placement{
		{name: "one CPU", server: cpus[:1], client: cpus[:1]},
		{name: "two CPUs", server: cpus[:1], client: cpus[1:2]},
	}, all...), nil
}

// command is name with args, run on cpus through the launcher self; with no cpus, directly.
func command(ctx context.Context, self string, cpus []int, name string, args ...string) *exec.Cmd {
	if cpus == nil {
		return exec.CommandContext(ctx, name, args...)
	}
	list := make([]string, len(cpus))
	for i, cpu := range cpus {
		list[i] = strconv.Itoa(cpu)
	}
	cmd := exec.CommandContext(ctx, self, append([]string{name}, args...)...)
	cmd.Env = append(os.Environ(), envCPUs+"="+strings.Join(list, ","))
	return cmd
}

// launch binds the calling thread to the CPUs in list and replaces the process with argv; the
// binding survives exec, and the new program's threads inherit it.
func launch(list string, argv []string) error {
	var set unix.CPUSet
	for f := range strings.SplitSeq(list, ",") {
		cpu, err := strconv.Atoi(f)
		if err != nil {
			return fmt.Errorf("%s=%q: want CPU numbers separated by commas", envCPUs, list)
		}
		set.Set(cpu)
	}
	if len(argv) == 0 {
		return fmt.Errorf("%s is set but no program to run was given", envCPUs)
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return err
	}
	runtime.LockOSThread() // the thread that is bound is the one that calls exec
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return fmt.Errorf("bind to CPUs %s: %w", list, err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, envCPUs+"=") {
			env = append(env, kv)
		}
	}
	return syscall.Exec(path, argv, env)
}
