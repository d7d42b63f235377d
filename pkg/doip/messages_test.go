package doip

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// Sources of the golden vectors:
//
//	[PDC]  python-doipclient, tests/test_client.py (jacobschaer/python-doipclient): frames the
//	       client is tested to send or to parse, copied as bytes.
//	[WS]   Wireshark epan/dissectors/packet-doip.c: field offsets and lengths (header 8 bytes,
//	       announcement sync status optional at offset 8+32, entity status max data size
//	       optional at 8+3, ACK/NACK previous message from 8+5, code tables). Vectors marked
//	       [WS] are built from those offsets by hand, changing one field of a [PDC] vector.
var goldenVectors = []struct {
	name string
	src  string
	hex  string
	msg  Message
}{
	{"generic NACK invalid length", "[PDC] nack_response", "02 fd 00 00 00 00 00 01 04",
		&GenericNACK{Code: NACKInvalidLength}},
	{"vehicle identification request", "[PDC] vehicle_identification_request", "02 fd 00 01 00 00 00 00",
		&VehicleIdentificationRequest{}},
	{"vehicle identification request EID", "[PDC] vehicle_identification_request_with_ein",
		"02 fd 00 02 00 00 00 06 31 31 31 31 31 31",
		&VehicleIdentificationRequestEID{EID: [6]byte([]byte("111111"))}},
	{"vehicle identification request VIN", "[PDC] vehicle_identification_request_with_vin",
		"02 fd 00 03 00 00 00 11 31 31 31 31 31 31 31 31 31 31 31 31 31 31 31 31 31",
		&VehicleIdentificationRequestVIN{VIN: [17]byte([]byte("11111111111111111"))}},
	{"vehicle announcement with sync status", "[PDC] vehicle_identification_response",
		"02 fd 00 04 00 00 00 21 31 31 31 31 31 31 31 31 31 31 31 31 31 31 31 31 31 12 34 31 31 31 31 31 31 32 32 32 32 32 32 00 00",
		&VehicleAnnouncement{VIN: [17]byte([]byte("11111111111111111")), LogicalAddress: 0x1234,
			EID: [6]byte([]byte("111111")), GID: [6]byte([]byte("222222")), HasSyncStatus: true}},
	{"vehicle announcement without sync status", "[WS] sync status is optional (\"Not part of version 1 and optional in version 2\"); [PDC] vector less its last byte",
		"02 fd 00 04 00 00 00 20 31 31 31 31 31 31 31 31 31 31 31 31 31 31 31 31 31 12 34 31 31 31 31 31 31 32 32 32 32 32 32 10",
		&VehicleAnnouncement{VIN: [17]byte([]byte("11111111111111111")), LogicalAddress: 0x1234,
			EID: [6]byte([]byte("111111")), GID: [6]byte([]byte("222222")), FurtherAction: 0x10}},
	{"vehicle announcement sync incomplete", "[WS] sync_status 0x10 incomplete; [PDC] layout",
		"02 fd 00 04 00 00 00 21 31 31 31 31 31 31 31 31 31 31 31 31 31 31 31 31 31 12 34 31 31 31 31 31 31 32 32 32 32 32 32 00 10",
		&VehicleAnnouncement{VIN: [17]byte([]byte("11111111111111111")), LogicalAddress: 0x1234,
			EID: [6]byte([]byte("111111")), GID: [6]byte([]byte("222222")), SyncStatus: 0x10, HasSyncStatus: true}},
	{"routing activation request", "[PDC] activation_request", "02 fd 00 05 00 00 00 07 0e 00 00 00 00 00 00",
		&RoutingActivationRequest{SourceAddress: 0x0E00}},
	{"routing activation request with OEM data", "[PDC] activation_request_with_vm",
		"02 fd 00 05 00 00 00 0b 0e 00 00 00 00 00 00 01 02 03 04",
		&RoutingActivationRequest{SourceAddress: 0x0E00, OEM: []byte{1, 2, 3, 4}}},
	{"routing activation request central security", "[WS] activation_types 0xE0 central security; [PDC] layout",
		"02 fd 00 05 00 00 00 07 0e 00 e0 00 00 00 00",
		&RoutingActivationRequest{SourceAddress: 0x0E00, ActivationType: 0xE0}},
	{"routing activation response success", "[PDC] successful_activation_response",
		"02 fd 00 06 00 00 00 09 0e 00 00 37 10 00 00 00 00",
		&RoutingActivationResponse{TesterAddress: 0x0E00, EntityAddress: 0x0037, Code: ActivationSuccess}},
	{"routing activation response with OEM data", "[PDC] successful_activation_response_with_vm",
		"02 fd 00 06 00 00 00 0d 0e 00 00 37 10 00 00 00 00 04 03 02 01",
		&RoutingActivationResponse{TesterAddress: 0x0E00, EntityAddress: 0x0037, Code: ActivationSuccess, OEM: []byte{4, 3, 2, 1}}},
	{"alive check request", "[PDC] alive_check_request", "02 fd 00 07 00 00 00 00", &AliveCheckRequest{}},
	{"alive check response", "[PDC] alive_check_response", "02 fd 00 08 00 00 00 02 0e 00",
		&AliveCheckResponse{SourceAddress: 0x0E00}},
	{"entity status request", "[PDC] entity_status_request", "02 fd 40 01 00 00 00 00", &EntityStatusRequest{}},
	{"entity status response", "[PDC] entity_status_response", "02 fd 40 02 00 00 00 03 01 10 01",
		&EntityStatusResponse{NodeType: NodeNode, MaxSockets: 16, OpenSockets: 1}},
	{"entity status response with max data size", "[PDC] entity_status_response_with_mds",
		"02 fd 40 02 00 00 00 07 01 10 01 00 00 10 00",
		&EntityStatusResponse{NodeType: NodeNode, MaxSockets: 16, OpenSockets: 1, MaxDataSize: 4096, HasMaxDataSize: true}},
	{"power mode request", "[PDC] diagnostic_power_mode_request", "02 fd 40 03 00 00 00 00", &PowerModeRequest{}},
	{"power mode response", "[PDC] diagnostic_power_mode_response", "02 fd 40 04 00 00 00 01 01",
		&PowerModeResponse{Mode: PowerModeReady}},
	{"diagnostic message request", "[PDC] diagnostic_request", "02 fd 80 01 00 00 00 07 0e 00 00 01 00 01 02",
		&DiagnosticMessage{Source: 0x0E00, Target: 0x0001, Data: []byte{0, 1, 2}}},
	{"diagnostic message response", "[PDC] diagnostic_result", "02 fd 80 01 00 00 00 08 00 e0 00 55 00 01 02 03",
		&DiagnosticMessage{Source: 0x00E0, Target: 0x0055, Data: []byte{0, 1, 2, 3}}},
	{"diagnostic ACK", "[PDC] diagnostic_positive_response", "02 fd 80 02 00 00 00 05 00 00 00 00 00",
		&DiagnosticACK{}},
	{"diagnostic ACK with previous message", "[WS] ACK previous message from offset 8+5; [PDC] diagnostic_request data",
		"02 fd 80 02 00 00 00 08 00 01 0e 00 00 00 01 02",
		&DiagnosticACK{Source: 0x0001, Target: 0x0E00, Previous: []byte{0, 1, 2}}},
	{"diagnostic NACK out of memory", "[PDC] diagnostic_negative_response", "02 fd 80 03 00 00 00 05 00 00 00 00 05",
		&DiagnosticNACK{Code: DiagNACKOutOfMemory}},
	{"diagnostic NACK with previous message", "[WS] NACK previous message from offset 8+5",
		"02 fd 80 03 00 00 00 07 00 01 0e 00 03 22 f1",
		&DiagnosticNACK{Source: 0x0001, Target: 0x0E00, Code: DiagNACKUnknownTarget, Previous: []byte{0x22, 0xF1}}},
}

