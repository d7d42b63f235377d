package uds

import (
	"bytes"
	"errors"
	"testing"
)

// marshaler is what every message type of the download services implements.
type marshaler interface{ MarshalBinary() ([]byte, error) }

func mustMarshal(t *testing.T, m marshaler) []byte {
	t.Helper()
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatalf("marshal %T: %v", m, err)
	}
	return b
}

func TestRequestDownloadGolden(t *testing.T) {
	tests := []struct {
		name string
		req  RequestDownload
		want []byte
	}{
		// python-udsoncan test/client/test_request_download.py test_request_download_success:
		// address 0x1234 in 16 bits, size 0xFF in 8 bits -> 34 00 12 12 34 FF.
		{"udsoncan 16/8", RequestDownload{Memory: MemoryLocation{Address: 0x1234, Size: 0xFF, Format: 0x12}}, []byte{0x34, 0x00, 0x12, 0x12, 0x34, 0xFF}},
		// Same, smallest widths picked: the same bytes.
		{"smallest fits", RequestDownload{Memory: MemoryLocation{Address: 0x1234, Size: 0xFF}}, []byte{0x34, 0x00, 0x12, 0x12, 0x34, 0xFF}},
		// test_request_download_config_format: 32-bit address, 16-bit size, zero padded.
		{"udsoncan 32/16", RequestDownload{Memory: MemoryLocation{Address: 0x1234, Size: 0xFF, Format: 0x24}}, []byte{0x34, 0x00, 0x24, 0x00, 0x00, 0x12, 0x34, 0x00, 0xFF}},
		// test_request_download_success_dfi: compression 5, encryption 2 -> 0x52.
		{"udsoncan dfi", RequestDownload{DataFormat: 0x52, Memory: MemoryLocation{Address: 0x1234, Size: 0xFF, Format: 0x12}}, []byte{0x34, 0x52, 0x12, 0x12, 0x34, 0xFF}},
		// Wireshark epan/dissectors/packet-uds.c: UDS_RD_MEMORY_SIZE_LENGTH_MASK 0xF0 and
		// UDS_RD_MEMORY_ADDRESS_LENGTH_MASK 0x0F, so 0x44 is 4 size and 4 address bytes.
		{"wireshark 0x44", RequestDownload{Memory: MemoryLocation{Address: 0x00010000, Size: 0x1000, Format: 0x44}},
			[]byte{0x34, 0x00, 0x44, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00}},
		// Smallest: a 3-byte address and 3-byte size -> 0x33.
		{"smallest 3/3", RequestDownload{Memory: MemoryLocation{Address: 0x010000, Size: 0x100000}}, []byte{0x34, 0x00, 0x33, 0x01, 0x00, 0x00, 0x10, 0x00, 0x00}},
	}
	for _, tt := range tests {
		got := mustMarshal(t, &tt.req)
		if !bytes.Equal(got, tt.want) {
			t.Errorf("%s: got % X, want % X", tt.name, got, tt.want)
			continue
		}
		var back RequestDownload
		if err := back.UnmarshalBinary(got); err != nil {
			t.Errorf("%s: unmarshal: %v", tt.name, err)
		}
		want := tt.req
		want.Memory.Format = got[2]
		if back != want {
			t.Errorf("%s: round trip %+v, want %+v", tt.name, back, want)
		}
	}
}

func TestRequestDownloadArgumentErrors(t *testing.T) {
	for name, r := range map[string]RequestDownload{
		"size 0":             {Memory: MemoryLocation{Address: 1, Size: 0}},
		"address too wide":   {Memory: MemoryLocation{Address: 0x10000, Size: 1, Format: 0x12}},
		"size too wide":      {Memory: MemoryLocation{Address: 1, Size: 0x100, Format: 0x11}},
		"address nibble 0":   {Memory: MemoryLocation{Address: 1, Size: 1, Format: 0x10}},
		"size nibble 0":      {Memory: MemoryLocation{Address: 1, Size: 1, Format: 0x01}},
		"address nibble > 8": {Memory: MemoryLocation{Address: 1, Size: 1, Format: 0x19}},
	} {
		var ae *ArgumentError
		if _, err := r.MarshalBinary(); !errors.As(err, &ae) {
			t.Errorf("%s: got %v, want *ArgumentError", name, err)
		}
	}
}

