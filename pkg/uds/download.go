package uds

import "fmt"

// SIDRequestDownload announces a download: where the data goes and how much of it.
const SIDRequestDownload SID = 0x34

// RequestDownload is the 34 request that opens a transfer of Memory.Size bytes to
// Memory.Address.
type RequestDownload struct {
	// DataFormat is the dataFormatIdentifier: compression method in the high nibble,
	// encryption method in the low one; 0x00 is plain data.
	DataFormat byte
	// Memory is where the data goes; its Format zero picks the smallest widths.
	Memory MemoryLocation
}

// MarshalBinary builds 34 <dataFormatIdentifier> <addressAndLengthFormatIdentifier>
// <address> <size>. A zero size is refused: no ECU accepts an empty download.
func (r *RequestDownload) MarshalBinary() ([]byte, error) {
	if r.Memory.Size == 0 {
		return nil, &ArgumentError{Name: "requestDownload memorySize 0", Reason: "must be at least one byte"}
	}
	return appendMemoryLocation([]byte{byte(SIDRequestDownload), r.DataFormat}, r.Memory)
}

// UnmarshalBinary decodes a 34 request, as a simulated ECU receives it.
func (r *RequestDownload) UnmarshalBinary(req []byte) error {
	if len(req) < 2 || SID(req[0]) != SIDRequestDownload {
		return &RequestError{SID: SIDRequestDownload, Reason: "want 0x34 <dataFormatIdentifier> <addressAndLengthFormatIdentifier> <address> <size>"}
	}
	m, rest, err := parseMemoryLocation(req[2:], SIDRequestDownload)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return &RequestError{SID: SIDRequestDownload, Reason: fmt.Sprintf("%d unexpected trailing bytes", len(rest))}
	}
	r.DataFormat, r.Memory = req[1], m
	return nil
}

// RequestDownloadResponse is the 74 answer: how long each 36 request may be.
type RequestDownloadResponse struct {
	// MaxBlockLength is maxNumberOfBlockLength: the length of a whole 36 request, its SID
	// and block sequence counter included.
	MaxBlockLength uint64
	// LengthBytes is the width of MaxBlockLength on the wire (the high nibble of the
	// lengthFormatIdentifier); zero picks the smallest that fits when marshalling.
	LengthBytes int
}

// MarshalBinary builds 74 <lengthFormatIdentifier> <maxNumberOfBlockLength>.
func (r *RequestDownloadResponse) MarshalBinary() ([]byte, error) {
	n := r.LengthBytes
	if n == 0 {
		n = byteWidth(r.MaxBlockLength)
	}
	if err := checkFieldWidth("maxNumberOfBlockLength", n, r.MaxBlockLength, byte(n<<4)); err != nil {
		return nil, err
	}
	b := []byte{byte(SIDRequestDownload) + PositiveResponseOffset, byte(n << 4)}
	return appendUint(b, r.MaxBlockLength, n), nil
}

// UnmarshalBinary decodes 74 <lengthFormatIdentifier> <maxNumberOfBlockLength>; the low
// nibble of the lengthFormatIdentifier is reserved and ignored. A 7F answer comes back as
// *NegativeResponseError.
func (r *RequestDownloadResponse) UnmarshalBinary(resp []byte) error {
	rest, err := checkPositive(resp, SIDRequestDownload)
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		return &ResponseError{SID: SIDRequestDownload, Response: resp, Reason: "no lengthFormatIdentifier"}
	}
	n := int(rest[0] >> 4)
	switch {
	case n == 0 || n > MaxMemoryFieldBytes:
		return &ResponseError{SID: SIDRequestDownload, Response: resp,
			Reason: fmt.Sprintf("lengthFormatIdentifier 0x%02X: maxNumberOfBlockLength must be 1..%d bytes", rest[0], MaxMemoryFieldBytes)}
	case len(rest)-1 != n:
		return &ResponseError{SID: SIDRequestDownload, Response: resp,
			Reason: fmt.Sprintf("lengthFormatIdentifier 0x%02X announces %d bytes of maxNumberOfBlockLength, %d follow", rest[0], n, len(rest)-1)}
	}
	r.MaxBlockLength, r.LengthBytes = readUint(rest[1:]), n
	return nil
}
