package devcluster

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ExecChildCommand is the hidden subcommand of the ecufleet binary through which Start runs
// etcd and kube-apiserver when Options.Launcher is set: `ecufleet dev exec-child --parent PID
// --pid-file FILE -- BINARY ARGS...` sets the Linux parent-death signal (SIGKILL), records the
// process in FILE and executes BINARY in its place, so the child dies with `ecufleet dev` even
// when that is SIGKILLed, and a later `ecufleet dev` finds what an older one left.
var ExecChildCommand = []string{"dev", "exec-child"}

// leftoverKillTimeout bounds the wait for a leftover process to go after SIGKILL.
const leftoverKillTimeout = 10 * time.Second

// Roles of the lines of a pid file.
const (
	roleDev   = "dev"   // the `ecufleet dev` process that owns the file
	roleChild = "child" // a process started through ExecChildCommand
)

// pidEntry is one line of a pid file: "role pid starttime path". The start time (clock ticks
// since boot, /proc/PID/stat field 22) tells a process from a later one that got its pid.
type pidEntry struct {
	role      string
	pid       int
	startTime uint64
	path      string
}

// String formats the entry as a pid file line.
func (e pidEntry) String() string {
	return fmt.Sprintf("%s %d %d %s\n", e.role, e.pid, e.startTime, e.path)
}

// alive reports whether the recorded process still runs: same pid, same start time, same
// executable path as argv[0] of /proc/PID/cmdline.
func (e pidEntry) alive() bool {
	st, err := procStartTime(e.pid)
	if err != nil || st != e.startTime {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", e.pid))
	if err != nil {
		return false
	}
	argv0, _, _ := bytes.Cut(cmdline, []byte{0})
	return string(argv0) == e.path
}

// procStartTime reads field 22 of /proc/PID/stat.
func procStartTime(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces: count from its end.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	fields := strings.Fields(string(b[i+1:]))
	const startTimeField = 22 - 3 // fields after the name start at field 3
	if len(fields) <= startTimeField {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields after the name, want more than %d", pid, len(fields), startTimeField)
	}
	return strconv.ParseUint(fields[startTimeField], 10, 64)
}

// maxPidFile bounds what readPidFile reads: a dev cluster records a handful of processes.
const maxPidFile = 64 << 10

// readPidFile parses a pid file; a missing file has no entries, malformed lines are skipped.
func readPidFile(path string) ([]pidEntry, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the pid file of an earlier ecufleet dev: %w", err)
	}
	defer f.Close()
	var out []pidEntry
	sc := bufio.NewScanner(&limitedReader{f: f, left: maxPidFile})
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), " ", 4)
		if len(parts) != 4 {
			continue
		}
		pid, perr := strconv.Atoi(parts[1])
		st, serr := strconv.ParseUint(parts[2], 10, 64)
		if perr != nil || serr != nil || pid <= 1 {
			continue
		}
		out = append(out, pidEntry{role: parts[0], pid: pid, startTime: st, path: parts[3]})
	}
	return out, sc.Err()
}

// limitedReader reads at most left bytes of f.
type limitedReader struct {
	f    *os.File
	left int
}

// Read implements io.Reader.
func (r *limitedReader) Read(b []byte) (int, error) {
	if r.left <= 0 {
		return 0, errors.New("pid file larger than 64 KiB; remove it")
	}
	n, err := r.f.Read(b[:min(len(b), r.left)])
	r.left -= n
	return n, err
}

// claimPidFile makes path this process's pid file: it refuses while the `ecufleet dev` that
// wrote it still runs, SIGKILLs the children that one left running, then records this process.
func claimPidFile(path string) error {
	entries, err := readPidFile(path)
	if err != nil {
		return err
	}
	var leftovers []pidEntry
	for _, e := range entries {
		switch {
		case !e.alive() || e.pid == os.Getpid():
		case e.role == roleDev:
			return fmt.Errorf("another ecufleet dev (pid %d) runs with %s; stop it, or give this one another --kubeconfig-out", e.pid, path)
		case e.role == roleChild:
			leftovers = append(leftovers, e)
		}
	}
	if err := killLeftovers(leftovers); err != nil {
		return err
	}
	self, err := selfEntry(roleDev)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("creating the directory of the pid file %s: %w", path, err)
	}
	return os.WriteFile(path, []byte(self.String()), 0o600)
}

