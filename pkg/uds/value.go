package uds

import (
	"encoding/binary"
	"fmt"
	"strconv"
)

// DecodeText renders a DID's data for a human: as text when it is printable ASCII once the
// trailing padding (0x00, 0xFF, spaces) ECUs fill fixed-size fields with is trimmed, and as
// hex otherwise, so binary data is never shown as garbage.
func DecodeText(data []byte) string {
	t := data
	for len(t) > 0 && (t[len(t)-1] == 0x00 || t[len(t)-1] == 0xFF || t[len(t)-1] == ' ') {
		t = t[:len(t)-1]
	}
	if len(t) == 0 {
		return FormatHex(data)
	}
	for _, c := range t {
		if c < 0x20 || c > 0x7E {
			return FormatHex(data)
		}
	}
	return string(t)
}

// DecodeValue turns a positive response into the one-line value stored in a job step: DID
// data as text (see DecodeText), the 19 01 count, the 19 02 DTC list, the session and its
// timing, a routine's status record. It returns "" when the response is negative, malformed
// or of a service with nothing to decode.
func DecodeValue(req, resp []byte) string {
	if len(req) < 2 || CheckResponse(req, resp) != nil {
		return ""
	}
	switch SID(req[0]) {
	case SIDReadDataByIdentifier:
		if len(req) == 3 {
			if data, err := ParseReadDataByIdentifier(resp, binary.BigEndian.Uint16(req[1:])); err == nil {
				return DecodeText(data)
			}
		}
	case SIDReadDTCInformation:
		switch req[1] &^ SuppressPositiveResponse {
		case ReportNumberOfDTCByStatusMask:
			if c, err := ParseDTCCount(resp); err == nil {
				return strconv.Itoa(int(c.Count))
			}
		case ReportDTCByStatusMask:
			if l, err := ParseDTCList(resp); err == nil {
				return l.String()
			}
		}
	case SIDDiagnosticSessionControl:
		s := Session(req[1] &^ SuppressPositiveResponse)
		if t, err := ParseSessionControl(resp, s); err == nil {
			if !t.HasTiming {
				return s.String() + " session"
			}
			return fmt.Sprintf("%s session, P2 %s, P2* %s", s, t.P2, t.P2Star)
		}
	case SIDRoutineControl:
		if len(req) >= 4 {
			if status, err := ParseRoutineControl(resp, RoutineControlType(req[1]), binary.BigEndian.Uint16(req[2:])); err == nil {
				return FormatHex(status)
			}
		}
	}
	return ""
}
