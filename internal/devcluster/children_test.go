package devcluster

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// startSleeper runs a real process the pid file tests can record and kill.
func startSleeper(t *testing.T) (*exec.Cmd, pidEntry) {
	t.Helper()
	cmd := exec.Command("sleep", "300")
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot run sleep: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	st, err := procStartTime(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	return cmd, pidEntry{role: roleChild, pid: cmd.Process.Pid, startTime: st, path: "sleep"}
}

func writePidFile(t *testing.T, entries ...pidEntry) string {
	t.Helper()
	var b strings.Builder
	for _, e := range entries {
		b.WriteString(e.String())
	}
	b.WriteString("garbage line\n")
	path := filepath.Join(t.TempDir(), "kubeconfig.pids")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestClaimPidFileKillsOnlyWhatItRecorded(t *testing.T) {
	_, leftover := startSleeper(t)
	_, other := startSleeper(t)
	reused := other
	reused.path = "/usr/bin/etcd" // a pid now used by a process that is not the recorded one
	_, restarted := startSleeper(t)
	restarted.startTime++ // same pid and binary, started later: not ours either
	path := writePidFile(t, leftover, reused, restarted)

	if err := claimPidFile(path); err != nil {
		t.Fatalf("claimPidFile: %v", err)
	}
	if leftover.alive() {
		t.Errorf("leftover pid %d still alive", leftover.pid)
	}
	if !other.alive() {
		t.Errorf("pid %d, recorded with another binary, was killed", other.pid)
	}
	restarted.startTime--
	if !restarted.alive() {
		t.Errorf("pid %d, recorded with another start time, was killed", restarted.pid)
	}
	entries, err := readPidFile(path)
	if err != nil || len(entries) != 1 || entries[0].role != roleDev || entries[0].pid != os.Getpid() {
		t.Fatalf("pid file after the claim = %+v, %v; want this process alone", entries, err)
	}
}

func TestClaimPidFileRefusesWhileTheOtherDevRuns(t *testing.T) {
	_, dev := startSleeper(t)
	dev.role = roleDev
	_, child := startSleeper(t)
	path := writePidFile(t, dev, child)
	err := claimPidFile(path)
	if err == nil || !strings.Contains(err.Error(), "another ecufleet dev") {
		t.Fatalf("claimPidFile = %v, want a refusal naming the running ecufleet dev", err)
	}
	if !child.alive() {
		t.Error("the running dev's child was killed")
	}
}

func TestParseExecChild(t *testing.T) {
	parent, pidFile, argv, err := parseExecChild([]string{"--parent", "42", "--pid-file", "/x/p", "--", "/bin/etcd", "--data-dir", "d"})
	if err != nil || parent != 42 || pidFile != "/x/p" || strings.Join(argv, " ") != "/bin/etcd --data-dir d" {
		t.Fatalf("parse = %d %q %q %v", parent, pidFile, argv, err)
	}
	for _, bad := range [][]string{
		nil,
		{"--parent", "42", "--", "/bin/etcd"},
		{"--parent", "1", "--pid-file", "/x/p", "--", "/bin/etcd"},
		{"--parent", "x", "--pid-file", "/x/p", "--", "/bin/etcd"},
		{"--parent", "42", "--pid-file", "/x/p", "--", "etcd"},
		{"--parent", "42", "--pid-file", "/x/p"},
		{"--what", "42"},
	} {
		if _, _, _, err := parseExecChild(bad); err == nil || !strings.Contains(err.Error(), "usage") {
			t.Errorf("parse %q = %v, want the usage", bad, err)
		}
	}
}

func TestWriteLaunchersRefusesQuotes(t *testing.T) {
	dir := t.TempDir()
	if _, err := writeLaunchers(dir, "/bin/ecu'fleet", filepath.Join(dir, "p"), "/bin/etcd"); err == nil {
		t.Fatal("a quote in a path was accepted into a shell script")
	}
	paths, err := writeLaunchers(dir, "/bin/ecufleet", filepath.Join(dir, "p"), "/k8s/etcd")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(paths[0])
	if err != nil || !strings.Contains(string(b), "exec '/bin/ecufleet' dev exec-child --parent ") ||
		!strings.HasSuffix(string(b), "-- '/k8s/etcd' \"$@\"\n") {
		t.Fatalf("launcher %s = %q, %v", paths[0], b, err)
	}
}
