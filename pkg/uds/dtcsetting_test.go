package uds

import (
	"bytes"
	"errors"
	"testing"
)

func TestControlDTCSettingGolden(t *testing.T) {
	tests := []struct {
		name string
		req  ControlDTCSetting
		want []byte
	}{
		// python-udsoncan test/client/test_control_dtc_setting.py test_set_on: 85 01 -> C5 01.
		{"udsoncan on", ControlDTCSetting{Type: DTCSettingOn}, []byte{0x85, 0x01}},
		// test_set_on_spr: 85 81.
		{"udsoncan on suppressed", ControlDTCSetting{Type: DTCSettingOn, Suppress: true}, []byte{0x85, 0x81}},
		// test_set_on_with_extra_data: 85 01 11 22 33.
		{"udsoncan record", ControlDTCSetting{Type: DTCSettingOn, Record: []byte{0x11, 0x22, 0x33}}, []byte{0x85, 0x01, 0x11, 0x22, 0x33}},
		// Wireshark packet-uds.c UDS_CDTCS_ACTIONS_OFF 2: 85 02.
		{"wireshark off", ControlDTCSetting{Type: DTCSettingOff}, []byte{0x85, 0x02}},
	}
	for _, tt := range tests {
		got := mustMarshal(t, &tt.req)
		if !bytes.Equal(got, tt.want) {
			t.Errorf("%s: got % X, want % X", tt.name, got, tt.want)
			continue
		}
		var back ControlDTCSetting
		if err := back.UnmarshalBinary(got); err != nil || back.Type != tt.req.Type || back.Suppress != tt.req.Suppress || !bytes.Equal(back.Record, tt.req.Record) {
			t.Errorf("%s: round trip %+v, %v", tt.name, back, err)
		}
	}
	if err := ParseControlDTCSetting([]byte{0xC5, 0x01}, DTCSettingOn); err != nil {
		t.Errorf("C5 01: %v", err)
	}
	// test_set_on_harmless_extra_bytes_in_response: C5 01 77 88 99 is accepted.
	if err := ParseControlDTCSetting([]byte{0xC5, 0x01, 0x77, 0x88, 0x99}, DTCSettingOn); err != nil {
		t.Errorf("C5 01 with extra bytes: %v", err)
	}
	if got := mustMarshal(t, &ControlDTCSettingResponse{Type: DTCSettingOff}); !bytes.Equal(got, []byte{0xC5, 0x02}) {
		t.Errorf("response marshal: % X", got)
	}
	for name, resp := range map[string][]byte{
		"udsoncan bad setting type": {0xC5, 0x23}, // asked for 0x22
		"udsoncan invalid service":  {0x00, 0x45},
		"udsoncan wrong service":    {0x7E, 0x22},
		"no echo":                   {0xC5},
	} {
		var re *ResponseError
		if err := ParseControlDTCSetting(resp, 0x22); !errors.As(err, &re) {
			t.Errorf("%s: got %v, want *ResponseError", name, err)
		}
	}
	// test_set_params_denied_exception: 7F 85 45.
	var nre *NegativeResponseError
	if err := ParseControlDTCSetting([]byte{0x7F, 0x85, 0x45}, 0x45); !errors.As(err, &nre) || nre.NRC != 0x45 {
		t.Errorf("denied: got %v", err)
	}
	var ae *ArgumentError
	for _, bad := range []DTCSettingType{0x00, 0x80} { // udsoncan test_bad_param: 0x80 refused
		if _, err := (&ControlDTCSetting{Type: bad}).MarshalBinary(); !errors.As(err, &ae) {
			t.Errorf("type 0x%02X: got %v", byte(bad), err)
		}
	}
	for in, want := range map[string]DTCSettingType{"on": 1, "OFF": 2, "0x40": 0x40} {
		if got, err := ParseDTCSettingType(in); err != nil || got != want {
			t.Errorf("ParseDTCSettingType(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseDTCSettingType("maybe"); !errors.As(err, &ae) {
		t.Errorf("ParseDTCSettingType(maybe): got %v", err)
	}
}
