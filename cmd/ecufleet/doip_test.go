package main

import (
	"net"
	"strings"
	"testing"
)

// tableRow returns the cells of the first data row of a table, checking the header.
func tableRow(t *testing.T, out string, header ...string) []string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 {
		t.Fatalf("want a header and a row, got:\n%s", out)
	}
	for _, h := range header {
		if !strings.Contains(lines[0], h) {
			t.Fatalf("header %q lacks %q", lines[0], h)
		}
	}
	return strings.Fields(lines[1])
}

func TestDoIPUDPCommands(t *testing.T) {
	addr, _ := startSimCmd(t, "--vin", "WVWZZZ1JZXW000001")

	row := tableRow(t, mustDoIP(t, "identify", "--ecu", addr), "ADDRESS", "LOGICAL", "VIN", "EID")
	if strings.Join(row, " ") != addr+" 0x00E0 WVWZZZ1JZXW000001 02:00:00:00:00:E0 02:00:00:00:00:E0 0x00" {
		t.Errorf("identify row %q", row)
	}
	row = tableRow(t, mustDoIP(t, "status", "--ecu", addr), "NODE TYPE", "MAX SOCKETS", "OPEN SOCKETS", "MAX DATA SIZE")
	if strings.Join(row, " ") != "Node 4 0 4194304" {
		t.Errorf("status row %q", row)
	}
	st := decodeJSON[statusResult](t, mustDoIP(t, "status", "--ecu", addr, "-o", "json"))
	if st != (statusResult{NodeType: "Node", MaxSockets: 4, MaxDataSize: 4 << 20}) {
		t.Errorf("status JSON %+v", st)
	}
	row = tableRow(t, mustDoIP(t, "power-mode", "--ecu", addr), "POWER MODE")
	if row[0] != "Ready" {
		t.Errorf("power mode row %q", row)
	}
	pm := decodeJSON[powerModeResult](t, mustDoIP(t, "power-mode", "--ecu", addr, "-o", "json"))
	if pm.PowerMode != "Ready" {
		t.Errorf("power mode JSON %+v", pm)
	}
	// Discovery sent straight to the simulator's address (a loopback socket bound to
	// 127.0.0.1 does not receive broadcasts).
	found := decodeJSON[[]entityRow](t, mustDoIP(t, "discover", "--ecu", addr, "--timeout", "500ms", "-o", "json"))
	if len(found) != 1 || found[0].VIN != "WVWZZZ1JZXW000001" || found[0].Address != addr {
		t.Errorf("discover JSON %+v", found)
	}
}

func TestDoIPTCPCommands(t *testing.T) {
	addr, _ := startSimCmd(t)

	row := tableRow(t, mustDoIP(t, "alive", "--ecu", addr), "ENTITY", "ALIVE SOURCE", "ROUND TRIP")
	if row[0] != "0x00E0" || row[1] != "0x00E0" || !strings.HasSuffix(row[2], "ms") {
		t.Errorf("alive row %q", row)
	}
	out := mustDoIP(t, "send", "22F190", "--ecu", addr)
	row = tableRow(t, out, "TARGET", "REQUEST", "RESPONSE", "RESULT", "VALUE", "LATENCY")
	if !strings.Contains(out, "62 F1 90 45 43 55") || !strings.Contains(out, " positive ") || !strings.Contains(out, "ECUFLEETSIM000001") || row[0] != "0x00E0" {
		t.Errorf("send table:\n%s", out)
	}
	neg := decodeJSON[sendResult](t, mustDoIP(t, "send", "22 12 34", "--ecu", addr, "-o", "json"))
	if neg != (sendResult{Target: 0xE0, Request: "22 12 34", Response: "7F 22 31", Result: "0x31 requestOutOfRange", NRC: "0x31 requestOutOfRange", LatencyMS: neg.LatencyMS}) {
		t.Errorf("negative send JSON %+v", neg)
	}
	quiet := decodeJSON[sendResult](t, mustDoIP(t, "send", "3E 80", "--ecu", addr, "-o", "json"))
	if quiet.Response != "" || !strings.Contains(quiet.Result, "suppressed") {
		t.Errorf("suppressed send %+v", quiet)
	}

	load := decodeJSON[loadResult](t, mustDoIP(t, "send", "22 F1 90", "--count", "50", "--ecu", addr, "-o", "json"))
	if load.Count != 50 || load.Positive != 50 || load.Negative != 0 || load.RatePerSecond <= 0 ||
		load.P50MS <= 0 || load.P99MS < load.P50MS || !strings.HasPrefix(load.LastResponse, "62 F1 90") {
		t.Errorf("load JSON %+v", load)
	}
	row = tableRow(t, mustDoIP(t, "send", "22 F1 90", "--count", "5", "--ecu", addr), "COUNT", "POSITIVE", "NEGATIVE", "RATE", "P50", "P99")
	if row[0] != "0x00E0" || row[4] != "5" || row[5] != "5" || row[6] != "0" || !strings.HasSuffix(row[7], "/s") {
		t.Errorf("load row %q", row)
	}
	// Activation skipped: the target must then be given.
	if _, err := runDoIP(t, "send", "3E 00", "--ecu", addr, "--activation-type", "none"); err == nil || !strings.Contains(err.Error(), "--logical-address") {
		t.Errorf("send without activation or address: %v", err)
	}
}

func TestDoIPErrorsSayWhatToTry(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	addr, _ := startSimCmd(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"send", "22F190", "--ecu", closed}, "connection refused: is the ECU (or ecusim) listening there?"},
		{[]string{"alive", "--ecu", closed}, "connection refused"},
		{[]string{"status"}, "--ecu is required"},
		{[]string{"status", "--ecu", addr, "-o", "yaml"}, "want table or json"},
		{[]string{"send", "2", "--ecu", addr}, "odd number of hex digits"},
		{[]string{"send", "22F190", "--ecu", addr, "--count", "0"}, "--count"},
		{[]string{"send", "22F190", "--ecu", addr, "--logical-address", "0x00E5"}, "check --logical-address"},
		{[]string{"send", "22F190", "--ecu", addr, "--tester", "0x0001"}, "try another --tester"},
		{[]string{"alive", "--ecu", addr, "--activation-type", "x"}, "--activation-type"},
		{[]string{"alive", "--ecu", addr, "--protocol-version", "9"}, "--protocol-version"},
	}
	for _, tt := range tests {
		_, err := runDoIP(t, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("doip %s: got %v, want an error containing %q", strings.Join(tt.args, " "), err, tt.want)
		}
	}
}