// killLeftovers SIGKILLs each process and waits until it is gone.
func killLeftovers(leftovers []pidEntry) error {
	for _, e := range leftovers {
		if err := syscall.Kill(e.pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("killing %s (pid %d) left by an earlier ecufleet dev: %w; kill it by hand", e.path, e.pid, err)
		}
	}
	deadline := time.Now().Add(leftoverKillTimeout)
	for _, e := range leftovers {
		for e.alive() { // a zombie's cmdline is empty: it counts as gone
			if time.Now().After(deadline) {
				return fmt.Errorf("%s (pid %d) left by an earlier ecufleet dev is still there %v after SIGKILL", e.path, e.pid, leftoverKillTimeout)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}

// selfEntry describes the calling process.
func selfEntry(role string) (pidEntry, error) {
	st, err := procStartTime(os.Getpid())
	if err != nil {
		return pidEntry{}, fmt.Errorf("reading this process's start time: %w", err)
	}
	cmdline, err := os.ReadFile("/proc/self/cmdline")
	if err != nil {
		return pidEntry{}, fmt.Errorf("reading this process's command line: %w", err)
	}
	argv0, _, _ := bytes.Cut(cmdline, []byte{0})
	return pidEntry{role: role, pid: os.Getpid(), startTime: st, path: string(argv0)}, nil
}

// writeLaunchers writes, next to the pid file, one shell script per binary that runs it
// through launcher's ExecChildCommand, and returns the scripts' paths in the same order.
func writeLaunchers(dir, launcher, pidFile string, binaries ...string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s for the control plane launchers: %w", dir, err)
	}
	quoted := []string{launcher, pidFile, dir}
	quoted = append(quoted, binaries...)
	for _, p := range quoted {
		if strings.ContainsAny(p, "'\n") {
			return nil, fmt.Errorf("path %q holds a quote or a newline; choose another --kubeconfig-out or install directory", p)
		}
	}
	var out []string
	for _, bin := range binaries {
		script := fmt.Sprintf("#!/bin/sh\nexec '%s' %s --parent %d --pid-file '%s' -- '%s' \"$@\"\n",
			launcher, strings.Join(ExecChildCommand, " "), os.Getpid(), pidFile, bin)
		path := filepath.Join(dir, filepath.Base(bin))
		if err := os.WriteFile(path, []byte(script), 0o700); err != nil {
			return nil, fmt.Errorf("writing the launcher %s: %w", path, err)
		}
		out = append(out, path)
	}
	return out, nil
}

// ExecChild is the body of ExecChildCommand (args: the flags and binary after it): it makes the
// process die with its parent, records it in the pid file and replaces itself by the binary.
// It returns only on error.
func ExecChild(args []string) error {
	parent, pidFile, argv, err := parseExecChild(args)
	if err != nil {
		return err
	}
	if err := setParentDeathSignal(); err != nil {
		return err
	}
	if os.Getppid() != parent {
		return fmt.Errorf("exec-child: the parent (pid %d) exited before %s started", parent, argv[0])
	}
	self, err := selfEntry(roleChild)
	if err != nil {
		return err
	}
	self.path = argv[0] // what /proc/PID/cmdline shows after the exec
	f, err := os.OpenFile(pidFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("exec-child: recording %s: %w", argv[0], err)
	}
	_, werr := f.WriteString(self.String())
	if err := errors.Join(werr, f.Close()); err != nil {
		return fmt.Errorf("exec-child: recording %s in %s: %w", argv[0], pidFile, err)
	}
	return syscall.Exec(argv[0], argv, os.Environ())
}

// parseExecChild reads `--parent PID --pid-file FILE -- BINARY ARGS...`.
func parseExecChild(args []string) (parent int, pidFile string, argv []string, err error) {
	usage := errors.New("usage: ecufleet dev exec-child --parent PID --pid-file FILE -- BINARY [ARGS...] (run by ecufleet dev, not by hand)")
	for len(args) > 0 {
		switch {
		case args[0] == "--" && len(args) > 1:
			argv = args[1:]
			args = nil
		case args[0] == "--parent" && len(args) > 1:
			if parent, err = strconv.Atoi(args[1]); err != nil || parent <= 1 {
				return 0, "", nil, usage
			}
			args = args[2:]
		case args[0] == "--pid-file" && len(args) > 1:
			pidFile, args = args[1], args[2:]
		default:
			return 0, "", nil, usage
		}
	}
	if parent == 0 || pidFile == "" || len(argv) == 0 || !filepath.IsAbs(argv[0]) {
		return 0, "", nil, usage
	}
	return parent, pidFile, argv, nil
}
