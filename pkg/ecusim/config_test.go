package ecusim

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecufleet/ecufleet/pkg/doip"
	"github.com/ecufleet/ecufleet/pkg/uds"
)

func TestLoadConfigExample(t *testing.T) {
	cfg, err := LoadConfig("testdata/gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	set, err := compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if set.listen != "127.0.0.1:13400" || set.address != 0x0010 || string(set.vin[:]) != "WVWZZZ1JZXW000001" ||
		set.eid != [6]byte{0x00, 0x1A, 0x2B, 0x3C, 0x4D, 0x5E} || set.gid != [6]byte{0x00, 0x1A, 0x2B, 0x3C, 0x4D, 0x00} ||
		set.bootTime != 1500*time.Millisecond || set.maxSockets != 2 {
		t.Errorf("entity settings %+v", set)
	}
	if set.announce.count != 3 || set.announce.interval != 500*time.Millisecond || set.announce.to != "255.255.255.255:13400" {
		t.Errorf("announce %+v", set.announce)
	}
	if set.deny == nil || set.deny.code != doip.ActivationUnknownSource || set.deny.first != 1 || set.deny.always {
		t.Errorf("deny %+v", set.deny)
	}
	if len(set.ecus) != 2 {
		t.Fatalf("%d ECUs, want 2", len(set.ecus))
	}
	own, behind := set.ecus[0], set.ecus[1]
	if own.p2 != 40*time.Millisecond || own.p2Star != 3*time.Second || own.s3 != DefaultS3 {
		t.Errorf("timing %v %v %v", own.p2, own.p2Star, own.s3)
	}
	if d := own.dids[0xF187]; string(d.data) != "8W0907115" || d.writable {
		t.Errorf("F187 %+v", d)
	}
	if d := own.dids[0x0100]; uds.FormatHex(d.data) != "01 02 03 04" || !d.writable || !d.protected {
		t.Errorf("0100 %+v", d)
	}
	if _, ok := own.dids[uds.DIDVIN]; !ok {
		t.Error("configured DIDs replaced the defaults instead of adding to them")
	}
	if len(own.dtcs) != 2 || own.dtcs[0] != (uds.DTC{Code: 0x030000, Status: 0x2F}) || own.dtcs[1] != (uds.DTC{Code: 0xC15500, Status: 0x09}) {
		t.Errorf("DTCs %v", own.dtcs)
	}
	if r, ok := own.routines[0xFF00]; !ok || r[uds.RoutineStart] == nil || len(r[uds.RoutineStart]) != 0 ||
		uds.FormatHex(r[uds.RoutineResults]) != "00 64" || r[uds.RoutineStop] != nil {
		t.Errorf("routine FF00 %v", r)
	}
	if _, ok := own.routines[0xFF01]; ok {
		t.Error("configured routines should replace the default table")
	}
	sec := own.security
	if string(sec.levels) != "\x01\x11" || uds.FormatHex(sec.key) != "CB FF" || sec.maxAttempts != 5 || sec.lockout != 30*time.Second {
		t.Errorf("security %+v", sec)
	}
	if len(own.pending) != 1 || uds.FormatHex(own.pending[0].prefix) != "31 01 FF 00" || own.pending[0].count != 2 || own.pending[0].interval != time.Second {
		t.Errorf("pending %+v", own.pending)
	}
	if len(own.delays) != 1 || own.delays[0].interval != 100*time.Millisecond {
		t.Errorf("delays %+v", own.delays)
	}
	if behind.address != 0x0011 || string(behind.dids[0xF197].data) != "BRAKES" || len(behind.dtcs) != 0 ||
		uds.FormatHex(behind.security.key) != "12 34 56 78" {
		t.Errorf("ECU behind the gateway: %+v", behind)
	}
}

// Bad files fail in LoadConfig (syntax, unknown keys, types) or New (values), and the error
// names the field either way.
func TestBadConfigsNameTheField(t *testing.T) {
	tests := []struct {
		name, yaml, field string
	}{
		{"unknown key", "logicalAdress: 0x00E0\n", "logicalAdress"},
		{"unknown nested key", "security: {algo: xor}\n", "algo"},
		{"wrong type", "logicalAddress: gateway\n", "logicalAddress"},
		{"address too large", "logicalAddress: 0x10000\n", "logicalAddress"},
		{"unquoted hex", "eid: 001122334455\n", "eid"},
		{"status too large", "dtcs: [{code: P0123, status: 256}]\n", "status"},
		{"bad duration", "bootTime: 5\n", "bootTime"},
		{"short VIN", "vin: WVW\n", "vin"},
		{"tester address", "logicalAddress: 0x0E80\n", "logicalAddress"},
		{"EID length", "eid: \"00 11\"\n", "eid"},
		{"listen", "listen: 13400\n", "listen"},
		{"DID key", "dids: {F190: {text: x}}\n", "dids"},
		{"DID text and hex", "dids: {0x0100: {text: x, hex: \"01\"}}\n", "dids[0x0100]"},
		{"DID hex", "dids: {0x0100: {hex: \"0G\"}}\n", "dids[0x0100].hex"},
		{"DID empty", "dids: {0x0100: {text: \"\"}}\n", "dids[0x0100]"},
		{"DTC code", "dtcs: [{code: X1234, status: 1}]\n", "dtcs[0].code"},
		{"routine without start", "routines: {0xFF00: {results: \"00\"}}\n", "routines[0xFF00].start"},
		{"security level", "security: {levels: [2]}\n", "security.levels[0]"},
		{"security algorithm", "security: {algorithm: rot13}\n", "security.algorithm"},
		{"security zero seed", "security: {seed: \"00 00\"}\n", "security.seed"},
		{"security add constant", "security: {algorithm: add, seed: \"01\", constant: \"01 02\"}\n", "security.constant"},
		{"pending count", "responsePending: [{request: \"31\", count: 0}]\n", "responsePending[0].count"},
		{"delay missing", "delays: [{request: \"22\"}]\n", "delays[0].delay"},
		{"p2 too large", "p2: 70s\n", "p2"},
		{"deny without code", "denyActivation: {first: 1}\n", "denyActivation.code"},
		{"deny success", "denyActivation: {code: 0x10, always: true}\n", "denyActivation.code"},
		{"deny nothing", "denyActivation: {code: 0}\n", "denyActivation"},
		{"announce to", "announce: {count: 1, to: nowhere}\n", "announce.to"},
		{"extra ECU address missing", "ecus: [{dids: {}}]\n", "ecus[0].logicalAddress"},
		{"extra ECU address twice", "ecus: [{logicalAddress: 0x00E0}]\n", "ecus[0].logicalAddress"},
		{"extra ECU functional", "ecus: [{logicalAddress: 0xE400}]\n", "ecus[0].logicalAddress"},
		{"extra ECU field", "ecus: [{logicalAddress: 0x00E1, p2Star: soon}]\n", "ecus[0].p2Star"},
		{"not YAML", "listen: [\n", "sim.yaml"},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		path := filepath.Join(dir, "sim.yaml")
		if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := LoadConfig(path)
		if err == nil {
			_, err = New(cfg)
		}
		if err == nil {
			t.Errorf("%s: accepted", tt.name)
			continue
		}
		if !strings.Contains(err.Error(), tt.field) {
			t.Errorf("%s: error %q does not name %q", tt.name, err, tt.field)
		}
	}
	if _, err := LoadConfig(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: %v", err)
	}
}

func TestFieldErrorIsTyped(t *testing.T) {
	_, err := New(Config{VIN: "short"})
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "vin" {
		t.Fatalf("got %v, want *FieldError for vin", err)
	}
}

func TestKeyAlgorithms(t *testing.T) {
	tests := []struct {
		sec  Security
		want string
	}{
		{Security{}, "4B 78 69 1E"},
		{Security{Seed: "01 02 03", Constant: "FF"}, "FE FD FC"},
		{Security{Algorithm: AlgorithmAdd, Seed: "00 FF FF", Constant: "01"}, "01 00 00"},
		{Security{Algorithm: AlgorithmAdd, Seed: "FF FF", Constant: "00 01"}, "00 00"}, // wraps
		{Security{Algorithm: AlgorithmFixed, Seed: "01", Constant: "AA BB CC"}, "AA BB CC"},
	}
	for _, tt := range tests {
		c, err := compileSecurity("security", &tt.sec)
		if err != nil {
			t.Fatalf("%+v: %v", tt.sec, err)
		}
		if got := uds.FormatHex(c.key); got != tt.want {
			t.Errorf("%+v: key %s, want %s", tt.sec, got, tt.want)
		}
	}
}

// The example file runs as configured: denial of the first activation, the add key algorithm,
// a protected writable DID, and the fixed-key ECU behind the gateway.
func TestExampleConfigRuns(t *testing.T) {
	cfg, err := LoadConfig("testdata/gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen, cfg.Announce.Count = "127.0.0.1:0", 0 // loopback only, no broadcasts from a test
	s := startSim(t, cfg)
	ctx := testContext(t)
	var ae *doip.ActivationError
	if _, err := (&doip.Client{}).Dial(ctx, s.Addr().String()); !errors.As(err, &ae) || ae.Response.Code != doip.ActivationUnknownSource {
		t.Fatalf("first activation: %v, want denied with 0x00", err)
	}
	conn := dial(t, s)
	if conn.EntityAddress() != 0x0010 {
		t.Fatalf("entity address 0x%04X", conn.EntityAddress())
	}
	gw := uds.NewClient(conn, 0x0010)
	expect(t, gw, "10 03", "50 03 00 28 01 2C")
	expect(t, gw, "27 11", "67 11 CA FE")
	expect(t, gw, "27 12 CB FF", "67 12")
	expect(t, gw, "2E 01 00 AA BB CC DD", "6E 01 00")
	expect(t, gw, "22 01 00", "62 01 00 AA BB CC DD")
	expect(t, gw, "19 02 FF", "59 02 FF 03 00 00 2F C1 55 00 09")
	expect(t, gw, "31 01 FF 00", "71 01 FF 00")
	expect(t, gw, "31 03 FF 00", "71 03 FF 00 00 64")

	brakes := uds.NewClient(conn, 0x0011)
	expect(t, brakes, "22 F1 97", "62 F1 97 "+hexOf("BRAKES"))
	expect(t, brakes, "10 03", "50 03 00 32 01 F4")
	expect(t, brakes, "27 01", "67 01 11 22 33 44")
	expect(t, brakes, "27 02 12 34 56 78", "67 02")
	expect(t, brakes, "19 01 FF", "59 01 FF 01 00 00")
}
