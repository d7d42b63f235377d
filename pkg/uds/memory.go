package uds

import (
	"encoding/binary"
	"fmt"
)

// SIDReadMemoryByAddress reads a block of ECU memory back, so a flash can be checked.
const SIDReadMemoryByAddress SID = 0x23

// MaxMemoryFieldBytes is the widest memoryAddress or memorySize field this package encodes:
// ISO 14229-1 allows up to 15 bytes, but no ECU has memory beyond 64-bit addresses.
const MaxMemoryFieldBytes = 8

// MemoryLocation is a memoryAddress and memorySize as 0x23, 0x34, 0x35 and 0x3D carry them,
// so every memory service encodes the addressAndLengthFormatIdentifier the same way.
type MemoryLocation struct {
	// Address is the first byte's address.
	Address uint64
	// Size is the number of bytes.
	Size uint64
	// Format is the addressAndLengthFormatIdentifier: the size's byte count in the high
	// nibble, the address's in the low one (0x44: 4 and 4). Zero picks the smallest widths
	// that hold Address and Size.
	Format byte
}

// byteWidth is the number of bytes v needs on the wire (at least one).
func byteWidth(v uint64) int {
	n := 1
	for v > 0xFF {
		v >>= 8
		n++
	}
	return n
}

// AddressAndLengthFormat returns the identifier the location is sent with: Format, or the
// smallest that fits. It fails when Address or Size does not fit the widths Format gives.
func (m MemoryLocation) AddressAndLengthFormat() (byte, error) {
	if m.Format == 0 {
		return byte(byteWidth(m.Size)<<4 | byteWidth(m.Address)), nil
	}
	sizeLen, addrLen := int(m.Format>>4), int(m.Format&0x0F)
	if err := checkFieldWidth("memorySize", sizeLen, m.Size, m.Format); err != nil {
		return 0, err
	}
	if err := checkFieldWidth("memoryAddress", addrLen, m.Address, m.Format); err != nil {
		return 0, err
	}
	return m.Format, nil
}

// checkFieldWidth rejects a width of 0 or above MaxMemoryFieldBytes, and a value that
// needs more bytes than the width.
func checkFieldWidth(field string, width int, v uint64, format byte) error {
	if width == 0 || width > MaxMemoryFieldBytes {
		return &ArgumentError{Name: fmt.Sprintf("addressAndLengthFormatIdentifier 0x%02X", format),
			Reason: fmt.Sprintf("%s length must be 1..%d bytes", field, MaxMemoryFieldBytes)}
	}
	if byteWidth(v) > width {
		return &ArgumentError{Name: fmt.Sprintf("%s 0x%X", field, v),
			Reason: fmt.Sprintf("does not fit the %d bytes addressAndLengthFormatIdentifier 0x%02X gives; use a wider format or 0 for the smallest that fits", width, format)}
	}
	return nil
}

// appendMemoryLocation appends the identifier, the address and the size.
func appendMemoryLocation(b []byte, m MemoryLocation) ([]byte, error) {
	alfid, err := m.AddressAndLengthFormat()
	if err != nil {
		return nil, err
	}
	b = append(b, alfid)
	b = appendUint(b, m.Address, int(alfid&0x0F))
	return appendUint(b, m.Size, int(alfid>>4)), nil
}

// appendUint appends the low n bytes of v, big-endian.
func appendUint(b []byte, v uint64, n int) []byte {
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], v)
	return append(b, buf[8-n:]...)
}