func TestRequestDownloadUnmarshalErrors(t *testing.T) {
	for name, req := range map[string][]byte{
		"empty":          {},
		"wrong SID":      {0x35, 0x00, 0x11, 0x01, 0x01},
		"no alfid":       {0x34, 0x00},
		"alfid nibble 0": {0x34, 0x00, 0x40, 0x01, 0x01},
		"short address":  {0x34, 0x00, 0x44, 0x00, 0x01, 0x00},
		"trailing":       {0x34, 0x00, 0x11, 0x01, 0x01, 0xAA},
	} {
		var re *RequestError
		var r RequestDownload
		if err := r.UnmarshalBinary(req); !errors.As(err, &re) {
			t.Errorf("%s: got %v, want *RequestError", name, err)
		}
	}
}

func TestRequestDownloadResponse(t *testing.T) {
	tests := []struct {
		name string
		resp []byte
		want uint64
	}{
		// python-udsoncan test_request_download_success: 74 20 AB CD -> max length 0xABCD.
		{"udsoncan", []byte{0x74, 0x20, 0xAB, 0xCD}, 0xABCD},
		// test_request_download_success_lfid: the reserved low nibble is ignored.
		{"udsoncan lfid low nibble", []byte{0x74, 0x23, 0xAB, 0xCD}, 0xABCD},
		// Wireshark packet-uds.c UDS_RD_MAX_BLOCK_LEN_LEN_MASK 0xF0: 0x40 is 4 bytes.
		{"4 bytes", []byte{0x74, 0x40, 0x00, 0x00, 0x0F, 0xFA}, 0x0FFA},
		{"1 byte", []byte{0x74, 0x10, 0x82}, 0x82},
	}
	for _, tt := range tests {
		var r RequestDownloadResponse
		if err := r.UnmarshalBinary(tt.resp); err != nil || r.MaxBlockLength != tt.want {
			t.Errorf("%s: got %d, %v; want %d", tt.name, r.MaxBlockLength, err, tt.want)
		}
	}
	// The simulator's answer: 74 20 0F FA.
	got := mustMarshal(t, &RequestDownloadResponse{MaxBlockLength: 0x0FFA})
	if want := []byte{0x74, 0x20, 0x0F, 0xFA}; !bytes.Equal(got, want) {
		t.Errorf("marshal: got % X, want % X", got, want)
	}
	got = mustMarshal(t, &RequestDownloadResponse{MaxBlockLength: 0x0FFA, LengthBytes: 4})
	if want := []byte{0x74, 0x40, 0x00, 0x00, 0x0F, 0xFA}; !bytes.Equal(got, want) {
		t.Errorf("marshal 4 bytes: got % X, want % X", got, want)
	}

	for name, resp := range map[string][]byte{
		// python-udsoncan test_incomplete_nblock_response_exception: 0x40 announces 4 bytes, 2 follow.
		"udsoncan incomplete": {0x74, 0x40, 0xAB, 0xCD},
		// test_request_download_invalidservice_exception and _wrongservice_exception.
		"udsoncan invalid service": {0x00, 0x20, 0x12, 0x34},
		"udsoncan wrong service":   {0x7E, 0x20, 0x12, 0x34},
		"no lfid":                  {0x74},
		"lfid nibble 0":            {0x74, 0x00},
		"lfid nibble 9":            {0x74, 0x90, 1, 2, 3, 4, 5, 6, 7, 8, 9},
		"too long":                 {0x74, 0x10, 0x01, 0x02},
		"negative for another SID": {0x7F, 0x36, 0x31},
	} {
		var re *ResponseError
		var r RequestDownloadResponse
		if err := r.UnmarshalBinary(resp); !errors.As(err, &re) {
			t.Errorf("%s: got %v, want *ResponseError", name, err)
		}
	}
	var nre *NegativeResponseError
	var r RequestDownloadResponse
	if err := r.UnmarshalBinary([]byte{0x7F, 0x34, 0x70}); !errors.As(err, &nre) || nre.NRC != NRCUploadDownloadNotAccepted {
		t.Errorf("7F 34 70: got %v, want uploadDownloadNotAccepted", err)
	}
}