func TestGoldenVectors(t *testing.T) {
	for _, v := range goldenVectors {
		t.Run(v.name, func(t *testing.T) {
			want := hx(t, v.hex)
			if got := Marshal(want[0], v.msg); !bytes.Equal(got, want) {
				t.Errorf("Marshal (%s):\n got % x\nwant % x", v.src, got, want)
			}
			h, m, err := Unmarshal(want)
			if err != nil {
				t.Fatalf("Unmarshal (%s): %v", v.src, err)
			}
			wantHeader := Header{Version: want[0], Type: v.msg.Type(), Length: uint32(len(want) - HeaderLen)}
			if h != wantHeader {
				t.Errorf("header %+v, want %+v", h, wantHeader)
			}
			if !reflect.DeepEqual(m, v.msg) {
				t.Errorf("Unmarshal (%s):\n got %#v\nwant %#v", v.src, m, v.msg)
			}
		})
	}
}

// TestEveryCodeOnTheWire checks that each code of each code table lands in its byte, using the
// [PDC] frames with the code byte replaced by each value of the [WS] code tables.
func TestEveryCodeOnTheWire(t *testing.T) {
	for code := ActivationCode(0); code <= 0x11; code++ {
		if code > 0x07 && code < 0x10 {
			continue // reserved by ISO 13400 ([WS] activation_codes)
		}
		want := hx(t, "02 fd 00 06 00 00 00 09 0e 00 00 37 00 00 00 00 00")
		want[12] = byte(code)
		m := &RoutingActivationResponse{TesterAddress: 0x0E00, EntityAddress: 0x0037, Code: code}
		checkRoundTrip(t, code.String(), want, m)
	}
	for code := DiagNACKInvalidSource; code <= DiagNACKTransportProtocolError; code++ {
		want := hx(t, "02 fd 80 03 00 00 00 05 00 00 00 00 00")
		want[12] = byte(code)
		checkRoundTrip(t, code.String(), want, &DiagnosticNACK{Code: code})
	}
	for code := NACKIncorrectPattern; code <= NACKInvalidLength; code++ {
		want := hx(t, "02 fd 00 00 00 00 00 01 00")
		want[8] = byte(code)
		checkRoundTrip(t, code.String(), want, &GenericNACK{Code: code})
	}
	for mode := PowerModeNotReady; mode <= PowerModeNotSupported; mode++ {
		want := hx(t, "02 fd 40 04 00 00 00 01 00")
		want[8] = byte(mode)
		checkRoundTrip(t, mode.String(), want, &PowerModeResponse{Mode: mode})
	}
	for v := Version2010; v <= Version2019Amd1; v++ {
		want := hx(t, "00 00 00 07 00 00 00 00")
		want[0], want[1] = v, ^v
		checkRoundTrip(t, "version", want, &AliveCheckRequest{})
	}
	want := hx(t, "ff 00 00 01 00 00 00 00") // [WS] DEFAULT_VALUE on a vehicle identification request
	checkRoundTrip(t, "default version", want, &VehicleIdentificationRequest{})
}

