package doip

import (
	"encoding/binary"
	"fmt"
)

// Header is the 8-byte generic header in front of every DoIP payload.
type Header struct {
	Version byte        // protocol version (Version2010 ... Version2019Amd1, or VersionDefault)
	Type    PayloadType // what the payload is
	Length  uint32      // payload length in bytes, excluding the header
}

// Marshal appends the 8 header bytes to dst, so frames are built in one buffer without copies.
func (h Header) Marshal(dst []byte) []byte {
	return append(dst, h.Version, ^h.Version, byte(h.Type>>8), byte(h.Type),
		byte(h.Length>>24), byte(h.Length>>16), byte(h.Length>>8), byte(h.Length))
}

// Unmarshal decodes the first 8 bytes of b and checks the pattern: the inverse version, a
// supported version, and VersionDefault only on vehicle identification requests. Every fault
// is an *Error with NACKIncorrectPattern and Close set. The type and length are not checked
// here (see Reader), so h is filled whenever the pattern is valid.
func (h *Header) Unmarshal(b []byte) error {
	if len(b) < HeaderLen {
		return &Error{NACK: NACKIncorrectPattern, Close: true,
			Err: fmt.Errorf("header is %d bytes, want %d", len(b), HeaderLen)}
	}
	v, inv := b[0], b[1]
	t := PayloadType(binary.BigEndian.Uint16(b[2:4]))
	if v != ^inv {
		return &Error{NACK: NACKIncorrectPattern, Close: true,
			Err: fmt.Errorf("inverse protocol version 0x%02X does not match version 0x%02X", inv, v)}
	}
	switch {
	case v >= Version2010 && v <= Version2019Amd1:
	case v == VersionDefault && t.identification():
	case v == VersionDefault:
		return &Error{NACK: NACKIncorrectPattern, Close: true,
			Err: fmt.Errorf("protocol version 0xFF is allowed on vehicle identification requests only, not on %v", t)}
	default:
		return &Error{NACK: NACKIncorrectPattern, Close: true,
			Err: fmt.Errorf("unsupported protocol version 0x%02X (want 0x01 to 0x04)", v)}
	}
	h.Version, h.Type, h.Length = v, t, binary.BigEndian.Uint32(b[4:8])
	return nil
}
