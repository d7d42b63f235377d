package uds

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestBuilders(t *testing.T) {
	mustBuild := func(b []byte, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatalf("build: %v", err)
		}
		return b
	}
	tests := []struct {
		name string
		got  []byte
		want []byte
	}{
		{"session default", SessionControl(SessionDefault), []byte{0x10, 0x01}},
		{"session extended", SessionControl(SessionExtended), []byte{0x10, 0x03}},
		{"reset hard", ECUReset(ResetHard), []byte{0x11, 0x01}},
		{"reset soft", ECUReset(ResetSoft), []byte{0x11, 0x03}},
		{"tester present", TesterPresent(false), []byte{0x3E, 0x00}},
		{"tester present suppressed", TesterPresent(true), []byte{0x3E, 0x80}},
		{"read VIN", ReadDataByIdentifier(DIDVIN), []byte{0x22, 0xF1, 0x90}},
		{"write DID", WriteDataByIdentifier(0x0102, []byte{0xAA, 0xBB}), []byte{0x2E, 0x01, 0x02, 0xAA, 0xBB}},
		{"DTC count", ReadDTCCount(0xFF), []byte{0x19, 0x01, 0xFF}},
		{"DTC list", ReadDTCByStatus(0x08), []byte{0x19, 0x02, 0x08}},
		{"clear all", mustBuild(ClearDiagnosticInformation(GroupAllDTCs)), []byte{0x14, 0xFF, 0xFF, 0xFF}},
		{"clear group", mustBuild(ClearDiagnosticInformation(0x010203)), []byte{0x14, 0x01, 0x02, 0x03}},
		{"seed", mustBuild(SecurityAccessSeed(0x01)), []byte{0x27, 0x01}},
		{"key", mustBuild(SecurityAccessKey(0x02, []byte{1, 2, 3, 4})), []byte{0x27, 0x02, 1, 2, 3, 4}},
		{"routine start", RoutineControl(RoutineStart, 0xFF00, []byte{0x01}), []byte{0x31, 0x01, 0xFF, 0x00, 0x01}},
		{"routine stop", RoutineControl(RoutineStop, 0x0203, nil), []byte{0x31, 0x02, 0x02, 0x03}},
		{"routine results", RoutineControl(RoutineResults, 0x0203, nil), []byte{0x31, 0x03, 0x02, 0x03}},
		{"session response", SessionControlResponse(SessionExtended, 50*time.Millisecond, 5*time.Second), []byte{0x50, 0x03, 0x00, 0x32, 0x01, 0xF4}},
		{"session response clamps", SessionControlResponse(SessionDefault, time.Hour, -time.Second), []byte{0x50, 0x01, 0xFF, 0xFF, 0x00, 0x00}},
	}
	for _, tt := range tests {
		if !bytes.Equal(tt.got, tt.want) {
			t.Errorf("%s: got % X, want % X", tt.name, tt.got, tt.want)
		}
	}
}

func TestBuilderArgumentErrors(t *testing.T) {
	for name, err := range map[string]error{
		"clear 4-byte group": second(ClearDiagnosticInformation(0x1000000)),
		"seed even level":    second(SecurityAccessSeed(0x02)),
		"seed level 0":       second(SecurityAccessSeed(0x00)),
		"seed level 0x7F":    second(SecurityAccessSeed(0x7F)),
		"key odd level":      second(SecurityAccessKey(0x01, []byte{1})),
		"key level 0x80":     second(SecurityAccessKey(0x80, []byte{1})),
	} {
		var ae *ArgumentError
		if !errors.As(err, &ae) {
			t.Errorf("%s: got %v, want *ArgumentError", name, err)
		}
	}
}

func second(_ []byte, err error) error { return err }