func checkRoundTrip(t *testing.T, name string, want []byte, m Message) {
	t.Helper()
	if got := Marshal(want[0], m); !bytes.Equal(got, want) {
		t.Errorf("%s: Marshal\n got % x\nwant % x", name, got, want)
	}
	_, got, err := Unmarshal(want)
	if err != nil || !reflect.DeepEqual(got, m) {
		t.Errorf("%s: Unmarshal = %#v, %v; want %#v", name, got, err, m)
	}
}

// TestLengthFaults feeds every payload type every wrong length around its rule: each must be
// refused with generic NACK 0x04 and close, both by Unmarshal and by UnmarshalPayload.
func TestLengthFaults(t *testing.T) {
	for _, typ := range payloadTypes {
		rule, _ := ruleFor(typ)
		valid := map[uint32]bool{rule.min: true}
		if rule.hasAlt {
			valid[rule.alt] = true
		}
		for n := uint32(0); n <= 40; n++ {
			ok := valid[n] || rule.open && n >= rule.min
			frame := Header{Version: Version2012, Type: typ, Length: n}.Marshal(nil)
			frame = append(frame, make([]byte, n)...)
			_, _, err := Unmarshal(frame)
			if ok {
				if err != nil {
					t.Errorf("%v with %d bytes: unexpected error %v", typ, n, err)
				}
				continue
			}
			de := asError(t, err)
			if de.NACK != NACKInvalidLength || !de.Close {
				t.Errorf("%v with %d bytes: got NACK %v close %v, want invalid length and close", typ, n, de.NACK, de.Close)
			}
			m, _ := NewMessage(typ)
			if pe := asError(t, m.UnmarshalPayload(make([]byte, n))); pe.NACK != NACKInvalidLength {
				t.Errorf("%v UnmarshalPayload with %d bytes: NACK %v", typ, n, pe.NACK)
			}
		}
	}
}

