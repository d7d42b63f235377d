package uds

import "testing"

// FuzzDownloadResponses feeds arbitrary bytes to every decoder of the download, memory,
// communication control and DTC setting services, requests and answers: bad input must give
// an error, never a panic, and what decodes must marshal back to the same bytes where the
// encoding is canonical.
func FuzzDownloadResponses(f *testing.F) {
	for _, seed := range [][]byte{
		{0x74, 0x20, 0xAB, 0xCD}, {0x74, 0x40, 0xAB, 0xCD}, {0x74, 0xF0}, {0x74},
		{0x76, 0x22, 0x89, 0xAB}, {0x76}, {0x77}, {0x77, 0x01}, {0x63, 0x99, 0x88},
		{0x68, 0x03}, {0xC5, 0x01, 0x77}, {0x7F, 0x36, 0x73}, {0x7F, 0x34},
		{0x34, 0x00, 0x44, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00}, {0x34, 0x00, 0xFF},
		{0x23, 0x12, 0x12, 0x34, 0x04}, {0x36, 0x01, 0xAA}, {0x37}, {0x28, 0x04, 0x01, 0x12, 0x34}, {0x85, 0x81},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var rdr RequestDownloadResponse
		if rdr.UnmarshalBinary(b) == nil {
			if rdr.LengthBytes < 1 || rdr.LengthBytes > MaxMemoryFieldBytes {
				t.Fatalf("% X: length bytes %d", b, rdr.LengthBytes)
			}
			if _, err := rdr.MarshalBinary(); err != nil {
				t.Fatalf("% X decoded but does not marshal: %v", b, err)
			}
		}
		ParseTransferData(b, 0x01)
		(&RequestTransferExitResponse{}).UnmarshalBinary(b)
		ParseReadMemoryByAddress(b, &ReadMemoryByAddress{Memory: MemoryLocation{Size: 4}})
		ParseCommunicationControl(b, CommunicationDisableRxAndTx)
		ParseControlDTCSetting(b, DTCSettingOff)

		var rd RequestDownload
		if rd.UnmarshalBinary(b) == nil && rd.Memory.Size > 0 {
			if _, err := rd.MarshalBinary(); err != nil {
				t.Fatalf("% X decoded but does not marshal: %v", b, err)
			}
		}
		var rm ReadMemoryByAddress
		if rm.UnmarshalBinary(b) == nil {
			if _, err := rm.MarshalBinary(); err != nil {
				t.Fatalf("% X decoded but does not marshal: %v", b, err)
			}
		}
		(&TransferData{}).UnmarshalBinary(b)
		(&RequestTransferExit{}).UnmarshalBinary(b)
		var cc CommunicationControl
		if cc.UnmarshalBinary(b) == nil {
			if _, err := cc.MarshalBinary(); err != nil {
				t.Fatalf("% X decoded but does not marshal: %v", b, err)
			}
		}
		(&ControlDTCSetting{}).UnmarshalBinary(b)
	})
}
