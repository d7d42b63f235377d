package uds

import (
	"bytes"
	"errors"
	"testing"
)

func TestReadMemoryByAddressGolden(t *testing.T) {
	tests := []struct {
		name string
		mem  MemoryLocation
		want []byte
	}{
		// python-udsoncan test/client/test_read_memory_by_address.py test_4byte_block:
		// 0x1234 in 16 bits, 4 bytes in 8 bits -> 23 12 12 34 04.
		{"udsoncan 16/8", MemoryLocation{Address: 0x1234, Size: 4, Format: 0x12}, []byte{0x23, 0x12, 0x12, 0x34, 0x04}},
		// test_config_format: 32-bit address, 16-bit size -> 23 24 00 00 12 34 00 04.
		{"udsoncan 32/16", MemoryLocation{Address: 0x1234, Size: 4, Format: 0x24}, []byte{0x23, 0x24, 0x00, 0x00, 0x12, 0x34, 0x00, 0x04}},
		// design.md: the simulator reads back with 23 44 <addr> <size>.
		{"design 0x44", MemoryLocation{Address: 0x00010000, Size: 0x10, Format: 0x44}, []byte{0x23, 0x44, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10}},
	}
	for _, tt := range tests {
		r := ReadMemoryByAddress{Memory: tt.mem}
		got := mustMarshal(t, &r)
		if !bytes.Equal(got, tt.want) {
			t.Errorf("%s: got % X, want % X", tt.name, got, tt.want)
			continue
		}
		var back ReadMemoryByAddress
		if err := back.UnmarshalBinary(got); err != nil || back != r {
			t.Errorf("%s: round trip %+v, %v", tt.name, back, err)
		}
	}

	req := &ReadMemoryByAddress{Memory: MemoryLocation{Address: 0x1234, Size: 4}}
	// test_4byte_block: 63 99 88 77 66.
	data, err := ParseReadMemoryByAddress([]byte{0x63, 0x99, 0x88, 0x77, 0x66}, req)
	if err != nil || !bytes.Equal(data, []byte{0x99, 0x88, 0x77, 0x66}) {
		t.Errorf("response: % X, %v", data, err)
	}
	if got := mustMarshal(t, &ReadMemoryByAddressResponse{Data: []byte{0x99}}); !bytes.Equal(got, []byte{0x63, 0x99}) {
		t.Errorf("response marshal: % X", got)
	}
	for name, resp := range map[string][]byte{
		// test_4byte_block_zeropadding_not_ok_exception: padding is more than was asked.
		"udsoncan zero padding":    {0x63, 0x99, 0x88, 0x77, 0x66, 0x00},
		"udsoncan invalid service": {0x00, 0x45},
		"udsoncan wrong service":   {0x7E, 0x99, 0x88, 0x77, 0x66},
		"short":                    {0x63, 0x99},
	} {
		var re *ResponseError
		if _, err := ParseReadMemoryByAddress(resp, req); !errors.As(err, &re) {
			t.Errorf("%s: got %v, want *ResponseError", name, err)
		}
	}
	// test_request_denied_exception: 7F 23 45.
	var nre *NegativeResponseError
	if _, err := ParseReadMemoryByAddress([]byte{0x7F, 0x23, 0x45}, req); !errors.As(err, &nre) || nre.NRC != 0x45 {
		t.Errorf("denied: got %v", err)
	}
	var re *RequestError
	var r ReadMemoryByAddress
	for _, bad := range [][]byte{{0x23}, {0x23, 0x44, 0x00}, {0x23, 0x11, 0x01, 0x01, 0x00}, {0x22, 0x11, 0x01, 0x01}} {
		if err := r.UnmarshalBinary(bad); !errors.As(err, &re) {
			t.Errorf("% X: got %v, want *RequestError", bad, err)
		}
	}
}

func TestMemoryLocationSmallestFormat(t *testing.T) {
	for _, tt := range []struct {
		addr, size uint64
		want       byte
	}{
		{0, 1, 0x11}, {0xFF, 0xFF, 0x11}, {0x100, 0x100, 0x22}, {0xFFFFFFFF, 0x10000, 0x34},
		{1 << 56, 1, 0x18},
	} {
		got, err := MemoryLocation{Address: tt.addr, Size: tt.size}.AddressAndLengthFormat()
		if err != nil || got != tt.want {
			t.Errorf("0x%X/0x%X: got 0x%02X, %v; want 0x%02X", tt.addr, tt.size, got, err, tt.want)
		}
	}
}
