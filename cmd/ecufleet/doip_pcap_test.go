package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// dissect runs tshark on file with the simulator's port decoded as DoIP over TCP and UDP and
// returns one line per DoIP packet: its comment and the fields asked for, tab-separated. It
// skips the test when tshark is not installed.
func dissect(t *testing.T, file, simAddr string, fields ...string) []string {
	t.Helper()
	bin, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not found: install it (apt-get install tshark) to check --pcap files dissect in Wireshark")
	}
	_, port, _ := net.SplitHostPort(simAddr)
	args := []string{"-r", file, "-d", "tcp.port==" + port + ",doip", "-d", "udp.port==" + port + ",doip",
		"-Y", "doip", "-T", "fields", "-e", "frame.comment"}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	out, err := exec.Command(bin, args...).Output()
	if err != nil {
		t.Fatalf("tshark %s: %v", strings.Join(args, " "), err)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

func TestDoIPPcapRecordsTheSession(t *testing.T) {
	addr, _ := startSimCmd(t)
	dir := t.TempDir()

	tcp := filepath.Join(dir, "send.pcapng")
	mustDoIP(t, "send", "3E 00", "--ecu", addr, "--pcap", tcp)
	got := dissect(t, tcp, addr, "doip.type")
	want := []string{"routing activation\t0x0005", "routing activation\t0x0006",
		"send 3E 00\t0x8001", "send 3E 00\t0x8002", "send 3E 00\t0x8001"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("send --pcap: tshark shows\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if uds := dissect(t, tcp, addr, "uds.sid"); !strings.Contains(strings.Join(uds, "\n"), "send 3E 00\t0x3e") {
		t.Errorf("send --pcap: tshark finds no UDS 3E in\n%s", strings.Join(uds, "\n"))
	}

	udp := filepath.Join(dir, "identify.pcapng")
	mustDoIP(t, "identify", "--ecu", addr, "--pcap", udp)
	got = dissect(t, udp, addr, "udp.srcport", "doip.type")
	_, port, _ := net.SplitHostPort(addr)
	if len(got) != 2 || !strings.HasPrefix(got[0], "identify\t") || !strings.HasSuffix(got[0], "\t0x0001") ||
		got[1] != "identify\t"+port+"\t0x0004" {
		t.Errorf("identify --pcap: tshark shows\n%s\nwant the request and the announcement from port %s", strings.Join(got, "\n"), port)
	}

	// A failed command still leaves its trace, and a file that cannot be created is named.
	failed := filepath.Join(dir, "failed.pcapng")
	if _, err := runDoIP(t, "send", "22F190", "--ecu", addr, "--tester", "0x0001", "--pcap", failed); err == nil {
		t.Fatal("send with a refused tester succeeded")
	}
	if got := dissect(t, failed, addr, "doip.type"); len(got) != 2 || got[1] != "routing activation\t0x0006" {
		t.Errorf("refused activation --pcap: tshark shows\n%s\nwant the request and the denial", strings.Join(got, "\n"))
	}
	bad := filepath.Join(dir, "missing", "x.pcapng")
	if _, err := runDoIP(t, "status", "--ecu", addr, "--pcap", bad); err == nil || !strings.Contains(err.Error(), "--pcap") {
		t.Errorf("--pcap into a missing directory: %v, want an error naming --pcap", err)
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Errorf("--pcap %s: %v", bad, err)
	}
}
