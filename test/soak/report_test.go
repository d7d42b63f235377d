package soak

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
)

// report prints the soak's figures as one block, then every finding that must be zero, each
// on its own line.
func report(w io.Writer, seed uint64, created, settled time.Duration, r *rig, inj *injector, f *findings) {
	faults := inj.snapshot()
	total := 0
	for _, n := range faults {
		total += n
	}
	auto := 0
	for _, s := range r.sims {
		if s.autoReconnect {
			auto++
		}
	}
	fmt.Fprintf(w, "\n===== ecufleet soak =====\n")
	fmt.Fprintf(w, "seed               %d\n", seed)
	fmt.Fprintf(w, "machine            %d CPUs, %s\n", runtime.NumCPU(), cpuModel())
	fmt.Fprintf(w, "duration           %v creating jobs and injecting faults, %v until the last job finished\n", created.Round(time.Second), settled.Round(time.Second))
	fmt.Fprintf(w, "processes          1 controller, %d agents, %d simulators (one ECU each, %d with autoReconnect), ecufleet dev for etcd and kube-apiserver\n", len(r.agents), len(r.sims), auto)
	fmt.Fprintf(w, "jobs created       %d (tagged %d, flash %d), backoffLimit %d\n", f.jobs, f.byKind[kindTagged], f.byKind[kindFlash], backoffLimit)
	fmt.Fprintf(w, "finished           %s\n", joinCounts(f.finished))
	fmt.Fprintf(w, "attempts           %d in all; %d jobs retried (%d of them flash jobs); retries by reason: %s\n", f.attempts, f.retried, f.flashRetr, joinCounts(f.retries))
	fmt.Fprintf(w, "faults injected    %d: agent %d, simulator %d, controller %d (SIGKILL and restart)\n", total, faults[faultAgent], faults[faultSimulator], faults[faultController])
	fmt.Fprintf(w, "writes accepted    %d tagged writes logged by the simulators\n", f.writes)
	fmt.Fprintf(w, "double bookings    %d\n", len(f.double))
	fmt.Fprintf(w, "lost results       %d\n", len(f.lost))
	fmt.Fprintf(w, "duplicated results %d (step results or writes)\n", len(f.duplicate))
	fmt.Fprintf(w, "stuck jobs         %d (not final %v after the last job was created)\n", len(f.stuck), *soakGrace)
	fmt.Fprintf(w, "unexplained fails  %d (not an infrastructure reason, and no simulator restart under the job)\n", len(f.unexplain))
	fmt.Fprintf(w, "fault-made fails   %d (StepFailed: the job's simulator was killed while it ran, and answered from a fresh state)\n", len(f.faulted))
	fmt.Fprintf(w, "watch gaps         %d\n", len(f.gaps))
	fmt.Fprintf(w, "=========================\n")
	for _, group := range []struct {
		name  string
		lines []string
	}{
		{"Double booking", f.double}, {"Lost", f.lost}, {"Duplicated", f.duplicate}, {"Stuck", f.stuck},
		{"Unexplained failure", f.unexplain}, {"Fault-made failure", f.faulted}, {"Watch gap", f.gaps},
	} {
		for _, l := range group.lines {
			fmt.Fprintf(w, "%s: %s\n", group.name, l)
		}
	}
	inj.mu.Lock()
	defer inj.mu.Unlock()
	for _, l := range inj.log {
		fmt.Fprintf(w, "Fault %s\n", l)
	}
}

// cpuModel is the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for line := range strings.Lines(string(data)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}
