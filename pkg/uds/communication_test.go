package uds

import (
	"bytes"
	"errors"
	"testing"
)

func TestCommunicationControlGolden(t *testing.T) {
	tests := []struct {
		name string
		req  CommunicationControl
		want []byte
	}{
		// python-udsoncan test/client/test_communication_control.py test_comcontrol_enable_node:
		// enableRxAndTx, normal messages -> 28 00 01, answered 68 00.
		{"udsoncan enable node", CommunicationControl{ControlType: CommunicationEnableRxAndTx, CommunicationType: CommunicationNormal}, []byte{0x28, 0x00, 0x01}},
		// test_comcontrol_enable_node_spr: the suppress bit -> 28 80 01.
		{"udsoncan suppress", CommunicationControl{ControlType: CommunicationEnableRxAndTx, CommunicationType: CommunicationNormal, Suppress: true}, []byte{0x28, 0x80, 0x01}},
		// test_comcontrol_disable_subnet: disableRxAndTx, subnet 3, normal and NM -> 28 03 33.
		{"udsoncan disable subnet", CommunicationControl{ControlType: CommunicationDisableRxAndTx, CommunicationType: 0x30 | CommunicationNormalAndNetworkManagement}, []byte{0x28, 0x03, 0x33}},
		// ISO 14229-1 control type 0x04 carries a 2-byte nodeIdentificationNumber.
		{"enhanced node id", CommunicationControl{ControlType: CommunicationEnableRxDisableTxEnhanced, CommunicationType: 0x01, NodeID: 0x1234}, []byte{0x28, 0x04, 0x01, 0x12, 0x34}},
	}
	for _, tt := range tests {
		got := mustMarshal(t, &tt.req)
		if !bytes.Equal(got, tt.want) {
			t.Errorf("%s: got % X, want % X", tt.name, got, tt.want)
			continue
		}
		var back CommunicationControl
		if err := back.UnmarshalBinary(got); err != nil || back != tt.req {
			t.Errorf("%s: round trip %+v, %v", tt.name, back, err)
		}
		if SuppressesPositiveResponse(got) != tt.req.Suppress {
			t.Errorf("%s: SuppressesPositiveResponse disagrees with Suppress", tt.name)
		}
	}
	// Answers: 68 00 and 68 03 (udsoncan), 68 08 for a request of 09 is unexpected.
	if err := ParseCommunicationControl([]byte{0x68, 0x00}, CommunicationEnableRxAndTx); err != nil {
		t.Errorf("68 00: %v", err)
	}
	if err := ParseCommunicationControl([]byte{0x68, 0x03}, CommunicationDisableRxAndTx); err != nil {
		t.Errorf("68 03: %v", err)
	}
	if got := mustMarshal(t, &CommunicationControlResponse{ControlType: 0x03}); !bytes.Equal(got, []byte{0x68, 0x03}) {
		t.Errorf("response marshal: % X", got)
	}
	for name, resp := range map[string][]byte{
		"udsoncan bad control type": {0x68, 0x08},
		"udsoncan invalid service":  {0x00, 0x22},
		"udsoncan wrong service":    {0x7E, 0x22},
		"no echo":                   {0x68},
	} {
		var re *ResponseError
		if err := ParseCommunicationControl(resp, 0x09); !errors.As(err, &re) {
			t.Errorf("%s: got %v, want *ResponseError", name, err)
		}
	}
	// test_comcontrol_negative_response_exception: 7F 28 31.
	var nre *NegativeResponseError
	if err := ParseCommunicationControl([]byte{0x7F, 0x28, 0x31}, CommunicationDisableRxAndTx); !errors.As(err, &nre) || nre.NRC != NRCRequestOutOfRange {
		t.Errorf("denied: got %v", err)
	}
	// udsoncan test_bad_param: control type 0x80 is refused.
	var ae *ArgumentError
	if _, err := (&CommunicationControl{ControlType: 0x80}).MarshalBinary(); !errors.As(err, &ae) {
		t.Errorf("control type 0x80: got %v", err)
	}
	var re *RequestError
	for _, bad := range [][]byte{{0x28, 0x00}, {0x28, 0x04, 0x01}, {0x28, 0x00, 0x01, 0x00}} {
		if err := (&CommunicationControl{}).UnmarshalBinary(bad); !errors.As(err, &re) {
			t.Errorf("% X: got %v, want *RequestError", bad, err)
		}
	}
	for in, want := range map[string]CommunicationControlType{"disableRxAndTx": 3, "enablerxandtx": 0, "0": 0, "0x00": 0, "0x05": 5} {
		if got, err := ParseCommunicationControlType(in); err != nil || got != want {
			t.Errorf("ParseCommunicationControlType(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseCommunicationControlType("0x80"); !errors.As(err, &ae) {
		t.Errorf("ParseCommunicationControlType(0x80): got %v", err)
	}
}
