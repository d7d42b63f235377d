package main

import (
	"fmt"
	"os"
	"runtime/pprof"
	"runtime/trace"
)

// Environment variables that profile one run of any command, for `make bench-doip` and for
// finding where a slow command spends its time (docs/benchmarks.md); unset, they cost nothing.
const (
	envCPUProfile = "ECUFLEET_CPUPROFILE" // file for a CPU profile (go tool pprof)
	envTrace      = "ECUFLEET_TRACE"      // file for an execution trace (go tool trace)
)

// startProfiles starts what the profiling variables ask for and returns the function that
// writes them out; it must run before the process exits.
func startProfiles() (stop func(), err error) {
	var stops []func()
	stop = func() {
		for _, s := range stops {
			s()
		}
	}
	if path := os.Getenv(envCPUProfile); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return stop, fmt.Errorf("%s: %w", envCPUProfile, err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return stop, fmt.Errorf("%s: start the CPU profile: %w", envCPUProfile, err)
		}
		stops = append(stops, func() { pprof.StopCPUProfile(); f.Close() })
	}
	if path := os.Getenv(envTrace); path != "" {
		f, err := os.Create(path)
		if err != nil {
			stop()
			return func() {}, fmt.Errorf("%s: %w", envTrace, err)
		}
		if err := trace.Start(f); err != nil {
			f.Close()
			stop()
			return func() {}, fmt.Errorf("%s: start the execution trace: %w", envTrace, err)
		}
		stops = append(stops, func() { trace.Stop(); f.Close() })
	}
	return stop, nil
}
