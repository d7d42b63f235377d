package uds

import "fmt"

// Services and negative response codes of a download.
const (
	// SIDTransferData carries one block of a download.
	SIDTransferData SID = 0x36
	// SIDRequestTransferExit ends a download.
	SIDRequestTransferExit SID = 0x37

	// NRCUploadDownloadNotAccepted refuses a 34 the ECU cannot take now.
	NRCUploadDownloadNotAccepted NRC = 0x70
	// NRCTransferDataSuspended refuses a block, for example more bytes than announced.
	NRCTransferDataSuspended NRC = 0x71
	// NRCGeneralProgrammingFailure reports that writing the memory failed.
	NRCGeneralProgrammingFailure NRC = 0x72
	// NRCWrongBlockSequenceCounter refuses a block out of sequence.
	NRCWrongBlockSequenceCounter NRC = 0x73
)

// TransferData is a 36 request: one block of a download, or of an upload's request.
type TransferData struct {
	// Counter is the blockSequenceCounter: 0x01 for the first block after a 34, wrapping
	// 0xFF to 0x00.
	Counter byte
	// Data is the block.
	Data []byte
}

// MarshalBinary builds 36 <counter> <data>.
func (t *TransferData) MarshalBinary() ([]byte, error) {
	return t.AppendBinary(make([]byte, 0, 2+len(t.Data)))
}

// AppendBinary appends 36 <counter> <data> to b, so a download reuses one buffer.
func (t *TransferData) AppendBinary(b []byte) ([]byte, error) {
	return append(append(b, byte(SIDTransferData), t.Counter), t.Data...), nil
}

// UnmarshalBinary decodes a 36 request, as a simulated ECU receives it. Data aliases req.
func (t *TransferData) UnmarshalBinary(req []byte) error {
	if len(req) < 2 || SID(req[0]) != SIDTransferData {
		return &RequestError{SID: SIDTransferData, Reason: "want 0x36 <blockSequenceCounter> [data]"}
	}
	t.Counter, t.Data = req[1], req[2:]
	return nil
}

// TransferDataResponse is the 76 answer: the echoed counter and optional data.
type TransferDataResponse struct {
	// Counter echoes the request's blockSequenceCounter.
	Counter byte
	// Data is the optional transferResponseParameterRecord.
	Data []byte
}

// MarshalBinary builds 76 <counter> [data].
func (t *TransferDataResponse) MarshalBinary() ([]byte, error) {
	return append([]byte{byte(SIDTransferData) + PositiveResponseOffset, t.Counter}, t.Data...), nil
}

// UnmarshalBinary decodes 76 <counter> [data]; Data aliases resp. A 7F answer comes back
// as *NegativeResponseError.
func (t *TransferDataResponse) UnmarshalBinary(resp []byte) error {
	rest, err := checkPositive(resp, SIDTransferData)
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		return &ResponseError{SID: SIDTransferData, Response: resp, Reason: "no blockSequenceCounter echo"}
	}
	t.Counter, t.Data = rest[0], rest[1:]
	return nil
}

// ParseTransferData checks that resp answers the block with counter and returns the
// response data after the echo.
func ParseTransferData(resp []byte, counter byte) ([]byte, error) {
	var t TransferDataResponse
	if err := t.UnmarshalBinary(resp); err != nil {
		return nil, err
	}
	if t.Counter != counter {
		return nil, &ResponseError{SID: SIDTransferData, Response: resp,
			Reason: fmt.Sprintf("echoes blockSequenceCounter 0x%02X, want 0x%02X", t.Counter, counter)}
	}
	return t.Data, nil
}

// RequestTransferExit is the 37 request with an optional transferRequestParameterRecord.
type RequestTransferExit struct {
	// Record is the transferRequestParameterRecord, usually empty.
	Record []byte
}

// MarshalBinary builds 37 [record].
func (r *RequestTransferExit) MarshalBinary() ([]byte, error) {
	return append([]byte{byte(SIDRequestTransferExit)}, r.Record...), nil
}

// UnmarshalBinary decodes a 37 request; Record aliases req.
func (r *RequestTransferExit) UnmarshalBinary(req []byte) error {
	if len(req) < 1 || SID(req[0]) != SIDRequestTransferExit {
		return &RequestError{SID: SIDRequestTransferExit, Reason: "does not start with 0x37"}
	}
	r.Record = req[1:]
	return nil
}

// RequestTransferExitResponse is the 77 answer with an optional
// transferResponseParameterRecord (often a checksum).
type RequestTransferExitResponse struct {
	// Record is the transferResponseParameterRecord.
	Record []byte
}

// MarshalBinary builds 77 [record].
func (r *RequestTransferExitResponse) MarshalBinary() ([]byte, error) {
	return append([]byte{byte(SIDRequestTransferExit) + PositiveResponseOffset}, r.Record...), nil
}

// UnmarshalBinary decodes 77 [record]; Record aliases resp. A 7F answer comes back as
// *NegativeResponseError.
func (r *RequestTransferExitResponse) UnmarshalBinary(resp []byte) error {
	rest, err := checkPositive(resp, SIDRequestTransferExit)
	if err != nil {
		return err
	}
	r.Record = rest
	return nil
}
