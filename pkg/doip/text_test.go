package doip

import "testing"

func TestValueSpellings(t *testing.T) {
	vin := func(s string) (v [17]byte) { copy(v[:], s); return v }
	ffs := [17]byte{}
	for i := range ffs {
		ffs[i] = 0xFF
	}
	binary := vin("WVWZZZ1JZXW000001")
	binary[3] = 0x01
	for _, tc := range []struct {
		name, got, want string
	}{
		{"vin", VINText(vin("WVWZZZ1JZXW000001")), "WVWZZZ1JZXW000001"},
		{"short vin padded with spaces", VINText(vin("ABC              ")), "ABC"},
		{"all-zero vin", VINText([17]byte{}), ""},
		{"all-0xFF vin", VINText(ffs), ""},
		{"binary vin", VINText(binary), "57 56 57 01 5A 5A 31 4A 5A 58 57 30 30 30 30 30 31"},
		{"eid", HardwareAddressText([6]byte{0, 0x1A, 0x2B, 0x3C, 0x4D, 0x5E}), "00:1A:2B:3C:4D:5E"},
		{"power mode ready", PowerModeReady.String(), "Ready"},
		{"power mode not ready", PowerModeNotReady.String(), "NotReady"},
		{"power mode not supported", PowerModeNotSupported.String(), "NotSupported"},
		{"reserved power mode", PowerMode(3).String(), "0x03"},
		{"gateway", NodeGateway.String(), "Gateway"},
		{"node", NodeNode.String(), "Node"},
		{"reserved node type", NodeType(2).String(), "0x02"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}