func TestParseNamedParameters(t *testing.T) {
	sessions := map[string]Session{"default": 1, "Programming": 2, "extended": 3, "safety": 4, "0x40": 0x40, "96": 96}
	for in, want := range sessions {
		got, err := ParseSession(in)
		if err != nil || got != want {
			t.Errorf("ParseSession(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "fast", "0", "0x80", "256", "-1"} {
		var ae *ArgumentError
		if _, err := ParseSession(bad); !errors.As(err, &ae) {
			t.Errorf("ParseSession(%q) error = %v, want *ArgumentError", bad, err)
		}
	}
	resets := map[string]ResetType{"hard": 1, "keyOffOn": 2, "KEYOFFON": 2, "soft": 3, "4": 4}
	for in, want := range resets {
		got, err := ParseResetType(in)
		if err != nil || got != want {
			t.Errorf("ParseResetType(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	routines := map[string]RoutineControlType{"start": 1, "stop": 2, "results": 3, "3": 3}
	for in, want := range routines {
		got, err := ParseRoutineControlType(in)
		if err != nil || got != want {
			t.Errorf("ParseRoutineControlType(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseRoutineControlType("4"); err == nil {
		t.Error("ParseRoutineControlType(4) succeeded, want an error: only 1..3 exist")
	}
	if got := SessionExtended.String(); got != "extended" {
		t.Errorf("SessionExtended.String() = %q", got)
	}
	if got := Session(0x40).String(); got != "0x40" {
		t.Errorf("Session(0x40).String() = %q", got)
	}
	if got := ResetKeyOffOn.String(); got != "keyOffOn" {
		t.Errorf("ResetKeyOffOn.String() = %q", got)
	}
	if got := RoutineResults.String(); got != "results" {
		t.Errorf("RoutineResults.String() = %q", got)
	}
}

func TestParseSessionControl(t *testing.T) {
	got, err := ParseSessionControl([]byte{0x50, 0x03, 0x00, 0x32, 0x01, 0xF4}, SessionExtended)
	want := SessionTiming{Session: SessionExtended, P2: 50 * time.Millisecond, P2Star: 5 * time.Second, HasTiming: true}
	if err != nil || got != want {
		t.Fatalf("got %+v, %v; want %+v", got, err, want)
	}
	got, err = ParseSessionControl([]byte{0x50, 0x01}, SessionDefault)
	if err != nil || got.HasTiming || got.Session != SessionDefault {
		t.Fatalf("2-byte response: got %+v, %v", got, err)
	}
	// The suppress bit of the request is not echoed.
	if _, err := ParseSessionControl([]byte{0x50, 0x03, 0, 0x32, 0x01, 0xF4}, SessionExtended|0x80); err != nil {
		t.Fatalf("suppressed request echo: %v", err)
	}
	for name, resp := range map[string][]byte{
		"wrong session echo": {0x50, 0x02, 0x00, 0x32, 0x01, 0xF4},
		"short timing":       {0x50, 0x03, 0x00, 0x32, 0x01},
		"long timing":        {0x50, 0x03, 0x00, 0x32, 0x01, 0xF4, 0x00},
		"wrong SID":          {0x51, 0x03},
		"empty":              {},
		"short negative":     {0x7F, 0x10},
		"negative for 0x22":  {0x7F, 0x22, 0x31},
	} {
		var re *ResponseError
		if _, err := ParseSessionControl(resp, SessionExtended); !errors.As(err, &re) {
			t.Errorf("%s: got %v, want *ResponseError", name, err)
		}
	}
	_, err = ParseSessionControl([]byte{0x7F, 0x10, 0x12}, SessionExtended)
	var nre *NegativeResponseError
	if !errors.As(err, &nre) || nre.SID != SIDDiagnosticSessionControl || nre.NRC != NRCSubFunctionNotSupported {
		t.Fatalf("negative: got %v", err)
	}
	if want := "ECU refused service 0x10 diagnosticSessionControl: 0x12 subFunctionNotSupported"; err.Error() != want {
		t.Fatalf("negative error text = %q, want %q", err.Error(), want)
	}
	if !bytes.Equal(nre.Response, []byte{0x7F, 0x10, 0x12}) {
		t.Fatalf("negative error lost the raw response: % X", nre.Response)
	}
}

func TestParseSimpleResponses(t *testing.T) {
	ok := []struct {
		name string
		err  error
	}{
		{"reset", ParseECUReset([]byte{0x51, 0x01}, ResetHard)},
		{"reset with power down time", ParseECUReset([]byte{0x51, 0x04, 0x0A}, 0x04)},
		{"tester present", ParseTesterPresent([]byte{0x7E, 0x00})},
		{"write", ParseWriteDataByIdentifier([]byte{0x6E, 0xF1, 0x90}, DIDVIN)},
		{"clear", ParseClearDiagnosticInformation([]byte{0x54})},
		{"key", ParseSecurityAccessKey([]byte{0x67, 0x02}, 0x02)},
	}
	for _, tt := range ok {
		if tt.err != nil {
			t.Errorf("%s: %v", tt.name, tt.err)
		}
	}
	bad := []struct {
		name string
		err  error
	}{
		{"reset wrong type", ParseECUReset([]byte{0x51, 0x02}, ResetHard)},
		{"reset trailing", ParseECUReset([]byte{0x51, 0x01, 0x00, 0x00}, ResetHard)},
		{"tester present trailing", ParseTesterPresent([]byte{0x7E, 0x00, 0x00})},
		{"tester present wrong sub-function", ParseTesterPresent([]byte{0x7E, 0x01})},
		{"write other DID", ParseWriteDataByIdentifier([]byte{0x6E, 0xF1, 0x91}, DIDVIN)},
		{"write short", ParseWriteDataByIdentifier([]byte{0x6E, 0xF1}, DIDVIN)},
		{"clear trailing", ParseClearDiagnosticInformation([]byte{0x54, 0x00})},
		{"key other level", ParseSecurityAccessKey([]byte{0x67, 0x04}, 0x02)},
	}
	for _, tt := range bad {
		var re *ResponseError
		if !errors.As(tt.err, &re) {
			t.Errorf("%s: got %v, want *ResponseError", tt.name, tt.err)
		}
	}
	var nre *NegativeResponseError
	if err := ParseSecurityAccessKey([]byte{0x7F, 0x27, 0x35}, 0x02); !errors.As(err, &nre) || nre.NRC != NRCInvalidKey {
		t.Errorf("invalid key: got %v", err)
	}
}

func TestParseDataResponses(t *testing.T) {
	data, err := ParseReadDataByIdentifier([]byte{0x62, 0xF1, 0x90, 'W', 'V', 'W'}, DIDVIN)
	if err != nil || string(data) != "WVW" {
		t.Fatalf("read: %q, %v", data, err)
	}
	if _, err := ParseReadDataByIdentifier([]byte{0x62, 0xF1, 0x87, 'X'}, DIDVIN); err == nil {
		t.Fatal("read of another DID accepted")
	}
	var nre *NegativeResponseError
	if _, err := ParseReadDataByIdentifier([]byte{0x7F, 0x22, 0x31}, DIDVIN); !errors.As(err, &nre) || nre.NRC != NRCRequestOutOfRange {
		t.Fatalf("unknown DID: %v", err)
	}
	seed, err := ParseSecurityAccessSeed([]byte{0x67, 0x01, 0x12, 0x34}, 0x01)
	if err != nil || !bytes.Equal(seed, []byte{0x12, 0x34}) {
		t.Fatalf("seed: % X, %v", seed, err)
	}
	status, err := ParseRoutineControl([]byte{0x71, 0x01, 0xFF, 0x00, 0x00}, RoutineStart, 0xFF00)
	if err != nil || !bytes.Equal(status, []byte{0x00}) {
		t.Fatalf("routine: % X, %v", status, err)
	}
	if _, err := ParseRoutineControl([]byte{0x71, 0x03, 0xFF, 0x00}, RoutineStart, 0xFF00); err == nil {
		t.Fatal("routine response with another type accepted")
	}
}

func TestDTCs(t *testing.T) {
	codes := []struct {
		code uint32
		text string
	}{
		{0x012300, "P0123-00"},
		{0x412311, "C0123-11"},
		{0x9A0B2F, "B1A0B-2F"},
		{0xC10000, "U0100-00"},
		{0xFFFFFF, "U3FFF-FF"},
	}
	for _, c := range codes {
		if got := FormatDTCCode(c.code); got != c.text {
			t.Errorf("FormatDTCCode(%06X) = %s, want %s", c.code, got, c.text)
		}
		got, err := ParseDTCCode(c.text)
		if err != nil || got != c.code {
			t.Errorf("ParseDTCCode(%s) = %06X, %v; want %06X", c.text, got, err, c.code)
		}
	}
	for in, want := range map[string]uint32{"p0123": 0x012300, "U0100": 0xC10000, "0x012300": 0x012300, " 74496 ": 74496} {
		got, err := ParseDTCCode(in)
		if err != nil || got != want {
			t.Errorf("ParseDTCCode(%q) = %06X, %v; want %06X", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "P4123", "P012", "P01234", "P0123-0", "P0123-GG", "X0123", "0x1000000", "P01G3"} {
		if _, err := ParseDTCCode(bad); err == nil {
			t.Errorf("ParseDTCCode(%q) succeeded", bad)
		}
	}
	if got := (DTC{Code: 0x012300, Status: 0x2F}).String(); got != "P0123-00 status 0x2F" {
		t.Errorf("DTC.String() = %q", got)
	}

	count, err := ParseDTCCount([]byte{0x59, 0x01, 0xFF, 0x01, 0x00, 0x03})
	if err != nil || count != (DTCCount{AvailabilityMask: 0xFF, Format: DTCFormatISO14229, Count: 3}) {
		t.Fatalf("count: %+v, %v", count, err)
	}
	if _, err := ParseDTCCount([]byte{0x59, 0x01, 0xFF, 0x01, 0x00}); err == nil {
		t.Fatal("short count accepted")
	}
	if _, err := ParseDTCCount([]byte{0x59, 0x02, 0xFF, 0x01, 0x00, 0x03}); err == nil {
		t.Fatal("19 02 response accepted as a count")
	}

	list, err := ParseDTCList([]byte{0x59, 0x02, 0xFF, 0x01, 0x23, 0x00, 0x2F, 0xC1, 0x00, 0x00, 0x09})
	if err != nil {
		t.Fatal(err)
	}
	if list.AvailabilityMask != 0xFF || len(list.DTCs) != 2 || list.DTCs[1] != (DTC{Code: 0xC10000, Status: 0x09}) {
		t.Fatalf("list: %+v", list)
	}
	if got, want := list.String(), "P0123-00 status 0x2F, U0100-00 status 0x09"; got != want {
		t.Fatalf("list.String() = %q, want %q", got, want)
	}
	empty, err := ParseDTCList([]byte{0x59, 0x02, 0x7F})
	if err != nil || len(empty.DTCs) != 0 || empty.String() != "no DTCs" {
		t.Fatalf("empty list: %+v %q, %v", empty, empty.String(), err)
	}
	for name, resp := range map[string][]byte{
		"no mask":        {0x59, 0x02},
		"partial record": {0x59, 0x02, 0xFF, 0x01, 0x23, 0x00},
	} {
		if _, err := ParseDTCList(resp); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

func TestNRCNames(t *testing.T) {
	tests := map[byte]string{
		0x10: "0x10 generalReject",
		0x11: "0x11 serviceNotSupported",
		0x12: "0x12 subFunctionNotSupported",
		0x13: "0x13 incorrectMessageLengthOrInvalidFormat",
		0x21: "0x21 busyRepeatRequest",
		0x22: "0x22 conditionsNotCorrect",
		0x31: "0x31 requestOutOfRange",
		0x33: "0x33 securityAccessDenied",
		0x35: "0x35 invalidKey",
		0x36: "0x36 exceededNumberOfAttempts",
		0x78: "0x78 requestCorrectlyReceivedResponsePending",
		0x7E: "0x7E subFunctionNotSupportedInActiveSession",
		0x7F: "0x7F serviceNotSupportedInActiveSession",
		0x94: "0x94 resourceTemporarilyNotAvailable",
		0x40: "0x40 reservedByExtendedDataLinkSecurityDocument",
		0x9A: "0x9A reservedForSpecificConditionsNotCorrect",
		0xF3: "0xF3 vehicleManufacturerSpecificConditionsNotCorrect",
		0x01: "0x01 isoSAEReserved",
		0xFF: "0xFF isoSAEReserved",
	}
	for code, want := range tests {
		if got := FormatNRC(code); got != want {
			t.Errorf("FormatNRC(0x%02X) = %q, want %q", code, got, want)
		}
	}
	// Every code has a non-empty, camelCase name.
	for i := 0; i < 256; i++ {
		name := NRC(i).String()
		if name == "" || name[0] < 'a' || name[0] > 'z' {
			t.Errorf("NRC 0x%02X has name %q", i, name)
		}
	}
}

func TestHex(t *testing.T) {
	for in, want := range map[string][]byte{
		"22 F1 90": {0x22, 0xF1, 0x90},
		"22f190":   {0x22, 0xF1, 0x90},
		"0x22F190": {0x22, 0xF1, 0x90},
		"22:f1-90": {0x22, 0xF1, 0x90},
		"":         {},
	} {
		got, err := ParseHex(in)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("ParseHex(%q) = % X, %v", in, got, err)
		}
	}
	for _, bad := range []string{"2", "22 F", "ZZ", "0x2"} {
		var ae *ArgumentError
		if _, err := ParseHex(bad); !errors.As(err, &ae) {
			t.Errorf("ParseHex(%q) error = %v, want *ArgumentError", bad, err)
		}
	}
	if got := FormatHex([]byte{0x62, 0xF1, 0x90, 0x0A}); got != "62 F1 90 0A" {
		t.Errorf("FormatHex = %q", got)
	}
	if got := FormatHex(nil); got != "" {
		t.Errorf("FormatHex(nil) = %q", got)
	}
}

func TestDecodeText(t *testing.T) {
	for name, tt := range map[string]struct {
		in   []byte
		want string
	}{
		"VIN":              {[]byte("WVWZZZ1JZXW000001"), "WVWZZZ1JZXW000001"},
		"zero padded":      {[]byte("ECU-1\x00\x00"), "ECU-1"},
		"FF padded":        {[]byte("ECU-1\xff\xff"), "ECU-1"},
		"space padded":     {[]byte("ECU-1   "), "ECU-1"},
		"binary":           {[]byte{0x01, 0x02, 0x41}, "01 02 41"},
		"padding inside":   {[]byte("AB\x00CD"), "41 42 00 43 44"},
		"all padding":      {[]byte{0x00, 0xFF}, "00 FF"},
		"empty":            {nil, ""},
		"high bit":         {[]byte{'A', 0x80}, "41 80"},
		"inner space kept": {[]byte("A B"), "A B"},
	} {
		if got := DecodeText(tt.in); got != tt.want {
			t.Errorf("%s: DecodeText(% X) = %q, want %q", name, tt.in, got, tt.want)
		}
	}
}

func TestDecodeValue(t *testing.T) {
	tests := []struct {
		name      string
		req, resp []byte
		want      string
	}{
		{"VIN", []byte{0x22, 0xF1, 0x90}, append([]byte{0x62, 0xF1, 0x90}, "WVWZZZ1JZXW000001"...), "WVWZZZ1JZXW000001"},
		{"binary DID", []byte{0x22, 0x01, 0x00}, []byte{0x62, 0x01, 0x00, 0x12, 0x34}, "12 34"},
		{"DTC count", []byte{0x19, 0x01, 0xFF}, []byte{0x59, 0x01, 0xFF, 0x01, 0x00, 0x02}, "2"},
		{"DTC list", []byte{0x19, 0x02, 0xFF}, []byte{0x59, 0x02, 0xFF, 0x01, 0x23, 0x00, 0x2F}, "P0123-00 status 0x2F"},
		{"session", []byte{0x10, 0x03}, []byte{0x50, 0x03, 0x00, 0x32, 0x01, 0xF4}, "extended session, P2 50ms, P2* 5s"},
		{"session without timing", []byte{0x10, 0x01}, []byte{0x50, 0x01}, "default session"},
		{"routine status", []byte{0x31, 0x01, 0xFF, 0x00}, []byte{0x71, 0x01, 0xFF, 0x00, 0x00}, "00"},
		{"negative", []byte{0x22, 0xF1, 0x90}, []byte{0x7F, 0x22, 0x31}, ""},
		{"mismatch", []byte{0x22, 0xF1, 0x90}, []byte{0x62, 0xF1, 0x87, 0x41}, ""},
		{"reset", []byte{0x11, 0x01}, []byte{0x51, 0x01}, ""},
		{"short request", []byte{0x19}, []byte{0x59}, ""},
	}
	for _, tt := range tests {
		if got := DecodeValue(tt.req, tt.resp); got != tt.want {
			t.Errorf("%s: DecodeValue = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestCheckResponse(t *testing.T) {
	if err := CheckResponse([]byte{0x3E, 0x80}, []byte{0x7E, 0x00}); err != nil {
		t.Errorf("tester present: %v", err)
	}
	if err := CheckResponse([]byte{0x22, 0xF1, 0x90}, []byte{0x62, 0xF1, 0x90, 0x41}); err != nil {
		t.Errorf("read: %v", err)
	}
	var nre *NegativeResponseError
	if err := CheckResponse([]byte{0x2E, 0xF1, 0x90, 0x41}, []byte{0x7F, 0x2E, 0x7F}); !errors.As(err, &nre) || nre.NRC != NRCServiceNotSupportedInActiveSession {
		t.Errorf("negative: %v", err)
	}
	var re *ResponseError
	if err := CheckResponse([]byte{0x10, 0x03}, []byte{0x50, 0x02, 0, 0, 0, 0}); !errors.As(err, &re) {
		t.Errorf("wrong echo: %v", err)
	}
	var ae *ArgumentError
	if err := CheckResponse(nil, []byte{0x50}); !errors.As(err, &ae) {
		t.Errorf("empty request: %v", err)
	}
}

func TestSuppressesPositiveResponse(t *testing.T) {
	for req, want := range map[string]bool{
		"3E 80": true, "3E 00": false, "10 83": true, "31 81 FF 00": true,
		"22 F1 90": false, "2E 80 00 01": false, "3E": false,
	} {
		b, err := ParseHex(req)
		if err != nil {
			t.Fatal(err)
		}
		if got := SuppressesPositiveResponse(b); got != want {
			t.Errorf("SuppressesPositiveResponse(%s) = %v, want %v", req, got, want)
		}
	}
}
