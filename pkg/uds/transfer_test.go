package uds

import (
	"bytes"
	"errors"
	"testing"
)

func TestTransferDataGolden(t *testing.T) {
	// python-udsoncan test/client/test_transfer_data.py test_transfer_data_success:
	// 36 22 12 34 56 answered 76 22 89 AB CD EF.
	got := mustMarshal(t, &TransferData{Counter: 0x22, Data: []byte{0x12, 0x34, 0x56}})
	if want := []byte{0x36, 0x22, 0x12, 0x34, 0x56}; !bytes.Equal(got, want) {
		t.Errorf("request: got % X, want % X", got, want)
	}
	var back TransferData
	if err := back.UnmarshalBinary(got); err != nil || back.Counter != 0x22 || !bytes.Equal(back.Data, []byte{0x12, 0x34, 0x56}) {
		t.Errorf("request round trip: %+v, %v", back, err)
	}
	data, err := ParseTransferData([]byte{0x76, 0x22, 0x89, 0xAB, 0xCD, 0xEF}, 0x22)
	if err != nil || !bytes.Equal(data, []byte{0x89, 0xAB, 0xCD, 0xEF}) {
		t.Errorf("response: % X, %v", data, err)
	}
	// test_transfer_data_no_data_ok: 36 22 answered 76 22.
	if got := mustMarshal(t, &TransferData{Counter: 0x22}); !bytes.Equal(got, []byte{0x36, 0x22}) {
		t.Errorf("no data: got % X", got)
	}
	if data, err := ParseTransferData([]byte{0x76, 0x22}, 0x22); err != nil || len(data) != 0 {
		t.Errorf("no data response: % X, %v", data, err)
	}
	if got := mustMarshal(t, &TransferDataResponse{Counter: 0x22, Data: []byte{0x01}}); !bytes.Equal(got, []byte{0x76, 0x22, 0x01}) {
		t.Errorf("response marshal: got % X", got)
	}

	// test_transfer_data_denied: 7F 36 73 wrongBlockSequenceCounter.
	var nre *NegativeResponseError
	if _, err := ParseTransferData([]byte{0x7F, 0x36, 0x73}, 0x55); !errors.As(err, &nre) || nre.NRC != NRCWrongBlockSequenceCounter {
		t.Errorf("denied: got %v", err)
	}
	for name, resp := range map[string][]byte{
		"udsoncan bad sequence number": {0x76, 0x23, 0x89, 0xAB, 0xCD, 0xEF}, // asked for 0x22
		"udsoncan invalid service":     {0x00, 0x55},
		"udsoncan wrong service":       {0x7E, 0x00},
		"no counter":                   {0x76},
	} {
		var re *ResponseError
		if _, err := ParseTransferData(resp, 0x22); !errors.As(err, &re) {
			t.Errorf("%s: got %v, want *ResponseError", name, err)
		}
	}
	var re *RequestError
	if err := back.UnmarshalBinary([]byte{0x36}); !errors.As(err, &re) {
		t.Errorf("36 without counter: got %v, want *RequestError", err)
	}
}

func TestRequestTransferExit(t *testing.T) {
	// ISO 14229-1 37 with and without transferRequestParameterRecord; 77 likewise.
	if got := mustMarshal(t, &RequestTransferExit{}); !bytes.Equal(got, []byte{0x37}) {
		t.Errorf("request: got % X", got)
	}
	if got := mustMarshal(t, &RequestTransferExit{Record: []byte{0xAA}}); !bytes.Equal(got, []byte{0x37, 0xAA}) {
		t.Errorf("request with record: got % X", got)
	}
	var req RequestTransferExit
	if err := req.UnmarshalBinary([]byte{0x37, 0x01, 0x02}); err != nil || !bytes.Equal(req.Record, []byte{0x01, 0x02}) {
		t.Errorf("unmarshal request: %+v %v", req, err)
	}
	var resp RequestTransferExitResponse
	if err := resp.UnmarshalBinary([]byte{0x77, 0x12, 0x34}); err != nil || !bytes.Equal(resp.Record, []byte{0x12, 0x34}) {
		t.Errorf("unmarshal response: %+v %v", resp, err)
	}
	if got := mustMarshal(t, &RequestTransferExitResponse{}); !bytes.Equal(got, []byte{0x77}) {
		t.Errorf("response: got % X", got)
	}
	var nre *NegativeResponseError
	if err := resp.UnmarshalBinary([]byte{0x7F, 0x37, 0x24}); !errors.As(err, &nre) || nre.NRC != NRCRequestSequenceError {
		t.Errorf("7F 37 24: got %v", err)
	}
}