// readUint decodes a big-endian unsigned integer of len(b) <= 8 bytes.
func readUint(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

// parseMemoryLocation decodes <identifier> <address> <size> at the start of b and returns
// the bytes after it; what names the request in errors.
func parseMemoryLocation(b []byte, sid SID) (MemoryLocation, []byte, error) {
	if len(b) < 1 {
		return MemoryLocation{}, nil, &RequestError{SID: sid, Reason: "no addressAndLengthFormatIdentifier"}
	}
	alfid := b[0]
	sizeLen, addrLen := int(alfid>>4), int(alfid&0x0F)
	if sizeLen == 0 || addrLen == 0 || sizeLen > MaxMemoryFieldBytes || addrLen > MaxMemoryFieldBytes {
		return MemoryLocation{}, nil, &RequestError{SID: sid,
			Reason: fmt.Sprintf("addressAndLengthFormatIdentifier 0x%02X: address and size lengths must be 1..%d bytes", alfid, MaxMemoryFieldBytes)}
	}
	if len(b) < 1+addrLen+sizeLen {
		return MemoryLocation{}, nil, &RequestError{SID: sid,
			Reason: fmt.Sprintf("addressAndLengthFormatIdentifier 0x%02X announces %d address and %d size bytes, only %d follow", alfid, addrLen, sizeLen, len(b)-1)}
	}
	m := MemoryLocation{
		Address: readUint(b[1 : 1+addrLen]),
		Size:    readUint(b[1+addrLen : 1+addrLen+sizeLen]),
		Format:  alfid,
	}
	return m, b[1+addrLen+sizeLen:], nil
}

// RequestError is a malformed request as an ECU receives it, so a simulator can answer
// 7F SID 13 (or 31) and log why.
type RequestError struct {
	// SID is the service of the request.
	SID SID
	// Reason says what does not fit.
	Reason string
}

// Error names the service and what was wrong.
func (e *RequestError) Error() string {
	return fmt.Sprintf("malformed request %s: %s", e.SID, e.Reason)
}

// ReadMemoryByAddress is the 23 request: read Memory.Size bytes at Memory.Address.
type ReadMemoryByAddress struct {
	// Memory is what to read; its Format zero picks the smallest widths.
	Memory MemoryLocation
}

// MarshalBinary builds 23 <identifier> <address> <size>.
func (r *ReadMemoryByAddress) MarshalBinary() ([]byte, error) {
	return appendMemoryLocation([]byte{byte(SIDReadMemoryByAddress)}, r.Memory)
}

// UnmarshalBinary decodes a 23 request, as a simulated ECU receives it.
func (r *ReadMemoryByAddress) UnmarshalBinary(req []byte) error {
	if len(req) == 0 || SID(req[0]) != SIDReadMemoryByAddress {
		return &RequestError{SID: SIDReadMemoryByAddress, Reason: "does not start with 0x23"}
	}
	m, rest, err := parseMemoryLocation(req[1:], SIDReadMemoryByAddress)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return &RequestError{SID: SIDReadMemoryByAddress, Reason: fmt.Sprintf("%d unexpected trailing bytes", len(rest))}
	}
	r.Memory = m
	return nil
}

// ReadMemoryByAddressResponse is the 63 answer: the memory read.
type ReadMemoryByAddressResponse struct {
	// Data is the dataRecord: the bytes read.
	Data []byte
}

// MarshalBinary builds 63 <data>.
func (r *ReadMemoryByAddressResponse) MarshalBinary() ([]byte, error) {
	return append([]byte{byte(SIDReadMemoryByAddress) + PositiveResponseOffset}, r.Data...), nil
}

// UnmarshalBinary decodes 63 <data>; a 7F answer comes back as *NegativeResponseError. Data
// aliases resp.
func (r *ReadMemoryByAddressResponse) UnmarshalBinary(resp []byte) error {
	rest, err := checkPositive(resp, SIDReadMemoryByAddress)
	if err != nil {
		return err
	}
	r.Data = rest
	return nil
}

// ParseReadMemoryByAddress checks that resp is the answer to req and carries exactly the
// requested number of bytes, and returns them.
func ParseReadMemoryByAddress(resp []byte, req *ReadMemoryByAddress) ([]byte, error) {
	var r ReadMemoryByAddressResponse
	if err := r.UnmarshalBinary(resp); err != nil {
		return nil, err
	}
	if uint64(len(r.Data)) != req.Memory.Size {
		return nil, &ResponseError{SID: SIDReadMemoryByAddress, Response: resp,
			Reason: fmt.Sprintf("%d bytes of memory, want the %d requested", len(r.Data), req.Memory.Size)}
	}
	return r.Data, nil
}
