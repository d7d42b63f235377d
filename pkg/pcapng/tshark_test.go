package pcapng

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tsharkArgs are the arguments of docs/traces.md's check, with checksum validation on so a
// wrong checksum shows as a warning.
var tsharkArgs = []string{"-d", "tcp.port==13400,doip",
	"-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE"}

// tshark runs tshark on file with extra arguments, or skips the test when it is not installed.
func tshark(t *testing.T, file string, extra ...string) string {
	t.Helper()
	bin, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not found: install it (apt-get install tshark) to check the traces dissect in Wireshark")
	}
	args := append(append([]string{"-r", file}, tsharkArgs...), extra...)
	out, err := exec.Command(bin, args...).Output()
	if err != nil {
		t.Fatalf("tshark %s: %v", strings.Join(args, " "), err)
	}
	return string(out)
}

// TestTsharkDissects checks Wireshark's own dissectors find DoIP and UDS in the golden file
// and in the flash session, with no malformed packet and no bad checksum.
func TestTsharkDissects(t *testing.T) {
	flash, _ := record(t, Options{}, flashSession())
	flashFile := filepath.Join(t.TempDir(), "flash.pcapng")
	if err := os.WriteFile(flashFile, flash, 0o644); err != nil {
		t.Fatal(err)
	}
	// The same socket pair opened again after its close: a new connection, not retransmissions.
	again := session(tester, ecu)
	for _, s := range session(tester, ecu) {
		if s.event != nil {
			e := *s.event
			e.Time = e.Time.Add(time.Second)
			again = append(again, step{event: &e})
		} else {
			f := *s.frame
			f.Time = f.Time.Add(time.Second)
			again = append(again, step{frame: &f})
		}
	}
	reopened, _ := record(t, Options{}, again)
	reopenedFile := filepath.Join(t.TempDir(), "reopened.pcapng")
	if err := os.WriteFile(reopenedFile, reopened, 0o644); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "session.pcapng")
	for _, file := range []string{golden, flashFile, reopenedFile} {
		verbose := tshark(t, file, "-V")
		for _, layer := range []string{"DoIP (ISO13400) Protocol", "Unified Diagnostic Services", "Packet comments"} {
			if !strings.Contains(verbose, layer) {
				t.Errorf("%s: tshark -V shows no %q", file, layer)
			}
		}
		for _, bad := range []string{"Malformed", " incorrect,", "Bad checksum", "Expert Info (Warning", "Expert Info (Error", "retransmission", "out-of-order"} {
			if i := strings.Index(verbose, bad); i >= 0 {
				t.Errorf("%s: tshark reports %q: %s", file, bad, verbose[max(0, i-200):min(len(verbose), i+200)])
			}
		}
	}
	protocols := strings.Fields(tshark(t, golden, "-T", "fields", "-e", "frame.protocols"))
	want := []string{"tcp", "tcp", "tcp", "tcp:doip", "tcp:doip", "tcp:doip:uds", "tcp:doip", "tcp:doip:uds", "tcp", "tcp", "tcp"}
	if len(protocols) != len(want) {
		t.Fatalf("tshark sees %d packets in the golden file, want %d", len(protocols), len(want))
	}
	for i, p := range protocols {
		if p != "eth:ethertype:ip:"+want[i] {
			t.Errorf("golden packet %d: protocols %s, want eth:ethertype:ip:%s", i+1, p, want[i])
		}
	}
}
