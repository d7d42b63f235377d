package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// cmdTimeout bounds each in-process command run; generous for a loaded machine.
const cmdTimeout = 30 * time.Second

var readyAddr = regexp.MustCompile(`"msg"="ECU simulator ready" "addr"="([^"]+)"`)

// startSimCmd runs `ecufleet ecusim --listen 127.0.0.1:0 args...` in-process and returns the
// address from its ready line and a stop function that interrupts it and returns its error.
func startSimCmd(t *testing.T, args ...string) (addr string, stop func() error) {
	t.Helper()
	return startSimCmdLogs(t, io.Discard, args...)
}

// startSimCmdLogs is startSimCmd with the simulator's log lines after the ready line copied to logs.
func startSimCmdLogs(t *testing.T, logs io.Writer, args ...string) (addr string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	root := newRootCmd()
	root.SetArgs(append([]string{"ecusim", "--listen", "127.0.0.1:0"}, args...))
	root.SetOut(io.Discard)
	root.SetErr(pw)
	done := make(chan error, 1)
	go func() {
		done <- root.ExecuteContext(ctx)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	for lines.Scan() {
		if m := readyAddr.FindStringSubmatch(lines.Text()); m != nil {
			addr = m[1]
			break
		}
	}
	go io.Copy(logs, pr) // keep draining the logs
	var once bool
	stop = func() error {
		if once {
			return nil
		}
		once = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(cmdTimeout):
			t.Fatal("ecusim did not stop after its context was cancelled")
			return nil
		}
	}
	if addr == "" {
		err := stop()
		t.Fatalf("ecusim never became ready: %v", err)
	}
	t.Cleanup(func() { stop() })
	return addr, stop
}

// runDoIP runs `ecufleet doip args...` in-process and returns its standard output.
func runDoIP(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, _, err := runDoIPStreams(t, args...)
	return out, err
}

// runDoIPStreams runs `ecufleet doip args...` in-process and returns its standard output
// and standard error (where progress goes).
func runDoIPStreams(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	var out, errOut bytes.Buffer
	root := newRootCmd()
	root.SetArgs(append([]string{"doip"}, args...))
	root.SetOut(&out)
	root.SetErr(&errOut)
	err = root.ExecuteContext(ctx)
	return out.String(), errOut.String(), err
}

func mustDoIP(t *testing.T, args ...string) string {
	t.Helper()
	out, err := runDoIP(t, args...)
	if err != nil {
		t.Fatalf("doip %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func decodeJSON[T any](t *testing.T, out string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	return v
}

func TestECUSimCommandFlagsOverrideConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sim.yaml")
	cfg := `logicalAddress: 0x00E1
vin: CONFIGVIN00000001
gid: "AA:AA:AA:AA:AA:AA"
dids:
  0x0100: {text: FROMFILE}
`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr, stop := startSimCmd(t, "--config", path, "--vin", "FLAGVIN0000000001", "--eid", "00:11:22:33:44:55")

	id := decodeJSON[entityRow](t, mustDoIP(t, "identify", "--ecu", addr, "-o", "json"))
	want := entityRow{Address: addr, LogicalAddress: 0x00E1, VIN: "FLAGVIN0000000001", EID: "00:11:22:33:44:55", GID: "AA:AA:AA:AA:AA:AA"}
	if id != want {
		t.Errorf("identify: %+v, want %+v", id, want)
	}
	res := decodeJSON[sendResult](t, mustDoIP(t, "send", "22 01 00", "--ecu", addr, "--logical-address", "0x00E1", "-o", "json"))
	if res.Value != "FROMFILE" || res.Result != "positive" || res.Target != 0x00E1 {
		t.Errorf("send: %+v", res)
	}
	if err := stop(); err != nil {
		t.Fatalf("ecusim returned %v after interrupt, want a clean shutdown", err)
	}
	if _, err := runDoIP(t, "status", "--ecu", addr, "--timeout", "500ms"); err == nil {
		t.Error("the simulator still answers after it was stopped")
	}
}

func TestECUSimCommandNegative(t *testing.T) {
	addr, _ := startSimCmd(t, "--negative", "--logical-address", "0x1234")
	out := mustDoIP(t, "send", "22", "F1", "90", "--ecu", addr)
	if !strings.Contains(out, "7F 22 22") || !strings.Contains(out, "0x22 conditionsNotCorrect") || !strings.Contains(out, "0x1234") {
		t.Errorf("negative mode output:\n%s", out)
	}
}

func TestECUSimCommandBadConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(path, []byte("dids: {0x0100: {hex: \"0\"}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	root := newRootCmd()
	root.SetArgs([]string{"ecusim", "--listen", "127.0.0.1:0", "--config", path})
	root.SetOut(io.Discard)
	root.SetErr(io.Discard)
	err := root.ExecuteContext(context.Background())
	if err == nil || !strings.Contains(err.Error(), "dids[0x0100].hex") {
		t.Fatalf("got %v, want an error naming dids[0x0100].hex", err)
	}
	root = newRootCmd()
	root.SetArgs([]string{"ecusim", "--logical-address", "gateway"})
	root.SetOut(io.Discard)
	root.SetErr(io.Discard)
	if err := root.ExecuteContext(context.Background()); err == nil || !strings.Contains(err.Error(), "logical-address") {
		t.Fatalf("got %v, want an error naming --logical-address", err)
	}
}

// lockedBuffer is a bytes.Buffer that a goroutine writes while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// TestECUSimCommandLogRequests: with -v 1 every handled request is one line with its bytes and
// the response's, so a soak counts the writes that reached the ECU; without, none.
func TestECUSimCommandLogRequests(t *testing.T) {
	var logs lockedBuffer
	addr, stop := startSimCmdLogs(t, &logs, "-v", "1")
	mustDoIP(t, "send", "22 F1 90", "--ecu", addr)
	mustDoIP(t, "send", "2E F1 98 31 32 33 34 35 36 37 38 39 30", "--ecu", addr) // default session: 7F 2E 7F
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"msg"="UDS request handled" "target"="0x00E0" "request"="22 F1 90" "response"="62 F1 90 45 43`,
		`"request"="2E F1 98 31 32 33 34 35 36 37 38 39 30" "response"="7F 2E 7F"`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, logs.String())
		}
	}
	if n := strings.Count(logs.String(), "UDS request handled"); n != 2 {
		t.Errorf("%d request lines, want 2:\n%s", n, logs.String())
	}

	var quiet lockedBuffer
	addr, stop = startSimCmdLogs(t, &quiet)
	mustDoIP(t, "send", "22 F1 90", "--ecu", addr)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(quiet.String(), "UDS request handled") {
		t.Errorf("request lines without -v 1:\n%s", quiet.String())
	}
}
