package proctest

import (
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func shell(t *testing.T) *Group {
	return &Group{Bin: "/bin/sh", Dir: t.TempDir(), Env: []string{"GREETING=ready"}}
}

func TestGroupLogsEachRestartApartAndStopsAll(t *testing.T) {
	g := shell(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var started []*Proc
	for _, name := range []string{"sim", "sim", ControlPlane} {
		p, err := g.Start(name, syscall.SIGKILL, "-c", `echo "$GREETING"; exec sleep 60`)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.AwaitLog(ctx, "ready"); err != nil {
			t.Fatal(err)
		}
		started = append(started, p)
	}
	want := []string{"sim.1.log", "sim.2.log", "dev.1.log"}
	for i, p := range started {
		if got := filepath.Base(p.Log); got != want[i] {
			t.Errorf("process %d logs to %s, want %s", i, got, want[i])
		}
	}
	if got := g.Logs("sim"); len(got) != 2 {
		t.Errorf("Logs(sim) = %v, want the two simulators' logs", got)
	}
	g.StopAll(t.Errorf) // sleep ends on SIGTERM: nothing needs killing
	for _, p := range started {
		if !p.Exited() {
			t.Errorf("%s still runs after StopAll", p.Name)
		}
	}
}

func TestAwaitLogReportsAnExitBeforeTheText(t *testing.T) {
	p, err := shell(t).Start("quitter", syscall.SIGKILL, "-c", "echo something else; exit 3")
	if err != nil {
		t.Fatal(err)
	}
	err = p.AwaitLog(context.Background(), "ready")
	if err == nil || !strings.Contains(err.Error(), "exited") || !strings.Contains(err.Error(), "something else") {
		t.Fatalf("AwaitLog = %v, want the exit and the log's end", err)
	}
	if p.Err() == nil {
		t.Error("Err is nil for a process that exited with status 3")
	}
}

func TestStopKillsWhatIgnoresSIGTERM(t *testing.T) {
	p, err := shell(t).Start("stubborn", syscall.SIGKILL, "-c", `trap "" TERM; echo ready; while :; do sleep 0.1; done`)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AwaitLog(context.Background(), "ready"); err != nil {
		t.Fatal(err)
	}
	if p.Stop(300 * time.Millisecond) {
		t.Error("Stop reported a clean end for a process that ignores SIGTERM")
	}
	if !p.Exited() {
		t.Error("the process runs on after Stop")
	}
}

func TestKillEndsAtOnce(t *testing.T) {
	p, err := shell(t).Start("victim", syscall.SIGKILL, "-c", "exec sleep 60")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	if !p.Exited() || p.Err() == nil {
		t.Errorf("after Kill: exited %v, err %v; want exited by a signal", p.Exited(), p.Err())
	}
	if err := p.Kill(); err != nil { // a second kill finds it gone
		t.Errorf("killing an ended process: %v", err)
	}
}