func TestHeaderFaults(t *testing.T) {
	cases := []struct {
		name  string
		hex   string
		nack  NACKCode
		close bool
	}{
		{"inverse version mismatch", "02 fc 80 01 00 00 00 05", NACKIncorrectPattern, true},
		{"inverse version zero", "02 00 00 07 00 00 00 00", NACKIncorrectPattern, true},
		{"reserved version 0x00", "00 ff 00 07 00 00 00 00", NACKIncorrectPattern, true},
		{"unsupported version 0x05", "05 fa 00 07 00 00 00 00", NACKIncorrectPattern, true},
		{"default version on routing activation", "ff 00 00 05 00 00 00 07 0e 00 00 00 00 00 00", NACKIncorrectPattern, true},
		{"default version on entity status", "ff 00 40 01 00 00 00 00", NACKIncorrectPattern, true},
		{"default version on diagnostic message", "ff 00 80 01 00 00 00 05 0e 00 00 01 3e", NACKIncorrectPattern, true},
		{"unknown payload type", "02 fd 12 34 00 00 00 00", NACKUnknownPayloadType, false},
		{"manufacturer payload type", "02 fd f0 10 00 00 00 02 00 00", NACKUnknownPayloadType, false},
		{"short header", "02 fd 00", NACKIncorrectPattern, true},
		{"frame shorter than its length", "02 fd 00 08 00 00 00 02 0e", NACKInvalidLength, true},
		{"frame longer than its length", "02 fd 00 08 00 00 00 02 0e 00 00", NACKInvalidLength, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Unmarshal(hx(t, c.hex))
			de := asError(t, err)
			if de.NACK != c.nack || de.Close != c.close {
				t.Errorf("got NACK %v close %v, want %v close %v (%v)", de.NACK, de.Close, c.nack, c.close, err)
			}
		})
	}
}

func TestNewMessageCoversEveryType(t *testing.T) {
	for _, typ := range payloadTypes {
		m, err := NewMessage(typ)
		if err != nil || m.Type() != typ {
			t.Errorf("NewMessage(%v) = %v, %v", typ, m, err)
		}
	}
	_, err := NewMessage(0x1234)
	if de := asError(t, err); de.NACK != NACKUnknownPayloadType || de.Close {
		t.Errorf("unknown type: %v", err)
	}
}

// TestOEMFieldIsAlwaysFourBytes checks that a wrong-size OEM slice cannot produce a frame that
// no decoder accepts.
func TestOEMFieldIsAlwaysFourBytes(t *testing.T) {
	for _, oem := range [][]byte{{1}, {1, 2, 3, 4, 5, 6}} {
		frame := Marshal(Version2012, &RoutingActivationRequest{SourceAddress: 0x0E00, OEM: oem})
		_, m, err := Unmarshal(frame)
		if err != nil {
			t.Fatalf("OEM %x: %v", oem, err)
		}
		if got := m.(*RoutingActivationRequest).OEM; len(got) != 4 || got[0] != 1 {
			t.Errorf("OEM %x encoded as %x", oem, got)
		}
	}
}

func TestDecodeIntoReusedValueDoesNotAllocate(t *testing.T) {
	payload := hx(t, "0e 00 00 e0 22 f1 90")
	var m DiagnosticMessage
	m.UnmarshalPayload(payload)
	allocs := testing.AllocsPerRun(100, func() {
		if err := m.UnmarshalPayload(payload); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("DiagnosticMessage.UnmarshalPayload into a reused value: %v allocs, want 0", allocs)
	}
}

func TestErrorMessagesNameTheFault(t *testing.T) {
	_, _, err := Unmarshal(hx(t, "02 fd 00 08 00 00 00 03 0e 00 00"))
	for _, want := range []string{"alive check response", "3 bytes", "want 2", "invalid payload length", "close"} {
		if !bytes.Contains([]byte(err.Error()), []byte(want)) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if !errors.Is(err, asError(t, err).Err) {
		t.Error("Unwrap does not expose the detail")
	}
}
