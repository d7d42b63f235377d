package uds

import "testing"

// FuzzResponses feeds arbitrary request/response pairs to every parser: bad input must give an
// error, never a panic.
func FuzzResponses(f *testing.F) {
	f.Add([]byte{0x22, 0xF1, 0x90}, []byte{0x62, 0xF1, 0x90, 0x41})
	f.Add([]byte{0x19, 0x02, 0xFF}, []byte{0x59, 0x02, 0xFF, 0x01, 0x23, 0x00, 0x2F})
	f.Add([]byte{0x19, 0x01, 0xFF}, []byte{0x59, 0x01, 0xFF, 0x01, 0x00, 0x02})
	f.Add([]byte{0x10, 0x03}, []byte{0x50, 0x03, 0x00, 0x32, 0x01, 0xF4})
	f.Add([]byte{0x31, 0x01, 0xFF, 0x00}, []byte{0x7F, 0x31, 0x78})
	f.Add([]byte{}, []byte{0x7F})
	f.Fuzz(func(t *testing.T, req, resp []byte) {
		DecodeValue(req, resp)
		CheckResponse(req, resp)
		answers(req, resp)
		ParseSessionControl(resp, SessionExtended)
		ParseECUReset(resp, ResetHard)
		ParseTesterPresent(resp)
		ParseReadDataByIdentifier(resp, DIDVIN)
		ParseWriteDataByIdentifier(resp, DIDVIN)
		ParseDTCCount(resp)
		ParseDTCList(resp)
		ParseClearDiagnosticInformation(resp)
		ParseSecurityAccessSeed(resp, 1)
		ParseSecurityAccessKey(resp, 2)
		ParseRoutineControl(resp, RoutineStart, 0xFF00)
		ParseHex(string(resp))
		ParseDTCCode(string(resp))
		DecodeText(resp)
	})
}

func BenchmarkDecodeDTCList(b *testing.B) {
	req := ReadDTCByStatus(0xFF)
	resp := []byte{0x59, 0x02, 0xFF}
	for i := range 50 {
		resp = append(resp, byte(i), 0x23, 0x00, 0x2F)
	}
	b.ReportAllocs()
	for b.Loop() {
		if DecodeValue(req, resp) == "" {
			b.Fatal("not decoded")
		}
	}
}
