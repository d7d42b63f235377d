package uds

import (
	"bytes"
	"fmt"
)

// negative decodes a 7F SID NRC response; ok is false when resp is not a negative response.
func negative(resp []byte) (e *NegativeResponseError, ok bool) {
	if len(resp) < 3 || SID(resp[0]) != SIDNegativeResponse {
		return nil, false
	}
	return &NegativeResponseError{SID: SID(resp[1]), NRC: NRC(resp[2]), Response: resp}, true
}

// checkPositive verifies that resp is the positive response to sid whose first bytes after
// the SID equal echo, and returns the bytes after the echo; a negative response for sid comes
// back as *NegativeResponseError, anything else as *ResponseError.
func checkPositive(resp []byte, sid SID, echo ...byte) ([]byte, error) {
	if len(resp) == 0 {
		return nil, &ResponseError{SID: sid, Reason: "empty response"}
	}
	if SID(resp[0]) == SIDNegativeResponse {
		nre, ok := negative(resp)
		switch {
		case !ok:
			return nil, &ResponseError{SID: sid, Response: resp, Reason: "negative response shorter than 3 bytes (7F SID NRC)"}
		case nre.SID != sid:
			return nil, &ResponseError{SID: sid, Response: resp, Reason: fmt.Sprintf("negative response is for service %s", nre.SID)}
		}
		return nil, nre
	}
	if want := byte(sid) + PositiveResponseOffset; resp[0] != want {
		return nil, &ResponseError{SID: sid, Response: resp, Reason: fmt.Sprintf("response SID is 0x%02X, want 0x%02X", resp[0], want)}
	}
	if len(resp) < 1+len(echo) {
		return nil, &ResponseError{SID: sid, Response: resp, Reason: fmt.Sprintf("response is %d bytes, want at least %d", len(resp), 1+len(echo))}
	}
	for i, b := range echo {
		if resp[1+i] != b {
			return nil, &ResponseError{SID: sid, Response: resp,
				Reason: fmt.Sprintf("response echoes %s, want %s", FormatHex(resp[1:1+len(echo)]), FormatHex(echo))}
		}
	}
	return resp[1+len(echo):], nil
}

// CheckResponse tells whether resp is a positive answer to req: nil if so, a
// *NegativeResponseError for 7F, a *ResponseError for bytes that answer something else. The
// agent uses it for raw diagnostic steps, where no service-specific parser applies.
func CheckResponse(req, resp []byte) error {
	if len(req) == 0 {
		return &ArgumentError{Name: "request", Reason: "empty; a UDS request has at least a service identifier"}
	}
	var echo []byte
	if SID(req[0]).HasSubFunction() && len(req) >= 2 {
		echo = []byte{req[1] &^ SuppressPositiveResponse}
	}
	_, err := checkPositive(resp, SID(req[0]), echo...)
	return err
}

// answers reports whether resp is an answer (positive or negative) to req, so a client can
// drop stray responses to earlier requests: the SID must match, and a positive response must
// echo what identifies the request (sub-function, DID, routine id). A late answer to a timed
// out 22 F1 97 is thus not taken for the answer to the next 22 F1 90.
func answers(req, resp []byte) bool {
	if len(req) == 0 || len(resp) == 0 {
		return false
	}
	sid := SID(req[0])
	if SID(resp[0]) == SIDNegativeResponse {
		return len(resp) >= 2 && SID(resp[1]) == sid
	}
	if resp[0] != byte(sid)+PositiveResponseOffset {
		return false
	}
	var echo []byte
	switch {
	case sid == SIDRoutineControl && len(req) >= 4:
		echo = []byte{req[1] &^ SuppressPositiveResponse, req[2], req[3]}
	case sid.HasSubFunction() && len(req) >= 2:
		echo = []byte{req[1] &^ SuppressPositiveResponse}
	case (sid == SIDReadDataByIdentifier || sid == SIDWriteDataByIdentifier) && len(req) >= 3:
		echo = req[1:3]
	}
	return len(resp) > len(echo) && bytes.Equal(resp[1:1+len(echo)], echo)
}

// checkEnd rejects trailing bytes after a fixed-size positive response.
func checkEnd(rest []byte, resp []byte, sid SID) error {
	if len(rest) != 0 {
		return &ResponseError{SID: sid, Response: resp, Reason: fmt.Sprintf("%d unexpected trailing bytes", len(rest))}
	}
	return nil
}
